"""The CrossGuard rules of the s3ep policy pack, shared by `policy/__main__.py`, `s3ep check`
and the tests.

Needs only the `policy` extra (pulumi-policy) and `s3ep_pulumi.model`: it never imports pulumi-aws
or the component, so a pack that loads it stays small.
"""

from s3ep_pulumi.policy.rules import POLICIES, RULES, Rule

__all__ = ["POLICIES", "RULES", "Rule"]
