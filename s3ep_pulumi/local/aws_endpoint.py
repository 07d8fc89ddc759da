"""An AWS endpoint on 127.0.0.1 for the function's processes, answered by moto in this process.

`s3ep simulate` runs moto in-process (`mock_aws`: botocore here never leaves the process), but
the handler runs in processes of its own (`sandbox.py`), whose unpatched boto3 speaks HTTP. They
get `AWS_ENDPOINT_URL` pointing here; each request is handed to the same in-process moto, so the
handler reads the objects the simulation uploaded and the pipeline sees what the handler writes.

moto's own server mode (`moto.server.ThreadedMotoServer`) needs Flask, which the `local` extra
does not install; this is the part of it the simulation needs: the service and region come from
the request's SigV4 credential scope, the request goes to moto's dispatcher under the service's
AWS host name (S3 in path style, as botocore addresses a bucket at an IP endpoint).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

HOST = "127.0.0.1"
GLOBAL_SERVICES = {"iam": "iam.amazonaws.com", "sts": "sts.amazonaws.com"}
# Credential=AKID/20250101/us-east-1/s3/aws4_request, in the header or a presigned URL's query.
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def aws_host(service: str, region: str) -> str:
    """The host name moto's URL patterns know the service by."""
    if service in GLOBAL_SERVICES:
        return GLOBAL_SERVICES[service]
    return f"{service}.{region}.amazonaws.com"


def scope(authorization: str | None, path: str, default_region: str) -> tuple[str, str]:
    """(service, region) of a SigV4 request; unsigned ones are taken for S3."""
    for text in (authorization or "", unquote(path)):
        if match := _SCOPE.search(text.replace("X-Amz-Credential=", "Credential=")):
            return match.group(2), match.group(1)
    return "s3", default_region


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore pools its connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: moto's log (emulator.log) has what matters."""

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers, up to the blank line
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self) -> None:
        from botocore.awsrequest import AWSPreparedRequest
        from botocore.compat import HTTPHeaders
        from moto.core.models import botocore_stubber

        body = self._body()
        service, region = scope(self.headers.get("Authorization"), self.path, self.server.region)
        host = aws_host(service, region)
        headers = HTTPHeaders()
        for key, value in self.headers.items():
            if key.lower() not in _HOP_BY_HOP:
                headers[key] = value
        headers["Host"] = host
        request = AWSPreparedRequest(
            method=self.command,
            url=f"https://{host}{self.path}",
            headers=headers,
            body=body,
            stream_output=False,
        )
        answer = botocore_stubber.process_request(request)
        status: int
        out_headers: Any
        payload: Any
        if answer is None:
            status, out_headers, payload = (
                404,
                {"Content-Type": "text/plain"},
                f"s3ep simulate: moto does not emulate {service} ({self.command} {self.path})",
            )
        else:
            status, out_headers, payload = answer
        data = payload.encode() if isinstance(payload, str) else bytes(payload or b"")
        self.send_response(status)
        for key, value in out_headers.items():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, str(value))
        # HEAD answers carry the length of what GET would return, and no body.
        given = {k.lower(): v for k, v in out_headers.items()}.get("content-length")
        length = given if self.command == "HEAD" else None
        self.send_header("Content-Length", str(length if length is not None else len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _forward


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, region: str) -> None:
        super().__init__((HOST, 0), _Handler)
        self.region = region


@contextmanager
def serving(region: str) -> Iterator[str]:
    """Serve on a free port of 127.0.0.1 while this lasts (inside `mock_aws`); its URL."""
    server = _Server(region)
    thread = threading.Thread(target=server.serve_forever, name="s3ep-aws-endpoint", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
