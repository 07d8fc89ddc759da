"""s3ep as a user gets it: the wheel and sdist built from the checkout, the wheel installed alone
(runtime dependencies, no extras) in a fresh venv, and used from a project outside the checkout.

Builds once per session (`python -m build`, isolated: setuptools comes from PyPI) and installs
once per session; `-m "not packaging"` deselects the module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
from helpers import ROOT

pytestmark = pytest.mark.packaging

USER_PROJECT = Path(__file__).resolve().parent / "user_project"
# Tracked files that are not part of the source release (see MANIFEST.in).
NOT_IN_SDIST = {".ci/run", ".gitignore"}
# Files setuptools writes into every sdist.
SDIST_GENERATED = {"PKG-INFO", "setup.cfg"}
RUNTIME_DEPENDENCIES = {"pulumi", "pulumi-aws", "pydantic", "pyyaml"}
# A module of each extra: none may be importable in the venv, or the checks below prove nothing.
EXTRA_MODULES = ["boto3", "moto", "rich", "parliament", "pulumi_policy", "aws_lambda_powertools"]


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path


def tracked_files() -> list[str] | None:
    """The checkout's files (committed or not, ignored ones left out); None outside git."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None  # an unpacked sdist: build from the tree as it is
    return sorted(f for f in out.decode().split("\0") if f and (ROOT / f).is_file())


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """Build from a copy of the tracked files, as from a fresh clone: nothing ignored or stale
    (out/, build/, an old egg-info) can leak in, and the checkout is left untouched."""
    files = tracked_files()
    source = ROOT
    if files is not None:
        source = tmp_path_factory.mktemp("clone")
        for name in files:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Dists(wheel, sdist)


@pytest.fixture(scope="session")
def venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and its runtime dependencies only; returns its bin/.
    `--no-compile`: byte-compiling pulumi-aws takes longer than the rest of the install."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    bin_dir = root / "bin"
    done = subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-compile", dists.wheel],
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return bin_dir


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's project outside the checkout: a program, a stack file, a function folder."""
    path = tmp_path_factory.mktemp("user-project")
    shutil.copytree(USER_PROJECT, path, dirs_exist_ok=True)
    return path


def clean_env() -> dict[str, str]:
    """This environment minus what would let the venv's Python see the checkout or our venv."""
    hidden = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if k not in hidden}


def run(bin_dir: Path, command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / command), *args], cwd=cwd, capture_output=True, text=True, env=clean_env()
    )


def python(bin_dir: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run(bin_dir, "python", "-c", code, cwd=cwd)


# --- the archives -------------------------------------------------------------------------


def test_the_wheel_holds_every_module_of_the_package_and_nothing_else(dists: Dists) -> None:
    package = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "s3ep_pulumi").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    with zipfile.ZipFile(dists.wheel) as zf:
        names = set(zf.namelist())
    info = f"s3ep_pulumi-{dists.wheel.name.split('-')[1]}.dist-info"
    assert {n for n in names if not n.startswith(info + "/")} == package
    assert {"s3ep_pulumi/py.typed", "s3ep_pulumi/runtime/s3ep_shim.py"} <= names
    for folder in ("model", "builders", "component", "runtime", "policy", "local"):
        assert f"s3ep_pulumi/{folder}/__init__.py" in names, folder


def test_the_wheel_declares_the_command_the_runtime_dependencies_and_the_extras(
    dists: Dists,
) -> None:
    with zipfile.ZipFile(dists.wheel) as zf:
        info = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(zf.read(info).decode())
        entry_points = zf.read(info.replace("METADATA", "entry_points.txt")).decode()
    unconditional = {
        r.split(">")[0].split("<")[0].strip().lower()
        for r in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in r
    }
    assert unconditional == RUNTIME_DEPENDENCIES
    assert sorted(metadata.get_all("Provides-Extra") or []) == ["dev", "local", "policy"]
    assert "s3ep = s3ep_pulumi.local.cli:main" in entry_points
    assert metadata["License-Expression"] == "Apache-2.0"


def test_the_wheel_carries_the_license_text(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as zf:
        licenses = [n for n in zf.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert len(licenses) == 1
        text = zf.read(licenses[0]).decode()
    assert text == (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text


def test_the_sdist_holds_every_tracked_file_but_ci_and_git(dists: Dists) -> None:
    files = tracked_files()
    if files is None:
        pytest.skip("not a git checkout")
    with tarfile.open(dists.sdist) as tf:
        members = {m.name.split("/", 1)[1] for m in tf.getmembers() if m.isfile()}
    generated = {m for m in members if m.startswith("s3ep_pulumi.egg-info/")} | SDIST_GENERATED
    assert members - generated == set(files) - NOT_IN_SDIST


def test_twine_accepts_both_archives(dists: Dists) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", dists.wheel, dists.sdist],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- installed without extras ---------------------------------------------------------------


def test_the_venv_has_no_extra_installed(venv: Path, project: Path) -> None:
    code = (
        "import importlib.util, json; "
        f"print(json.dumps([m for m in {EXTRA_MODULES!r} if importlib.util.find_spec(m)]))"
    )
    done = python(venv, code, project)
    assert (done.returncode, json.loads(done.stdout)) == (0, []), done.stderr


def test_a_users_program_packages_its_function_with_the_shim(venv: Path, project: Path) -> None:
    done = run(venv, "python", "program.py", cwd=project)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["function_arn"] == "arn:aws:mock:us-east-1:123456789012:images-function"
    assert report["names"] == ["app.py", "s3ep_shim.py"]
    archive = project / report["archive"]
    assert archive.parent == project / "build" / "functions"
    with zipfile.ZipFile(archive) as zf:
        assert zf.read("app.py") == (project / "functions" / "hello" / "app.py").read_bytes()


def test_help_works_without_extras(venv: Path, project: Path) -> None:
    done = run(venv, "s3ep", "--help", cwd=project)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("usage: s3ep ")


def test_synth_of_a_users_stack_works_without_extras(venv: Path, project: Path) -> None:
    done = run(venv, "s3ep", "synth", "--stack", "dev", cwd=project)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("stack dev: ") and lines[0].endswith(" resources")
    assert any(
        line.split()[:2] == ["aws:lambda/function:Function", "user-dev-function"] for line in lines
    ), done.stdout
    # no rate_per_second: the event source mapping engine, so no state machine to write
    assert "wrote out/dev/pipeline.mmd" in lines
    assert "wrote out/dev/state-machine.asl.json" not in lines


def test_check_without_extras_is_one_line_naming_them_and_exit_2(venv: Path, project: Path) -> None:
    done = run(venv, "s3ep", "check", "--stack", "dev", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: s3ep check needs the 'local' and 'policy' extras: "
        "pip install 's3ep-pulumi[local,policy]'\n",
    )


def test_simulate_without_extras_is_one_line_naming_local_and_exit_2(
    venv: Path, project: Path
) -> None:
    done = run(venv, "s3ep", "simulate", "--stack", "dev", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: s3ep simulate needs the 'local' extra: pip install 's3ep-pulumi[local]'\n",
    )


def test_the_policy_rules_lack_only_pulumi_policy(venv: Path, project: Path) -> None:
    # With a stand-in for pulumi-policy the rules load, and load nothing else outside the
    # standard library: pulumi-policy is the one dependency missing.
    code = (
        "import json, sys\n"
        "from unittest import mock\n"
        "before = set(sys.modules)\n"
        "try:\n"
        "    import s3ep_pulumi.policy\n"
        "except ModuleNotFoundError as error:\n"
        "    missing = error.name\n"
        "sys.modules['pulumi_policy'] = mock.MagicMock()\n"
        "import s3ep_pulumi.policy\n"
        "loaded = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(json.dumps([missing, sorted(loaded - sys.stdlib_module_names)]))\n"
    )
    done = python(venv, code, project)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["pulumi_policy", ["pulumi_policy", "s3ep_pulumi"]]


def test_the_shim_imports_with_the_standard_library_only(venv: Path, project: Path) -> None:
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import s3ep_pulumi.runtime.s3ep_shim as shim\n"
        "loaded = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(json.dumps([shim.__file__, sorted(loaded - sys.stdlib_module_names)]))\n"
    )
    done = python(venv, code, project)
    assert done.returncode == 0, done.stderr
    where, loaded = json.loads(done.stdout)
    assert Path(where).is_relative_to(venv.parent), "imported from outside the venv"
    assert loaded == ["s3ep_pulumi"]


def test_importing_the_package_does_not_load_pulumi_aws(venv: Path, project: Path) -> None:
    code = "import sys, s3ep_pulumi; print('pulumi_aws' in sys.modules, 'pulumi' in sys.modules)"
    done = python(venv, code, project)
    assert (done.returncode, done.stdout) == (0, "False False\n"), done.stderr
