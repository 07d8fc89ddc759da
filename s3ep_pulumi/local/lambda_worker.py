"""One Lambda execution environment for `s3ep simulate`: a Python process that holds only what
Lambda's Python runtime would (standard library only: this file runs without s3ep installed).

Started by `sandbox.py` as

    python -I -S -B -u lambda_worker.py '<json settings>'

`-I -S`: no site-packages, no PYTHON* variables, not even this file's folder on sys.path; `-B`:
no bytecode written (Lambda's /var/task is read-only), `-u`: logs as they are written. The
settings name the folders that make the path, in Lambda's order (the unpacked package, the
layers, then the runtime's own folder holding boto3 and botocore), the handler setting
(`module.function`), and the file descriptor that answers go to. stdout and stderr are the
function's log, as CloudWatch Logs keeps them.

The init phase imports the handler module, and, as the first invocation would, the user's handler
behind the s3ep shim; its failure is the first answer and the process ends. Then every line on
stdin is one invocation, {"event", "context", "inject"}, answered by one JSON line:
{"result"} or {"errorType", "errorMessage", "stackTrace"}, with "calls", the handler's
start and end (epoch seconds) as the shim called it. The process stays warm between invocations,
as a Lambda execution environment does.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

SHIM_MODULE = "s3ep_shim"


class InjectedFailure(RuntimeError):
    """Raised instead of calling the handler (`s3ep simulate --fail-rate`, `--fail-keys`)."""


class LambdaContext:
    """What Lambda hands a Python handler as `context`."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name: str = fields["function_name"]
        self.function_version: str = fields["function_version"]
        self.invoked_function_arn: str = fields["invoked_function_arn"]
        self.memory_limit_in_mb: int = fields["memory_limit_in_mb"]
        self.aws_request_id: str = fields["aws_request_id"]
        self.log_group_name: str = fields["log_group_name"]
        self.log_stream_name: str = fields["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline_ms: int = fields["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class Invocation:
    """The current invocation's injected failure and the handler calls seen in it; each call is
    announced when it starts, so a call cut short by the timeout is still known."""

    inject: str | dict[str, str] | None = None  # one failure, or one per object key (a batch)
    calls: list[dict[str, Any]] = []
    answers: Any = None  # the answers stream

    @classmethod
    def started(cls, record: dict[str, Any]) -> None:
        cls.calls.append(record)
        if cls.answers is not None:
            cls.answers.write(json.dumps({"started": record}) + "\n")


def timed(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """`handler`, recording when the shim called it and how it ended."""

    def call(event: Any, context: Any) -> Any:
        key = str(event["s3_details"]["key"])  # the shim validated the event
        record: dict[str, Any] = {"key": key, "start": time.time()}
        Invocation.started(record)
        try:
            inject = Invocation.inject
            if isinstance(inject, dict):
                inject = inject.get(key)
            if inject is not None:
                raise InjectedFailure(inject)
            result = handler(event, context)
        except Exception as error:
            record.update(end=time.time(), error=type(error).__name__)
            raise
        code = result.get("statusCode") if isinstance(result, dict) else None
        record.update(end=time.time(), error=None, status_code=code)
        return result

    return call


def init(settings: dict[str, Any]) -> Callable[[Any, Any], Any]:
    """Import the handler setting's module and, through the shim, the user's handler."""
    module_name, _, function_name = settings["handler"].rpartition(".")
    module = importlib.import_module(module_name)
    entry: Callable[[Any, Any], Any] = getattr(module, function_name)
    if module_name == SHIM_MODULE:
        # The shim imports the handler named in its variable on its first call and keeps it in
        # _HANDLERS; import it now, so that a missing module fails here, once, and time it.
        spec = os.environ[module.HANDLER_ENV]
        module._HANDLERS[spec] = timed(module.load_handler(spec))
    return entry


def failure(error: BaseException, task_root: str) -> dict[str, Any]:
    """Lambda's error answer, and for an import error the module and the package file that
    imported it."""
    out: dict[str, Any] = {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }
    if isinstance(error, ModuleNotFoundError):
        out["module"] = error.name
        inside = [
            frame.filename
            for frame in traceback.extract_tb(error.__traceback__)
            if frame.filename.startswith(task_root + os.sep)
            and not frame.filename.endswith(f"{os.sep}{SHIM_MODULE}.py")
        ]
        if inside:
            out["importer"] = os.path.relpath(inside[-1], task_root)
    return out


def invoke(entry: Callable[[Any, Any], Any], request: dict[str, Any], task_root: str) -> Any:
    """One invocation's answer. A SystemExit ends the process, as it ends the runtime."""
    context = LambdaContext(request["context"])
    os.environ["_X_AMZN_TRACE_ID"] = request["trace_id"]
    Invocation.inject, Invocation.calls = request.get("inject"), []
    try:
        result = entry(request["event"], context)
    except Exception as error:
        answer = failure(error, task_root)
    else:
        try:
            json.dumps(result)  # Lambda serialises the result as JSON
            answer = {"result": result}
        except (TypeError, ValueError) as error:
            answer = {
                "errorType": "Runtime.MarshalError",
                "errorMessage": f"Unable to marshal response: {error}",
            }
    return {**answer, "calls": Invocation.calls}


def main(argv: list[str]) -> int:
    settings = json.loads(argv[1])
    sys.path[:0] = settings["path"]
    answers = Invocation.answers = os.fdopen(settings["answers_fd"], "w", buffering=1)
    try:
        entry = init(settings)
    except BaseException as error:  # the init phase failed: say why, once, and stop
        answers.write(json.dumps({"ready": False, **failure(error, settings["path"][0])}) + "\n")
        return 1
    answers.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        answer = invoke(entry, request, settings["path"][0])
        sys.stdout.flush()
        sys.stderr.flush()
        answers.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
