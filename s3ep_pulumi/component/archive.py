"""Deterministic function packages: the same files always give the same zip, byte for byte.

Lambda redeploys when the code's hash changes; a zip that embeds file modification times would
change on every checkout. Entries are sorted, timestamps fixed and permissions normalised.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

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


def zip_bytes(source_dir: Path, extra_files: dict[str, bytes] | None = None) -> bytes:
    """The zip of `source_dir` plus `extra_files` (name -> bytes), identical for identical
    contents. An extra file replaces a source file of the same name."""
    entries = {p.relative_to(source_dir).as_posix(): p.read_bytes() for p in _files(source_dir)}
    return zip_entries(entries | (extra_files or {}))


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
    source_dir: Path, out_dir: Path, extra_files: dict[str, bytes] | None = None
) -> Package:
    """Write the zip to `out_dir/<sha256>.zip` (once) and return its path and hash."""
    return _write(zip_bytes(source_dir, extra_files), out_dir)


def _write(data: bytes, out_dir: Path) -> Package:
    digest = hashlib.sha256(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{digest.hexdigest()}.zip"
    if not path.exists():
        path.write_bytes(data)
    return Package(path=path, sha256_b64=base64.b64encode(digest.digest()).decode())
