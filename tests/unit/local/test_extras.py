"""A command whose extra is missing says which one to install, in one line, with exit status 2."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from helpers import ROOT

from s3ep_pulumi.errors import MissingExtraError
from s3ep_pulumi.local import extras
from s3ep_pulumi.local.cli import build_parser, main

# Everything an extra installs that s3ep or the example handler imports.
OPTIONAL_MODULES = sorted({*extras.EXTRA_OF_MODULE, "botocore", "aws_lambda_powertools"})


def block(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make `modules` look uninstalled: `import` raises and find_spec finds nothing."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_normalised(re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0]) for r in requirements}


@pytest.mark.parametrize(("module", "extra"), sorted(extras.EXTRA_OF_MODULE.items()))
def test_each_optional_module_comes_from_the_extra_it_names(module: str, extra: str) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = _requirement_names(pyproject["project"]["optional-dependencies"][extra])
    (distribution,) = packages_distributions()[module]
    assert _normalised(distribution) in listed, f"{module} ({distribution}) is not in [{extra}]"


@pytest.mark.parametrize("command", sorted(extras.COMMAND_NEEDS))
def test_each_command_with_needs_is_a_command(command: str) -> None:
    assert build_parser().parse_args([command, "--stack", "dev"]).command == command


def test_require_passes_when_every_extra_is_installed() -> None:
    extras.require("check")
    extras.require("simulate")


@pytest.mark.parametrize("command", ["synth", "schema"])
def test_commands_without_needs_require_nothing(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    block(monkeypatch, *OPTIONAL_MODULES)
    extras.require(command)


def test_check_without_pulumi_policy_names_the_policy_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    block(monkeypatch, "pulumi_policy")
    with pytest.raises(MissingExtraError) as exc_info:
        extras.require("check")
    assert str(exc_info.value) == (
        "s3ep check needs the 'policy' extra: pip install 's3ep-pulumi[policy]'"
    )


def test_check_without_parliament_names_the_local_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    block(monkeypatch, "parliament")
    with pytest.raises(MissingExtraError) as exc_info:
        extras.require("check")
    assert str(exc_info.value) == (
        "s3ep check needs the 'local' extra: pip install 's3ep-pulumi[local]'"
    )


def test_check_on_a_plain_install_names_both_extras_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    block(monkeypatch, *OPTIONAL_MODULES)
    assert main(["check", "--stack", "dev"]) == 2
    assert capsys.readouterr() == (
        "",
        "error: s3ep check needs the 'local' and 'policy' extras: "
        "pip install 's3ep-pulumi[local,policy]'\n",
    )


@pytest.mark.parametrize("module", ["boto3", "moto", "rich"])
def test_simulate_without_a_local_module_names_the_local_extra(
    module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    block(monkeypatch, module)
    assert main(["simulate", "--stack", "dev"]) == 2
    assert capsys.readouterr() == (
        "",
        "error: s3ep simulate needs the 'local' extra: pip install 's3ep-pulumi[local]'\n",
    )


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["schema"], ["synth", "--stack", "dev", "--out", "{tmp}"]],
    ids=["help", "schema", "synth"],
)
def test_runtime_commands_import_nothing_from_an_extra(argv: list[str], tmp_path: Path) -> None:
    # A fresh interpreter, so that no test has imported an extra's module already.
    code = (
        "import sys\n"
        f"for name in {OPTIONAL_MODULES!r}: sys.modules[name] = None\n"
        "from s3ep_pulumi.local.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = [a.format(tmp=tmp_path) for a in argv]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
