"""Reading a StyleMM bundle (format 1.1, docs/bundle-format.md) and checking it.

A bundle is a directory, or a ``.smm`` file that is a zip archive of the same files
(stored uncompressed). ``manifest.json`` lists every other file with its size and
sha256; arrays are raw little-endian binaries described by dtype and shape. Everything
is checked before it is used (the files here, the cross-array rules in bundle_rules.json,
which the native reader checks too), and every problem is a BundleError naming the file
and what is wrong with it.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from stylemm_runtime import bundle_rules

FORMAT = "stylemm-bundle"
FORMAT_VERSION = 1  # a reader refuses a newer major version
FORMAT_MINOR = 1  # 1.1: named deformer layers, texture_generator.onnx, landmarks, no expression_bases
MANIFEST = "manifest.json"
DTYPES = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4")}
MAX_MANIFEST_BYTES = 1 << 20
MAX_MANIFEST_DEPTH = 64
MAX_FILE_BYTES = 1 << 31


class BundleError(ValueError):
    """The bundle is missing, damaged, tampered with or from a newer format."""


class Bundle:
    """A checked bundle: ``manifest`` (dict), ``array(name)``, ``file_bytes(name)``."""

    def __init__(self, path):
        self.path = Path(path)
        self._files = _read_all(self.path)
        self.manifest = _parse_manifest(self._files.pop(MANIFEST, None), self.path)
        _check_files(self.manifest, self._files)
        try:
            self.dimensions = bundle_rules.check(self.manifest, self._raw_array)
        except bundle_rules.RuleError as e:
            raise BundleError(f"{self.path}: {e}") from None

    @property
    def minor(self) -> int:
        """The format's minor version (0 for bundles written before minor versions existed)."""
        return self.manifest.get("format_minor", 0)

    def file_bytes(self, name: str) -> bytes:
        if name not in self._files:
            raise BundleError(f"{self.path}: the manifest lists no file '{name}'")
        return self._files[name]

    def array(self, name: str) -> np.ndarray:
        """A read-only array from ``manifest['arrays'][name]``."""
        array = self._raw_array(name)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise BundleError(f"{self.path}: array '{name}' contains NaN or Inf")
        return array

    def _raw_array(self, name: str) -> np.ndarray:
        entry = self.manifest["arrays"].get(name)
        if entry is None:
            raise BundleError(f"{self.path}: the manifest has no array '{name}'")
        data = self.file_bytes(entry["file"])
        dtype, shape = DTYPES[entry["dtype"]], tuple(entry["shape"])
        count = 1
        for size in shape:  # as the native reader counts, so that both refuse the same sizes
            if size and count > (MAX_FILE_BYTES - 1) // 4 // size:
                raise BundleError(f"{self.path}: array '{name}' is too large")
            count *= size
        if len(data) != dtype.itemsize * count:
            raise BundleError(f"{self.path}: {entry['file']} holds {len(data)} bytes, not a {entry['dtype']} array "
                              f"of shape {bundle_rules.shape_text(list(shape))}")  # fmt: skip
        array = np.frombuffer(data, dtype=dtype).reshape(shape)
        return array.astype(array.dtype.newbyteorder("="), copy=False)


def _read_all(path: Path) -> dict[str, bytes]:
    if not path.exists():
        raise BundleError(f"no bundle at {path}: pass a bundle directory or .smm file written by stylemm-export")
    if path.is_dir():
        return _read_directory(path)
    if not zipfile.is_zipfile(path):
        raise BundleError(f"{path} is neither a bundle directory nor a .smm archive (not a zip file)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if any(m.compress_type != zipfile.ZIP_STORED for m in members):
                raise BundleError(f"{path}: .smm archives store their files uncompressed; this one compresses them")
            if sum(m.file_size for m in members) > MAX_FILE_BYTES:
                raise BundleError(f"{path}: the archive claims more than {MAX_FILE_BYTES} bytes")
            return {m.filename: archive.read(m) for m in members if not m.is_dir()}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        if isinstance(e, BundleError):
            raise
        raise BundleError(f"{path}: damaged .smm archive ({e})") from None


def _read_directory(path: Path) -> dict[str, bytes]:
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise BundleError(f"{path} has no {MANIFEST}: not a bundle, or an unfinished one")
    files = {MANIFEST: manifest.read_bytes()[: MAX_MANIFEST_BYTES + 1]}
    listed = _parse_manifest(files[MANIFEST], path).get("files", {})
    for name in listed:
        file = path / name
        if not _plain_name(name) or not file.is_file():
            raise BundleError(f"{path}: the manifest lists '{name}', which is missing")
        files[name] = file.read_bytes()
    return files


def _plain_name(name) -> bool:
    """File names in a bundle are flat: no folders, no way out of the bundle."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def _parse_manifest(data: bytes | None, path: Path) -> dict:
    if data is None:
        raise BundleError(f"{path} has no {MANIFEST}: not a bundle, or an unfinished one")
    if len(data) > MAX_MANIFEST_BYTES:
        raise BundleError(f"{path}: {MANIFEST} is larger than 1 MiB")
    try:
        manifest = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
        valid = _depth(manifest) <= MAX_MANIFEST_DEPTH
    except (UnicodeDecodeError, ValueError, RecursionError):
        valid = False
    if not valid:  # the native reader's words, for the same verdict
        raise BundleError(f"{path}: {MANIFEST} is not valid JSON, or nests deeper than {MAX_MANIFEST_DEPTH} levels")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: {MANIFEST} does not describe a {FORMAT}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"{path}: {MANIFEST} has no integer format_version")
    if version > FORMAT_VERSION:
        raise BundleError(
            f"{path} is format version {version}, newer than this runtime reads ({FORMAT_VERSION}); upgrade stylemm_runtime"
        )
    minor = manifest.get("format_minor", 0)
    if not isinstance(minor, int) or isinstance(minor, bool) or minor < 0:
        raise BundleError(f"{path}: {MANIFEST} has a format_minor that is not a non-negative integer")
    for key, kind in (("files", dict), ("arrays", dict), ("networks", dict), ("parameters", dict), ("mesh", dict)):
        if not isinstance(manifest.get(key), kind):
            raise BundleError(f"{path}: {MANIFEST} has no '{key}' object")
    return manifest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # Python's json reads NaN and Infinity; JSON has neither


def _depth(value, level: int = 0) -> int:
    """Nesting depth as nlohmann::json counts it (a scalar at the top is depth 0)."""
    if level > MAX_MANIFEST_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(child, level + 1) for child in children), default=level + (isinstance(value, (dict, list))))


def _check_files(manifest: dict, files: dict[str, bytes]) -> None:
    listed = manifest["files"]
    for name, entry in listed.items():
        if not _plain_name(name) or not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise BundleError(f"{MANIFEST}: bad entry for file {name!r} (wanted {{'bytes': int, 'sha256': hex}})")
        data = files.get(name)
        if data is None:
            raise BundleError(f"the manifest lists '{name}', which is missing")
        if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise BundleError(f"'{name}' does not match its sha256 in the manifest: the bundle is damaged or was modified")
    unlisted = sorted(set(files) - set(listed))
    if unlisted:
        raise BundleError(f"files not in the manifest: {unlisted}; a bundle holds only what its manifest lists")
    for name, entry in manifest["arrays"].items():
        ok = isinstance(entry, dict) and _listed(entry.get("file"), listed) and _listed(entry.get("dtype"), DTYPES)
        shape = entry.get("shape") if isinstance(entry, dict) else None
        ok = ok and isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31 for s in shape)
        if not ok:
            raise BundleError(f"{MANIFEST}: bad entry for array {name!r} (wanted file, dtype {sorted(DTYPES)}, shape)")
    for name, entry in manifest["networks"].items():
        if not isinstance(entry, dict) or not _listed(entry.get("file"), listed):
            raise BundleError(f"{MANIFEST}: network {name!r} names no listed file")


def _listed(key, table: dict) -> bool:
    return isinstance(key, str) and key in table
