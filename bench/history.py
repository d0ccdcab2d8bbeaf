"""Record a few demo-like weekly audits in a results store, print `history trend`, and time it.

    python bench/history.py                       # temporary SQLite store
    python bench/history.py --store URL_OR_PATH   # e.g. $MLGUARD_TEST_POSTGRES_URL
    python bench/history.py --scale 20000         # also time record/diff/trend at 20k results/run

The estate is synthetic but shaped like the demo: S3 buckets, SageMaker notebooks and endpoints,
GPU instances, Databricks clusters and serving endpoints; each week some findings get fixed,
some resources appear, and a few things break.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from mlguard.history.cli import history
from mlguard.history.diff import diff_runs
from mlguard.history.store import Store
from mlguard.history.trend import trend
from mlguard.model import (
    Category,
    Inventory,
    Provenance,
    Resource,
    Result,
    ScanResult,
    Severity,
    Status,
    Summary,
    fingerprint,
    iso,
)

ACCOUNT = "123456789012"
REGION = "eu-west-1"
WORKSPACE = "dbc-demo.cloud.databricks.com"


@dataclass(frozen=True)
class Pol:
    id: str
    type: str
    severity: Severity
    category: Category
    compliance: tuple[str, ...]
    fail_rate: float


POLICIES = (
    Pol("aws-s3-001", "aws.s3.bucket", Severity.HIGH, Category.SECURITY, ("cis-aws:2.1.1",), 0.35),
    Pol("aws-s3-004", "aws.s3.bucket", Severity.CRITICAL, Category.SECURITY, ("cis-aws:2.1.5",), 0.08),
    Pol(
        "aws-sm-nb-001",
        "aws.sagemaker.notebook_instance",
        Severity.HIGH,
        Category.SECURITY,
        ("nist-ai-rmf:MANAGE-2.4",),
        0.4,
    ),
    Pol(
        "aws-sm-ep-010",
        "aws.sagemaker.endpoint",
        Severity.MEDIUM,
        Category.MONITORING,
        ("nist-ai-rmf:MEASURE-2.7",),
        0.5,
    ),
    Pol("aws-sm-ep-020", "aws.sagemaker.endpoint", Severity.MEDIUM, Category.RELIABILITY, (), 0.3),
    Pol("aws-ec2-gpu-001", "aws.ec2.instance", Severity.LOW, Category.COST, (), 0.45),
    Pol("dbx-cluster-001", "databricks.cluster", Severity.MEDIUM, Category.COST, (), 0.4),
    Pol(
        "dbx-serving-001",
        "databricks.serving_endpoint",
        Severity.HIGH,
        Category.GOVERNANCE,
        ("nist-ai-rmf:GOVERN-1.6",),
        0.3,
    ),
)
TYPES = sorted({p.type for p in POLICIES})


def _resource(rtype: str, n: int) -> Resource:
    kind = rtype.rsplit(".", 1)[-1]
    if rtype.startswith("databricks."):
        return Resource(
            uid=f"databricks://{WORKSPACE}/{kind}/{kind}-{n}",
            type=rtype,
            provider="databricks",
            id=f"{kind}-{n}",
            name=f"{kind}-{n}",
            workspace=WORKSPACE,
        )
    service = rtype.split(".")[1]
    return Resource(
        uid=f"arn:aws:{service}:{REGION}:{ACCOUNT}:{kind}/{kind}-{n}",
        type=rtype,
        provider="aws",
        id=f"{kind}-{n}",
        name=f"{kind}-{n}",
        account=ACCOUNT,
        region=REGION,
    )


class DemoEstate:
    """An estate that improves week by week, with new resources and the odd regression."""

    def __init__(self, per_type: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.counter = per_type
        self.resources = [_resource(t, n) for t in TYPES for n in range(per_type)]
        self.status: dict[tuple[str, str], Status] = {}
        for r in self.resources:
            self._judge_new(r)

    def _judge_new(self, r: Resource) -> None:
        for p in POLICIES:
            if p.type == r.type:
                self.status[p.id, r.uid] = Status.FAIL if self.rng.random() < p.fail_rate else Status.PASS

    def next_week(self) -> None:
        for key, st in list(self.status.items()):
            if st is Status.FAIL and self.rng.random() < 0.3:
                self.status[key] = Status.PASS  # fixed
            elif st is Status.PASS and self.rng.random() < 0.03:
                self.status[key] = Status.FAIL  # regressed
        for _ in range(max(1, len(self.resources) // 25)):  # new resources
            r = _resource(self.rng.choice(TYPES), self.counter)
            self.counter += 1
            self.resources.append(r)
            self._judge_new(r)
        gone = self.rng.sample(self.resources, max(1, len(self.resources) // 50))  # decommissioned
        for r in gone:
            self.resources.remove(r)
            for p in POLICIES:
                self.status.pop((p.id, r.uid), None)

    def scan(self, started: datetime) -> tuple[ScanResult, Inventory]:
        prov = Provenance(
            version="0.1.0",
            started_at=iso(started),
            finished_at=iso(started + timedelta(minutes=4)),
            command="mlguard scan --record",
            accounts=[ACCOUNT],
            regions=[REGION],
            workspaces=[WORKSPACE],
        )
        results = []
        for r in self.resources:
            for p in POLICIES:
                if p.type != r.type:
                    continue
                st = self.status[p.id, r.uid]
                results.append(
                    Result(
                        policy_id=p.id,
                        resource_uid=r.uid,
                        resource_type=r.type,
                        resource_name=r.name,
                        provider=r.provider,
                        account=r.account,
                        region=r.region,
                        workspace=r.workspace,
                        status=st,
                        severity=p.severity,
                        category=p.category,
                        title=p.id,
                        message=f"{p.id}: {st.value}",
                        fingerprint=fingerprint(p.id, r.uid),
                        compliance=list(p.compliance),
                    )
                )
        summary = Summary.of(results, resources=len(self.resources), policies_run=len(POLICIES), errors=0)
        return (
            ScanResult(provenance=prov, results=results, summary=summary),
            Inventory(provenance=prov, resources=list(self.resources)),
        )


def record_weeks(store: Store, estate: DemoEstate, weeks: int, start: datetime) -> list[str]:
    ids = []
    for week in range(weeks):
        if week:
            estate.next_week()
        scan, inv = estate.scan(start + timedelta(weeks=week))
        with store.lock(timeout=60):
            ids.append(store.record(scan, inv))
    return ids


def timed(label: str, fn: object) -> None:
    t0 = time.perf_counter()
    out = fn()  # type: ignore[operator]
    print(f"  {label:<46} {time.perf_counter() - t0:8.3f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", help="Store path or URL (default: a temporary SQLite file).")
    parser.add_argument("--weeks", type=int, default=6)
    parser.add_argument("--per-type", type=int, default=12, help="Resources per type in the demo estate.")
    parser.add_argument("--scale", type=int, default=0, help="Also time runs of about this many results.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        target = args.store or str(Path(tmp) / "history.sqlite")
        start = datetime(2026, 10, 5, 3, 17, tzinfo=UTC)
        with Store.open(target) as store:
            ids = record_weeks(store, DemoEstate(args.per_type), args.weeks, start)
            print(f"recorded {len(ids)} weekly demo runs in {store.display}\n")
        runner = CliRunner()
        env = {"MLGUARD_STORE": target, "COLUMNS": "150"}
        for cmd in (["list"], ["trend"], ["diff", "latest~1", "latest"]):
            print(f"$ mlguard history {' '.join(cmd)}")
            print(runner.invoke(history, cmd, env=env).output)

        if args.scale:
            scale_target = args.store or str(Path(tmp) / "scale.sqlite")
            per_type = max(1, args.scale // len(POLICIES))
            estate = DemoEstate(per_type, seed=11)
            a_scan, a_inv = estate.scan(datetime(2027, 1, 4, tzinfo=UTC))
            estate.next_week()
            b_scan, b_inv = estate.scan(datetime(2027, 1, 11, tzinfo=UTC))
            print(
                f"scale: {len(a_scan.results)} and {len(b_scan.results)} results, "
                f"{len(a_inv.resources)} resources per run"
            )
            with Store.open(scale_target) as store:
                a = timed("record run A", lambda: store.record(a_scan, a_inv))
                b = timed("record run B", lambda: store.record(b_scan, b_inv))
                d = timed("diff A -> B", lambda: diff_runs(store, a, b))
                timed("trend by severity (all runs)", lambda: trend(store, "severity", None))
                timed("trend by framework (all runs)", lambda: trend(store, "framework", None))
                timed("export run B (document)", lambda: store.document(b))
                print(
                    f"  diff: new {len(d.new)}, fixed {len(d.fixed)}, regressed {len(d.regressed)}, "
                    f"appeared {len(d.appeared)}, disappeared {len(d.disappeared)}"
                )
                if not args.store:  # never prune a store the user named
                    timed("prune to the newest run", lambda: store.prune(keep=1))


if __name__ == "__main__":
    main()
