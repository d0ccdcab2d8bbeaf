"""SageMaker model governance: the model registry (model package groups with their versioned
packages and approval status) and model cards (status, KMS key, the model they document).

A model card's ``Content`` is a free-text JSON document (intended uses, risk rating, evaluation
results, authors); it never enters the inventory. Only the documented model's name and the risk
rating are taken from it, and a document that does not parse leaves them unknown (a collection
error for that card), never "no model".
"""

from __future__ import annotations

import json
from typing import Any

from mlguard.collect.aws.normalize import as_list, data_of, to_json
from mlguard.collect.aws.sagemaker import _first, _spec
from mlguard.collect.aws.spec import Caller, Detail, Item, Options, Unknown, define

#: Upper bound of a model card document mlguard parses (the API allows 100,000 characters).
MAX_CARD_CONTENT = 200_000


def _packages(caller: Caller, raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        p
        for page in caller.pages(
            "sagemaker", "list_model_packages", ModelPackageGroupName=raw["ModelPackageGroupName"]
        )
        for p in page.get("ModelPackageSummaryList", [])
    ]


def _package_group(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    packages = [
        {
            "arn": p.get("ModelPackageArn"),
            "version": p.get("ModelPackageVersion"),
            "approval_status": p.get("ModelApprovalStatus"),
            "status": p.get("ModelPackageStatus"),
            "creation_time": to_json(p.get("CreationTime")),
        }
        for p in as_list(raw.get("Packages"))
    ]
    latest = max(packages, key=lambda p: (p["version"] or 0, p["creation_time"] or ""), default=None)
    return {
        **data_of(raw, drop=("ModelPackageGroupArn", "Packages")),
        "packages": packages,
        "package_count": len(packages),
        "approved_count": sum(1 for p in packages if p["approval_status"] == "Approved"),
        "latest_approval_status": latest["approval_status"] if latest else None,
        # Join keys for models deployed from the registry (their containers name the package ARN).
        "package_arns": sorted(str(p["arn"]) for p in packages if p["arn"]),
        "approved_package_arns": sorted(
            str(p["arn"]) for p in packages if p["arn"] and p["approval_status"] == "Approved"
        ),
    }


_CARD_FACTS = ("model_name", "risk_rating")


def _model_card(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    content = raw.get("Content")
    data = data_of(raw, drop=("ModelCardArn", "Content", "SecurityConfig", "CreatedBy", "LastModifiedBy"))
    data["kms_key_id"] = _first(raw, ("SecurityConfig", "KmsKeyId"))
    if "Content" not in raw:  # not described (the describe error is recorded by the engine)
        return data
    try:
        if len(content or "") > MAX_CARD_CONTENT:
            raise ValueError(f"longer than {MAX_CARD_CONTENT} characters")
        document = json.loads(content or "{}")
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        item.unknown.append(
            Unknown(
                operation=("sagemaker", "describe_model_card"),
                code="MalformedContent",
                message=f"the model card content could not be read: {str(exc)[:200]}",
                attributes=_CARD_FACTS,
            )
        )
        return data
    overview = document.get("model_overview")
    uses = document.get("intended_uses")
    data["model_name"] = overview.get("model_name") if isinstance(overview, dict) else None
    data["risk_rating"] = uses.get("risk_rating") if isinstance(uses, dict) else None
    return data


define(
    _spec(
        "model_package_group",
        "list_model_package_groups",
        "ModelPackageGroupSummaryList",
        "ModelPackageGroup",
        describe=None,
        normalize=_package_group,
        details=(
            Detail(
                operation="list_model_packages",
                fetch=_packages,
                into="Packages",
                attributes=(
                    "packages",
                    "package_count",
                    "approved_count",
                    "latest_approval_status",
                    "package_arns",
                    "approved_package_arns",
                ),
            ),
        ),
    ),
    _spec(
        "model_card",
        "list_model_cards",
        "ModelCardSummaries",
        "ModelCard",
        describe="describe_model_card",
        normalize=_model_card,
        tagged=True,
        attributes=("kms_key_id", "model_card_version", *_CARD_FACTS),
    ),
)
