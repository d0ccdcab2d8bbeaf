"""Build ScanResults and Inventories for history tests from a compact description of an estate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mlguard.model import (
    Category,
    CollectionError,
    Inventory,
    Provenance,
    Resource,
    Result,
    ScanResult,
    Severity,
    Status,
    Summary,
    fingerprint,
)

ACCOUNT = "111122223333"
REGION = "eu-west-1"
WORKSPACE = "dbc-1234.cloud.databricks.com"


@dataclass(frozen=True)
class Res:
    """A resource of the estate."""

    name: str
    type: str
    provider: str = "aws"

    @property
    def uid(self) -> str:
        if self.provider == "databricks":
            kind = self.type.rsplit(".", 1)[-1]
            return f"databricks://{WORKSPACE}/{kind}/{self.name}"
        service = self.type.split(".")[1]
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{self.type.rsplit('.', 1)[-1]}/{self.name}"

    def resource(self) -> Resource:
        aws = self.provider == "aws"
        return Resource(
            uid=self.uid,
            type=self.type,
            provider=self.provider,
            id=self.name,
            name=self.name,
            account=ACCOUNT if aws else None,
            region=REGION if aws else None,
            workspace=None if aws else WORKSPACE,
        )


@dataclass(frozen=True)
class Check:
    """One (policy, resource) outcome."""

    policy: str
    res: Res
    status: Status
    severity: Severity = Severity.HIGH
    category: Category = Category.SECURITY
    compliance: tuple[str, ...] = ()

    def result(self) -> Result:
        r = self.res.resource()
        return Result(
            policy_id=self.policy,
            resource_uid=r.uid,
            resource_type=r.type,
            resource_name=r.name,
            provider=r.provider,
            account=r.account,
            region=r.region,
            workspace=r.workspace,
            status=self.status,
            severity=self.severity,
            category=self.category,
            title=f"{self.policy} title",
            message=f"{self.policy} on {r.name}: {self.status.value}",
            fingerprint=fingerprint(self.policy, r.uid),
            compliance=list(self.compliance),
        )


@dataclass
class Estate:
    """What a scan saw: resources, outcomes and collection errors, at a time."""

    started: str
    resources: list[Res]
    checks: list[Check]
    errors: list[CollectionError] = field(default_factory=list)
    accounts: Sequence[str] = (ACCOUNT,)
    regions: Sequence[str] = (REGION,)
    workspaces: Sequence[str] = (WORKSPACE,)

    def provenance(self) -> Provenance:
        return Provenance(
            version="0.1.0",
            started_at=self.started,
            finished_at=self.started.replace(":00Z", ":30Z"),
            command="mlguard scan --record",
            accounts=list(self.accounts),
            regions=list(self.regions),
            workspaces=list(self.workspaces),
        )

    def scan(self) -> ScanResult:
        results = [c.result() for c in self.checks]
        return ScanResult(
            provenance=self.provenance(),
            results=results,
            errors=list(self.errors),
            summary=Summary.of(
                results,
                resources=len(self.resources),
                policies_run=len({c.policy for c in self.checks}),
                errors=len(self.errors),
            ),
        )

    def inventory(self) -> Inventory:
        return Inventory(
            provenance=self.provenance(),
            resources=[r.resource() for r in self.resources],
            errors=list(self.errors),
        )


def checks(policy: str, statuses: Iterable[tuple[Res, Status]], **kw: object) -> list[Check]:
    return [Check(policy, res, st, **kw) for res, st in statuses]  # type: ignore[arg-type]
