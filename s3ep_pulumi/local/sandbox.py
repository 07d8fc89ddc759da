"""The function's execution environments for `s3ep simulate`: its package, run as Lambda runs it.

Each environment is a Python process (`lambda_worker.py`) started from the unpacked zip the
component built, with nothing but what the Lambda Python runtime provides on its path: the
standard library (`python -I -S`), then the package, the layers that can be emulated, and a
folder holding only boto3, botocore and their dependencies (linked from this environment). Its
environment variables are the function's declared ones and those Lambda sets (region,
credentials, `AWS_LAMBDA_*`, `LAMBDA_TASK_ROOT`), plus `AWS_ENDPOINT_URL`: the in-process moto,
served by `aws_endpoint.py`. Its stdout and stderr are the function's log.

Environments are kept warm between invocations and started on demand, one per concurrent
invocation, as Lambda scales out (each start is a cold start: the init phase imports the
handler). An invocation past the function's timeout is answered `Sandbox.Timedout` and its
process is killed (Lambda resets a timed-out environment); a process that exits mid-invocation
is `Runtime.ExitError`.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from s3ep_pulumi.errors import S3epError
from s3ep_pulumi.local import lambda_worker
from s3ep_pulumi.local.emulator import Invocation, Invoked

WORKER = Path(lambda_worker.__file__)
# What the Lambda Python runtime provides besides the standard library: boto3 and what it needs
# (docs/aws-semantics.md, L1).
RUNTIME_DISTRIBUTIONS = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
)
# What the Powertools V3 layer holds that an environment with the `local` extra has too.
POWERTOOLS_DISTRIBUTIONS = ("aws-lambda-powertools", "aws-xray-sdk", "wrapt", "typing-extensions")
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit on an on-demand init phase
STOP_SECONDS = 2.0  # how long a worker may take to end once its stdin closes
SIMULATE_PYTHON_ENV = "S3EP_SIMULATE_PYTHON"  # the interpreter to run the handler with


@dataclass(frozen=True)
class Function:
    """The function as declared, from the capture."""

    name: str
    arn: str
    package: Path  # the zip the component built: dependencies, source_dir and the shim
    entry: str  # the function's handler setting: s3ep_shim.handler
    handler: str  # the user's 'module.function' (S3EP_HANDLER)
    runtime: str
    timeout: float  # seconds, as deployed
    memory_mb: int
    environment: dict[str, str]
    log_group: str
    layers: tuple[str, ...] = ()


class InitFailed(S3epError):
    """The function's init phase failed; `answer` is Lambda's error for it (with `module` and
    `importer` for a missing module)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(f"{answer.get('errorType')}: {answer.get('errorMessage')}")
        self.answer = answer


def interpreter(runtime: str) -> str:
    """The Python to run the handler with: $S3EP_SIMULATE_PYTHON, else the runtime's own
    version (`python3.12` on PATH) if it runs, else this one."""
    named = os.environ.get(SIMULATE_PYTHON_ENV)
    if named:
        return named
    found = shutil.which(runtime)
    if found and python_version(found) == runtime.removeprefix("python"):
        return found
    return sys.executable


def python_version(executable: str) -> str | None:
    """'3.12' for a Python 3.12 interpreter; None when it does not run."""
    try:
        done = subprocess.run(
            [executable, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def link_distributions(names: tuple[str, ...], folder: Path) -> dict[str, str]:
    """Link the top-level modules and metadata of the installed distributions `names` into
    `folder`; name -> version of those installed."""
    folder.mkdir(parents=True, exist_ok=True)
    versions = {}
    for name in names:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        versions[name] = dist.version
        tops = {f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] not in ("..", "bin")}
        for top in sorted(tops - {"__pycache__"}):
            source, target = Path(str(dist.locate_file(top))), folder / top
            if source.exists() and not target.exists():
                try:
                    target.symlink_to(source, target_is_directory=source.is_dir())
                except OSError:  # no symlinks here (Windows without the privilege): copy
                    if source.is_dir():
                        shutil.copytree(source, target)
                    else:
                        shutil.copy2(source, target)
    return versions


def lambda_environment(
    function: Function, task_root: Path, runtime_dir: Path, endpoint: str, region: str
) -> dict[str, str]:
    """The process environment: what Lambda sets, the declared variables (which cannot
    replace Lambda's reserved ones), and the way to the emulated AWS."""
    reserved = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": "s3ep-simulate",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_ACCESS_KEY_ID": "s3ep-simulate",
        "AWS_SECRET_ACCESS_KEY": "s3ep-simulate",
        "AWS_SESSION_TOKEN": "s3ep-simulate",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "_HANDLER": function.entry,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    emulator = {
        "AWS_ENDPOINT_URL": endpoint,
        # nothing from this machine's AWS configuration, no instance metadata
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    declared = {k: v for k, v in function.environment.items() if k not in reserved}
    return {**declared, **emulator, **reserved}


def trace_header() -> str:
    """An X-Ray trace header for one invocation, not sampled: the X-Ray SDK records nothing and
    sends nothing (there is no X-Ray daemon here)."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled=0"


class Worker:
    """One execution environment: a warm process answering invocations in turn."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, log: IO[str]) -> None:
        read_end, write_end = os.pipe()
        settings = json.loads(command[-1])
        settings["answers_fd"] = write_end
        self.process = subprocess.Popen(
            [*command[:-1], json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            env=env,
            cwd=cwd,
            pass_fds=(write_end,),
            text=True,
        )
        os.close(write_end)
        self.answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read, args=(read_end,), name="s3ep-sandbox-answers", daemon=True
        )
        self._reader.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd) as answers:
            for line in answers:
                self.answers.put(json.loads(line))
        self.answers.put(None)  # the process closed it: it ended

    def next_answer(self, deadline: float) -> dict[str, Any] | None:
        """The next line, None when the process ended; TimeoutError past `deadline`."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        try:
            return self.answers.get(timeout=remaining)
        except queue.Empty:
            raise TimeoutError from None

    def send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        # A process that is gone cannot take it; its answers end, which says so.
        with contextlib.suppress(OSError):
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()

    def kill(self) -> int:
        """End the process now; its exit status."""
        self.process.kill()
        self._close_stdin()
        return self.process.wait()

    def stop(self) -> int:
        """Let the process end (no more invocations), killing it if it does not; its status."""
        self._close_stdin()
        try:
            return self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            return self.kill()

    def _close_stdin(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):  # a pipe whose reader is gone
            self.process.stdin.close()


@dataclass
class Sandboxes:
    """The function's execution environments, one per concurrent invocation, kept warm."""

    function: Function
    root: Path  # a scratch folder: the unpacked package, the runtime and layer folders
    log: IO[str]  # the function's log
    endpoint: str  # the emulated AWS (aws_endpoint.serving)
    region: str
    python: str = sys.executable
    # Emulated layers, in the function's layer order: the installed distributions each holds.
    layers: tuple[tuple[str, ...], ...] = ()
    cold_starts: int = 0
    _idle: list[Worker] = field(default_factory=list)
    _all: list[Worker] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def task_root(self) -> Path:
        return self.root / "task"

    @property
    def runtime_dir(self) -> Path:
        return self.root / "runtime"

    @property
    def layer_dirs(self) -> list[Path]:
        """Where the layers' modules are, a later layer first (it wins, as in /opt)."""
        return [self.root / "layers" / str(i) for i in reversed(range(len(self.layers)))]

    def prepare(self) -> None:
        """Unpack the package and lay out the runtime's own folder and the layers'."""
        with zipfile.ZipFile(self.function.package) as zf:
            zf.extractall(self.task_root)
        link_distributions(RUNTIME_DISTRIBUTIONS, self.runtime_dir)
        for i, names in enumerate(self.layers):
            link_distributions(names, self.root / "layers" / str(i))

    def start(self) -> None:
        """Prepare and start the first environment: InitFailed if its init phase fails."""
        self.prepare()
        self._idle.append(self._started())

    def _started(self) -> Worker:
        path = [str(self.task_root), *map(str, self.layer_dirs), str(self.runtime_dir)]
        settings = {"path": path, "handler": self.function.entry, "answers_fd": -1}
        env = lambda_environment(
            self.function, self.task_root, self.runtime_dir, self.endpoint, self.region
        )
        # -B: nothing written next to the modules (/var/task and the runtime are read-only)
        command = [self.python, "-I", "-S", "-B", "-u", str(WORKER), json.dumps(settings)]
        worker = Worker(command, env, self.task_root, self.log)
        with self._lock:
            self._all.append(worker)
            self.cold_starts += 1
        try:
            ready = worker.next_answer(time.monotonic() + INIT_TIMEOUT_SECONDS)
        except TimeoutError:
            worker.kill()
            raise InitFailed(
                {
                    "errorType": "Runtime.InitError",
                    "errorMessage": f"init phase took over {INIT_TIMEOUT_SECONDS:.0f} s",
                }
            ) from None
        if ready is None or not ready.get("ready"):
            worker.kill()
            raise InitFailed(ready or {"errorType": "Runtime.ExitError", "errorMessage": "exited"})
        return worker

    def invoke(
        self, payload: dict[str, Any], inject: str | dict[str, str] | None = None
    ) -> Invoked:
        """One invocation, as Lambda answers it."""
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            try:
                worker = self._started()
            except InitFailed as error:
                return Invoked(
                    error_type=str(error.answer.get("errorType")),
                    error_message=str(error.answer.get("errorMessage")),
                )
        request_id = str(uuid.uuid4())
        timeout = self.function.timeout
        deadline = time.monotonic() + timeout
        worker.send(
            {
                "event": payload,
                "inject": inject,
                "trace_id": trace_header(),
                "context": {
                    "function_name": self.function.name,
                    "function_version": "$LATEST",
                    "invoked_function_arn": self.function.arn,
                    "memory_limit_in_mb": self.function.memory_mb,
                    "aws_request_id": request_id,
                    "log_group_name": self.function.log_group,
                    "log_stream_name": "s3ep-simulate",
                    "deadline_ms": int((time.time() + timeout) * 1000),
                },
            }
        )
        started: list[dict[str, Any]] = []
        try:
            while (answer := worker.next_answer(deadline)) is not None and "started" in answer:
                started.append(answer["started"])
        except TimeoutError:
            worker.kill()
            return _unfinished(
                started,
                "Sandbox.Timedout",
                f"{request_id} Task timed out after {timeout:.2f} seconds",
            )
        if answer is None:  # the process ended mid-invocation
            code = worker.stop()
            return _unfinished(
                started,
                "Runtime.ExitError",
                f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}",
            )
        with self._lock:
            self._idle.append(worker)
        calls = [_invocation(c) for c in answer.get("calls", [])]
        if "errorType" in answer:
            return Invoked(
                error_type=str(answer["errorType"]),
                error_message=str(answer.get("errorMessage", "")),
                calls=calls,
            )
        return Invoked(result=answer.get("result"), calls=calls)

    def close(self) -> None:
        for worker in self._all:
            worker.stop()


def _invocation(call: dict[str, Any]) -> Invocation:
    return Invocation(
        key=str(call["key"]),
        start=float(call["start"]),
        end=float(call["end"]),
        error=call.get("error"),
        status_code=call.get("status_code"),
    )


def _unfinished(started: list[dict[str, Any]], error_type: str, message: str) -> Invoked:
    """The answer to an invocation cut short; a handler call it was in ends with it."""
    now = time.time()
    calls = [
        Invocation(key=str(c["key"]), start=float(c["start"]), end=now, error=error_type)
        for c in started
    ]
    return Invoked(error_type=error_type, error_message=message, calls=calls)


@contextlib.contextmanager
def sandboxes(
    function: Function,
    log: IO[str],
    endpoint: str,
    region: str,
    python: str,
    layers: tuple[tuple[str, ...], ...] = (),
) -> Iterator[Sandboxes]:
    """The function's environments in a scratch folder, the first one started (InitFailed if
    it cannot be), all stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="s3ep-sandbox-") as tmp:
        boxes = Sandboxes(function, Path(tmp), log, endpoint, region, python, layers)
        try:
            boxes.start()
            yield boxes
        finally:
            boxes.close()
