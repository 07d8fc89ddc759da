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

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
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


def zip_bytes(source_dir: Path) -> bytes:
    """The zip of `source_dir`, identical for identical contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in _files(source_dir):
            info = zipfile.ZipInfo(path.relative_to(source_dir).as_posix(), FIXED_DATE_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buffer.getvalue()


def build_package(source_dir: Path, out_dir: Path) -> Package:
    """Write the zip to `out_dir/<sha256>.zip` (once) and return its path and hash."""
    data = zip_bytes(source_dir)
    digest = hashlib.sha256(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{digest.hexdigest()}.zip"
    if not path.exists():
        path.write_bytes(data)
    return Package(path=path, sha256_b64=base64.b64encode(digest.digest()).decode())
