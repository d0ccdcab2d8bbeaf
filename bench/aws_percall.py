"""Microbenchmark botocore's per-call work that the collector's clients do for less (``clients.py``:
``sigv4``, ``headers``, ``endpoints``, ``timestamps``), against botocore's own path: each step
alone, then whole calls over HTTP/1.1 keep-alive to a local server answering canned AWS answers
(an IAM role listing in XML with timestamps, a SageMaker listing in JSON with an epoch-number
timestamp, an S3 bucket tagging in REST-XML), signed with an assumed role's refreshable
credentials as the collector's member-account clients are.

CPU seconds of the calling thread (``time.thread_time``), botocore's way and the collector's
alternately (A, B, A, B...), best and median of the rounds. Figures are printed, never asserted.

    PYTHONPATH=$PWD/src .venv/bin/python bench/aws_percall.py [--rounds 5]

Figures (12:04 UTC Dec 6, 2 shared cores, load 4.8-6; medians of 5 rounds, us of thread CPU):
answer headers read 27.2 -> 11.6; a ``...Z`` timestamp 35.3 -> 3.1; endpoint parameters and
resolution 10.0 -> 5.4 (SageMaker ListModels), 9.8 -> 5.4 (IAM ListRoles), 27.8 -> 13.0 (S3
GetBucketTagging). Whole calls (1.2-1.9 ms each on this loaded machine) move by more than these
savings from round to round, except IAM ListRoles (5 roles, 5 timestamps): 1874 -> 1587 (5 rounds),
1503 -> 1315 (9 rounds at load 2.5-4).

Figures (14:24 UTC Dec 6, load 9; medians of 7 rounds, us of thread CPU; the server answers without
Nagle's delay from here on, which left whole calls waiting 40 ms each for a delayed ACK): an epoch
number (the JSON protocols' timestamps) 6.6 -> 2.0; an assumed role's credentials' expiry check,
made before every signature, 7.3 -> 2.9; answer headers 28.5 -> 12.1; a ``...Z`` timestamp 34.6 ->
3.1; endpoint resolution 9.8 -> 5.3 (SageMaker), 9.6 -> 5.3 (IAM), 27.6 -> 12.9 (S3). Whole calls,
every shortcut (the lean signer too) against none: SageMaker ListModels 575 -> 447, IAM ListRoles
1134 -> 632, S3 GetBucketTagging 614 -> 505. What is left of a call is botocore's and urllib3's
many small steps, each a few us (the retry check 5.7, the user agent 4 twice, the pool lookup 11).
An organisation scan's 378 calls per account save some 3 ms of its ~550 ms of CPU this way, below
what ``bench/org_scan.py --accounts 1,10 --replay --throttle 0 --compare`` can see on this machine
(14:17-14:33, load 7-9, 4 alternated runs: mlguard CPU-s per account 0.53-0.61 with and without).
"""

from __future__ import annotations

import argparse
import http.client
import io
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.credentials
import botocore.session
import botocore.utils
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from urllib3._collections import HTTPHeaderDict
from urllib3.connection import _normalize_header_values  # type: ignore[attr-defined]
from urllib3.util.response import assert_header_parsing

from mlguard.collect.aws import endpoints, headers, sigv4, timestamps

HEAD = (
    b"Server: Server\r\nDate: Sun, 06 Dec 2026 11:00:00 GMT\r\nContent-Type: text/xml\r\n"
    b"Content-Length: 1234\r\nConnection: keep-alive\r\n"
    b"x-amzn-RequestId: 0c1b0b6e-7a8a-4a39-9e0a-1f1e1e1e\r\n\r\n"
)
ROLE = (
    "<member><Path>/</Path><RoleName>r{n}</RoleName><RoleId>AROA{n:016d}</RoleId>"
    "<Arn>arn:aws:iam::123456789012:role/r{n}</Arn><CreateDate>2026-11-0{d}T10:11:12Z</CreateDate>"
    "<AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument><MaxSessionDuration>3600</MaxSessionDuration>"
    "</member>"
)
ROLES = (
    '<ListRolesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolesResult><IsTruncated>false'
    "</IsTruncated><Roles>"
    + "".join(ROLE.format(n=n, d=n % 9 + 1) for n in range(5))
    + "</Roles></ListRolesResult>"
    "<ResponseMetadata><RequestId>abc</RequestId></ResponseMetadata></ListRolesResponse>"
).encode()
MODELS = (
    b'{"Models": [{"ModelName": "m", "ModelArn": "arn:aws:sagemaker:us-east-1:1:model/m", '
    b'"CreationTime": 1.7e9}]}'
)
TAGGING = (
    b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
)


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK wait each

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target") or ""
        if "SageMaker" in target:
            body, kind = MODELS, "application/x-amz-json-1.1"
        elif self.path.startswith("/b1") or "tagging" in self.path:
            body, kind = TAGGING, "application/xml"
        else:
            body, kind = ROLES, "text/xml"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("x-amzn-RequestId", "0c1b0b6e-7a8a-4a39-9e0a-1f1e1e1e1e1e")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *_: Any) -> None:
        pass


def _cpu_us(fn: Callable[[], Any], n: int) -> float:
    start = time.thread_time()
    for _ in range(n):
        fn()
    return (time.thread_time() - start) / n * 1e6


def _ab(name: str, theirs: Callable[[], Any], mine: Callable[[], Any], n: int, rounds: int) -> None:
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        a.append(_cpu_us(theirs, n))
        b.append(_cpu_us(mine, n))
    print(
        f"{name:44s} botocore {min(a):7.1f} us (median {statistics.median(a):7.1f})   "
        f"collector {min(b):7.1f} us (median {statistics.median(b):7.1f})   "
        f"saved {statistics.median(a) - statistics.median(b):6.1f} us"
    )


def _use(msg: http.client.HTTPMessage) -> None:
    """What urllib3 and http.client read of an answer's headers."""
    assert_header_parsing(msg)
    HTTPHeaderDict(_normalize_header_values(msg))
    msg.get("transfer-encoding")
    msg.get("connection")
    msg.get("content-length")


def _plain(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without the server's date header (which differs between two calls)."""
    answer["ResponseMetadata"]["HTTPHeaders"].pop("date", None)
    return answer


class _Assumed(CredentialProvider):  # type: ignore[misc]
    """An assumed role's credentials, as the collector's sessions of member accounts hold."""

    METHOD = "assume-role"

    def load(self) -> RefreshableCredentials:
        return RefreshableCredentials.create_from_metadata(
            {
                "access_key": "ASIAEXAMPLE",
                "secret_key": "secret",
                "token": "token",
                "expiry_time": "2099-01-01T00:00:00Z",
            },
            refresh_using=dict,
            method=self.METHOD,
        )


def _clients(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    made: list[dict[str, Any]] = []
    for lean in (False, True):
        session = botocore.session.Session()
        session.register_component("credential_provider", CredentialResolver([_Assumed()]))
        config = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})
        clients = {
            s: session.create_client(s, region_name="us-east-1", endpoint_url=url, config=config)
            for s in ("iam", "sagemaker", "s3")
        }
        if lean:
            for client in clients.values():
                sigv4.install(client)
                headers.install(client)
                endpoints.install(client)
                client._endpoint._response_parser_factory.set_parser_defaults(
                    timestamp_parser=timestamps.parse_timestamp
                )
        made.append(clients)
    return made[0], made[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rounds = args.rounds

    _ab(
        "answer headers read (+ urllib3's reads)",
        lambda: _use(http.client.parse_headers(io.BytesIO(HEAD))),
        lambda: _use(headers.parse_headers(io.BytesIO(HEAD))),
        5000,
        rounds,
    )
    stamp = "2026-12-06T11:00:00.123Z"
    _ab(
        "timestamp ...Z",
        lambda: botocore.utils.parse_timestamp(stamp),
        lambda: timestamps.parse_timestamp(stamp),
        5000,
        rounds,
    )
    epoch = 1765000000.123
    _ab(
        "timestamp epoch number",
        lambda: botocore.utils.parse_timestamp(epoch),
        lambda: timestamps.parse_timestamp(epoch),
        5000,
        rounds,
    )

    theirs_credentials, mine_credentials = _Assumed().load(), _Assumed().load()
    timestamps.install_clock(mine_credentials)
    _ab(
        "credentials' expiry check (per signature)",
        theirs_credentials.get_frozen_credentials,
        mine_credentials.get_frozen_credentials,
        5000,
        rounds,
    )

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    theirs, mine = _clients(url)
    for service, operation, params in [
        ("sagemaker", "ListModels", {}),
        ("iam", "ListRoles", {}),
        ("s3", "GetBucketTagging", {"Bucket": "b1"}),
    ]:
        model = theirs[service].meta.service_model.operation_model(operation)
        region = {"client_region": "us-east-1"}
        _ab(
            f"endpoint resolution {service}:{operation}",
            lambda s=service, m=model, p=params, c=region: theirs[s]._resolve_endpoint_ruleset(m, p, dict(c)),
            lambda s=service, m=model, p=params, c=region: mine[s]._resolve_endpoint_ruleset(m, p, dict(c)),
            3000,
            rounds,
        )
    for service, method, params in [
        ("sagemaker", "list_models", {}),
        ("iam", "list_roles", {}),
        ("s3", "get_bucket_tagging", {"Bucket": "b1"}),
    ]:
        a, b = getattr(theirs[service], method), getattr(mine[service], method)
        if _plain(a(**params)) != _plain(b(**params)):
            raise SystemExit(f"{service}:{method}: the answers differ")
        _ab(
            f"whole call {service}:{method}",
            lambda a=a, p=params: a(**p),
            lambda b=b, p=params: b(**p),
            300,
            rounds,
        )
    server.shutdown()


if __name__ == "__main__":
    main()
