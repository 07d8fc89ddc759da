"""Deterministic function packages: the same files always give the same zip, byte for byte.

Lambda redeploys when the code's hash changes; a zip that embeds file modification times would
change on every checkout. Entries are sorted, timestamps fixed and permissions normalised. The
function's dependencies (installed by `dependencies.py`) go in at the root, as Lambda expects.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from s3ep_pulumi.errors import ConfigError
from s3ep_pulumi.model import limits
from s3ep_pulumi.runtime import s3ep_shim

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# The shim as installed: a plain file of the package (the wheel ships it as package data).
SHIM_SOURCE = Path(s3ep_shim.__file__)
SHIM_HANDLER = "s3ep_shim.handler"  # the function's handler setting
# The layer that carries the shim for an existing function.
LAYER_DESCRIPTION = f"s3ep shim: handler {SHIM_HANDLER}, yours in {s3ep_shim.HANDLER_ENV}"
# Where packages are written, relative to the project (as under `pulumi up`).
BUILD_DIR = Path("build") / "functions"
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".DS_Store"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
INDEX_DIR = "index"  # entries digest -> the package already written for them


@dataclass(frozen=True)
class Package:
    path: Path
    sha256_b64: str  # what Lambda reports as CodeSha256


def _files(source_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in source_dir.rglob("*")
        if p.is_file()
        and not EXCLUDED_PARTS.intersection(p.relative_to(source_dir).parts)
        and p.suffix not in EXCLUDED_SUFFIXES
    )


def shim_files() -> dict[str, bytes]:
    """The s3ep shim, placed at the root of every function package."""
    return {"s3ep_shim.py": SHIM_SOURCE.read_bytes()}


def package_entries(
    source_dir: Path,
    extra_files: dict[str, bytes] | None = None,
    dependencies: Path | None = None,
) -> dict[str, bytes]:
    """What a function package holds, name -> bytes: the installed `dependencies` (a folder,
    its contents at the root), then `source_dir`, then `extra_files`; a later one replaces an
    earlier one of the same name (the user's module shadows a dependency's, the shim both)."""
    installed = _tree(dependencies) if dependencies is not None else {}
    return installed | _tree(source_dir) | (extra_files or {})


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in _files(folder)}


def zip_bytes(
    source_dir: Path,
    extra_files: dict[str, bytes] | None = None,
    dependencies: Path | None = None,
) -> bytes:
    """The zip of `package_entries`, identical for identical contents."""
    return zip_entries(package_entries(source_dir, extra_files, dependencies))


def zip_entries(entries: dict[str, bytes]) -> bytes:
    """A zip of name -> bytes, entries sorted, timestamps fixed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_DATE_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])
    return buffer.getvalue()


def build_layer(out_dir: Path) -> Package:
    """A layer holding the shim where Python runtimes look for modules (python/)."""
    files = {f"python/{name}": data for name, data in shim_files().items()}
    return _write(zip_entries(files), out_dir)


def build_package(
    source_dir: Path,
    out_dir: Path,
    extra_files: dict[str, bytes] | None = None,
    dependencies: Path | None = None,
) -> Package:
    """Write the zip to `out_dir/<sha256>.zip` (once) and return its path and hash.

    Compressing tens of MB of dependencies takes a second or more, so a package already
    written for the same inputs is found by their digest (`out_dir/index/`), not rebuilt. An
    installed dependency folder never changes (`dependencies.install` names it by what it
    holds), so its digest is computed once per process."""
    own = _tree(source_dir) | (extra_files or {})
    digest = hashlib.sha256(_tree_digest(dependencies).encode() if dependencies else b"-")
    digest.update(_entries_digest(own).encode())
    index = out_dir / INDEX_DIR / f"{digest.hexdigest()}.txt"
    if index.is_file():
        name, _, sha256_b64 = index.read_text().strip().partition(" ")
        if (out_dir / name).is_file():
            return Package(path=out_dir / name, sha256_b64=sha256_b64)
    entries = package_entries(source_dir, extra_files, dependencies)
    _check_size(source_dir, entries)
    package = _write(zip_entries(entries), out_dir)
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text(f"{package.path.name} {package.sha256_b64}\n")
    return package


@functools.cache
def _tree_digest(folder: Path) -> str:
    return _entries_digest(_tree(folder))


def _entries_digest(entries: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(entries):
        digest.update(f"{len(name)}:{name}:{len(entries[name])}:".encode())
        digest.update(entries[name])
    return digest.hexdigest()


def _check_size(source_dir: Path, entries: dict[str, bytes]) -> None:
    size = sum(len(data) for data in entries.values())
    if size > limits.LAMBDA_UNZIPPED_PACKAGE_MAX_BYTES:
        raise ConfigError(
            f"function.source_dir {source_dir}: the package is {size / 1e6:.0f} MB unzipped, "
            f"over Lambda's {limits.LAMBDA_UNZIPPED_PACKAGE_MAX_BYTES / 1e6:.0f} MB; move "
            "dependencies into layers (function.layers) and set "
            "function.package_requirements: false"
        )


def _write(data: bytes, out_dir: Path) -> Package:
    digest = hashlib.sha256(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{digest.hexdigest()}.zip"
    if not path.exists():
        path.write_bytes(data)
    return Package(path=path, sha256_b64=base64.b64encode(digest.digest()).decode())
