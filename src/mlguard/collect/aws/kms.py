"""KMS keys: manager (AWS or customer), state, rotation."""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import data_of
from mlguard.collect.aws.spec import Caller, Detail, Enrichment, Item, Options, ResourceSpec, define


def _key_data(item: Item, opts: Options) -> dict[str, Any]:
    data = data_of(item.raw, drop=("KeyArn", "Arn", "AWSAccountId"))
    data["customer_managed"] = item.raw.get("KeyManager") == "CUSTOMER"
    if "Rotation" in item.raw:
        data["rotation_enabled"] = item.raw["Rotation"]
    elif item.raw.get("KeyManager") == "AWS":
        data["rotation_enabled"] = True  # AWS-managed keys rotate automatically every year
    data.pop("rotation", None)
    return data


def _aliases(items: list[Item], caller: Caller, opts: Options) -> None:
    """Alias names per key: one paginated ListAliases per region, not one call per key."""
    by_key: dict[str, list[str]] = {}
    for page in caller.pages("kms", "list_aliases"):
        for alias in page.get("Aliases", []):
            if alias.get("TargetKeyId"):
                by_key.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    for item in items:
        item.data["aliases"] = sorted(by_key.get(item.raw["KeyId"], []))


define(
    ResourceSpec(
        type="aws.kms.key",
        family="kms",
        service="kms",
        operation="list_keys",
        items="Keys",
        id="KeyId",
        arn="KeyArn",
        details=(
            Detail(
                operation="describe_key",
                params=lambda r: {"KeyId": r["KeyId"]},
                select="KeyMetadata",
                attributes=(
                    "key_manager",
                    "key_state",
                    "enabled",
                    "key_spec",
                    "key_usage",
                    "customer_managed",
                ),
            ),
            Detail(
                operation="get_key_rotation_status",
                params=lambda r: {"KeyId": r["KeyId"]},
                select="KeyRotationEnabled",
                into="Rotation",
                # AWS-managed keys rotate on AWS's schedule; asymmetric/HMAC/imported keys cannot rotate.
                when=lambda r: (
                    r.get("KeyManager") == "CUSTOMER"
                    and r.get("KeyState") not in ("PendingDeletion", "PendingReplicaDeletion")
                ),
                absent_codes=frozenset({"UnsupportedOperationException"}),
                attributes=("rotation_enabled",),
            ),
        ),
        normalize=_key_data,
        enrich=(
            Enrichment(
                name="aliases", operations=(("kms", "list_aliases"),), attributes=("aliases",), run=_aliases
            ),
        ),
    ),
)
