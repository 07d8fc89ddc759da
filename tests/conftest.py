"""Shared fixtures. What tests import (MINIMAL, config, evaluate, events) lives in helpers.py."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from helpers import MINIMAL, ROOT, evaluate

from s3ep_pulumi.local.capture import Capture

# Fake credentials for moto, the union of what the tests set before: botocore finds these before
# any profile or instance role, so no test can reach a real account.
AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`aws` tests deploy into a real account, so they run only when `-m` names the marker
    (`pytest -m aws`). `-m "not aws"` in addopts would not do: a `-m` on the command line
    replaces the one in addopts, so `pytest -m "not emulator"` would select them again."""
    if re.search(r"\baws\b", config.getoption("markexpr") or ""):
        return
    aws = [item for item in items if item.get_closest_marker("aws") is not None]
    if aws:
        config.hook.pytest_deselected(items=aws)
        items[:] = [item for item in items if item.get_closest_marker("aws") is None]


@pytest.fixture(autouse=True, scope="session")
def project_dir() -> Iterator[None]:
    """Run every test from the project root: source_dir and stacks/ are relative to it, as
    under `pulumi up`."""
    before = os.getcwd()
    os.chdir(ROOT)
    yield
    os.chdir(before)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fake AWS credentials and region (us-east-1) for boto3 under moto; a named profile is
    unset, because botocore would prefer it to these. Start moto (`mock_aws`) in the test:
    tests differ in its config and in when it starts. Returns the variables set."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)
    for name, value in AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return dict(AWS_ENVIRONMENT)


@pytest.fixture
def minimal() -> Capture:
    return evaluate(MINIMAL)
