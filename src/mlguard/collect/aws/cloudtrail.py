"""CloudTrail trails with their logging status and which S3 data events they record.

Trails are listed in their home region only (``includeShadowTrails=False``): a multi-region trail
is one resource, not one per region. An organization trail belongs to the management account and
is seen when that account is scanned.
"""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import as_list
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, define

_S3_OBJECT = "AWS::S3::Object"
_ALL_S3 = frozenset({"arn:aws:s3", "arn:aws:s3:::", "arn:aws-us-gov:s3", "arn:aws-cn:s3"})


def _bucket_of(arn: str) -> str | None:
    """The bucket of ``arn:aws:s3:::bucket/`` (whole bucket); None for a prefix or anything else."""
    if ":::" not in arn:
        return None
    rest = arn.split(":::", 1)[1]
    bucket, _, prefix = rest.partition("/")
    return bucket if bucket and not prefix else None


def _basic(selectors: list[dict[str, Any]]) -> tuple[bool, set[str]]:
    """(all buckets, whole buckets) logged for reads and writes by classic event selectors."""
    everything, buckets = False, set()
    for sel in selectors:
        if sel.get("ReadWriteType", "All") != "All":
            continue
        for res in as_list(sel.get("DataResources")):
            if res.get("Type") != _S3_OBJECT:
                continue
            for value in as_list(res.get("Values")):
                if str(value).rstrip("/") in _ALL_S3 or str(value) in _ALL_S3:
                    everything = True
                elif (bucket := _bucket_of(str(value))) is not None:
                    buckets.add(bucket)
    return everything, buckets


def _advanced(selectors: list[dict[str, Any]]) -> tuple[bool, set[str]]:
    """(all buckets, whole buckets) logged for reads and writes by advanced event selectors: a
    selector on S3 object data events with no readOnly filter, and either no ARN filter (every
    bucket) or ARN StartsWith whole-bucket prefixes. Other field filters (eventName...) narrow what
    is logged, so such a selector counts for nothing."""
    everything, buckets = False, set()
    for sel in selectors:
        fields = {f.get("Field"): f for f in as_list(sel.get("FieldSelectors"))}
        category, rtype = fields.get("eventCategory") or {}, fields.get("resources.type") or {}
        if "Data" not in as_list(category.get("Equals")) or _S3_OBJECT not in as_list(rtype.get("Equals")):
            continue
        if set(fields) - {"eventCategory", "resources.type", "resources.ARN"}:
            continue  # readOnly, eventName, userIdentity...: only some of the events
        arn = fields.get("resources.ARN")
        if arn is None:
            everything = True
            continue
        if set(arn) - {"Field", "StartsWith"}:
            continue
        for value in as_list(arn.get("StartsWith")):
            if (bucket := _bucket_of(str(value))) is not None:
                buckets.add(bucket)
    return everything, buckets


def _trail(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    data: dict[str, Any] = {
        "home_region": raw.get("HomeRegion"),
        "is_multi_region_trail": bool(raw.get("IsMultiRegionTrail", False)),
        "is_organization_trail": bool(raw.get("IsOrganizationTrail", False)),
        "s3_bucket_name": raw.get("S3BucketName"),
        "kms_key_id": raw.get("KmsKeyId"),
        "log_file_validation_enabled": bool(raw.get("LogFileValidationEnabled", False)),
    }
    if "Status" in raw:
        data["is_logging"] = bool((raw.get("Status") or {}).get("IsLogging", False))
    if "Selectors" in raw:
        sel = raw.get("Selectors") or {}
        all_basic, basic = _basic(as_list(sel.get("EventSelectors")))
        all_adv, adv = _advanced(as_list(sel.get("AdvancedEventSelectors")))
        data["s3_data_events_all_buckets"] = all_basic or all_adv
        data["s3_data_event_buckets"] = sorted(basic | adv)
    return data


define(
    ResourceSpec(
        type="aws.cloudtrail.trail",
        family="cloudtrail",
        service="cloudtrail",
        operation="describe_trails",
        params=lambda o: [{"includeShadowTrails": False}],
        items="trailList",
        id="Name",
        name="Name",
        arn="TrailARN",
        normalize=_trail,
        details=(
            Detail(
                operation="get_trail_status",
                params=lambda r: {"Name": r["TrailARN"]},
                into="Status",
                attributes=("is_logging",),
            ),
            Detail(
                operation="get_event_selectors",
                params=lambda r: {"TrailName": r["TrailARN"]},
                into="Selectors",
                attributes=("s3_data_events_all_buckets", "s3_data_event_buckets"),
            ),
        ),
    ),
)
