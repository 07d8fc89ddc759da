"""The s3ep CrossGuard pack: `pulumi preview --policy-pack policy` (see README).

The rules live in s3ep_pulumi/policies.py, where `s3ep check` and the tests use them too. Tune
them with `--policy-config FILE` (rule -> enforcementLevel and the settings in each rule's
config schema); docs/security.md lists every rule.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import load_rules
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="s3ep-security",
    enforcement_level=EnforcementLevel.ADVISORY,  # each rule sets its own level
    policies=load_rules().POLICIES,
)
