"""Nothing deployed moves: every resource of the dev and prod stacks keeps its type, parent and
logical name, i.e. its URN, as recorded in tests/snapshots/resources-<stack>.json."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from helpers import ROOT

from s3ep_pulumi.local.synth import synth_stack

SNAPSHOTS = ROOT / "tests" / "snapshots"


def urns(stack: str) -> list[str]:
    return [r.urn for r in synth_stack(stack).resources]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_resource_keeps_its_urn(stack: str) -> None:
    snapshot_file = SNAPSHOTS / f"resources-{stack}.json"
    snapshot = set(json.loads(snapshot_file.read_text()))
    now = set(urns(stack))
    added, removed = sorted(now - snapshot), sorted(snapshot - now)
    assert not added and not removed, (
        f"The {stack} stack's resources differ from {snapshot_file.relative_to(ROOT)}.\n"
        "A changed type, parent or logical name is a new URN: `pulumi up` deletes the deployed "
        "resource and creates a new one (a queue's messages go with it). Keep the old "
        "name, or add `aliases=` to the resource and then update the snapshot.\n"
        + "".join(f"\n  added:   {urn}" for urn in added)
        + "".join(f"\n  removed: {urn}" for urn in removed)
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_two_resources_share_a_urn(stack: str) -> None:
    assert [urn for urn, n in Counter(urns(stack)).items() if n > 1] == []
