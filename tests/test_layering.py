"""Layering is checked, not promised: the import-linter contracts in pyproject.toml, and what a
forbidden contract cannot say (runtime: the standard library only; policy: pulumi-policy and two
model modules only), read from the source with `ast`."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

PACKAGE = ROOT / "s3ep_pulumi"
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"

# What the policy pack may import besides the standard library and itself.
POLICY_MAY_IMPORT = ("pulumi_policy", "s3ep_pulumi.model.security", "s3ep_pulumi.model.limits")


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones made absolute.

    `from a.b import c` yields `a.b.c` when `c` may be a module, so `from s3ep_pulumi.model
    import limits` is an import of `s3ep_pulumi.model.limits`, not of all of `model`."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            out.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return out


def is_within(module: str, allowed: tuple[str, ...]) -> bool:
    """`module` is one of `allowed`, inside one of them, or a name imported from one of them."""
    return any(module == a or module.startswith(f"{a}.") for a in allowed)


def is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


def lint_imports(project: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the project at `project` (the package is imported from there)."""
    only = [arg for c in contracts for arg in ("--contract", c)]
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo", *only],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def test_import_linter_contracts_are_kept() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, f"lint-imports found broken contracts:\n{run.stdout}{run.stderr}"
    assert "0 broken" in run.stdout, run.stdout


# One import that each contract must catch (the policy one indirectly, through model.security).
VIOLATIONS = {
    "layers": ("model/naming.py", "from s3ep_pulumi.builders import iam"),
    "pure": ("builders/iam.py", "import pulumi_aws"),
    "policy": ("model/security.py", "import pydantic"),
    "runtime": ("runtime/s3ep_shim.py", "from s3ep_pulumi.model import limits"),
    "local": ("component/stack.py", "from s3ep_pulumi.local import cost"),
}


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_each_contract_catches_a_violation(contract: str, tmp_path: Path) -> None:
    # A copy of the package with one bad import: the contract must break, naming the import.
    shutil.copytree(PACKAGE, tmp_path / "s3ep_pulumi", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    module, line = VIOLATIONS[contract]
    with (tmp_path / "s3ep_pulumi" / module).open("a") as f:
        f.write(f"\n{line}\n")
    run = lint_imports(tmp_path, contract)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 broken" in run.stdout, run.stdout
    imported = line.split()[1]
    assert f"s3ep_pulumi.{module[:-3].replace('/', '.')} -> {imported}" in run.stdout, run.stdout


def test_runtime_imports_only_the_standard_library() -> None:
    # The shim is copied into the user's function as a single file: even an import of another
    # s3ep_pulumi module (relative or not) would fail there.
    outside = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((PACKAGE / "runtime").rglob("*.py"))
        for line, module in imports(path)
        if not is_stdlib(module)
    ]
    assert not outside, "runtime/ may import only the standard library:\n" + "\n".join(outside)


def test_the_simulated_lambda_worker_imports_only_the_standard_library() -> None:
    # `s3ep simulate` runs it as a file, in a process with nothing but the standard library,
    # the function's package and boto3 on its path (local/sandbox.py).
    worker = PACKAGE / "local" / "lambda_worker.py"
    outside = [f"{line}: {module}" for line, module in imports(worker) if not is_stdlib(module)]
    assert not outside, "lambda_worker.py may import only the standard library:\n" + "\n".join(
        outside
    )


def test_policy_imports_only_pulumi_policy_and_the_models_security_and_limits() -> None:
    allowed = (*POLICY_MAY_IMPORT, "s3ep_pulumi.policy")
    outside = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((PACKAGE / "policy").rglob("*.py"))
        for line, module in imports(path)
        if not (is_stdlib(module) or is_within(module, allowed))
    ]
    assert not outside, (
        f"policy/ may import only the standard library and {', '.join(POLICY_MAY_IMPORT)} "
        "(a policy pack installs pulumi-policy and nothing else):\n" + "\n".join(outside)
    )


def test_the_import_reader_sees_plain_relative_and_nested_imports(tmp_path: Path) -> None:
    # The two tests above are only as good as `imports`: it must see every kind of import.
    module = tmp_path / "s3ep_pulumi" / "runtime" / "scratch.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import json, os.path\n"
        "from . import sibling\n"
        "from .. import model\n"
        "from ..model.limits import X\n"
        "def f():\n"
        "    import boto3\n"
    )
    found = sorted(imports(module, root=tmp_path))
    assert found == [
        (1, "json"),
        (1, "os.path"),
        (2, "s3ep_pulumi.runtime.sibling"),
        (3, "s3ep_pulumi.model"),
        (4, "s3ep_pulumi.model.limits.X"),
        (6, "boto3"),
    ]
    assert [m for _, m in found if not is_stdlib(m)] == [m for _, m in found[2:]]
