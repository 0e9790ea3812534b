"""StyleMM runtime: evaluate exported stylized face models with numpy + onnxruntime.

Never imports torch. The native core (C++, ``stylemm_runtime._native``) is used where
it was built; the numpy reference path works everywhere.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stylemm")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"


def native():
    """The native core module, checked against the header it was compiled with.

    Raises ImportError with the fix when this installation has no native build.
    """
    try:
        from stylemm_runtime import _native
    except ImportError as e:
        raise ImportError(
            "stylemm_runtime._native is not built in this installation; reinstall with "
            "`pip install .` (needs cmake, a C++17 compiler and Eigen: see README)"
        ) from e
    expected = packed_version(__version__)
    if _native.version() != expected:
        # A stale build left behind by an editable install, for example.
        raise ImportError(
            f"stylemm_runtime._native is version {_native.version()} but the package is {__version__} "
            f"({expected}); rebuild it with `pip install .`"
        )
    return _native


def packed_version(text: str) -> int:
    """'1.2.3' -> 10203, the packing of STYLEMM_VERSION in stylemm.h."""
    major, minor, patch = (int(part) for part in text.split(".")[:3])
    return major * 10000 + minor * 100 + patch
