"""Glue: jobs (arguments redacted), crawlers, databases, catalog encryption, security configs."""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import data_of
from mlguard.collect.aws.spec import Item, Options, ResourceSpec, define


def _job(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    args = raw.get("DefaultArguments") or {}
    data = data_of(raw)  # DefaultArguments pass through the redaction helper in to_json
    data.update(
        {
            "security_configuration": raw.get("SecurityConfiguration"),
            "continuous_logging": args.get("--enable-continuous-cloudwatch-log") == "true",
            "metrics_enabled": "--enable-metrics" in args,
            "job_bookmark_option": args.get("--job-bookmark-option"),
            "script_location": (raw.get("Command") or {}).get("ScriptLocation"),
        }
    )
    return data


def _mode(config: dict[str, Any] | None, key: str) -> Any:
    return (config or {}).get(key)


def _catalog(item: Item, opts: Options) -> dict[str, Any]:
    rest = item.raw.get("EncryptionAtRest") or {}
    password = item.raw.get("ConnectionPasswordEncryption") or {}
    return {
        "encryption_at_rest_mode": rest.get("CatalogEncryptionMode", "DISABLED"),
        "encryption_at_rest_kms_key_id": rest.get("SseAwsKmsKeyId"),
        "connection_password_encrypted": bool(password.get("ReturnConnectionPasswordEncrypted", False)),
        "connection_password_kms_key_id": password.get("AwsKmsKeyId"),
    }


def _security_configuration(item: Item, opts: Options) -> dict[str, Any]:
    enc = item.raw.get("EncryptionConfiguration") or {}
    s3 = (enc.get("S3Encryption") or [{}])[0]
    return {
        **data_of(item.raw),
        "s3_encryption_mode": s3.get("S3EncryptionMode", "DISABLED"),
        "cloudwatch_encryption_mode": _mode(enc.get("CloudWatchEncryption"), "CloudWatchEncryptionMode")
        or "DISABLED",
        "job_bookmarks_encryption_mode": _mode(
            enc.get("JobBookmarksEncryption"), "JobBookmarksEncryptionMode"
        )
        or "DISABLED",
    }


_ARN = "arn:{partition}:glue:{region}:{account}"

define(
    ResourceSpec(
        type="aws.glue.job",
        family="glue",
        service="glue",
        operation="get_jobs",
        items="Jobs",
        id="Name",
        name="Name",
        arn_template=_ARN + ":job/{id}",
        normalize=_job,
    ),
    ResourceSpec(
        type="aws.glue.crawler",
        family="glue",
        service="glue",
        operation="get_crawlers",
        items="Crawlers",
        id="Name",
        name="Name",
        arn_template=_ARN + ":crawler/{id}",
        normalize=lambda item, opts: data_of(item.raw),
    ),
    ResourceSpec(
        type="aws.glue.database",
        family="glue",
        service="glue",
        operation="get_databases",
        items="DatabaseList",
        id="Name",
        name="Name",
        arn_template=_ARN + ":database/{id}",
    ),
    ResourceSpec(
        type="aws.glue.catalog_settings",
        family="glue",
        service="glue",
        operation="get_data_catalog_encryption_settings",
        items="DataCatalogEncryptionSettings",
        single=True,
        id="AccountId",
        arn_template=_ARN + ":catalog",
        normalize=_catalog,
    ),
    ResourceSpec(
        type="aws.glue.security_configuration",
        family="glue",
        service="glue",
        operation="get_security_configurations",
        items="SecurityConfigurations",
        id="Name",
        name="Name",
        arn_template=_ARN + ":security-configuration/{id}",
        normalize=_security_configuration,
    ),
)
