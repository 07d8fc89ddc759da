"""The function's dependencies in its package: installed for the runtime and architecture by pip,
cached, reproducible, and one line when a dependency has no wheel for the target.

Wheels are built here in a temporary folder and pip reads only that folder (`--no-index`), so
these tests need no network; the example function's test installs from PyPI (once per cache).
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest
from helpers import MINIMAL, config, evaluate

from s3ep_pulumi.component import dependencies
from s3ep_pulumi.component.archive import build_package, shim_files
from s3ep_pulumi.errors import ConfigError
from s3ep_pulumi.local.cli import main
from s3ep_pulumi.model.sections import FunctionConfig

ARM = FunctionConfig(runtime="python3.12", architecture="arm64")


def make_wheel(folder: Path, name: str, tag: str = "py3-none-any", script: bool = False) -> Path:
    """A minimal wheel of `name` 1.0: module `name`, and with `script` a console script (pip
    writes it to bin/ with the installing interpreter in its shebang)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-1.0.dist-info"
    files = {
        f"{name}.py": f"VALUE = {name!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n"
        ),
    }
    if script:
        files[f"{name}-1.0.data/scripts/{name}-cli"] = "#!python\nprint('hi')\n"
    record = [
        f"{path},sha256={_b64(hashlib.sha256(data.encode()).digest())},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    path = folder / f"{name}-1.0-{tag}.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in files.items():
            zf.writestr(member, data)
    return path


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def function_dir(root: Path, requirements: str) -> Path:
    source = root / "fn"
    source.mkdir()
    (source / "app.py").write_text("import tiny\ndef handler(event, context): return tiny.VALUE\n")
    (source / "requirements.txt").write_text(textwrap.dedent(requirements))
    return source


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    make_wheel(folder, "tiny", script=True)
    make_wheel(folder, "native", tag="cp312-cp312-manylinux2014_x86_64")
    return folder


class CountingRunner:
    """subprocess.run, counting the pip calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls += 1
        return subprocess.run(*args, **kwargs)


def test_the_package_holds_the_dependency_and_no_interpreter_specific_files(
    tmp_path: Path, wheels: Path
) -> None:
    source = function_dir(tmp_path, f"--no-index\n--find-links {wheels}\ntiny==1.0\n")
    deps = dependencies.install(source, ARM, cache=tmp_path / "cache")
    assert deps is not None
    package = build_package(source, tmp_path / "out", shim_files(), dependencies=deps)
    with zipfile.ZipFile(package.path) as zf:
        names = sorted(zf.namelist())
        record = zf.read("tiny-1.0.dist-info/RECORD").decode()
    assert names == [
        "app.py",
        "requirements.txt",
        "s3ep_shim.py",
        "tiny-1.0.dist-info/INSTALLER",
        "tiny-1.0.dist-info/METADATA",
        "tiny-1.0.dist-info/RECORD",
        "tiny-1.0.dist-info/REQUESTED",
        "tiny-1.0.dist-info/WHEEL",
        "tiny.py",
    ]  # no bin/ (its shebang names the interpreter that ran pip), no __pycache__
    assert "bin/" not in record and "__pycache__" not in record
    assert record.startswith("tiny-1.0.dist-info/INSTALLER,")


def test_the_same_inputs_give_the_same_bytes_even_from_a_fresh_install(
    tmp_path: Path, wheels: Path
) -> None:
    source = function_dir(tmp_path, f"--no-index\n--find-links {wheels}\ntiny==1.0\n")
    zips = []
    for i in range(2):  # two caches: pip runs twice, in folders of different names
        deps = dependencies.install(source, ARM, cache=tmp_path / f"cache{i}")
        package = build_package(source, tmp_path / f"out{i}", shim_files(), dependencies=deps)
        zips.append(package.path.read_bytes())
    assert zips[0] == zips[1]


def test_a_cached_install_runs_no_pip(tmp_path: Path, wheels: Path) -> None:
    source = function_dir(tmp_path, f"--no-index\n--find-links {wheels}\ntiny==1.0\n")
    run = CountingRunner()
    first = dependencies.install(source, ARM, cache=tmp_path / "cache", run=run)
    again = dependencies.install(source, ARM, cache=tmp_path / "cache", run=run)
    assert (run.calls, first) == (1, again)
    # another architecture is another install
    x86 = FunctionConfig(runtime="python3.12", architecture="x86_64")
    assert dependencies.install(source, x86, cache=tmp_path / "cache", run=run) != first
    assert run.calls == 2


def test_a_dependency_without_a_wheel_for_the_target_is_one_line_naming_it(
    tmp_path: Path, wheels: Path
) -> None:
    # the only wheel of 'native' is for x86_64; the function is arm64
    source = function_dir(tmp_path, f"--no-index\n--find-links {wheels}\nnative==1.0\n")
    with pytest.raises(ConfigError) as error:
        dependencies.install(source, ARM, cache=tmp_path / "cache")
    assert str(error.value) == (
        f"function.source_dir requirements ({source}/requirements.txt): no wheel of "
        "'native' for python3.12 arm64 (manylinux2014_aarch64); use a version with "
        "binary wheels for it, build it into a layer (function.layers), or set "
        "function.package_requirements: false"
    )
    assert not list((tmp_path / "cache").iterdir())  # nothing half-installed is left


def test_pip_runs_for_the_runtime_and_architecture() -> None:
    assert dependencies.pip_flags(ARM) == [
        "--implementation=cp",
        "--python-version=3.12",
        *[f"--platform=manylinux_2_{m}_aarch64" for m in range(34, 16, -1)],
        "--platform=manylinux2014_aarch64",
        "--only-binary=:all:",
        "--no-compile",
    ]
    # python3.11 runs on Amazon Linux 2: glibc 2.26
    old = FunctionConfig(runtime="python3.11", architecture="x86_64")
    assert old.wheel_platforms[0] == "manylinux_2_26_x86_64"


def test_pyproject_dependencies_are_installed_when_there_is_no_requirements_file(
    tmp_path: Path, wheels: Path
) -> None:
    source = tmp_path / "fn"
    source.mkdir()
    (source / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\ndependencies = ["tiny==1.0"]\n'
    )
    declared = dependencies.declared(source)
    assert declared == dependencies.Requirements(source / "pyproject.toml", "tiny==1.0\n")
    # pip reads the index options from its environment here, as from a pip.conf
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIP_NO_INDEX", "1")
        mp.setenv("PIP_FIND_LINKS", str(wheels))
        deps = dependencies.install(source, ARM, cache=tmp_path / "cache")
    assert deps is not None and (deps / "tiny.py").is_file()


def test_a_folder_that_declares_nothing_installs_nothing(tmp_path: Path) -> None:
    source = tmp_path / "fn"
    source.mkdir()
    (source / "requirements.txt").write_text("# boto3 comes with the runtime\n")
    assert dependencies.install(source, ARM, cache=tmp_path / "cache") is None
    assert not (tmp_path / "cache").exists()


def test_the_example_functions_package_holds_powertools() -> None:
    # GIVEN the example function, whose requirements.txt asks for aws-lambda-powertools[tracer]
    function = evaluate(MINIMAL).one("aws:lambda/function:Function")
    with zipfile.ZipFile(function.inputs["code"].path) as zf:
        names = set(zf.namelist())
    # THEN Powertools and the X-Ray SDK its tracer needs are in the zip, next to the handler
    assert {"app.py", "s3ep_shim.py", "aws_lambda_powertools/__init__.py"} <= names
    assert "aws_xray_sdk/__init__.py" in names
    assert not any("__pycache__" in n or n.startswith("bin/") for n in names)


def test_without_package_requirements_the_package_is_the_folder_and_the_shim() -> None:
    raw = config(function={"package_requirements": False})
    function = evaluate(raw).one("aws:lambda/function:Function")
    with zipfile.ZipFile(function.inputs["code"].path) as zf:
        assert sorted(zf.namelist()) == ["app.py", "requirements.txt", "s3ep_shim.py"]


def test_the_powertools_layer_is_the_official_one_for_the_region_runtime_and_architecture() -> None:
    own = "arn:aws:lambda:us-east-1:123456789012:layer:utils:3"
    raw = config(function={"powertools_layer": True, "layers": [own]})
    function = evaluate(raw).one("aws:lambda/function:Function")
    assert function.inputs["layers"] == [
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:27",
        own,
    ]
    raw = config(
        function={"powertools_layer": True, "powertools_layer_version": 30, "runtime": "python3.13"}
    )
    assert evaluate(raw).one("aws:lambda/function:Function").inputs["layers"] == [
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:30"
    ]


def test_synth_of_a_stack_whose_dependency_has_no_wheel_is_one_line_and_exit_2(
    tmp_path: Path,
    wheels: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = function_dir(tmp_path, f"--no-index\n--find-links {wheels}\nnative==1.0\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.t.yaml").write_text(
        "config:\n  s3ep:processor:\n    name_prefix: tt\n"
        "    function: {source_dir: fn, handler: app.handler}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(dependencies.CACHE_ENV, str(tmp_path / "cache"))
    assert main(["synth", "--stack", "t"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: function.source_dir requirements ({source.name}/")
    assert "no wheel of 'native' for python3.12 arm64" in err
