"""Pure functions that return JSON documents: IAM and resource policies, the event pattern and
input transformer, the state machine, alarms, the dashboard, scaling, integrations.

No Pulumi, no I/O: they take plain values (names, ARNs, the model) and return dicts, so they are
tested without mocks. May import the standard library, `s3ep_pulumi.model` and
`s3ep_pulumi.runtime`.
"""
