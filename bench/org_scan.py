"""Benchmark an organisation scan: N member accounts x R regions behind a slow, throttling proxy.

Starts ``moto_server`` and a latency/throttling proxy (HTTPS with ``--tls``) as separate processes
on 127.0.0.1 (so their memory and CPU are not the scanner's), creates an AWS Organization with the
largest N member accounts asked for, seeds every member account with the ML estate of
``tests/collect/aws/estate.py`` in every region (through the member's assumed role: moto keeps
each account's resources apart), then, for each N, runs the collector in a fresh child process
(so its peak RSS is that run's) against the first N member accounts through the proxy, and prints:
wall time, API calls and HTTP requests, calls per resource, peak memory (max RSS of the child;
tracemalloc peak with ``--trace``), and concurrency (mean in-flight requests seen by the proxy =
time spent in requests / wall time, and the peak). CPU seconds are given per process: the scanner
(``mlguard``, with its milliseconds per API call), the moto server and the proxy, since all three
share the machine's cores; and the adaptive rate limits' throttles seen, rate cuts and seconds
calls were held back.

``--compare SRC`` runs each N twice, alternately: with another checkout's ``src`` (e.g. a
``git archive`` of the base commit) and with this one, under the same load and the same server.

    .venv/bin/python bench/org_scan.py [--accounts 1,10,30] [--regions us-east-1,eu-west-1]
        [--latency-ms 50] [--throttle 0.02] [--rate 0] [--workers 16] [--retry-mode standard]
        [--per-type] [--policies s3_bucket_default_encryption] [--compare OTHER/src] [--replay]
        [--shards K]

The proxy throttles in two ways, alone or together: ``--throttle`` answers that share of requests,
picked at random, with a throttling error (a rate limit cannot avoid those); ``--rate N`` throttles
as real APIs do, by rate: a token bucket of N requests per second (burst N) per (access key, i.e.
account, region, service), and a request finding it empty is throttled.

``--replay`` scans each N twice, alternately: a recording pass (``rec``: the proxy forwards to moto,
as without ``--replay``, and keeps every answer), then the measured pass (``rply``: the same latency,
status, headers and body, answered from the recording; moto is not asked, so its CPU, which real AWS
does not cost this machine, leaves the cores). An answer is found by what identifies the request
(``_Proxy.key``): the account (an assumed role's fresh access key id mapped to its account through the
AssumeRole answer), region and service, method, path and query, body hash, timestamps blanked (the
scanner's "last N days" windows), and the headers but the signature, dates, tokens, SDK invocation id
and attempt count. Throttles are decided first, as without ``--replay``. A request with no recorded
answer gets a 500 and is counted (``misses``: must be 0); the replay's resources and errors are
compared with the recording pass's.

    PYTHONPATH=$PWD/src .venv/bin/python bench/org_scan.py --accounts 1,10 --replay [--throttle 0]

Figures (Dec 6 2026, 2 shared cores, load 3-5; 3 runs each, ``rec`` and ``rply`` alternately; 0 misses,
the same resources and errors in both passes; 378 requests per account then, 365 now):

    throttle  pass   1 account  10 accounts  10/1     mlguard CPU-s/acct  proxy CPU-s/acct  moto
    0         rec    3.9-4.3 s  17.2-18.6 s  4.0-4.8  0.84-0.89           0.27-0.28         ~1.0
    0         rply   2.3-2.4 s   9.2-9.5 s   4.0-4.1  0.71-0.82           0.12-0.14         0.0
    0.02      rec    3.7-5.1 s  13.9-20.0 s  3.1-5.4  0.83-0.91           0.26-0.29         ~1.0
    0.02      rply   2.7-3.1 s   9.7-11.5 s  3.1-3.7  0.70-0.81           0.12-0.13         0.0

Peak RSS of the scanner: 212-234 MiB (1 account), 230-257 MiB (10). Without moto the 10 accounts'
wall is about mlguard's own CPU seconds (7-8 s, one process: its threads share one GIL), not the
cores' floor (about 4.5 s): the 2x goal (about 4.6-6 s) needs less CPU per account in mlguard, or
its accounts spread over more than one process.

Less CPU per client and per call (09:15-09:40 UTC Dec 6, load 10-16: so only A/B figures, this
tree against 05ec0e7 alternately with ``--compare``, 5 rounds, ``--replay --throttle 0``, the rply
pass; copy-on-write handler trees, the environment's proxies read once per scan, plain context
managers around each request): mlguard CPU-s per account over 10 accounts 0.70-0.80 (mean 0.75)
before, 0.64-0.79 (mean 0.69) after, lower in every round; ms per request 1.86-2.13 before,
1.71-2.10 after; wall 10.3-14.0 s before, 9.4-14.3 s after (10 accounts), 3.6-3.9 s and 3.1-4.4 s
(1 account; the load moves these more than the change). Single-thread microbenchmarks, alternated:
1.6-1.7 -> 1.0-1.2 ms per client made and dropped (scan GC thresholds), about 1.3 ms per call
either way: what is left is botocore's own per-call work (SigV4 signing with email-based headers,
urllib3/http.client, parsing, about a dozen events per call).

``--shards K`` scans each N with K local collector processes together, process i reading its
shard (``--shard i/K``, as ``mlguard collect --shard`` does) of the units; the row is their
sum, its wall time from the first start to the last end. With ``--replay --throttle 0`` (07:23 UTC,
Dec 6, load 0.7-1.3): 2 shards, 10 accounts 7.6 s (shards 6.3 and 5.2 s) against 1 account 2.9 s.

``--jobs K`` scans as ``mlguard scan --jobs K`` does (:func:`mlguard.collect.jobs.run_jobs`): the
service models parsed once, K-1 forked collectors and this process, each reading its shard, merged;
CPU is every process's, memory the peak PSS (shared pages split between sharers) of the process
tree. Every provider is imported before the clock starts (the CLI has them before it collects).
With ``--replay --throttle 0`` (10:15-10:20 UTC Dec 6, load 1.4-2.2, after the per-call work above
and the malloc arena cap of ``mlguard.collect.arenas``):

    jobs  1 account  10 accounts  10/1 (10 / best 1)  mlguard CPU-s/acct  peak memory (10)
    1     2.1 s      8.5-8.8 s    4.0-4.2             0.74-0.80           228 MiB RSS (255 without the cap)
    2     2.5-2.6 s  6.4-6.5 s    2.5-2.6 (3.0-3.1)   0.77-0.80           315-317 MiB PSS (321 without)

Two processes take 10 accounts from 8.5 to 6.4 s, on a floor of about 4.4 s (mlguard's 7.7
CPU-s and the proxy's 1.1 on 2 cores); one account is slower with two (the models parsed before
the fork, 0.3 s, and its three units do not split evenly). The 2x goal (4.2 s) is under that
floor on this machine: it needs less CPU per call or more cores.

15:10-15:25 UTC Dec 6 (load 1.4-3), after cheaper clients (``rulesets``, ``configreads``, the shared
TLS context), epoch timestamps and the credentials' clock, identical calls made once per account and
region (365 requests per account, was 378), and ``--jobs`` claiming an account-region only when none
of a process's queued types waits (before: as each unit's first type started, so the first process
took most units within its first round trips):

    jobs  1 account  10 accounts  10/1 (10 / best 1)   mlguard CPU-s/acct  peak memory (10)
    1     1.8 s      7.6-7.7 s    4.2-4.3              0.55-0.58           235-240 MiB RSS
    2     1.7-2.0 s  4.0-4.3 s    2.0-2.6 (2.4-2.5)    0.57-0.61           321-324 MiB PSS
    2, claims as each unit's first type started (the same tree otherwise, alternately):
          1.7-2.2 s  5.1-5.6 s    2.6-3.1              0.59-0.62           326-330 MiB PSS

With two processes the cores are ~85% busy from 0.3 s after the start (the organisation listed, the
roles assumed) to a 0.6 s tail (the last units' chains: one account has at most ``max_workers`` calls
in flight); the floor is about 3.2 s (mlguard's 5.8-6.1 CPU-s and the proxy's 0.6 on 2 cores).

``--tls`` serves the proxy over HTTPS, with a certificate of a throwaway CA made for the run; the
scanner trusts it through ``AWS_CA_BUNDLE``, a copy of certifi's bundle with that CA added (as large
as what a real scan loads); each row adds the connections the scanner opened and the TLS handshakes.
With ``--replay --throttle 0 --tls``, this tree against b7ca80f alternately (``--compare``, 11:24-11:33
UTC Dec 6, load 3-11; 2 rounds of 10 accounts, 1 of 1 account; the rply pass):

    src                       1 account               10 accounts
    b7ca80f (a pool and an    3.2 CPU-s, 8.4 ms/req,  34.3-34.8 CPU-s (3.4-3.5 per account), 9.1-9.3 ms/req,
      SSLContext per client)  93 connections          977-1002 connections and handshakes, 310-320 MiB
    this tree (connections)   1.1 CPU-s, 3.0 ms/req,  6.5-7.1 CPU-s (0.65-0.71 per account), 1.7-1.9 ms/req,
                              17 connections          54-56 connections and handshakes, 231-233 MiB

urllib3 loaded the CA bundle into a context again for every connection (cProfile of b7ca80f, 1
account: 118 ``load_verify_locations`` of 21 ms each, 42% of the scan's CPU; a handshake is 0.9 ms):
over TLS the scan cost about 5x its CPU over plain HTTP. With the CA loaded once per process and the
connections of one endpoint shared by every client (``mlguard.collect.aws.connections``), the scan
over TLS costs what it costs over HTTP (0.71 CPU-s per account, b7ca80f over HTTP). Here every
service is one host (the proxy), so the pools share more than against AWS (one host per service and
region, each with its own pool shared by the accounts); the bundle is loaded once either way.

The proxy is one asyncio loop (it was a thread per connection, ``ThreadingHTTPServer``): 10 accounts
over HTTP with the b7ca80f collector (~990 connections), old and new proxy alternately (11:30-11:38
UTC, load 5-12): replay pass 1.2 and 1.2 CPU-s before, 0.9 and 0.8 after (0.12 -> 0.085 per account);
recording pass 2.4-2.5 before, 2.6-2.8 after (each answer moto gives crosses to a forwarding thread).

After this session's per-call work (12:20-12:45 UTC Dec 6, 2 idle cores, load 0.7-2.4): the CA bundle loaded
once per process and pools shared per endpoint (``connections.py``), the lean SigV4 signer
(``sigv4.py``), answer headers without the email package (``headers.py``), endpoint parameters
from a plan (``endpoints.py``), ``...Z`` timestamps without dateutil's tokenizer
(``timestamps.py``); and, for ``--jobs``, units claimed at run time by the first free process, N
times the accounts in flight per process (its share of each), no collection before the fork, the
models parsed with the cycle collector paused:

    jobs  1 account  10 accounts  10/1 (10 / one process's 1)  mlguard CPU-s/acct  peak memory (10)
    1     2.1-2.2 s  7.0-7.1 s    3.2-3.3                        0.58-0.61           230-234 MiB RSS
    2     1.6-1.7 s  4.6-4.9 s    2.8-2.9 (2.2-2.3)              0.59-0.60           329-331 MiB PSS

On 2 cores the 10 accounts need 6.5 CPU-s (mlguard's 5.9-6.0 and the proxy's 0.5): 3.3 s at best;
the runs spend about 0.3 s parsing the models before the fork, 0.2 s before the first request and
a ramp and a tail of latency chains around the CPU-bound middle (about 1,000 requests a second).
With ``--tls``: 5.6 s for 10 accounts (``--jobs 2``, before the last two changes), 98 connections.

``--per-type`` adds calls per resource per type; ``--policies`` scans only those policies' types
twice, reading every field (as before pruning) and only what they read, and prints both.

Figures are printed, never asserted. To compare with another checkout, put its ``src`` first on
``PYTHONPATH`` (options the older collector lacks are left out when not given).
"""

from __future__ import annotations

import argparse
import hashlib
import http
import http.client
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROLE = "OrganizationAccountAccessRole"

# --------------------------------------------------------------------------- the proxy


class _Proxy:
    def __init__(
        self, upstream: str, latency: float, throttle: float, seed: int, gaps_as_501: bool, rate: float = 0
    ) -> None:
        self.gaps_as_501 = gaps_as_501
        self.rate = rate  # requests per second per (access key, region, service); 0: no rate limit
        self.tokens: dict[tuple[str, ...], tuple[float, float]] = {}  # key -> (tokens, when)
        self.upstream = upstream.removeprefix("http://")
        self.latency = latency
        self.throttle = throttle
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.local = threading.local()
        # --replay: "forward" (as ever), "record" (forward and keep each answer), "replay" (answer
        # from what was kept, never asking moto)
        self.mode = "forward"
        self.recording: dict[tuple[Any, ...], tuple[bytes, int]] = {}  # key -> (raw answer, status)
        self.owner: dict[str, str] = {}  # access key id of an assumed role -> its account
        self.reset()

    def set_mode(self, mode: str) -> None:
        with self.lock:
            if mode == "record":  # a fresh recording
                self.recording.clear()
                self.owner.clear()
            self.mode = mode

    def key(self, command: str, path: str, headers: Any, body: bytes) -> tuple[Any, ...]:
        """What identifies a request across runs: who (the account: an assumed role's fresh access
        key id is mapped to its account), region and service (the credential scope), method, path and
        query, the body's hash, with every timestamp in them blanked (the scanner asks for windows
        ending now: jobs created in the last N days, metrics of the last N days), and every header but
        those that change from run to run or attempt to attempt, or repeat what is already in the key
        (:data:`_VOLATILE`: the signature, X-Amz-Date, the session token, the SDK's invocation id and
        attempt count, the payload's hash and length). X-Amz-Target (the operation of a json-protocol
        call, whose body is often just ``{}``) and Host stay in."""
        auth = headers.get("Authorization") or ""
        scope = auth.rsplit("Credential=", maxsplit=1)[-1].split(",", maxsplit=1)[0].split("/")
        who, region, service = (scope[0], scope[2], scope[3]) if len(scope) > 3 else (auth[:64], "", "")
        return (
            self.owner.get(who, who),
            region,
            service,
            command,
            tuple(sorted((k.lower(), v) for k, v in headers.items() if k.lower() not in _VOLATILE)),
            _TIME_IN_PATH.sub("<time>", path),
            hashlib.blake2b(_TIME_IN_BODY.sub(b"<time>", body), digest_size=16).digest(),
        )

    def learn(self, body: bytes, answer: bytes) -> None:
        """After an AssumeRole: the access key id it handed out belongs to the role's account (moto
        hands out a random one per call, so keys made with it would not match the next run's)."""
        role = _ROLE_ACCOUNT.search(body)
        key_id = _ACCESS_KEY_ID.search(answer)
        if role and key_id:
            with self.lock:
                self.owner[key_id.group(1).decode()] = f"account {role.group(1).decode()}"

    def reset(self) -> None:
        with self.lock:
            self.requests = 0
            self.throttled = 0
            self.gaps = 0
            self.in_flight = 0
            self.peak = 0
            self.busy = 0.0  # summed seconds of all requests (latency included)
            self.first: float | None = None
            self.last: float | None = None
            self.replayed = 0
            self.misses = 0
            self.miss_keys: list[str] = []
            self.connections = 0  # accepted from the scanner
            self.handshakes = 0  # TLS handshakes completed (--tls)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "throttled": self.throttled,
                "gaps": self.gaps,
                "peak": self.peak,
                "busy": self.busy,
                "first": self.first,
                "last": self.last,
                "mode": self.mode,
                "recorded": len(self.recording),
                "replayed": self.replayed,
                "misses": self.misses,
                "miss_keys": self.miss_keys,
                "connections": self.connections,
                "handshakes": self.handshakes,
            }

    def over_rate(self, authorization: str) -> bool:
        """Whether a request signed with ``authorization`` finds its (key, region, service) bucket
        empty (call with the lock held)."""
        if not self.rate:
            return False
        scope = authorization.rsplit("Credential=", maxsplit=1)[-1].split(",", maxsplit=1)[0].split("/")
        key = (scope[0], *scope[2:4]) if len(scope) > 3 else (authorization[:64],)
        now = time.monotonic()
        tokens, when = self.tokens.get(key, (self.rate, now))
        tokens = min(self.rate, tokens + (now - when) * self.rate)
        if tokens < 1:
            self.tokens[key] = (tokens, now)
            return True
        self.tokens[key] = (tokens - 1, now)
        return False

    def conn(self) -> http.client.HTTPConnection:
        c: http.client.HTTPConnection | None = getattr(self.local, "conn", None)
        if c is None:
            c = self.local.conn = http.client.HTTPConnection(self.upstream, timeout=60)
        return c


# Timestamps a request carries: ISO 8601 (query strings, rest-json and XML bodies, percent-encoded or
# not), seconds since the epoch of this decade (json protocol bodies), and CBOR's tag 1 with a float or
# integer (smithy-rpc-v2-cbor bodies, e.g. CloudWatch's GetMetricData).
_ISO = r"\d{4}-\d\d-\d\dT\d\d(?:%3A|:)\d\d(?:%3A|:)\d\d(?:\.\d+)?(?:Z|[+-]\d\d(?:%3A|:)?\d\d|%2B\d\d%3A\d\d)?"
_TIME_IN_PATH = re.compile(_ISO)
_TIME_IN_BODY = re.compile(
    _ISO.encode() + rb"|(?<![\d.])1[7-9]\d{8}(?:\.\d+)?(?![\d.])|\xc1(?:\xfb.{8}|\x1a.{4})", re.DOTALL
)
_VOLATILE = frozenset(
    {
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "user-agent",
        "x-amz-user-agent",
        "x-amz-content-sha256",
        "content-md5",
        "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm",
        "content-length",
        "connection",
        "accept-encoding",
        "expect",
    }
)
_ROLE_ACCOUNT = re.compile(rb"RoleArn=arn(?:%3A|:)aws(?:%3A|:)iam(?:%3A|:)(?:%3A|:)(\d{12})")
_ACCESS_KEY_ID = re.compile(rb'(?:<AccessKeyId>|"AccessKeyId":\s*")([^<"]+)')


def _raw_answer(status: int, ctype: str, body: bytes, extra: list[tuple[str, str]]) -> bytes:
    """An HTTP/1.1 answer as bytes, to be written as it is (replay: no per-request header work)."""
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}", f"Content-Type: {ctype}"]
    lines += [f"{k}: {v}" for k, v in extra]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _throttle_answer(headers: Any) -> tuple[int, str, bytes]:
    """A throttling error in the wire protocol of the request (botocore retries on each code)."""
    ctype = headers.get("Content-Type", "") or ""
    scope = (headers.get("Authorization", "") or "").split("Credential=")[-1].split("/")
    service = scope[3] if len(scope) > 3 else ""
    if service in ("s3", "s3control"):
        body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        return 503, "application/xml", body
    if "x-www-form-urlencoded" in ctype:  # query and ec2 protocols
        body = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error><RequestId>bench</RequestId></ErrorResponse>"
        )
        return 400, "text/xml", body
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
    return 400, "application/x-amz-json-1.1", body


class _Headers:
    """A request's header lines, in order, looked up without regard to case (as ``http.client``'s)."""

    __slots__ = ("_lower", "lines")

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self.lines = lines
        self._lower = {k.lower(): v for k, v in reversed(lines)}  # the first of repeated names wins

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._lower.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return self.lines


def _parse_head(head: bytes) -> tuple[str, str, _Headers]:
    """The method, target and headers of a request's head (up to its blank line)."""
    request, *lines = head.decode("latin-1").split("\r\n")
    command, path, _ = request.split(" ", 2)
    fields: list[tuple[str, str]] = []
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            fields.append((name.strip(), value.strip()))
    return command, path, _Headers(fields)


def _forward(
    proxy: _Proxy, command: str, path: str, headers: _Headers, body: bytes
) -> tuple[int, str, bytes, list[tuple[str, str]]]:
    """Ask moto (blocking: run in a thread, with that thread's upstream connection)."""
    sent = {k: v for k, v in headers.items() if k.lower() not in ("connection",)}
    for attempt in range(2):
        conn = proxy.conn()
        try:
            conn.request(command, path, body=body, headers=sent)
            resp = conn.getresponse()
            data = resp.read()
            break
        except (http.client.HTTPException, OSError):
            conn.close()
            proxy.local.conn = None
            if attempt:
                raise
    skip = {"transfer-encoding", "connection", "content-length", "content-type"}
    extra = [(k, v) for k, v in resp.getheaders() if k.lower() not in skip]
    return resp.status, resp.getheader("Content-Type") or "text/plain", data, extra


def serve_proxy(
    port: int,
    upstream: str,
    latency: float,
    throttle: float,
    gaps_as_501: bool,
    rate: float,
    tls: tuple[str, str] | None = None,
) -> None:
    """The proxy: one asyncio event loop (one thread: each request's latency is a timer, not a
    sleeping thread), HTTP/1.1 with keep-alive, over TLS with ``tls`` (certificate, key). Requests
    forwarded to moto (modes forward and record) are sent from a pool of threads."""
    import asyncio
    import ssl
    from concurrent.futures import ThreadPoolExecutor

    proxy = _Proxy(upstream, latency, throttle, seed=15, gaps_as_501=gaps_as_501, rate=rate)
    context: ssl.SSLContext | None = None
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
    upstream_pool = ThreadPoolExecutor(64, thread_name_prefix="upstream")

    def control(path: str) -> bytes:
        if path == "/__proxy/reset":
            proxy.reset()
        elif path.startswith("/__proxy/mode/"):
            proxy.set_mode(path.removeprefix("/__proxy/mode/"))
        return _raw_answer(200, "application/json", json.dumps(proxy.stats()).encode(), [])

    async def answer(command: str, path: str, headers: _Headers, body: bytes) -> bytes:
        start = time.perf_counter()
        with proxy.lock:
            proxy.requests += 1
            proxy.in_flight += 1
            proxy.peak = max(proxy.peak, proxy.in_flight)
            proxy.first = start if proxy.first is None else proxy.first
            throttle = proxy.random.random() < proxy.throttle
            throttle = proxy.over_rate(headers.get("Authorization", "") or "") or throttle
            proxy.throttled += throttle
        try:
            await asyncio.sleep(proxy.latency)
            if throttle:
                status, ctype, data = _throttle_answer(headers)
                return _raw_answer(status, ctype, data, [])
            if proxy.mode == "replay":
                key = proxy.key(command, path, headers, body)
                recorded = proxy.recording.get(key)
                if recorded is None:
                    with proxy.lock:
                        proxy.misses += 1
                        if len(proxy.miss_keys) < 8 and repr(key[:6]) not in proxy.miss_keys:
                            proxy.miss_keys.append(repr(key[:4] + key[5:6]))
                    return _raw_answer(500, "text/plain", b"no recorded answer", [])
                raw, status = recorded
                with proxy.lock:
                    proxy.replayed += 1
                    proxy.gaps += status == 501
                if key[2] == "sts":
                    proxy.learn(body, raw)
                return raw
            loop = asyncio.get_running_loop()
            status, ctype, data, extra = await loop.run_in_executor(
                upstream_pool, _forward, proxy, command, path, headers, body
            )
            if status == 500 and proxy.gaps_as_501:
                # moto answers an operation it lacks with a 500, which botocore retries with
                # back-off up to max_attempts: a tail no real endpoint has. 501 is not retried.
                status = 501
                with proxy.lock:
                    proxy.gaps += 1
            raw = _raw_answer(status, ctype, data, extra)
            if proxy.mode == "record":
                key = proxy.key(command, path, headers, body)
                if key[2] == "sts":
                    proxy.learn(body, data)
                with proxy.lock:  # the first answer: a retried request gets the same one
                    proxy.recording.setdefault(key, (raw, status))
            return raw
        finally:
            end = time.perf_counter()
            with proxy.lock:
                proxy.in_flight -= 1
                proxy.busy += end - start
                proxy.last = end

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with proxy.lock:
            proxy.connections += 1
            proxy.handshakes += context is not None  # asyncio completed it before this call
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the client closed the connection between requests
                command, path, headers = _parse_head(head)
                length = int(headers.get("Content-Length") or 0)
                body = await reader.readexactly(length) if length else b""
                if path.startswith("/__proxy/"):
                    writer.write(control(path))
                else:
                    writer.write(await answer(command, path, headers, body))
                await writer.drain()
                if (headers.get("Connection") or "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            return
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", port, ssl=context, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --------------------------------------------------------------------------- the scan (child)


def scan(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from mlguard.collect.aws import AwsCollector
    from mlguard.collect.aws.spec import SPECS
    from mlguard.collect.base import InventorySink, NullProgress
    from mlguard.config import AwsScope, ScopeConfig

    ids = args.ids.split(",")[: args.child]
    fields: dict[str, Any] = {"org_role": ROLE, "accounts": ids, "regions": args.regions.split(",")}
    if args.workers:
        fields["max_workers"] = args.workers
    kwargs: dict[str, Any] = {}
    if args.retry_mode:
        kwargs["retry_mode"] = args.retry_mode
    if args.max_attempts:
        kwargs["max_attempts"] = args.max_attempts
    collector = AwsCollector(ScopeConfig(aws=AwsScope(**fields)), **kwargs)
    types = frozenset(SPECS)
    sink = InventorySink()
    if args.shard:  # one of K local processes (--shards K): only this shard's units
        from mlguard.collect.shard import Shard

        index, count = (int(x) for x in args.shard.split("/"))
        sink.shard = Shard(index, count)
    if args.policies:  # only these policies' types; pruned to what they read unless --all-fields
        from mlguard.collect.prune import scan_reads
        from mlguard.policy.loader import builtin_policy_dir, load_policy_set

        every = load_policy_set([(builtin_policy_dir(), "builtin")]).policies
        chosen = [every[i] for i in args.policies.split(",")]
        types = frozenset(set().union(*(p.required_types() for p in chosen)) & set(SPECS))
        sink = InventorySink(reads=scan_reads(chosen, every.values(), all_fields=args.all_fields))
    if args.trace:
        tracemalloc.start()
    if not args.shard:  # the parent resets the proxy once for all of a run's shards
        control(args.endpoint + "/__proxy/reset")
    from mlguard.collect.base import providers

    providers()  # every provider imported before the clock, as the CLI has them before it collects
    if args.jobs > 1:  # and the merge (`scan` has the pipeline, which it imports, loaded already)
        import mlguard.merge  # noqa: F401
    if not os.environ.get("BENCH_NO_ARENA_LIMIT"):  # as mlguard's collect() does (A/B: set it)
        try:
            from mlguard.collect import arenas
        except ImportError:  # an older collector (--compare)
            pass
        else:
            arenas.limit()
    cpu0 = time.process_time()
    start = time.perf_counter()
    if args.cprofile:  # every thread profiled (the scan's work runs in pool threads)
        import cProfile
        import pstats

        profiles: list[cProfile.Profile] = []
        run = threading.Thread.run

        def profiled(thread: threading.Thread) -> None:
            prof = cProfile.Profile(time.thread_time)  # CPU of this thread, not waiting
            profiles.append(prof)
            prof.runcall(run, thread)

        threading.Thread.run = profiled  # type: ignore[method-assign]
        collector.collect(types, sink, NullProgress())
        threading.Thread.run = run  # type: ignore[method-assign]
        pstats.Stats(*profiles).dump_stats(args.cprofile)  # type: ignore[arg-type]
    elif args.jobs > 1:  # mlguard's --jobs K: forked collector processes, merged (see jobs_scan)
        stats_of = jobs_scan(args, collector, types, sink)
    else:
        collector.collect(types, sink, NullProgress())
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    if args.jobs > 1:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += children.ru_utime + children.ru_stime
    limits = getattr(collector, "limits", None)  # the adaptive rate limits (newer collectors)
    peak_traced = tracemalloc.get_traced_memory()[1] if args.trace else None
    proxy = json.loads(control(args.endpoint + "/__proxy/stats"))
    stats = collector.stats if args.jobs <= 1 else stats_of
    errors: dict[str, int] = {}
    for e in sink.errors:
        errors[f"{e.operation} {e.code}"] = errors.get(f"{e.operation} {e.code}", 0) + 1
    print(
        json.dumps(
            {
                "accounts": len(ids),
                "scanned": len({r.account for r in sink.resources}),
                "scanned_ids": sorted({r.account for r in sink.resources if r.account}),
                "wall": wall,
                "cpu": cpu,
                "resources": len(sink.resources),
                "errors": errors,
                "calls": stats.total,
                "http": sum(stats.http_requests.values()),
                "proxy": proxy,
                "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                if args.jobs <= 1
                else stats_of.pss_mib,
                "traced_mib": None if peak_traced is None else peak_traced / 2**20,
                "limits": limits.totals() if limits is not None else None,
                "by_type": {
                    t: [sum(1 for r in sink.resources if r.type == t), stats.by_type.get(t, 0)]
                    for t in sorted(types)
                },
            }
        )
    )


class _JobStats:
    """The ``--jobs`` children's call figures summed, and the peak memory of the process tree."""

    def __init__(self) -> None:
        self.total = 0
        self.http_requests: dict[str, int] = {}
        self.by_type: dict[str, int] = {}
        self.pss_mib = 0.0


def _tree_pss_mib() -> float:
    """The proportional set size (shared pages split between their sharers) of this process and
    its children: the memory the forked processes really take together."""
    me = os.getpid()
    pids = [me, *map(int, Path(f"/proc/{me}/task/{me}/children").read_text().split())]
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def jobs_scan(args: argparse.Namespace, collector: Any, types: frozenset[str], sink: Any) -> _JobStats:
    """What ``mlguard scan --jobs K`` does (:func:`mlguard.collect.jobs.run_jobs`): K forked
    processes, each a collector of its shard; their resources and errors into ``sink``, their calls
    (written by each child to a file) summed, and the peak PSS of the tree, sampled every 100 ms."""
    import tempfile
    from contextlib import contextmanager

    from mlguard.collect.base import InventorySink, NullProgress
    from mlguard.collect.jobs import Part, merged_jobs, run_jobs
    from mlguard.collect.shard import Shard

    out = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    result = _JobStats()

    def collect(shard: Shard, progress: Any) -> Part:
        mine = collector  # this process's own copy, made by the fork, not yet used
        part = InventorySink(shard=shard, reads=sink.reads)
        mine.collect(types, part, progress)
        st = mine.stats
        (out / f"{shard.index}.json").write_text(
            json.dumps({"total": st.total, "http": dict(st.http_requests), "by_type": dict(st.by_type)})
        )
        return Part(part.to_inventory("2026-01-01T00:00:00Z"), timed_out=False)

    @contextmanager
    def display() -> Any:
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                result.pss_mib = max(result.pss_mib, _tree_pss_mib())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield NullProgress()
        finally:
            done.set()
            sampler.join()

    type(collector).prepare(types)  # as `mlguard scan --jobs` does before it forks
    control(args.endpoint + "/__proxy/reset")
    inventory, _ = merged_jobs(run_jobs(args.jobs, collect, display, None), None)
    sink.resources.extend(inventory.resources)
    sink.errors.extend(inventory.errors)
    for path in sorted(out.glob("*.json")):
        st = json.loads(path.read_text())
        result.total += st["total"]
        for key, value in st["http"].items():
            result.http_requests[key] = result.http_requests.get(key, 0) + value
        for key, value in st["by_type"].items():
            result.by_type[key] = result.by_type.get(key, 0) + value
    shutil.rmtree(out)
    return result


# --------------------------------------------------------------------------- the parent


def run_shards(cmd: list[str], env: dict[str, str], count: int, n: int) -> dict[str, Any]:
    """Run ``count`` children together, child i with ``--shard i/count``; one figure row for them all:
    wall from the first start to the last end (process start-up included), CPU, calls, resources
    and errors summed, RSS the largest child's, the proxy's figures as the last child saw them."""
    start = time.perf_counter()
    children = [
        subprocess.Popen(
            [*cmd, "--shard", f"{i}/{count}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    outs = [child.communicate() for child in children]
    wall = time.perf_counter() - start
    parts = []
    for child, (stdout, stderr) in zip(children, outs, strict=True):
        if child.returncode:
            print(stderr[-3000:])
            raise SystemExit(f"a shard of the scan of {n} accounts failed")
        parts.append(json.loads(stdout.strip().splitlines()[-1]))
    merged = dict(parts[-1])
    merged["wall"] = wall
    merged["accounts"] = n
    for key in ("cpu", "resources", "calls", "http"):
        merged[key] = sum(p[key] for p in parts)
    merged["scanned"] = len({a for p in parts for a in p["scanned_ids"]})
    merged["rss_mib"] = max(p["rss_mib"] for p in parts)
    merged["proxy"] = max((p["proxy"] for p in parts), key=lambda p: p["requests"])
    errors: dict[str, int] = {}
    by_type: dict[str, list[int]] = {}
    for p in parts:
        for key, count_ in p["errors"].items():
            errors[key] = errors.get(key, 0) + count_
        for rtype, (resources, calls) in p["by_type"].items():
            row = by_type.setdefault(rtype, [0, 0])
            row[0] += resources
            row[1] += calls
    merged["errors"], merged["by_type"] = errors, by_type
    lim = [p["limits"] for p in parts if p.get("limits")]
    merged["limits"] = {k: sum(x[k] for x in lim) for k in lim[0]} if lim else None
    each = " ".join(f"{p['wall']:.1f}s/{p['cpu']:.1f}cpu" for p in parts)
    print(f"    shards (each: wall/CPU): {each}")
    return merged


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process so far, from /proc (0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def control(url: str, timeout: float | None = None) -> bytes:
    """GET one of the proxy's (or moto's) own URLs; over --tls, trusting the bench's CA
    (``AWS_CA_BUNDLE``, as the scanner does)."""
    import ssl

    bundle = os.environ.get("AWS_CA_BUNDLE")
    context = ssl.create_default_context(cafile=bundle) if url.startswith("https:") and bundle else None
    with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:
        return bytes(answer.read())


def wait_up(url: str) -> None:
    for _ in range(200):
        try:
            control(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not start")


def organisation(url: str, members: int, regions: list[str]) -> list[str]:
    """Create the organisation and seed each member account in each region; returns member ids."""
    import boto3

    sys.path.insert(0, str(ROOT))
    from tests.collect.aws.estate import seed

    org = boto3.client("organizations", endpoint_url=url, region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1")
    ids: list[str] = []
    total = 0
    for i in range(members):
        acct = org.create_account(AccountName=f"ml-{i}", Email=f"ml-{i}@example.com")
        acct_id = str(acct["CreateAccountStatus"]["AccountId"])
        ids.append(acct_id)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{acct_id}:role/{ROLE}", RoleSessionName="seed")[
            "Credentials"
        ]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        for j, region in enumerate(regions):
            n = seed(
                url,
                1,
                region=region,
                session=session,
                account_level=j == 0,
                prefix=f"a{acct_id}-",
                account=acct_id,
            )
            total += sum(n.values())
    print(f"seeded {members} member accounts x {len(regions)} regions: {total} resources", flush=True)
    return ids


def summary(measured: dict[tuple[str, int], tuple[float, float, float, float]]) -> None:
    """The N-accounts / 1-account wall ratio, and the floors under it: the machine's cores (the CPU
    seconds of the scanner, the moto server and the proxy, all on these cores), and the scanner's
    GIL (one Python process: its threads run Python code on one core at a time, so its CPU seconds
    are about a floor of their own)."""
    cores = os.cpu_count() or 1
    for (label, n), (wall, cpu, server, proxy) in sorted(measured.items()):
        one = measured.get((label, 1))
        if n == 1 or one is None:
            continue
        floor = (cpu + server + proxy) / cores
        print(
            f"{label}: {n} accounts took {wall / one[0]:.1f}x the wall time of 1 ({wall:.1f} s / "
            f"{one[0]:.1f} s); CPU per account: mlguard {cpu / n:.2f} s, moto server {server / n:.2f} s, "
            f"proxy {proxy / n:.2f} s; on {cores} cores these {n} accounts need at least {floor:.1f} s "
            f"of wall time, and mlguard's one process (one GIL) about {cpu:.1f} s (2x of 1 account: "
            f"{2 * one[0]:.1f} s; without mlguard's share: {(server + proxy) / cores:.1f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", default="1,10,30", help="comma-separated member-account counts")
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--throttle", type=float, default=0.02, help="share of requests throttled at random")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests per second (burst as many) per account, region and service before the proxy "
        "throttles, as real APIs do (default 0: no rate limit)",
    )
    parser.add_argument("--workers", type=int, default=None, help="scope.aws.max_workers")
    parser.add_argument("--retry-mode", default=None, help="standard|adaptive (default: the collector's)")
    parser.add_argument("--max-attempts", type=int, default=None)
    parser.add_argument("--trace", action="store_true", help="also report the tracemalloc peak (slower)")
    parser.add_argument("--cprofile", metavar="FILE", help="write cProfile stats of the last scan here")
    parser.add_argument(
        "--compare",
        metavar="SRC",
        help="another checkout's src directory: each N is scanned with it and with this one, alternately",
    )
    # internal: the proxy process and the scanning child
    parser.add_argument(
        "--moto-500s",
        action="store_true",
        help="pass moto's 500s (operations it lacks) through as they are: botocore retries them with "
        "back-off, a tail real AWS does not have (default: answered as 501, not retried)",
    )
    parser.add_argument(
        "--policies",
        default="",
        help="comma-separated built-in policy ids: scan only their types, once reading every field "
        "(before pruning) and once reading only what they read (after); prints calls per resource per "
        "type for both (default: every type, every field)",
    )
    parser.add_argument("--all-fields", action="store_true", help=argparse.SUPPRESS)  # internal
    parser.add_argument("--per-type", action="store_true", help="print calls per resource per type")
    parser.add_argument(
        "--replay",
        action="store_true",
        help="scan each N twice: a recording pass (the proxy forwards to moto and keeps every answer), "
        "then the measured pass, answered from the recording without moto (its CPU is not ours "
        "against real AWS); throttling is decided as ever, before the recording is looked up",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="the proxy serves HTTPS, with a certificate of a throwaway CA made for this run; the "
        "scanner trusts it through AWS_CA_BUNDLE, a copy of certifi's bundle with that CA added (what "
        "a real scan loads, as large); rows add the connections the scanner opened and the handshakes",
    )
    parser.add_argument(
        "--proxy", nargs=6, metavar=("PORT", "UPSTREAM", "LATENCY", "THROTTLE", "GAPS", "RATE")
    )
    parser.add_argument("--proxy-tls", nargs=2, metavar=("CERT", "KEY"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="K local collector processes, each reading its shard (--shard i/K) of the N accounts, "
        "run together; wall time is until the last ends (process start included), CPU is their sum",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="scan as `mlguard scan --jobs K` does: K forked collector processes, each reading its "
        "shard, merged; CPU is theirs and the parent's, memory the peak PSS of the process tree",
    )
    parser.add_argument("--child", type=int)
    parser.add_argument("--shard", default="", help=argparse.SUPPRESS)  # internal: i/K of a child
    parser.add_argument("--ids", default="")
    parser.add_argument("--endpoint", default="")
    args = parser.parse_args()

    if args.proxy:
        port, upstream, latency, throttle, gaps, rate = args.proxy
        tls = (args.proxy_tls[0], args.proxy_tls[1]) if args.proxy_tls else None
        serve_proxy(int(port), upstream, float(latency), float(throttle), gaps == "501", float(rate), tls)
        return
    if args.child:
        scan(args)
        return

    counts = [int(n) for n in args.accounts.split(",")]
    regions = args.regions.split(",")
    moto_port, proxy_port = free_port(), free_port()
    moto_url = f"http://127.0.0.1:{moto_port}"
    proxy_url = f"{'https' if args.tls else 'http'}://127.0.0.1:{proxy_port}"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE"):
        env.pop(var, None)
    proxy_tls: list[str] = []
    tls_dir = None
    if args.tls:  # a throwaway CA; the scanner's bundle: certifi's, with it added
        import tempfile

        import certifi

        sys.path.insert(0, str(ROOT))
        from tests.collect.aws.tls import make_tls_files

        tls_dir = Path(tempfile.mkdtemp(prefix="bench-tls-"))
        files = make_tls_files(tls_dir)
        bundle = tls_dir / "bundle.pem"
        bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + files.ca.read_bytes())
        env["AWS_CA_BUNDLE"] = str(bundle)
        proxy_tls = ["--proxy-tls", str(files.cert), str(files.key)]
    os.environ.clear()
    os.environ.update(env)
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--proxy",
                str(proxy_port),
                moto_url,
                str(args.latency_ms / 1000),
                str(args.throttle),
                "500" if args.moto_500s else "501",
                str(args.rate),
                *proxy_tls,
            ]
        ),
    ]
    try:
        wait_up(moto_url + "/moto-api/")
        wait_up(proxy_url + "/__proxy/stats")
        t0 = time.perf_counter()
        ids = organisation(moto_url, max(counts), regions)
        print(f"(seeding took {time.perf_counter() - t0:.0f}s)")
        import mlguard

        print(f"collector: {Path(mlguard.__file__).parent}")
        print(
            f"proxy: +{args.latency_ms:.0f} ms per request, {args.throttle:.0%} throttled at random, "
            f"{f'{args.rate:g} req/s per account, region and service' if args.rate else 'no rate limit'}; "
            f"regions {','.join(regions)}; max_workers {args.workers or 'default'}\n"
        )
        from mlguard.demo import s3control_host

        child_env = {
            **env,
            "AWS_ENDPOINT_URL": proxy_url,
            s3control_host.PLUGIN_ENV: s3control_host.PLUGIN_SPEC,
        }
        header = (
            f"{'src':>4} {'accounts':>8} {'wall s':>7} {'cpu s':>6} {'ms/req':>6} {'resources':>9} "
            f"{'calls':>6} {'HTTP':>6} {'thrott.':>7} {'gaps':>4} {'calls/res':>9} {'RSS MiB':>8} "
            f"{'mean in-flight':>14} {'peak':>5} errors"
        )
        print(f"load average before the scans: {os.getloadavg()[0]:.2f}")
        print(header, flush=True)
        runs = [(n, False) for n in counts]
        if args.policies:  # before (every field) and after (what the policies read)
            runs = [(n, every) for n in counts for every in (True, False)]
        sources: list[tuple[str, str | None]] = [("this", None)]
        if args.compare:
            sources = [("base", str(Path(args.compare).resolve())), ("this", None)]
        measured: dict[tuple[str, int], tuple[float, float, float, float]] = {}
        recorded_scan: dict[str, Any] = {}  # what the recording pass found, to compare the replay with
        passes = [("record", "rec"), ("replay", "rply")] if args.replay else [("forward", "")]
        plan = [(run, source, mode) for run in runs for source in sources for mode in passes]
        for (n, all_fields), (source, src), (mode, tag) in plan:
            control(f"{proxy_url}/__proxy/mode/{mode}")
            label = f"{source}/{tag}" if tag and len(sources) > 1 else (tag or source)
            cmd = [
                sys.executable,
                __file__,
                "--child",
                str(n),
                "--ids",
                ",".join(ids),
                "--endpoint",
                proxy_url,
            ]
            cmd += ["--regions", args.regions]
            if args.policies:
                cmd += ["--policies", args.policies] + (["--all-fields"] if all_fields else [])
                print(f"{'every field' if all_fields else 'pruned to ' + args.policies}:", flush=True)
            if args.workers:
                cmd += ["--workers", str(args.workers)]
            if args.retry_mode:
                cmd += ["--retry-mode", args.retry_mode]
            if args.max_attempts:
                cmd += ["--max-attempts", str(args.max_attempts)]
            if args.trace:
                cmd.append("--trace")
            if args.cprofile:
                cmd += ["--cprofile", args.cprofile]
            if args.jobs > 1:
                cmd += ["--jobs", str(args.jobs)]
            run_env = dict(child_env)
            if src is not None:
                run_env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
            server_cpu, proxy_cpu = cpu_seconds(procs[0].pid), cpu_seconds(procs[1].pid)
            load = os.getloadavg()[0]
            if args.shards > 1:
                control(proxy_url + "/__proxy/reset")
                r = run_shards(cmd, run_env, args.shards, n)
            else:
                out = subprocess.run(cmd, env=run_env, capture_output=True, text=True, check=False)
                if out.returncode:
                    print(out.stderr[-3000:])
                    raise SystemExit(f"the scan of {n} accounts failed")
                r = json.loads(out.stdout.strip().splitlines()[-1])
            server_cpu = cpu_seconds(procs[0].pid) - server_cpu
            proxy_cpu = cpu_seconds(procs[1].pid) - proxy_cpu
            p = r["proxy"]
            mean = p["busy"] / r["wall"] if r["wall"] else 0.0
            errors = sum(r["errors"].values())
            row = (
                f"{label:>4} {r['accounts']:8d} {r['wall']:7.1f} {r['cpu']:6.1f} "
                f"{1000 * r['cpu'] / max(r['http'], 1):6.2f} {r['resources']:9d} {r['calls']:6d} "
                f"{p['requests']:6d} {p['throttled']:7d} {p['gaps']:4d} "
                f"{r['calls'] / max(r['resources'], 1):9.2f} "
                f"{r['rss_mib']:8.0f} {mean:14.1f} {p['peak']:5d} {errors}"
            )
            row += f"  (CPU s: moto server {server_cpu:.1f}, proxy {proxy_cpu:.1f}; load {load:.1f})"
            if "connections" in p:
                row += f"  (connections {p['connections']}, TLS handshakes {p['handshakes']})"
            if mode == "replay":
                row += f"  (replayed {p['replayed']} of {p['recorded']} recorded; {p['misses']} misses)"
            if r.get("limits"):
                lim = r["limits"]
                row += (
                    f"  (rate limits: {lim['throttles']:.0f} throttles, {lim['cuts']:.0f} cuts, "
                    f"{lim['waited']:.1f} s held back)"
                )
            if r["traced_mib"] is not None:
                row += f"  (tracemalloc peak {r['traced_mib']:.0f} MiB)"
            print(row, flush=True)
            for key in p.get("miss_keys", []):
                print(f"    no recorded answer: {key}")
            # Resources per type (not calls: a call several types share is counted to whichever sent it).
            found = {"resources by type": {t: n for t, (n, _) in r["by_type"].items()}, "errors": r["errors"]}
            if mode == "record":
                recorded_scan = found
            elif mode == "replay":
                same = [k for k in found if found[k] == recorded_scan.get(k)]
                differ = [k for k in found if k not in same]
                warn = f"; DIFFERENT {', '.join(differ)} (check the figures)" if differ else ""
                print(f"    replay vs recording pass: same {', '.join(same) or '-'}{warn}")
            if not args.policies:  # the recording pass too: the scan through moto, as without --replay
                measured[(label, n)] = (r["wall"], r["cpu"], server_cpu, proxy_cpu)
            if r["scanned"] != n:
                print(f"  ! resources came from {r['scanned']} of {n} accounts")
            for key, count in sorted(r["errors"].items(), key=lambda kv: -kv[1])[:8]:
                print(f"    {count:4d} x {key}")
            if args.per_type or args.policies:
                print(f"    {'resource type':46} {'resources':>9} {'calls':>6} {'calls/res':>9}")
                for rtype, (resources, calls) in r.get("by_type", {}).items():
                    if resources or calls:
                        per = f"{calls / resources:9.2f}" if resources else f"{'-':>9}"
                        print(f"    {rtype:46} {resources:9d} {calls:6d} {per}")
        summary(measured)
    finally:
        if tls_dir is not None:
            shutil.rmtree(tls_dir, ignore_errors=True)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
