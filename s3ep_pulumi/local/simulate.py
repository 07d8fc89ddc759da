"""`s3ep simulate`: a stack's whole pipeline on a laptop, with the user's own handler.

The stack's program runs under recording mocks (as `s3ep synth` does); what the component
declared is materialised into moto (s3ep_pulumi/local/emulator.py: bucket and its EventBridge
notifications, rule and pattern, queues with their attributes and redrive, the function, the
state machine definition). Objects are uploaded, pollers run as the schedule would start them,
and the dispatcher invokes the function's own package, the zip the component built (its
dependencies, source_dir and the shim), unpacked and run as Lambda runs it (sandbox.py):
separate Python processes holding only the standard library, the package and boto3, with the
declared handler setting, environment and timeout, kept warm between invocations. Their AWS
calls reach the same in-process emulator (aws_endpoint.py). Nothing of the wiring is declared a
second time here.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib.metadata
import itertools
import json
import logging
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from s3ep_pulumi.component import dependencies
from s3ep_pulumi.component import stack as stack_module
from s3ep_pulumi.errors import S3epError
from s3ep_pulumi.local import aws_endpoint, report
from s3ep_pulumi.local import cost as pricing
from s3ep_pulumi.local.capture import REGION, Capture
from s3ep_pulumi.local.emulator import Invoked
from s3ep_pulumi.local.sandbox import (
    POWERTOOLS_DISTRIBUTIONS,
    SIMULATE_PYTHON_ENV,
    Function,
    InitFailed,
    Sandboxes,
    interpreter,
    python_version,
    sandboxes,
)
from s3ep_pulumi.model import resources
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.sections import POWERTOOLS_LAYER_RELEASE, POWERTOOLS_LAYER_VERSION
from s3ep_pulumi.runtime import s3ep_shim

FUNCTION_TYPE = "aws:lambda/function:Function"
MACHINE_TYPE = "aws:sfn/stateMachine:StateMachine"
RETRY_STATE = "RetryLater"  # the definition's state that hides a failed message for a while
SAMPLE_SECONDS = 0.1  # how often queue depth and progress are sampled
IDLE_TICK_SECONDS = 0.25  # pause while only hidden (retrying) messages remain
OVERLAP_AFTER_SECONDS = 0.05  # the schedule fires twice: the second poller starts right after
MAPPING_WAIT_SECONDS = 1  # the emulated mapping's long poll (Lambda's is 20 s): a quick stop
SYNTHETIC_BODY_BYTES = 1024
AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "s3ep-simulate",
    "AWS_SECRET_ACCESS_KEY": "s3ep-simulate",
    "AWS_SESSION_TOKEN": "s3ep-simulate",
}


class SimulationError(S3epError):
    """The stack or the handler cannot be simulated; the message says why and what to do."""


@dataclass(frozen=True)
class Options:
    stack: str
    objects: int = 40
    from_dir: Path | None = None
    unmatched: int | None = None  # default: a tenth of the uploads, at least 2
    fail_rate: float = 0.0
    fail_keys: str | None = None
    throttle_rate: float = 0.0
    overlap: bool = False
    retry_delay: int | None = None  # overrides dispatch.failed_retry_delay_seconds
    timeout: float = 120.0  # seconds the whole run may take
    seed: int = 1
    out: Path | None = None  # handler logs go to OUT/function.log; default out/STACK


def load_stack(stack: str) -> tuple[S3EventProcessorArgs, Capture]:
    """The stack's settings and everything its program declares (under mocks)."""
    from s3ep_pulumi.local.synth import synth_stack

    raw = stack_module.read_stack_config(stack).get(
        f"{stack_module.CONFIG_NAMESPACE}:{stack_module.CONFIG_KEY}"
    )
    args = stack_module.parse_args(raw, str(stack_module.stack_file(stack)))
    return args, synth_stack(stack)


def declared_function(args: S3EventProcessorArgs, capture: Capture) -> Function:
    if args.function.existing_function_arn is not None:
        raise SimulationError(
            "function.existing_function_arn is set: the stack invokes a function it does not "
            "build, so there is no handler code to run; simulate a stack with "
            "function.source_dir"
        )
    fn = capture.one(FUNCTION_TYPE)
    env = dict((fn.inputs.get("environment") or {}).get("variables") or {})
    handler = env.get(s3ep_shim.HANDLER_ENV)
    if fn.inputs.get("handler") != "s3ep_shim.handler" or not handler:
        raise SimulationError(
            f"function {fn.inputs['name']} is not fronted by the s3ep shim (handler "
            f"{fn.inputs.get('handler')!r}, {s3ep_shim.HANDLER_ENV} {handler!r})"
        )
    return Function(
        name=str(fn.inputs["name"]),
        arn=str(fn.state["arn"]),
        package=Path(fn.inputs["code"].path),
        entry=str(fn.inputs["handler"]),
        handler=str(handler),
        runtime=str(fn.inputs["runtime"]),
        timeout=float(fn.inputs["timeout"]),
        memory_mb=int(fn.inputs["memorySize"]),
        environment={k: str(v) for k, v in env.items()},
        log_group=str((fn.inputs.get("loggingConfig") or {}).get("logGroup", "")),
        layers=tuple(str(arn) for arn in fn.inputs.get("layers") or ()),
    )


def runtime_deviation(runtime: str, version: tuple[int, int] | None = None) -> str | None:
    """None when this interpreter is the declared runtime's Python, else the deviation."""
    major, minor = version or sys.version_info[:2]
    if runtime == f"python{major}.{minor}":
        return None
    if not runtime.startswith(f"python{major}."):
        raise SimulationError(
            f"function.runtime {runtime} cannot be simulated by Python {major}.{minor}"
        )
    return f"function.runtime: declared {runtime}, simulated on Python {major}.{minor}"


def with_retry_delay(definition: dict[str, Any], seconds: int) -> dict[str, Any]:
    """The definition with every RetryLater state's visibility set to `seconds` (a copy)."""
    out: dict[str, Any] = json.loads(json.dumps(definition))

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            if name == RETRY_STATE:
                state["Parameters"]["VisibilityTimeout"] = seconds
            if state.get("Type") == "Map":
                walk(state["ItemProcessor"]["States"])

    walk(out["States"])
    return out


def simulated_capture(capture: Capture, retry_delay: int | None) -> Capture:
    """The capture with the state machine's retry delay overridden (the rest as declared)."""
    if retry_delay is None:
        return capture
    machine = capture.one(MACHINE_TYPE)
    definition = with_retry_delay(json.loads(machine.inputs["definition"]), retry_delay)
    changed = replace(machine, inputs={**machine.inputs, "definition": json.dumps(definition)})
    return Capture(
        [changed if r is machine else r for r in capture.resources], dict(capture.outputs)
    )


# --- uploads ------------------------------------------------------------------------------------


def matches_filters(key: str, prefixes: list[str], suffixes: list[str]) -> bool:
    """What the bucket settings promise: any prefix (or none set) and any suffix (or none)."""
    return (not prefixes or key.startswith(tuple(prefixes))) and (
        not suffixes or key.endswith(tuple(suffixes))
    )


def synthetic_keys(n: int, prefixes: list[str], suffixes: list[str]) -> list[str]:
    """`n` keys inside the filters, the suffixes taken in turn."""
    prefix = prefixes[0] if prefixes else ""
    return [
        f"{prefix}sim-{i:04d}{suffixes[i % len(suffixes)] if suffixes else ''}" for i in range(n)
    ]


def unmatched_keys(n: int, prefixes: list[str], suffixes: list[str]) -> list[str]:
    """`n` keys the filters must ignore: a wrong suffix under the prefix, or outside the prefix
    (none when the bucket sets no filters)."""
    shapes = []
    if suffixes:
        shapes.append(f"{prefixes[0] if prefixes else ''}ignored-{{i:04d}}.s3ep-ignored")
    if prefixes:
        shapes.append(f"s3ep-ignored/ignored-{{i:04d}}{suffixes[0] if suffixes else ''}")
    if not shapes:
        return []
    keys = [shapes[i % len(shapes)].format(i=i) for i in range(n)]
    return [k for k in keys if not matches_filters(k, prefixes, suffixes)]


def files_to_upload(folder: Path, prefixes: list[str]) -> dict[str, Path]:
    """Key -> file for every file under `folder`, under the first prefix."""
    if not folder.is_dir():
        raise SimulationError(f"--from-dir {folder}: not a folder")
    prefix = prefixes[0] if prefixes else ""
    files = {
        f"{prefix}{p.relative_to(folder).as_posix()}": p
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    if not files:
        raise SimulationError(f"--from-dir {folder}: no files in it")
    return files


# --- the function at run time -------------------------------------------------------------------


@dataclass
class FunctionRuntime:
    """The function as the dispatcher invokes it: its execution environments (`sandbox.py`),
    with the injected failures (raised in the handler's place, once the shim would call it)."""

    sandboxes: Sandboxes
    fail_rate: float = 0.0
    fail_keys: str | None = None
    seed: int = 1
    in_flight: int = 0  # invocations running now
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def chance(self, rate: float) -> bool:
        with self._lock:
            return self._random.random() < rate

    def injected(self, payload: dict[str, Any]) -> str | dict[str, str] | None:
        """The failure to raise instead of calling the handler, if any, for this payload; for
        an SQS batch (the event source mapping engine), per object key."""
        if s3ep_shim.is_sqs_batch(payload):
            chosen = {}
            for record in payload["Records"]:
                key = _key_of(record.get("body"))
                if key is not None and (failure := self._failure(key)) is not None:
                    chosen[key] = failure
            return chosen or None
        key = _key_of(payload.get("body"))
        return None if key is None else self._failure(key)

    def _failure(self, key: str) -> str | None:
        if self.fail_keys is not None and fnmatch.fnmatchcase(key, self.fail_keys):
            return f"injected failure for {key} (--fail-keys)"
        if self.fail_rate and self.chance(self.fail_rate):
            return f"injected failure for {key} (--fail-rate)"
        return None

    def __call__(self, payload: dict[str, Any]) -> Invoked:
        inject = self.injected(payload)
        with self._lock:
            self.in_flight += 1
        try:
            return self.sandboxes.invoke(payload, inject)
        finally:
            with self._lock:
                self.in_flight -= 1


def _key_of(body: Any) -> str | None:
    """The object key of an S3 event body; None for a body the shim will not hand on."""
    try:
        return str(json.loads(body)["s3_details"]["key"])
    except (KeyError, TypeError, ValueError):
        return None


@contextlib.contextmanager
def lambda_function(
    args: S3EventProcessorArgs, function: Function, log: IO[str], python: str = sys.executable
) -> Iterator[Sandboxes]:
    """The function's execution environments, talking to the emulator of this process (use
    inside `mock_aws`); SimulationError, one line, when the function cannot start."""
    with aws_endpoint.serving(REGION) as endpoint, contextlib.ExitStack() as stack:
        try:
            boxes = stack.enter_context(
                sandboxes(function, log, endpoint, REGION, python, emulated_layers(args))
            )
        except InitFailed as error:
            raise SimulationError(init_failure(error, args)) from None
        yield boxes


def init_failure(error: InitFailed, args: S3EventProcessorArgs) -> str:
    """One line: why the function cannot start, and what to change."""
    answer, f = error.answer, args.function
    where = f"source_dir {f.source_dir}"
    kind, message = str(answer.get("errorType")), str(answer.get("errorMessage"))
    if kind == "ModuleNotFoundError" and answer.get("module"):
        importer = f" (imported by {answer['importer']})" if answer.get("importer") else ""
        return (
            f"the function's package has no module '{answer['module']}'{importer}: "
            f"{_missing_module_fix(args)}; the Lambda runtime provides only the "
            "standard library and boto3"
        )
    # the shim: the module has no such function
    if kind == "ValueError" and message.startswith(f"{s3ep_shim.HANDLER_ENV}="):
        return f"handler {f.handler} in {where}: {message}"
    if kind == "Runtime.InitError":
        return f"handler {f.handler} in {where}: {message}, Lambda's limit"
    return f"handler {f.handler}: importing it from {where} raised {kind}: {message}"


def _missing_module_fix(args: S3EventProcessorArgs) -> str:
    f = args.function
    assert f.source_dir is not None  # a function the component builds
    declared = dependencies.declared(f.source_dir)
    if declared is not None and not f.package_requirements:
        fix = (
            f"set function.package_requirements: true to install {declared.path}, or set "
            "function.layers"
        )
    else:
        listed = declared.path if declared is not None else f.source_dir / "requirements.txt"
        fix = f"add it to {listed} or set function.layers"
    if unemulated_layers(args):
        fix += " (the layers it has are not emulated here, so their modules are missing)"
    return fix


def unemulated_layers(args: S3EventProcessorArgs) -> list[str]:
    """The function's layers that the simulation cannot provide (all but Powertools')."""
    return resources.function_layers(args) or []


def emulated_layers(args: S3EventProcessorArgs) -> tuple[tuple[str, ...], ...]:
    """The layers the simulation provides, from this environment's packages: Powertools'."""
    return (POWERTOOLS_DISTRIBUTIONS,) if args.function.powertools_layer else ()


def layer_deviations(args: S3EventProcessorArgs) -> list[str]:
    out = []
    f = args.function
    if f.powertools_layer:
        try:
            here = importlib.metadata.version("aws-lambda-powertools")
            release = (
                f", Powertools {POWERTOOLS_LAYER_RELEASE}"
                if f.powertools_layer_version == POWERTOOLS_LAYER_VERSION
                else ""
            )
            out.append(
                f"function.powertools_layer: emulated by the aws-lambda-powertools {here} "
                f"installed here, not the layer (version {f.powertools_layer_version}{release})"
            )
        except importlib.metadata.PackageNotFoundError:
            out.append(
                "function.powertools_layer: not emulated (aws-lambda-powertools is not "
                "installed here)"
            )
    out += [f"function.layers: {arn} is not emulated" for arn in unemulated_layers(args)]
    return out


@contextlib.contextmanager
def emulator_log(path: Path) -> Iterator[None]:
    """moto's own log lines (its Step Functions interpreter reports paths a Choice found
    missing, which the definition expects) go to `path`, not to the terminal."""
    logger = logging.getLogger("moto")
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        handler.close()


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Progress:
    """What the live display shows; `update` is called from the sampler thread."""

    update: Callable[[dict[str, int]], None] = lambda state: None


@dataclass
class Run:
    """Everything a run produced: the summary and the raw material of the report."""

    summary: report.Summary
    calls: list[report.Call]
    samples: list[report.Sample]
    started: float
    function_log: Path


def simulate(opts: Options, progress: Progress | None = None) -> Run:
    """Run the stack's pipeline in moto; see the module docstring."""
    # The `local` extra; `s3ep simulate` checks it is installed before it gets here (extras.py).
    import boto3
    from moto import mock_aws

    from s3ep_pulumi.local.emulator import EMULATOR_CONFIG, materialise, patched_seams

    args, capture = load_stack(opts.stack)
    function = declared_function(args, capture)
    b, d = args.bucket, args.dispatch
    if "created" not in b.event_types:
        raise SimulationError(
            "bucket.event_types has no 'created': simulate uploads objects, so nothing would match"
        )
    mapping = not d.uses_dispatcher  # the event source mapping engine drains the queue
    deviations = (
        [
            "the event source mapping's pollers all start at once (Lambda starts five and adds "
            f"up to 300 a minute, up to MaximumConcurrency {d.max_concurrency}), and long-poll "
            f"{MAPPING_WAIT_SECONDS} s, not 20 s"
        ]
        if mapping
        else [
            "pollers start back to back, not every "
            f"{d.poll_interval_minutes} min (the schedule's interval)"
        ]
    )
    python = interpreter(function.runtime)
    version = python_version(python)
    if version is None:
        raise SimulationError(f"${SIMULATE_PYTHON_ENV} {python}: does not run")
    major, minor = (int(n) for n in version.split("."))
    if (mismatch := runtime_deviation(function.runtime, (major, minor))) is not None:
        deviations.append(mismatch)
    deviations += layer_deviations(args)
    if mapping and opts.retry_delay is not None:
        deviations.append(
            f"queue visibility timeout (the mapping's retry delay): declared "
            f"{args.budget.visibility_timeout_seconds} s, simulated {opts.retry_delay} s "
            "(--retry-delay)"
        )
    elif opts.retry_delay is not None and opts.retry_delay != d.failed_retry_delay_seconds:
        deviations.append(
            f"dispatch.failed_retry_delay_seconds: declared {d.failed_retry_delay_seconds} s, "
            f"simulated {opts.retry_delay} s (--retry-delay)"
        )
    for label, value in (
        ("--fail-rate", opts.fail_rate),
        ("--throttle-rate", opts.throttle_rate),
    ):
        if not 0 <= value <= 1:
            raise SimulationError(f"{label} {value}: give a fraction between 0 and 1")

    if opts.from_dir is not None:
        files = files_to_upload(opts.from_dir, b.prefixes)
        bodies: dict[str, Callable[[], bytes]] = {k: p.read_bytes for k, p in files.items()}
    else:
        if opts.objects < 1:
            raise SimulationError(f"--objects {opts.objects}: upload at least one object")
        bodies = {
            k: _synthetic_body(k) for k in synthetic_keys(opts.objects, b.prefixes, b.suffixes)
        }
    n_unmatched = opts.unmatched if opts.unmatched is not None else max(2, len(bodies) // 10)
    for k in unmatched_keys(n_unmatched, b.prefixes, b.suffixes):
        bodies[k] = _synthetic_body(k)
    expected = {k for k in bodies if matches_filters(k, b.prefixes, b.suffixes)}

    out = opts.out or Path("out") / opts.stack
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "function.log"
    throttle_random = random.Random(opts.seed + 1)
    throttle_lock = threading.Lock()

    def throttle(payload: dict[str, Any]) -> bool:
        with throttle_lock:
            return bool(opts.throttle_rate) and throttle_random.random() < opts.throttle_rate

    report_progress = progress or Progress()
    samples: list[report.Sample] = []
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(log_path.open("w"))
        stack.enter_context(emulator_log(out / "emulator.log"))
        stack.enter_context(environment(AWS_ENVIRONMENT))
        stack.enter_context(mock_aws(config=EMULATOR_CONFIG))  # type: ignore[call-overload]
        boxes = stack.enter_context(lambda_function(args, function, log, python))
        runtime = FunctionRuntime(boxes, opts.fail_rate, opts.fail_keys, opts.seed)
        recorder = stack.enter_context(
            patched_seams(invoker=runtime, throttle=throttle if opts.throttle_rate else None)
        )
        emu = materialise(
            mapping_capture(capture, opts.retry_delay)
            if mapping
            else simulated_capture(capture, opts.retry_delay)
        )
        s3 = boto3.client("s3")
        started = time.time()
        state = {"uploaded": 0, "to_upload": len(bodies), "matched": 0, "expected": len(expected)}
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                counts = emu.counts()
                samples.append(
                    report.Sample(time.time(), counts["queue"], counts["dlq"], runtime.in_flight)
                )
                succeeded = {i.key for i in list(recorder.invocations) if i.succeeded}
                calls = len(recorder.invocations)
                report_progress.update(
                    {
                        **state,
                        "processed": len(succeeded & expected),
                        "dlq": counts["dlq"],
                        "queue": counts["queue"],
                        "in_flight": runtime.in_flight,
                        "retried": calls - len({i.key for i in list(recorder.invocations)}),
                        "limit": d.max_concurrency,
                    }
                )
                stop.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, name="s3ep-simulate-sampler", daemon=True)
        sampler.start()
        uploads: dict[str, float] = {}
        for key, body in bodies.items():
            uploads[key] = time.time()
            s3.put_object(Bucket=emu.bucket, Key=key, Body=body())
            state["uploaded"] += 1
        state["matched"] = emu.counts()["queue"]  # EventBridge delivered them on each put
        matched = state["matched"]

        usage = pricing.Usage(objects=matched)
        if mapping:
            executions, ends, drained, usage = _run_mapping(emu, capture, opts, started, matched)
        else:
            executions, drained = _run_pollers(emu, opts, started)
        stop.set()
        sampler.join()
        final = emu.counts()
        dead_keys = _drain_dlq(emu.dlq_url)
        if not mapping:
            sfn = boto3.client("stepfunctions")
            ends = Counter(_how_it_ended(emu, sfn, arn) for arn in executions)
            for arn in executions:
                usage += emu.usage(arn)
        usage.objects = matched
        usage.extra_invocations = recorder.invokes - len(recorder.invocations)
        usage.pacing_gb_seconds = recorder.pacing_seconds() * function.memory_mb / 1024
        calls = [
            report.Call(i.key, i.start, i.end, _error(i.error, i.status_code))
            for i in recorder.invocations
        ]
    elapsed = time.time() - started
    achieved = report.start_rate(c.start for c in calls)
    priced = None
    if matched and mapping:  # SQS requests only: no state machine, no trigger, no pacing
        priced = pricing.cost(usage, d.workflow_type, triggers_per_object=0.0)
    elif matched and executions:
        polls_per_second = 1 / (d.poll_interval_minutes * 60)
        priced = pricing.cost(
            usage,
            d.workflow_type,
            triggers_per_object=polls_per_second / achieved if achieved else 0.0,
        )
    summary = report.summarise(
        stack=opts.stack,
        uploads=uploads,
        expected=expected,
        matched=matched,
        calls=calls,
        dead_keys=dead_keys,
        left_in_queue=final["queue"],
        throttles=recorder.throttles,
        max_concurrency=d.max_concurrency,
        configured_rate=d.rate_per_second,
        executions=dict(ends),
        elapsed_seconds=elapsed,
        cost_per_million=priced.total if priced else None,
        cost_breakdown=(
            {
                "step_functions": priced.step_functions,
                "sqs": priced.sqs,
                "lambda_pacing": priced.lambda_pacing,
                "triggers": priced.triggers,
                "logs": priced.logs,
            }
            if priced
            else {}
        ),
        deviations=deviations,
        drained=drained,
        engine=d.resolved_engine,
    )
    return Run(summary, calls, samples, started, log_path)


def _synthetic_body(key: str) -> Callable[[], bytes]:
    line = f"s3ep simulate: {key}\n".encode()
    return lambda: (line * (SYNTHETIC_BODY_BYTES // len(line) + 1))[:SYNTHETIC_BODY_BYTES]


def _error(error: str | None, status_code: int | None) -> str | None:
    if error is not None:
        return error
    if status_code is not None and status_code >= 400:
        return f"statusCode {status_code}"
    return None


RUN_NAMES = itertools.count()


def _run_pollers(emu: Any, opts: Options, started: float) -> tuple[list[str], bool]:
    """Start pollers as the schedule would (a second, overlapping one with `opts.overlap`)
    until nothing is queued or the time is up; their ARNs and whether the queue drained."""
    deadline = started + opts.timeout
    executions: list[str] = []
    while time.time() < deadline:
        counts = _visible(emu)
        if counts == (0, 0):
            return executions, True
        if counts[0] == 0:  # only failed messages waiting out their retry delay
            time.sleep(IDLE_TICK_SECONDS)
            continue
        batch = [emu.start_poller(f"simulate-{next(RUN_NAMES)}")]
        if opts.overlap:
            time.sleep(OVERLAP_AFTER_SECONDS)
            batch.append(emu.start_poller(f"simulate-{next(RUN_NAMES)}"))
        executions += batch
        for arn in batch:
            try:
                emu.wait(arn, timeout=max(1.0, deadline - time.time()))
            except TimeoutError:
                return executions, False
    return executions, _visible(emu) == (0, 0)


def mapping_capture(capture: Capture, retry_delay: int | None) -> Capture:
    """The capture with the queue's visibility timeout (the mapping's retry delay) overridden."""
    from s3ep_pulumi.local.emulator_esm import with_visibility

    return capture if retry_delay is None else with_visibility(capture, retry_delay)


def _run_mapping(
    emu: Any, capture: Capture, opts: Options, started: float, matched: int
) -> tuple[list[str], Counter[str], bool, pricing.Usage]:
    """Run the declared event source mapping until nothing is queued or the time is up: (no
    executions, the invocations' outcomes, whether the queue drained, the SQS requests it
    made)."""
    from s3ep_pulumi.local.emulator_esm import EmulatedMapping, MappingSettings, wait_until_drained

    esm = EmulatedMapping(
        MappingSettings.declared(capture), emu.queue_url, wait_seconds=MAPPING_WAIT_SECONDS
    )
    with esm.running():
        drained = wait_until_drained(emu.queue_url, max(0.0, started + opts.timeout - time.time()))
    figures = esm.figures
    usage = pricing.Usage(
        objects=matched,
        sqs_requests=figures.total_sqs_requests,
        sqs_by_action=dict(figures.sqs_requests),
    )
    return [], Counter(figures.outcomes), drained, usage


def _visible(emu: Any) -> tuple[int, int]:
    """(visible, in flight or hidden) messages of the main queue."""
    import boto3

    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=emu.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
    )


def _drain_dlq(url: str) -> list[str | None]:
    """The key of every message in the DLQ (None for a body that is not an S3 event)."""
    import boto3

    sqs = boto3.client("sqs")
    keys: list[str | None] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=3600
        ).get("Messages", [])
        if not messages:
            return keys
        for m in messages:
            try:
                keys.append(str(json.loads(m["Body"])["s3_details"]["key"]))
            except (ValueError, KeyError, TypeError):
                keys.append(None)


def _how_it_ended(emu: Any, sfn: Any, arn: str) -> str:
    status = str(sfn.describe_execution(executionArn=arn)["status"])
    if status != "SUCCEEDED":
        return status
    entered = emu.states_entered(arn)
    return entered[-1] if entered else status


REPORT_SUFFIXES = (".html", ".htm", ".svg")


def check_report_path(path: Path) -> None:
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise SimulationError(f"--report {path}: write .html (summary and timeline) or .svg")


def write_report(run: Run, path: Path) -> Path:
    """An HTML page (or, for a .svg path, the timeline alone)."""
    check_report_path(path)
    svg = report.timeline_svg(run.calls, run.samples, run.started)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg if path.suffix.lower() == ".svg" else report.html_report(run.summary, svg))
    return path
