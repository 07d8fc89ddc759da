"""Evaluate a Pulumi program offline and record every resource it declares.

Used by `s3ep synth`, `s3ep check`, the emulator and the tests: one recording, the same camelCase
wire properties the engine would receive, and fake but well-formed ARNs and URLs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime.mocks import MockMonitor

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"

# type token -> (ARN resource part built from the physical name, service)
_ARN_SHAPES: dict[str, tuple[str, str]] = {
    "aws:sqs/queue:Queue": ("sqs", "{name}"),
    "aws:dynamodb/table:Table": ("dynamodb", "table/{name}"),
    "aws:lambda/function:Function": ("lambda", "function:{name}"),
    "aws:sfn/stateMachine:StateMachine": ("states", "stateMachine:{name}"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/{name}"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}"),
    "aws:scheduler/schedule:Schedule": ("scheduler", "schedule/default/{name}"),
    "aws:sns/topic:Topic": ("sns", "{name}"),
    "aws:kms/key:Key": ("kms", "key/{name}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:{name}"),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": (
        "firehose",
        "deliverystream/{name}",
    ),
}


@dataclass
class Recorded:
    """One resource as the engine would see it."""

    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    urn: str = ""  # as the engine would name it (the root stack's type left out, as it does)
    id: str = ""
    # URNs (as `urn` spells them) the engine would create this resource after: every resource
    # an input came from, and every `depends_on`.
    dependencies: set[str] = field(default_factory=set)
    # URNs behind each input, as the SDK reports them (`dependencies` minus these is depends_on).
    property_dependencies: dict[str, set[str]] = field(default_factory=dict)
    ignore_changes: list[str] = field(default_factory=list)  # the `ignore_changes` option

    @property
    def explicit_dependencies(self) -> set[str]:
        """URNs this resource waits for through `depends_on` only (no input comes from them)."""
        via_inputs = set().union(*self.property_dependencies.values())
        return self.dependencies - via_inputs

    def prop(self, key: str) -> Any:
        """An input, with JSON strings (policies, definitions) decoded."""
        value = self.inputs.get(key)
        if isinstance(value, str) and value[:1] in "{[":
            return json.loads(value)
        return value


@dataclass
class Capture:
    resources: list[Recorded] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Recorded:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_token} {name or ''}, found {len(found)}")
        return found[0]

    def dispatcher(self) -> Recorded:
        """The dispatcher's state machine (a processor may declare a backfill machine too)."""
        found = [
            r
            for r in self.of_type("aws:sfn/stateMachine:StateMachine")
            if r.name.endswith("-dispatcher")
        ]
        if len(found) != 1:
            raise LookupError(f"expected one dispatcher state machine, found {len(found)}")
        return found[0]

    def dispatcher_run(self) -> Recorded | None:
        """A STANDARD dispatcher's EXPRESS run state machine (None for an EXPRESS dispatcher)."""
        found = [
            r
            for r in self.of_type("aws:sfn/stateMachine:StateMachine")
            if r.name.endswith("-dispatcher-run")
        ]
        return found[0] if found else None

    def by_name(self, name: str) -> Recorded:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one resource named {name}, found {len(found)}")
        return found[0]


def fake_secret(arn: str) -> str:
    """The value the mocks answer for the secret `arn`."""
    return f"mock-secret-{arn.rsplit(':', 1)[-1].rsplit('/', 1)[-1]}"


def _physical_name(args: MockResourceArgs) -> str:
    inputs = args.inputs
    return str(inputs.get("name") or inputs.get("bucket") or f"{args.name}-physical")


def _engine_urn(urn: str) -> str:
    """A URN as `Recorded.urn` spells it: without the root stack's type, as the engine does."""
    return urn.replace("::pulumi:pulumi:Stack$", "::", 1)


@dataclass(frozen=True)
class _Options:
    """What a registration says besides its inputs: the dependencies and options the engine
    would act on, which `MockResourceArgs` does not carry."""

    dependencies: set[str]
    property_dependencies: dict[str, set[str]]
    ignore_changes: list[str]


class RecordingMonitor(MockMonitor):
    """The mock monitor, also keeping each registration's dependencies and `ignore_changes`."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.options: dict[str, _Options] = {}

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method it overrides
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        self.options[response.urn] = _Options(
            dependencies={_engine_urn(u) for u in request.dependencies},
            property_dependencies={
                key: {_engine_urn(u) for u in deps.urns}
                for key, deps in request.propertyDependencies.items()
            },
            ignore_changes=list(request.ignoreChanges),
        )
        return response


class RecordingMocks(Mocks):
    """Answers every resource with plausible outputs and records it."""

    def __init__(self) -> None:
        self.capture = Capture()

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        name = _physical_name(args)
        state: dict[str, Any] = dict(args.inputs)
        state.setdefault("name", name)
        if args.typ in _ARN_SHAPES:
            service, shape = _ARN_SHAPES[args.typ]
            state["arn"] = (
                f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT_ID}:{shape.format(name=name)}"
            )
        if args.typ == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
            resource_id = state["url"]
        elif args.typ == "aws:s3/bucket:Bucket":
            state["arn"] = f"arn:{PARTITION}:s3:::{name}"
            state["bucket"] = name
            resource_id = name
        elif args.typ == "aws:iam/role:Role":
            state["arn"] = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{name}"
            resource_id = name
        elif args.typ == "aws:lambda/function:Function":
            state["version"] = "1"
            state["qualifiedArn"] = f"{state['arn']}:1"
            resource_id = name
        elif args.typ == "aws:lambda/eventSourceMapping:EventSourceMapping":
            state["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, args.name))
            state["arn"] = (
                f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:event-source-mapping:{state['uuid']}"
            )
            resource_id = state["uuid"]
        elif args.typ == "aws:lambda/alias:Alias":
            fn = args.inputs.get("functionName")
            state["arn"] = (
                f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{fn}:{args.inputs['name']}"
            )
            resource_id = state["arn"]
        else:
            resource_id = state.get("arn", f"{args.name}-id")
        self.capture.resources.append(
            Recorded(type=args.typ, name=args.name, inputs=dict(args.inputs), state=state)
        )
        return resource_id, state

    # pulumi's Mocks also accepts a plain dict (no check failures); see pulumi/runtime/mocks.py.
    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/s3ep",
                "userId": "AIDAS3EP",
                "id": ACCOUNT_ID,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION}
        # Secret values are fakes derived from the ARN, so a test can look for them in the state.
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            secret_id = args.args["secretId"]
            return {"arn": secret_id, "id": secret_id, "secretString": fake_secret(secret_id)}
        if args.token == "aws:ssm/getParameter:getParameter":
            name = args.args["name"]
            return {"arn": name, "id": name, "name": name, "value": fake_secret(name)}
        if args.token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return {"json": json.dumps({"Version": "2012-10-17", "Statement": []})}
        raise NotImplementedError(f"s3ep mocks do not answer the invoke {args.token}")


def run_program(
    program: Callable[[], Any],
    *,
    project: str = "s3ep",
    stack: str = "dev",
    config: dict[str, Any] | None = None,
) -> Capture:
    """Run `program` under recording mocks (not a preview: every `apply` runs) and return what
    it declared. Exceptions raised by the program propagate unchanged."""
    pulumi.runtime.settings.reset_options()
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()}
    )
    exports: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def _run() -> pulumi.Output[Any]:
        program()
        stack_outputs = pulumi.runtime.get_root_resource()
        outputs = getattr(stack_outputs, "outputs", {}) if stack_outputs else {}
        return pulumi.Output.from_input(outputs).apply(exports.update)

    try:
        _run()
    finally:
        pulumi.runtime.set_all_config({})
    mocks.capture.outputs = exports
    _name_resources(mocks.capture, monitor)
    return mocks.capture


def _name_resources(capture: Capture, monitor: RecordingMonitor) -> None:
    """Give each recording the URN and id the monitor registered it under, and the dependencies
    and options the program declared for it."""
    by_state = {id(reg.state): reg for reg in monitor.resources.values()}
    for r in capture.resources:
        reg = by_state.get(id(r.state))
        if reg is not None:
            r.urn = _engine_urn(reg.urn)
            r.id = str(reg.id)
            options = monitor.options.get(reg.urn)
            if options is not None:
                r.dependencies = options.dependencies
                r.property_dependencies = options.property_dependencies
                r.ignore_changes = options.ignore_changes
