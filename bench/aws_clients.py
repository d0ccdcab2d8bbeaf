"""Microbenchmark the cost of making a client: botocore's way (a boto3 session per account with the
account's keys, the scan's client settings) against the collector's (``AwsCollector.session_with``,
whose sessions share models, classes, aliases, parsed endpoint rule sets and config reads: see
``collect/aws/clients.py``, ``rulesets.py``, ``connections.py``).

Each round makes, for a few accounts, one session and a client per (region, service) of the
scan's services, both ways alternately (A, B, A, B...), and prints the CPU seconds of the calling
thread (``time.thread_time``) per client and per session, best and median of the rounds. Figures
are printed, never asserted. Offline: the clients are made, never called.

    PYTHONPATH=$PWD/src .venv/bin/python bench/aws_clients.py [--rounds 5] [--accounts 3]

Figures (14:31 UTC Dec 6, 2 shared cores, load ~9; best of 5 rounds, two runs each, alternately
with main's ``src`` at 3fb28f8): a collector's client 1014-1040 us (main) -> 368-376 us (this
branch: parsed endpoint rule sets shared, configuration read once per variable per client, no SSL
context made for the HTTP session the shared pools replace, one event-alias cache); a collector's
session 4.4 ms -> 1.4-1.5 ms (the alias cache). botocore's own way (a session per account with its
own loader, which parses every service model again): 27-28 ms a client, 4.8 ms a session.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.credentials import Credentials

from mlguard.collect.aws import AwsCollector, families  # noqa: F401  (families: registers the specs)
from mlguard.collect.aws.spec import SPECS
from mlguard.config import ScopeConfig

REGIONS = ["us-east-1", "eu-west-1"]


def _services() -> list[str]:
    return sorted({service for spec in SPECS.values() for service, _ in spec.operations()})


def _botocore(collector: AwsCollector) -> Callable[[str], Any]:
    def session(account: str) -> Any:
        return boto3.Session(
            aws_access_key_id=f"AKIA{account}", aws_secret_access_key="s", region_name=REGIONS[0]
        )

    return session


def _collector(collector: AwsCollector) -> Callable[[str], Any]:
    def session(account: str) -> Any:
        return collector.session_with(Credentials(f"AKIA{account}", "s"), REGIONS[0])

    return session


def _round(
    make: Callable[[str], Any], collector: AwsCollector, accounts: int, services: list[str]
) -> tuple[float, float]:
    """us of thread CPU per session and per client, for ``accounts`` accounts."""
    in_sessions = in_clients = 0.0
    kept: list[Any] = []
    for n in range(accounts):
        start = time.thread_time()
        session = make(f"{n:012d}")
        made = time.thread_time()
        for region in REGIONS:
            for service in services:
                kept.append(session.client(service, region_name=region, config=collector.config))
        in_sessions += made - start
        in_clients += time.thread_time() - made
    return in_sessions / accounts * 1e6, in_clients / len(kept) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=3)
    args = parser.parse_args()
    services = _services()
    AwsCollector.prepare(frozenset(SPECS))
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    collector.read_proxies()
    ways = {"botocore": _botocore(collector), "collector": _collector(collector)}
    for make in ways.values():  # warm: models parsed, classes made
        _round(make, collector, 1, services)
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, make in ways.items():
            figures[name].append(_round(make, collector, args.accounts, services))
    clients = args.accounts * len(REGIONS) * len(services)
    print(
        f"{len(services)} services x {len(REGIONS)} regions x {args.accounts} accounts:"
        f" {clients} clients a round"
    )
    print(f"{'us of thread CPU':<24}{'per client (best/median)':>28}{'per session (best/median)':>30}")
    for name, rounds in figures.items():
        per_client = [c for _, c in rounds]
        per_session = [s for s, _ in rounds]
        print(
            f"{name:<24}{min(per_client):>14.0f}{statistics.median(per_client):>14.0f}"
            f"{min(per_session):>15.0f}{statistics.median(per_session):>15.0f}"
        )


if __name__ == "__main__":
    main()
