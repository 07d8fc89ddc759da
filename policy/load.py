"""Load the rules from ../s3ep_pulumi without importing the component (and pulumi-aws).

`s3ep_pulumi/__init__.py` imports the component; the pack needs only `policies`, `iam` and
`security`, which import nothing else of the package. Registering the package's folder as a bare
package lets those modules import each other as `s3ep_pulumi.*` while `__init__` never runs.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "s3ep_pulumi"


def load_rules() -> types.ModuleType:
    if "s3ep_pulumi" not in sys.modules:
        package = types.ModuleType("s3ep_pulumi")
        package.__path__ = [str(PACKAGE_DIR)]
        sys.modules["s3ep_pulumi"] = package
    return importlib.import_module("s3ep_pulumi.policies")
