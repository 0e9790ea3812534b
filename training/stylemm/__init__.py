"""StyleMM training side: source face models, rendering, stylizers, training."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stylemm")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"


def load_pretrained(name: str = "openhead"):
    """The shipped source networks of a source model (see stylemm.pretrained)."""
    from stylemm.pretrained import load_pretrained as load

    return load(name)
