"""Atomic writing: readers never see a half-written file or folder."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """A temp path beside ``path`` (same suffix, for writers that go by it); renamed over
    ``path`` only if the block succeeds, removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temp file beside ``path``; rename it over ``path`` only if the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f


def write_json(path, data) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_write(path, "w") as f:
        json.dump(data, f, indent=2)


@contextmanager
def atomic_folder(path):
    """A fresh staging folder beside ``path``, swapped in for ``path`` as a whole only if the
    block succeeds (removed otherwise). The old folder is moved aside, not deleted, until the
    new one is in place, so a kill leaves either one of them, never a mix."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.{os.getpid()}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        old = path.with_name(f".{path.name}.{os.getpid()}.old")
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            path.rename(old)
        staging.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
