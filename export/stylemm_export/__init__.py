"""StyleMM export: writes versioned bundles (ONNX networks, expression bases, baked morph
targets, glTF) from trained models for the runtime and game engines."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stylemm")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
