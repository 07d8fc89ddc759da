"""Shared fixtures: configs that validate, and the component evaluated under recording mocks."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from s3ep_pulumi import S3EventProcessor, S3EventProcessorArgs
from s3ep_pulumi.local.capture import Capture, run_program

ROOT = Path(__file__).resolve().parent.parent
os.chdir(ROOT)  # source_dir and stacks/ are relative to the project, as under `pulumi up`

MINIMAL: dict[str, Any] = {
    "name_prefix": "img",
    "function": {"source_dir": "functions/process_object", "handler": "app.handler"},
}


def config(**sections: Any) -> dict[str, Any]:
    """MINIMAL with sections merged in (one level deep)."""
    out = copy.deepcopy(MINIMAL)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def evaluate(raw: dict[str, Any] | S3EventProcessorArgs, name: str = "images") -> Capture:
    """Declare one processor under mocks and return every recorded resource."""
    return run_program(lambda: S3EventProcessor(name, raw))


@pytest.fixture
def minimal() -> Capture:
    return evaluate(MINIMAL)
