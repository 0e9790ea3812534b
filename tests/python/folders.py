"""Comparing folders written by the tools."""

import os


def tree_bytes(folder) -> dict[str, bytes]:
    """Every file under ``folder``: relative path -> bytes."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out
