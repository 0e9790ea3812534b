"""StyleMM training side: source face models, rendering, stylizers, training."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stylemm")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
