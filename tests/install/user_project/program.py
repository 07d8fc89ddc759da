"""A user's own Pulumi program, run under the user's own mocks by tests/test_packaging.py in a
venv that installed only the wheel: it prints the function's package as the component built it.

    python program.py  ->  {"archive": "build/functions/<sha256>.zip", "names": [...]}
"""

import json
import zipfile
from typing import Any

import pulumi


class Mocks(pulumi.runtime.Mocks):
    """Echoes every resource's inputs with an ARN, and keeps each Lambda function's code."""

    def __init__(self) -> None:
        self.archives: list[pulumi.FileArchive] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "aws:lambda/function:Function":
            self.archives.append(args.inputs["code"])
        arn = f"arn:aws:mock:us-east-1:123456789012:{args.name}"
        return f"{args.name}-id", {**args.inputs, "arn": arn}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        return {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": "123456789012",
                "arn": "arn:aws:iam::123456789012:user/me",
                "userId": "AIDAME",
            },
            "aws:index/getRegion:getRegion": {"name": "us-east-1", "region": "us-east-1"},
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
            },
        }[args.token]


mocks = Mocks()
pulumi.runtime.set_mocks(mocks, project="user", stack="dev", preview=False)

from s3ep_pulumi import S3EventProcessor  # noqa: E402  (after set_mocks, as Pulumi's guide says)


@pulumi.runtime.test  # type: ignore[misc]
def images() -> pulumi.Output[None]:
    processor = S3EventProcessor(
        "images",
        {
            "name_prefix": "img",
            "function": {"source_dir": "functions/hello", "handler": "app.handler"},
        },
    )

    def report(arn: str) -> None:
        (archive,) = mocks.archives
        with zipfile.ZipFile(archive.path) as zf:
            names = sorted(zf.namelist())
        print(json.dumps({"function_arn": arn, "archive": archive.path, "names": names}))

    return processor.function_arn.apply(report)


images()
