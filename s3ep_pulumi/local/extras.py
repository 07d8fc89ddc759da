"""Which `s3ep` command needs which optional module, and which extra installs it.

The one place that knows the extras: the CLI asks `require(command)` before it runs a command,
so a missing extra is one line naming it (exit status 2), never a traceback from deep inside.
`s3ep synth`, `s3ep schema` and `s3ep --help` need only the runtime dependencies.
"""

from __future__ import annotations

import importlib.util

from s3ep_pulumi.errors import MissingExtraError

DISTRIBUTION = "s3ep-pulumi"

# top-level module -> the extra of pyproject.toml that installs it
EXTRA_OF_MODULE: dict[str, str] = {
    "boto3": "local",
    "moto": "local",
    "parliament": "local",
    "rich": "local",
    "pulumi_policy": "policy",
}

# command -> the optional modules it imports. `check` needs both extras: its exit status 0 says
# that the pack *and* the IAM lint passed, so it does not run with half of itself missing.
COMMAND_NEEDS: dict[str, tuple[str, ...]] = {
    "check": ("pulumi_policy", "parliament"),
    "simulate": ("boto3", "moto", "rich"),
    "redrive": ("boto3", "rich"),
    "status": ("boto3", "rich"),
    "backfill": ("boto3", "rich"),
}


def installed(module: str) -> bool:
    """Whether a top-level module can be imported (found, not imported)."""
    return importlib.util.find_spec(module) is not None


def missing_extras(modules: tuple[str, ...]) -> list[str]:
    """The extras to install so that every one of `modules` imports, sorted."""
    return sorted({EXTRA_OF_MODULE[m] for m in modules if not installed(m)})


def install_hint(command: str, extras: list[str]) -> str:
    """One line: the command, the extras it lacks, the pip command that adds them."""
    names = " and ".join(f"'{e}'" for e in extras)
    noun = "extra" if len(extras) == 1 else "extras"
    requirement = f"{DISTRIBUTION}[{','.join(extras)}]"
    return f"s3ep {command} needs the {names} {noun}: pip install '{requirement}'"


def require(command: str) -> None:
    """Raise MissingExtraError when an extra that `command` needs is not installed."""
    extras = missing_extras(COMMAND_NEEDS.get(command, ()))
    if extras:
        raise MissingExtraError(install_hint(command, extras))
