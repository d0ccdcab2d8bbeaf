"""Amazon Bedrock and Bedrock Agents: model invocation logging (one settings object per region),
guardrails, custom and imported models, model customization jobs, provisioned throughput (with its
CloudWatch invocations), application inference profiles, agents (with aliases and action groups)
and knowledge bases (with their data sources).

Prompts, instructions, descriptions and blocked-input messages are free text: they stay in the
data and pass the sink's secret scrub like every other string (an agent instruction is a likely
place for a pasted key). Hyperparameters go through the argument-map redaction. Every detail call
that fails leaves its fields unread (ERROR), never "not configured".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from mlguard.collect.aws import metrics
from mlguard.collect.aws.normalize import as_list, to_json
from mlguard.collect.aws.spec import Caller, Detail, Enrichment, Item, Options, ResourceSpec, define
from mlguard.collect.secrets import SECRET_PATHS, replace_secrets

#: The test alias every agent has (``AgentTestAlias``, id TSTALIASID): it serves the console's
#: test window only, so an agent with nothing but this alias is not user-facing.
TEST_ALIAS_ID = "TSTALIASID"


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def s3_bucket_of(uri_or_arn: Any) -> str | None:
    """The bucket of an ``s3://bucket/key`` URI or an ``arn:aws:s3:::bucket`` ARN (else None)."""
    if not isinstance(uri_or_arn, str):
        return None
    if uri_or_arn.startswith("s3://"):
        return uri_or_arn[5:].split("/", 1)[0] or None
    if uri_or_arn.startswith("arn:") and ":s3:::" in uri_or_arn:
        return uri_or_arn.split(":s3:::", 1)[1].split("/", 1)[0] or None
    return None


def _buckets(*values: Any) -> list[str]:
    return sorted({b for b in (s3_bucket_of(v) for v in values) if b})


# --------------------------------------------------------------------------- invocation logging


def _log_group(caller: Caller, raw: dict[str, Any]) -> dict[str, Any] | None:
    """The CloudWatch log group invocation logs go to (exact name match), or None if it is gone."""
    name = _get(raw, "loggingConfig", "cloudWatchConfig", "logGroupName")
    for page in caller.pages("logs", "describe_log_groups", logGroupNamePrefix=name):
        for group in as_list(page.get("logGroups")):
            if group.get("logGroupName") == name:
                return dict(group)
    return None


def _logging(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    config = raw.get("loggingConfig") or {}
    cloudwatch = config.get("cloudWatchConfig") or {}
    s3 = config.get("s3Config") or {}
    large = cloudwatch.get("largeDataDeliveryS3Config") or {}
    data: dict[str, Any] = {
        "logging_enabled": bool(cloudwatch.get("logGroupName") or s3.get("bucketName")),
        "cloudwatch_log_group_name": cloudwatch.get("logGroupName"),
        "cloudwatch_role_arn": cloudwatch.get("roleArn"),
        "large_data_s3_bucket": large.get("bucketName"),
        "s3_bucket": s3.get("bucketName"),
        "s3_key_prefix": s3.get("keyPrefix"),
        "text_data_delivery_enabled": bool(config.get("textDataDeliveryEnabled", False)),
        "image_data_delivery_enabled": bool(config.get("imageDataDeliveryEnabled", False)),
        "embedding_data_delivery_enabled": bool(config.get("embeddingDataDeliveryEnabled", False)),
        "video_data_delivery_enabled": bool(config.get("videoDataDeliveryEnabled", False)),
        "s3_buckets": sorted({b for b in (s3.get("bucketName"), large.get("bucketName")) if b}),
    }
    if "LogGroup" in raw:  # read (None: the named group does not exist); absent: not read
        group = raw["LogGroup"]
        data["cloudwatch_log_group_exists"] = group is not None
        data["cloudwatch_log_group_kms_key_id"] = (group or {}).get("kmsKeyId")
    return data


# --------------------------------------------------------------------------- guardrails


def _filters(entry: dict[str, Any]) -> bool:
    """Whether a sensitive-information entity or pattern blocks or masks in some direction: one
    evaluated in neither (inputEnabled/outputEnabled false) or whose action is NONE only detects.
    The per-direction actions default to ``action``, the flags to enabled (the older API)."""
    action = entry.get("action")
    return any(
        entry.get(f"{side}Enabled", True) is not False
        and entry.get(f"{side}Action", action) not in (None, "NONE")
        for side in ("input", "output")
    )


#: What a sensitive-information entry may do with a match and still stop it reaching the caller.
_ENFORCING = ("BLOCK", "ANONYMIZE")


def _unenforced_on_output(entry: dict[str, Any]) -> bool:
    """The entry lets a match through in model output: output evaluation switched off, or an
    output action (which defaults to ``action``) that neither blocks nor masks (NONE: detect only)."""
    return (
        entry.get("outputEnabled", True) is False
        or entry.get("outputAction", entry.get("action")) not in _ENFORCING
    )


def _guardrail(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    # inputEnabled/inputAction (and the grounding filters' enabled/action) were added to the API
    # later; a guardrail that omits them evaluates and blocks, as every guardrail did before.
    filters = [
        {
            "type": f.get("type"),
            "input_strength": f.get("inputStrength"),
            "output_strength": f.get("outputStrength"),
            "input_enabled": bool(f.get("inputEnabled", True)),
            "output_enabled": bool(f.get("outputEnabled", True)),
            "input_action": f.get("inputAction", "BLOCK"),
        }
        for f in as_list(_get(raw, "contentPolicy", "filters"))
    ]
    attack = [
        f
        for f in filters
        if f["type"] == "PROMPT_ATTACK" and f["input_enabled"] and f["input_action"] != "NONE"
    ]
    pii = [
        {"type": p.get("type"), "action": p.get("action") or p.get("inputAction")}
        for p in as_list(_get(raw, "sensitiveInformationPolicy", "piiEntities"))
    ]
    regexes = [
        {"name": r.get("name"), "action": r.get("action") or r.get("inputAction")}
        for r in as_list(_get(raw, "sensitiveInformationPolicy", "regexes"))
    ]
    grounding = {
        str(f.get("type")): f.get("threshold")
        for f in as_list(_get(raw, "contextualGroundingPolicy", "filters"))
        if f.get("enabled", True) and f.get("action", "BLOCK") != "NONE"
    }
    return {
        "status": raw.get("status"),
        "version": raw.get("version"),
        "description": raw.get("description"),
        "created_at": to_json(raw.get("createdAt")),
        "updated_at": to_json(raw.get("updatedAt")),
        "kms_key_arn": raw.get("kmsKeyArn"),
        "content_filters": filters,
        "prompt_attack_strength": attack[0]["input_strength"] if attack else None,
        "pii_entities": pii,
        "regexes": regexes,
        "sensitive_information_filter": any(
            _filters(e)
            for e in (
                *as_list(_get(raw, "sensitiveInformationPolicy", "piiEntities")),
                *as_list(_get(raw, "sensitiveInformationPolicy", "regexes")),
            )
            if isinstance(e, dict)
        ),
        "sensitive_information_entry_count": len(
            [
                e
                for e in (
                    *as_list(_get(raw, "sensitiveInformationPolicy", "piiEntities")),
                    *as_list(_get(raw, "sensitiveInformationPolicy", "regexes")),
                )
                if isinstance(e, dict)
            ]
        ),
        "sensitive_information_unenforced_on_output": sorted(
            str(e.get("type") or e.get("name"))
            for e in (
                *as_list(_get(raw, "sensitiveInformationPolicy", "piiEntities")),
                *as_list(_get(raw, "sensitiveInformationPolicy", "regexes")),
            )
            if isinstance(e, dict) and _unenforced_on_output(e)
        ),
        "contextual_grounding_threshold": grounding.get("GROUNDING"),
        "contextual_relevance_threshold": grounding.get("RELEVANCE"),
        "denied_topics": sorted(str(t.get("name")) for t in as_list(_get(raw, "topicPolicy", "topics"))),
        "word_filter": bool(_get(raw, "wordPolicy", "words") or _get(raw, "wordPolicy", "managedWordLists")),
        "blocked_input_messaging": raw.get("blockedInputMessaging"),
        "blocked_outputs_messaging": raw.get("blockedOutputsMessaging"),
    }


_GUARDRAIL_FIELDS = (
    "kms_key_arn",
    "content_filters",
    "prompt_attack_strength",
    "pii_entities",
    "regexes",
    "sensitive_information_filter",
    "sensitive_information_entry_count",
    "sensitive_information_unenforced_on_output",
    "contextual_grounding_threshold",
    "contextual_relevance_threshold",
    "denied_topics",
    "word_filter",
    "blocked_input_messaging",
    "blocked_outputs_messaging",
)


# --------------------------------------------------------------------------- models and jobs


def _custom_model(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        "model_status": raw.get("modelStatus"),
        "base_model_arn": raw.get("baseModelArn"),
        "customization_type": raw.get("customizationType"),
        "job_name": raw.get("jobName"),
        "job_arn": raw.get("jobArn"),
        "creation_time": to_json(raw.get("creationTime")),
        "kms_key_arn": raw.get("modelKmsKeyArn"),
        "output_s3_uri": _get(raw, "outputDataConfig", "s3Uri"),
        "training_s3_uri": _get(raw, "trainingDataConfig", "s3Uri"),
        "hyper_parameters": replace_secrets(raw.get("hyperParameters")),
        "s3_buckets": _buckets(
            _get(raw, "outputDataConfig", "s3Uri"),
            _get(raw, "trainingDataConfig", "s3Uri"),
            *(v.get("s3Uri") for v in as_list(_get(raw, "validationDataConfig", "validators"))),
        ),
    }


def _customization_job(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    vpc = raw.get("vpcConfig") or {}
    return {
        "status": raw.get("status"),
        "base_model_arn": raw.get("baseModelArn"),
        "customization_type": raw.get("customizationType"),
        "custom_model_name": raw.get("customModelName") or raw.get("outputModelName"),
        "output_model_arn": raw.get("outputModelArn") or raw.get("customModelArn"),
        "role_arn": raw.get("roleArn"),
        "creation_time": to_json(raw.get("creationTime")),
        "end_time": to_json(raw.get("endTime")),
        "output_model_kms_key_arn": raw.get("outputModelKmsKeyArn"),
        "output_s3_uri": _get(raw, "outputDataConfig", "s3Uri"),
        "training_s3_uri": _get(raw, "trainingDataConfig", "s3Uri"),
        "in_vpc": bool(vpc.get("subnetIds")),
        "subnet_ids": [str(s) for s in as_list(vpc.get("subnetIds"))],
        "security_group_ids": [str(s) for s in as_list(vpc.get("securityGroupIds"))],
        "hyper_parameters": replace_secrets(raw.get("hyperParameters")),
        "s3_buckets": _buckets(
            _get(raw, "outputDataConfig", "s3Uri"),
            _get(raw, "trainingDataConfig", "s3Uri"),
            *(v.get("s3Uri") for v in as_list(_get(raw, "validationDataConfig", "validators"))),
        ),
    }


_JOB_DETAIL_FIELDS = (
    "output_model_kms_key_arn",
    "output_s3_uri",
    "training_s3_uri",
    "in_vpc",
    "subnet_ids",
    "security_group_ids",
    "hyper_parameters",
    "s3_buckets",
    "role_arn",
    SECRET_PATHS,
)


def _recent_jobs(opts: Options) -> list[dict[str, Any]]:
    """Jobs created within the look-back, plus every job still running whatever its age."""
    return [
        {"creationTimeAfter": opts.now - timedelta(days=opts.job_lookback_days)},
        {"statusEquals": "InProgress"},
    ]


def _throughput(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        "status": raw.get("status"),
        "model_arn": raw.get("modelArn"),
        "desired_model_arn": raw.get("desiredModelArn"),
        "foundation_model_arn": raw.get("foundationModelArn"),
        "model_units": raw.get("modelUnits"),
        "desired_model_units": raw.get("desiredModelUnits"),
        # No commitment: hourly on-demand billing (the API omits commitmentDuration).
        "commitment_duration": raw.get("commitmentDuration"),
        "no_commitment": not raw.get("commitmentDuration"),
        "commitment_expiration_time": to_json(raw.get("commitmentExpirationTime")),
        "creation_time": to_json(raw.get("creationTime")),
        "last_modified_time": to_json(raw.get("lastModifiedTime")),
    }


def _throughput_invocations(items: list[Item], caller: Caller, opts: Options) -> None:
    """Invocations of each provisioned model over ``metrics_days`` (CloudWatch ``AWS/Bedrock``,
    dimension ModelId: a provisioned model is invoked by its ARN; batched GetMetricData)."""
    queries = [
        metrics.Query(
            str(i.raw["provisionedModelArn"]),
            "AWS/Bedrock",
            "Invocations",
            (("ModelId", str(i.raw["provisionedModelArn"])),),
            "Sum",
        )
        for i in items
    ]
    values = metrics.fetch(caller, queries, opts) if queries else {}
    for i in items:
        i.data["metrics_days"] = opts.metrics_days
        i.data["invocations_sum"] = sum(values[str(i.raw["provisionedModelArn"])])


def _imported_model(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    source = _get(raw, "modelDataSource", "s3DataSource", "s3Uri")
    return {
        "creation_time": to_json(raw.get("creationTime")),
        "model_architecture": raw.get("modelArchitecture"),
        "instruct_supported": raw.get("instructSupported"),
        "job_arn": raw.get("jobArn"),
        "kms_key_arn": raw.get("modelKmsKeyArn"),
        "source_s3_uri": source,
        "s3_buckets": _buckets(source),
    }


def _inference_profile(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        "status": raw.get("status"),
        "profile_type": raw.get("type"),
        "description": raw.get("description"),
        "created_at": to_json(raw.get("createdAt")),
        "model_arns": sorted(str(m.get("modelArn")) for m in as_list(raw.get("models")) if m.get("modelArn")),
    }


# --------------------------------------------------------------------------- agents


def _aliases(caller: Caller, raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a
        for page in caller.pages("bedrock-agent", "list_agent_aliases", agentId=raw["agentId"])
        for a in as_list(page.get("agentAliasSummaries"))
    ]


def _served_versions(caller: Caller, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """What each alias other than the test alias serves: every agent version its routing
    configuration names, read with GetAgentVersion (a version keeps the guardrail it was prepared
    with, whatever the working draft has since). A version routed to by several aliases is read once."""
    versions: dict[str, dict[str, Any]] = {}
    out = []
    for alias in _aliases(caller, raw):
        if alias.get("agentAliasId") == TEST_ALIAS_ID:
            continue
        for route in as_list(alias.get("routingConfiguration")):
            version = str(route.get("agentVersion"))
            if version != "DRAFT" and version not in versions:
                found = caller.call(
                    "bedrock-agent", "get_agent_version", agentId=raw["agentId"], agentVersion=version
                )
                versions[version] = found.get("agentVersion") or {}
            out.append({"Alias": alias, "Version": version, "Detail": versions.get(version)})
    return out


def _served(raw: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in as_list(raw["ServedVersions"]):
        # DRAFT (which only the test alias should route to) serves the working draft's guardrail.
        detail = s["Detail"] if s["Detail"] is not None else raw
        guardrail = detail.get("guardrailConfiguration") or {}
        out.append(
            {
                "alias_id": s["Alias"].get("agentAliasId"),
                "alias_name": s["Alias"].get("agentAliasName"),
                "agent_version": s["Version"],
                "guardrail_identifier": guardrail.get("guardrailIdentifier"),
                "guardrail_version": guardrail.get("guardrailVersion"),
            }
        )
    return out


def _action_groups(caller: Caller, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action group of the agent's working draft, each read in full (executor, schema)."""
    out = []
    for page in caller.pages(
        "bedrock-agent", "list_agent_action_groups", agentId=raw["agentId"], agentVersion="DRAFT"
    ):
        for summary in as_list(page.get("actionGroupSummaries")):
            group = caller.call(
                "bedrock-agent",
                "get_agent_action_group",
                agentId=raw["agentId"],
                agentVersion="DRAFT",
                actionGroupId=summary["actionGroupId"],
            )
            out.append(group.get("agentActionGroup") or {})
    return out


def _agent(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    guardrail = raw.get("guardrailConfiguration") or {}
    data: dict[str, Any] = {
        "agent_status": raw.get("agentStatus"),
        "description": raw.get("description"),
        "latest_agent_version": raw.get("latestAgentVersion"),
        "updated_at": to_json(raw.get("updatedAt")),
        "guardrail_identifier": guardrail.get("guardrailIdentifier"),
        "guardrail_version": guardrail.get("guardrailVersion"),
        "guardrail_enabled": bool(guardrail.get("guardrailIdentifier")),
    }
    if "agentResourceRoleArn" in raw or "agentArn" in raw:  # GetAgent was read
        prompts = as_list(_get(raw, "promptOverrideConfiguration", "promptConfigurations"))
        data.update(
            {
                "instruction": raw.get("instruction"),
                "foundation_model": raw.get("foundationModel"),
                "agent_resource_role_arn": raw.get("agentResourceRoleArn"),
                "customer_encryption_key_arn": raw.get("customerEncryptionKeyArn"),
                "idle_session_ttl_seconds": raw.get("idleSessionTTLInSeconds"),
                "orchestration_type": raw.get("orchestrationType"),
                "agent_collaboration": raw.get("agentCollaboration"),
                "memory_enabled": bool(_get(raw, "memoryConfiguration", "enabledMemoryTypes")),
                "prompt_overrides": [
                    {
                        "prompt_type": p.get("promptType"),
                        "prompt_creation_mode": p.get("promptCreationMode"),
                        "prompt_state": p.get("promptState"),
                        "base_prompt_template": p.get("basePromptTemplate"),
                    }
                    for p in prompts
                ],
            }
        )
    if "Aliases" in raw:
        aliases = [
            {
                "alias_id": a.get("agentAliasId"),
                "alias_name": a.get("agentAliasName"),
                "status": a.get("agentAliasStatus"),
                "agent_versions": [r.get("agentVersion") for r in as_list(a.get("routingConfiguration"))],
            }
            for a in as_list(raw["Aliases"])
        ]
        data["aliases"] = aliases
        data["user_facing"] = any(a["alias_id"] != TEST_ALIAS_ID for a in aliases)
    if "ServedVersions" in raw:
        served = _served(raw)
        data["served_versions"] = served
        data["unguarded_served_versions"] = sorted(
            {f"{v['alias_name']}:{v['agent_version']}" for v in served if not v["guardrail_identifier"]}
        )
    if "ActionGroups" in raw:
        groups = []
        for g in as_list(raw["ActionGroups"]):
            api = g.get("apiSchema") or {}
            groups.append(
                {
                    "name": g.get("actionGroupName"),
                    "state": g.get("actionGroupState"),
                    "description": g.get("description"),
                    "executor_lambda": _get(g, "actionGroupExecutor", "lambda"),
                    "custom_control": _get(g, "actionGroupExecutor", "customControl"),
                    "parent_action_group": g.get("parentActionSignature"),
                    "api_schema_s3_bucket": _get(api, "s3", "s3BucketName"),
                    # An inline OpenAPI payload is free text; only whether there is one is kept.
                    "api_schema_inline": bool(api.get("payload")),
                    "function_names": sorted(
                        str(f.get("name")) for f in as_list(_get(g, "functionSchema", "functions"))
                    ),
                }
            )
        data["action_groups"] = groups
        data["code_interpreter_enabled"] = any(
            g["parent_action_group"] == "AMAZON.CodeInterpreter" and g["state"] == "ENABLED" for g in groups
        )
    return data


_AGENT_FIELDS = (
    "instruction",
    "foundation_model",
    "agent_resource_role_arn",
    "customer_encryption_key_arn",
    "idle_session_ttl_seconds",
    "orchestration_type",
    "agent_collaboration",
    "memory_enabled",
    "prompt_overrides",
    SECRET_PATHS,
)


# --------------------------------------------------------------------------- knowledge bases


def _data_sources(caller: Caller, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Every data source of the knowledge base, each read in full (encryption, S3 source)."""
    out = []
    kb = raw["knowledgeBaseId"]
    for page in caller.pages("bedrock-agent", "list_data_sources", knowledgeBaseId=kb):
        for summary in as_list(page.get("dataSourceSummaries")):
            found = caller.call(
                "bedrock-agent", "get_data_source", knowledgeBaseId=kb, dataSourceId=summary["dataSourceId"]
            )
            out.append(found.get("dataSource") or {})
    return out


#: ListIngestionJobs filter and order that make its first answer the data source's newest
#: successful ingestion (a sync that finished with status COMPLETE).
_LAST_COMPLETE = {
    "filters": [{"attribute": "STATUS", "operator": "EQ", "values": ["COMPLETE"]}],
    "sortBy": {"attribute": "STARTED_AT", "order": "DESCENDING"},
    "maxResults": 1,
}


def _ingestion(caller: Caller, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Each data source of the knowledge base with its newest COMPLETE ingestion job (None if it
    never completed one): one ListIngestionJobs page per data source, filtered and sorted by AWS."""
    out = []
    kb = raw["knowledgeBaseId"]
    for page in caller.pages("bedrock-agent", "list_data_sources", knowledgeBaseId=kb):
        for summary in as_list(page.get("dataSourceSummaries")):
            jobs = caller.call(
                "bedrock-agent",
                "list_ingestion_jobs",
                knowledgeBaseId=kb,
                dataSourceId=summary["dataSourceId"],
                **_LAST_COMPLETE,
            )
            done = [j for j in as_list(jobs.get("ingestionJobSummaries")) if j.get("status") == "COMPLETE"]
            out.append({**summary, "LastComplete": done[0] if done else None})
    return out


def _storage(raw: dict[str, Any]) -> dict[str, Any]:
    storage = raw.get("storageConfiguration") or {}
    target: Any = None
    secret: Any = None
    for value in storage.values():  # the one configuration block of the store's type
        if isinstance(value, dict):
            target = next((value[k] for k in _STORE_TARGETS if value.get(k)), None)
            secret = value.get("credentialsSecretArn")
    return {
        "storage_type": storage.get("type"),
        "storage_target": target,
        "storage_credentials_secret_arn": secret,
    }


#: Where each vector store type names its store: an ARN, else an endpoint.
_STORE_TARGETS = (
    "collectionArn",
    "domainArn",
    "resourceArn",
    "graphArn",
    "vectorBucketArn",
    "endpoint",
    "connectionString",
    "domainEndpoint",
)


def _knowledge_base(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    config = raw.get("knowledgeBaseConfiguration") or {}
    data: dict[str, Any] = {
        "status": raw.get("status"),
        "description": raw.get("description"),
        "updated_at": to_json(raw.get("updatedAt")),
    }
    if "roleArn" in raw:  # GetKnowledgeBase was read
        data.update(
            {
                "role_arn": raw.get("roleArn"),
                "knowledge_base_type": config.get("type"),
                "embedding_model_arn": _get(config, "vectorKnowledgeBaseConfiguration", "embeddingModelArn")
                or _get(config, "managedKnowledgeBaseConfiguration", "embeddingModelArn"),
                **_storage(raw),
            }
        )
    if "DataSources" in raw:
        sources = []
        for d in as_list(raw["DataSources"]):
            config = d.get("dataSourceConfiguration") or {}
            s3 = config.get("s3Configuration") or {}
            sources.append(
                {
                    "data_source_id": d.get("dataSourceId"),
                    "name": d.get("name"),
                    "status": d.get("status"),
                    "description": d.get("description"),
                    "source_type": config.get("type"),
                    "kms_key_arn": _get(d, "serverSideEncryptionConfiguration", "kmsKeyArn"),
                    "s3_bucket_arn": s3.get("bucketArn"),
                    "s3_bucket": s3_bucket_of(s3.get("bucketArn")),
                    "s3_bucket_owner_account_id": s3.get("bucketOwnerAccountId"),
                    "data_deletion_policy": d.get("dataDeletionPolicy"),
                }
            )
        data["data_sources"] = sources
        data["data_source_count"] = len(sources)
        data["s3_buckets"] = sorted({s["s3_bucket"] for s in sources if s["s3_bucket"]})
    if "Ingestion" in raw:
        data["data_source_ingestion"] = [
            {
                "data_source_id": d.get("dataSourceId"),
                "name": d.get("name"),
                # A job's updatedAt is when it reached COMPLETE (the API has no separate end time).
                "last_completed_ingestion_at": to_json((d["LastComplete"] or {}).get("updatedAt")),
                "last_completed_ingestion_job_id": (d["LastComplete"] or {}).get("ingestionJobId"),
            }
            for d in as_list(raw["Ingestion"])
        ]
    return data


def listed_and_got(
    kind: str,
    service: str,
    items: str,
    *,
    key: str,
    by: str,
    name: str,
    arn: str,
    normalize: Callable[[Item, Options], dict[str, Any]],
    attributes: tuple[str, ...],
    params: Callable[[Options], list[dict[str, Any]]] | None = None,
) -> ResourceSpec:
    """A Bedrock type ``aws.bedrock.<kind>`` listed by ``list_<kind>s`` (its summaries in
    ``items``) and read in full, item by item, by ``get_<kind>`` with ``{key: item[by]}``."""
    return ResourceSpec(
        type=f"aws.bedrock.{kind}",
        family="bedrock",
        service=service,
        operation=f"list_{kind}s",
        params=params,
        items=items,
        id=by,
        name=name,
        arn=arn,
        normalize=normalize,
        details=(Detail(operation=f"get_{kind}", params=lambda r: {key: r[by]}, attributes=attributes),),
    )


define(
    ResourceSpec(
        type="aws.bedrock.invocation_logging",
        family="bedrock",
        service="bedrock",
        operation="get_model_invocation_logging_configuration",
        items="@",
        single=True,
        id="Region",
        arn_template="arn:{partition}:bedrock:{region}:{account}:model-invocation-logging",
        normalize=_logging,
        details=(
            Detail(
                operation="describe_log_groups",
                service="logs",
                fetch=_log_group,
                when=lambda r: bool(_get(r, "loggingConfig", "cloudWatchConfig", "logGroupName")),
                into="LogGroup",
                attributes=("cloudwatch_log_group_exists", "cloudwatch_log_group_kms_key_id"),
            ),
        ),
    ),
    listed_and_got(
        "guardrail",
        "bedrock",
        "guardrails",
        key="guardrailIdentifier",
        by="id",
        name="name",
        arn="arn",
        normalize=_guardrail,
        attributes=(*_GUARDRAIL_FIELDS, SECRET_PATHS),
    ),
    listed_and_got(
        "custom_model",
        "bedrock",
        "modelSummaries",
        key="modelIdentifier",
        by="modelName",
        name="modelName",
        arn="modelArn",
        normalize=_custom_model,
        attributes=(
            "job_name",
            "job_arn",
            "kms_key_arn",
            "output_s3_uri",
            "training_s3_uri",
            "hyper_parameters",
            "s3_buckets",
            "model_status",
            SECRET_PATHS,
        ),
    ),
    listed_and_got(
        "model_customization_job",
        "bedrock",
        "modelCustomizationJobSummaries",
        params=_recent_jobs,
        key="jobIdentifier",
        by="jobName",
        name="jobName",
        arn="jobArn",
        normalize=_customization_job,
        attributes=_JOB_DETAIL_FIELDS,
    ),
    ResourceSpec(
        type="aws.bedrock.provisioned_throughput",
        family="bedrock",
        service="bedrock",
        operation="list_provisioned_model_throughputs",
        items="provisionedModelSummaries",
        id="provisionedModelName",
        name="provisionedModelName",
        arn="provisionedModelArn",
        normalize=_throughput,
        enrich=(
            Enrichment(
                name="provisioned model invocations",
                operations=(("cloudwatch", "get_metric_data"),),
                attributes=("invocations_sum", "metrics_days"),
                run=_throughput_invocations,
            ),
        ),
    ),
    listed_and_got(
        "imported_model",
        "bedrock",
        "modelSummaries",
        key="modelIdentifier",
        by="modelName",
        name="modelName",
        arn="modelArn",
        normalize=_imported_model,
        attributes=("kms_key_arn", "source_s3_uri", "s3_buckets", "job_arn"),
    ),
    ResourceSpec(
        type="aws.bedrock.inference_profile",
        family="bedrock",
        service="bedrock",
        operation="list_inference_profiles",
        params=lambda o: [{"typeEquals": "APPLICATION"}],
        items="inferenceProfileSummaries",
        id="inferenceProfileId",
        name="inferenceProfileName",
        arn="inferenceProfileArn",
        normalize=_inference_profile,
    ),
    ResourceSpec(
        type="aws.bedrock.agent",
        family="bedrock",
        service="bedrock-agent",
        operation="list_agents",
        items="agentSummaries",
        id="agentId",
        name="agentName",
        arn="agentArn",
        arn_template="arn:{partition}:bedrock:{region}:{account}:agent/{id}",
        normalize=_agent,
        details=(
            Detail(
                operation="get_agent",
                params=lambda r: {"agentId": r["agentId"]},
                select="agent",
                attributes=_AGENT_FIELDS,
            ),
            Detail(
                operation="list_agent_aliases",
                params=lambda r: {"agentId": r["agentId"]},
                items="agentAliasSummaries",
                into="Aliases",
                attributes=("aliases", "user_facing"),
            ),
            Detail(
                operation="get_agent_version",
                also=("list_agent_aliases",),
                fetch=_served_versions,
                into="ServedVersions",
                attributes=("served_versions", "unguarded_served_versions"),
            ),
            Detail(
                operation="list_agent_action_groups",
                also=("get_agent_action_group",),
                fetch=_action_groups,
                into="ActionGroups",
                attributes=("action_groups", "code_interpreter_enabled", SECRET_PATHS),
            ),
        ),
    ),
    ResourceSpec(
        type="aws.bedrock.knowledge_base",
        family="bedrock",
        service="bedrock-agent",
        operation="list_knowledge_bases",
        items="knowledgeBaseSummaries",
        id="knowledgeBaseId",
        name="name",
        arn="knowledgeBaseArn",
        arn_template="arn:{partition}:bedrock:{region}:{account}:knowledge-base/{id}",
        normalize=_knowledge_base,
        details=(
            Detail(
                operation="get_knowledge_base",
                params=lambda r: {"knowledgeBaseId": r["knowledgeBaseId"]},
                select="knowledgeBase",
                attributes=(
                    "role_arn",
                    "knowledge_base_type",
                    "embedding_model_arn",
                    "storage_type",
                    "storage_target",
                    "storage_credentials_secret_arn",
                    SECRET_PATHS,
                ),
            ),
            Detail(
                operation="list_data_sources",
                also=("get_data_source",),
                fetch=_data_sources,
                into="DataSources",
                attributes=("data_sources", "data_source_count", "s3_buckets", SECRET_PATHS),
            ),
            Detail(
                operation="list_ingestion_jobs",
                also=("list_data_sources",),
                fetch=_ingestion,
                into="Ingestion",
                attributes=("data_source_ingestion",),
            ),
        ),
    ),
)
