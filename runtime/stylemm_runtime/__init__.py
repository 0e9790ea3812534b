"""StyleMM runtime: evaluate exported stylized face models with numpy + onnxruntime.

Never imports torch. The native core (C++, ``stylemm_runtime._native``) is used where it
was built; ``stylemm_runtime.skinning`` (numpy) is the reference path and works everywhere,
so this package imports even without a native build.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

try:
    __version__ = _distribution_version("stylemm")
except PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0.0.0"

_INSTALL_HINT = (
    "reinstall with `pip install .` (needs cmake, a C++17 compiler and Eigen: apt-get install libeigen3-dev)"
)
_native_module = None


def load(path, providers: list[str] | None = None, threads: int = 1):
    """Open a bundle (directory or .smm) written by stylemm-export: a stylemm_runtime.model.Model.

    providers: ONNX Runtime execution providers (default: CPU). threads: threads per network
    call (default 1, which leaves the engine's cores to the engine; a Model may be shared by
    the engine's own threads). More threads help crowds (``Model.deform`` with a large
    batch) more than single characters.
    """
    from stylemm_runtime.model import Model

    return Model(path, providers, threads)


def native():
    """The native core module, checked against the versions it must match.

    Imported on first use rather than with the package, so the numpy path keeps working
    where there is no native build. Raises ImportError naming the fix when the module is
    missing or does not match.
    """
    global _native_module
    if _native_module is None:
        try:
            from stylemm_runtime import _native
        except ImportError as e:
            raise ImportError(f"stylemm_runtime._native is not built in this installation; {_INSTALL_HINT}") from e
        _check_versions(_native)
        _native_module = _native
    return _native_module


def native_library():
    """Path of the C library (libstylemm.so, stylemm.dll or libstylemm.dylib) installed beside
    the native module: the same core, for engines and other languages (stylemm.h)."""
    from pathlib import Path

    folder = Path(native().__file__).parent
    for name in ("libstylemm.so", "stylemm.dll", "libstylemm.dylib"):
        if (folder / name).is_file():
            return folder / name
    raise ImportError(f"the C library libstylemm is not installed in {folder}; {_INSTALL_HINT}")


def has_native() -> bool:
    """Whether a native core that matches this package is available."""
    try:
        native()
    except ImportError:
        return False
    return True


def _check_versions(module) -> None:
    # The library must be the version its header said (MuJoCo's mj_version() habit) ...
    if module.version() != module.HEADER_VERSION:
        raise ImportError(
            f"stylemm_runtime._native links library version {module.version()} but was compiled against header "
            f"version {module.HEADER_VERSION}; {_INSTALL_HINT}"
        )
    # ... and a build left behind by an earlier install must not pass for this package.
    # Skipped when the package metadata is unknown (running from a source tree).
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", __version__)
    if __version__ != "0.0.0" and match:
        major, minor, patch = (int(part or 0) for part in match.groups())
        if major * 10000 + minor * 100 + patch != module.version():
            raise ImportError(
                f"stylemm_runtime._native is version {module.__version__} but the stylemm package is "
                f"{__version__}; {_INSTALL_HINT}"
            )
