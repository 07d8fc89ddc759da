"""The s3ep CrossGuard pack: `pulumi preview --policy-pack policy` (see README).

The rules live in `s3ep_pulumi/policy/`, one module per service, where `s3ep check` and the tests
use them too. That package imports only pulumi-policy, the standard library and
`s3ep_pulumi.model.security`/`limits` (themselves standard library only;
`s3ep_pulumi/__init__.py` imports lazily), so this pack's own virtualenv needs nothing but
`requirements.txt`. Tune the rules with `--policy-config FILE` (rule -> enforcementLevel and the
settings in each rule's config schema); docs/security.md lists every rule.
"""

import sys
from pathlib import Path

# The checkout's root, so `s3ep_pulumi` is importable without installing its dependencies.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from s3ep_pulumi.policy import POLICIES

PolicyPack(
    name="s3ep-security",
    enforcement_level=EnforcementLevel.ADVISORY,  # each rule sets its own level
    policies=POLICIES,
)
