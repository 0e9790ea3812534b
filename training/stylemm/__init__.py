"""StyleMM training side: source face models, rendering, stylizers, training."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stylemm")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"


def load_pack(style="realistic"):
    """A style pack (stylemm.packs): a shipped style's name or a pack folder's path."""
    from stylemm.packs import load_pack as load

    return load(style)
