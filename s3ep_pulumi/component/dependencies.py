"""The function's third-party dependencies, installed for Lambda as SAM and
terraform-aws-modules/lambda do: pip, binary wheels for the runtime's Python and the function's
architecture, into a folder whose contents go to the root of the package.

The Lambda Python runtime provides the standard library and boto3/botocore only
(docs/aws-semantics.md, L1): anything else the handler imports must be in the zip or a layer.

An install is cached by a hash of what decides it (the requirements' bytes, runtime,
architecture, pip's flags), so a second `pulumi up` or `s3ep synth` runs no pip and touches no
network. The cached tree is made reproducible once, when it is installed: no `bin/` (its scripts'
shebangs name the interpreter that ran pip), no bytecode, no `direct_url.json` (an absolute
path), and `RECORD` without the lines of what was removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from s3ep_pulumi.errors import ConfigError
from s3ep_pulumi.model.sections import FunctionConfig

REQUIREMENTS_FILE = "requirements.txt"
PYPROJECT_FILE = "pyproject.toml"
CACHE_ENV = "S3EP_DEPS_CACHE"  # where installs are cached; default DEFAULT_CACHE_DIR
DEFAULT_CACHE_DIR = Path("build") / "functions" / "deps"
# Bumped when the post-processing of an installed tree changes, so old caches are not reused.
CACHE_FORMAT = "1"
REMOVED_DIRS = {"bin", "__pycache__"}
REMOVED_SUFFIXES = {".pyc", ".pyo"}
REMOVED_NAMES = {"direct_url.json"}
_NO_DISTRIBUTION = re.compile(r"No matching distribution found for (\S+)")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a requirement's name, before [extras] or ==
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement (\S+)")

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Requirements:
    """What source_dir declares: the file (for messages and relative paths) and the
    requirements text pip reads."""

    path: Path
    text: str


def declared(source_dir: Path) -> Requirements | None:
    """source_dir's requirements.txt, else its pyproject.toml [project].dependencies; None
    when it declares nothing (or only comments)."""
    requirements = source_dir / REQUIREMENTS_FILE
    if requirements.is_file():
        text = requirements.read_text()
        lines = [ln for ln in text.splitlines() if ln.split("#", 1)[0].strip()]
        return Requirements(requirements, text) if lines else None
    pyproject = source_dir / PYPROJECT_FILE
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"function.source_dir {pyproject}: not valid TOML: {error}") from None
        deps = project.get("dependencies") or []
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise ConfigError(
                f"function.source_dir {pyproject}: [project].dependencies must be a list of "
                "requirement strings"
            )
        return Requirements(pyproject, "".join(f"{d}\n" for d in deps)) if deps else None
    return None


def pip_flags(function: FunctionConfig) -> list[str]:
    """pip's options that choose the wheels: CPython of the runtime's version, the platforms
    its Amazon Linux and the function's architecture run, binary wheels only (no build runs
    here, so nothing is compiled for the wrong machine)."""
    platforms = [f"--platform={tag}" for tag in function.wheel_platforms]
    return [
        "--implementation=cp",
        f"--python-version={function.python_version}",
        *platforms,
        "--only-binary=:all:",
        "--no-compile",
    ]


def cache_key(requirements: Requirements, function: FunctionConfig) -> str:
    """The hash that names an install: everything that decides what pip installs."""
    decided = {
        "format": CACHE_FORMAT,
        "requirements": requirements.text,
        "runtime": function.runtime,
        "architecture": function.architecture,
        "flags": pip_flags(function),
    }
    return hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR)


def install(
    source_dir: Path,
    function: FunctionConfig,
    cache: Path | None = None,
    run: Runner = subprocess.run,
) -> Path | None:
    """The folder holding source_dir's dependencies installed for `function`, from the cache
    or installed now (pip run by `run`); None when source_dir declares none."""
    requirements = declared(source_dir)
    if requirements is None:
        return None
    root = (cache or cache_dir()).resolve()
    target = root / cache_key(requirements, function)
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="install-", dir=root) as tmp:
        work = Path(tmp)
        listed = requirements.path.resolve()
        if listed.name != REQUIREMENTS_FILE:  # pyproject.toml's dependencies, as pip reads them
            listed = work / REQUIREMENTS_FILE
            listed.write_text(requirements.text)
        tree = work / "tree"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            f"--target={tree}",
            *pip_flags(function),
            "-r",
            str(listed),
        ]
        # From source_dir, so relative paths in the requirements (-r, wheels) mean what they say.
        done = run(command, cwd=source_dir, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ConfigError(_pip_failure(requirements, function, done.stderr + done.stdout))
        normalise(tree)
        try:
            tree.rename(target)
        except OSError:  # another build installed the same dependencies meanwhile
            if not target.is_dir():
                raise
    return target


def normalise(tree: Path) -> None:
    """Make an installed tree the same on every machine (see the module docstring)."""
    for path in sorted(tree.rglob("*"), reverse=True):  # children before their folders
        rel = path.relative_to(tree)
        if (
            REMOVED_DIRS.intersection(rel.parts)
            or path.suffix in REMOVED_SUFFIXES
            or (path.name in REMOVED_NAMES and rel.parts[0].endswith(".dist-info"))
        ):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for record in tree.glob("*.dist-info/RECORD"):
        record.write_text("".join(_kept_lines(record, tree)))


def _kept_lines(record: Path, tree: Path) -> list[str]:
    """RECORD's lines for the files still in the tree (paths relative to the tree's root)."""
    kept = []
    for line in record.read_text().splitlines(keepends=True):
        name = line.rsplit(",", 2)[0].strip('"')
        if name and not name.startswith("../") and (tree / name).is_file():
            kept.append(line if line.endswith("\n") else line + "\n")
    return kept


def _pip_failure(requirements: Requirements, function: FunctionConfig, output: str) -> str:
    """One line: which requirement has no wheel for the target and what to do, or pip's own
    last error."""
    where = (
        f"python{function.python_version} {function.architecture} ({function.wheel_platforms[-1]})"
    )
    match = _NO_DISTRIBUTION.search(output) or _NO_VERSION.search(output)
    if match:
        requirement = match.group(1).rstrip(".")
        name = _NAME.match(requirement)
        package = name.group(0) if name else requirement
        return (
            f"function.source_dir requirements ({requirements.path}): no wheel of '{package}' "
            f"for {where}; use a version with binary wheels for it, build it into a layer "
            "(function.layers), or set function.package_requirements: false"
        )
    if "No module named pip" in output:
        return (
            f"function.source_dir requirements ({requirements.path}): {sys.executable} has no "
            "pip to install them with; install pip there, or set "
            "function.package_requirements: false"
        )
    errors = [ln.strip() for ln in output.splitlines() if ln.strip().startswith("ERROR:")]
    last = errors[-1] if errors else (output.strip().splitlines() or ["(no output)"])[-1]
    return (
        f"function.source_dir requirements ({requirements.path}): pip could not install them "
        f"for {where}: {last.removeprefix('ERROR: ')}"
    )


def installed_files(tree: Path) -> Sequence[Path]:
    """Every file of an installed tree, sorted (what goes into the package)."""
    return sorted(p for p in tree.rglob("*") if p.is_file())
