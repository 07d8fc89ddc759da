"""What every benchmark needs before it imports s3ep_pulumi: the checkout on sys.path and as the
working directory (the stacks' `functions/...` paths are relative to it), fake AWS credentials
for moto; and the handler they all time, one that sleeps."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
for k, v in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
}.items():
    os.environ.setdefault(k, v)


def sleeping(seconds: float) -> Any:
    """A handler that takes `seconds` and succeeds."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        time.sleep(seconds)
        return {"statusCode": 200}

    return handler
