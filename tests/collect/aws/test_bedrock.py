"""Amazon Bedrock and Bedrock Agents: what is read, what a failed read leaves unknown, and that a
secret pasted into an agent instruction never reaches the inventory."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from mlguard.collect.aws.commands import permissions_command
from mlguard.collect.secrets import REDACTED, SECRET_PATHS
from mlguard.demo import moto_ext
from mlguard.model import Inventory
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import ACCOUNT, REGION
from tests.collect.aws.test_engine import failing, run_with_hooks

pytestmark = pytest.mark.usefixtures("aws")

TYPES = {
    "aws.bedrock.invocation_logging",
    "aws.bedrock.guardrail",
    "aws.bedrock.custom_model",
    "aws.bedrock.model_customization_job",
    "aws.bedrock.provisioned_throughput",
    "aws.bedrock.imported_model",
    "aws.bedrock.inference_profile",
    "aws.bedrock.agent",
    "aws.bedrock.knowledge_base",
}
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bedrock"
FOUNDATION = f"arn:aws:bedrock:{REGION}::foundation-model"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
#: A realistic (not live) Anthropic-style key pasted into an agent instruction.
CANARY = "sk-ant-api03-Tq3Lm8Np1Rv5Xw2Zb7Cd9Fg4Hj6Kp0Qs"
POLICIES = load_policy_set([(builtin_policy_dir(), "builtin")]).policies


def seed() -> dict[str, str]:
    moto_ext.apply()  # guardrails, throughput, aliases, action groups, data sources
    bedrock = boto3.client("bedrock")
    agents = boto3.client("bedrock-agent")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="kb-docs")
    ids: dict[str, str] = {}
    ids["strong"] = bedrock.create_guardrail(
        name="strong",
        blockedInputMessaging="no",
        blockedOutputsMessaging="no",
        contentPolicyConfig={
            "filtersConfig": [{"type": "PROMPT_ATTACK", "inputStrength": "HIGH", "outputStrength": "NONE"}]
        },
        sensitiveInformationPolicyConfig={
            "piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}],
            "regexesConfig": [{"name": "ticket", "pattern": "TCK-[0-9]+", "action": "BLOCK"}],
        },
        contextualGroundingPolicyConfig={"filtersConfig": [{"type": "GROUNDING", "threshold": 0.8}]},
        kmsKeyId=KEY,
    )["guardrailId"]
    ids["bare"] = bedrock.create_guardrail(
        name="bare", blockedInputMessaging="no", blockedOutputsMessaging="no"
    )["guardrailId"]
    agent = agents.create_agent(
        agentName="ops",
        agentResourceRoleArn=ROLE,
        foundationModel="anthropic.claude-3-haiku-20240307-v1:0",
        instruction=f"You help on-call engineers. Call the deploy tool with api_key={CANARY} only.",
        idleSessionTTLInSeconds=1800,
    )["agent"]["agentId"]
    agents.create_agent_alias(agentId=agent, agentAliasName="live")
    agents.create_agent_action_group(
        agentId=agent,
        agentVersion="DRAFT",
        actionGroupName="interpreter",
        parentActionGroupSignature="AMAZON.CodeInterpreter",
    )
    ids["agent"] = agent
    ids["draft"] = agents.create_agent(
        agentName="draft",
        agentResourceRoleArn=ROLE,
        instruction="You are a draft agent used to try prompts before production use.",
        guardrailConfiguration={"guardrailIdentifier": ids["strong"], "guardrailVersion": "DRAFT"},
        customerEncryptionKeyArn=KEY,
    )["agent"]["agentId"]
    kb = agents.create_knowledge_base(
        name="docs",
        roleArn=ROLE,
        knowledgeBaseConfiguration={
            "type": "VECTOR",
            "vectorKnowledgeBaseConfiguration": {
                "embeddingModelArn": f"{FOUNDATION}/amazon.titan-embed-text-v2:0"
            },
        },
        storageConfiguration={
            "type": "RDS",
            "rdsConfiguration": {
                "resourceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:vectors",
                "credentialsSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:kb",
                "databaseName": "kb",
                "tableName": "chunks",
                "fieldMapping": {
                    "primaryKeyField": "id",
                    "vectorField": "v",
                    "textField": "t",
                    "metadataField": "m",
                },
            },
        },
    )["knowledgeBase"]["knowledgeBaseId"]
    for name, kms in (("handbook", KEY), ("wiki", None)):
        agents.create_data_source(
            knowledgeBaseId=kb,
            name=name,
            dataSourceConfiguration={"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::kb-docs"}},
            **({"serverSideEncryptionConfiguration": {"kmsKeyArn": kms}} if kms else {}),
        )
    ids["kb"] = kb
    bedrock.create_model_customization_job(
        jobName="tune",
        customModelName="tuned",
        roleArn=ROLE,
        baseModelIdentifier="amazon.titan-text-express-v1",
        trainingDataConfig={"s3Uri": "s3://train-data/set.jsonl"},
        outputDataConfig={"s3Uri": "s3://tune-output/"},
        hyperParameters={"epochCount": "1", "wandb_api_key": "c0ffee5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708"},
    )
    ids["pt"] = bedrock.create_provisioned_model_throughput(
        provisionedModelName="tuned-pt",
        modelId=f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/tuned",
        modelUnits=2,
    )["provisionedModelArn"]
    return ids


def _inventory(hooks: dict[str, Any] | None = None, types: set[str] = TYPES) -> Inventory:
    sink, _ = run_with_hooks(types, hooks or {})
    return sink.to_inventory("2026-06-01T00:00:00Z")


def _status(inventory: Inventory, policy_id: str) -> dict[str, str]:
    results = evaluate_inventory([POLICIES[policy_id]], inventory).results
    return {r.resource_uid.rsplit("/", 1)[-1]: r.status.value for r in results}


def test_bedrock_resources_are_read_with_the_fields_policies_need() -> None:
    ids = seed()
    inventory = _inventory(types={*TYPES, "aws.s3.bucket"})
    by = {(r.type, r.name): r.data for r in inventory.resources}
    strong = by[("aws.bedrock.guardrail", "strong")]
    assert strong["prompt_attack_strength"] == "HIGH"
    assert strong["sensitive_information_filter"] is True
    assert strong["regexes"] == [{"name": "ticket", "action": "BLOCK"}]  # the pattern is not kept
    assert strong["contextual_grounding_threshold"] == 0.8
    assert strong["kms_key_arn"] == KEY
    bare = by[("aws.bedrock.guardrail", "bare")]
    assert (bare["prompt_attack_strength"], bare["sensitive_information_filter"], bare["kms_key_arn"]) == (
        None,
        False,
        None,
    )
    ops = by[("aws.bedrock.agent", "ops")]
    assert (ops["guardrail_enabled"], ops["user_facing"], ops["code_interpreter_enabled"]) == (
        False,
        True,
        True,
    )
    assert ops["idle_session_ttl_seconds"] == 1800
    assert [a["alias_id"] for a in ops["aliases"]] == ["TSTALIASID", ops["aliases"][1]["alias_id"]]
    draft = by[("aws.bedrock.agent", "draft")]
    assert (draft["guardrail_identifier"], draft["user_facing"]) == (ids["strong"], False)
    kb = by[("aws.bedrock.knowledge_base", "docs")]
    assert kb["storage_type"] == "RDS"
    assert kb["storage_target"] == f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:vectors"
    assert kb["s3_buckets"] == ["kb-docs"]
    assert sorted((d["name"], d["kms_key_arn"]) for d in kb["data_sources"]) == [
        ("handbook", KEY),
        ("wiki", None),
    ]
    model = by[("aws.bedrock.custom_model", "tuned")]
    assert model["kms_key_arn"] is None  # moto no longer invents a key (moto_ext)
    assert model["hyper_parameters"]["wandb_api_key"] == REDACTED
    job = by[("aws.bedrock.model_customization_job", "tune")]
    assert (job["in_vpc"], job["s3_buckets"]) == (False, ["train-data", "tune-output"])
    pt = by[("aws.bedrock.provisioned_throughput", "tuned-pt")]
    assert (pt["model_units"], pt["no_commitment"], pt["invocations_sum"]) == (2, True, 0)
    logging = [r for r in inventory.resources if r.type == "aws.bedrock.invocation_logging"]
    assert [r.data["logging_enabled"] for r in logging] == [False]  # a region without a configuration
    assert _status(inventory, "bedrock_model_invocation_logging_enabled") == {
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-invocation-logging": "FAIL"
    }
    bucket = _status(inventory, "bedrock_knowledge_base_source_bucket_protected")
    assert bucket == {"arn:aws:s3:::kb-docs": "FAIL"}
    assert inventory.errors == []


def test_a_secret_in_an_agent_instruction_never_reaches_the_inventory() -> None:
    seed()
    inventory = _inventory(types={"aws.bedrock.agent"})
    assert CANARY not in inventory.model_dump_json()
    ops = next(r for r in inventory.resources if r.name == "ops")
    assert REDACTED in ops.data["instruction"]
    assert ops.data[SECRET_PATHS] == ["instruction"]
    assert _status(inventory, "bedrock_agent_no_plaintext_secrets") == {
        ops.id: "FAIL",
        next(r.id for r in inventory.resources if r.name == "draft"): "PASS",
    }


def test_an_unread_agent_is_an_error_never_a_pass() -> None:
    seed()
    inventory = _inventory(
        {"before-call.bedrock-agent.GetAgent": failing("AccessDeniedException", 403)}, {"aws.bedrock.agent"}
    )
    assert [e.operation for e in inventory.errors] == ["bedrock-agent:GetAgent"] * 2  # once per agent
    for policy in ("bedrock_agent_no_plaintext_secrets", "bedrock_agent_kms_customer_managed"):
        assert set(_status(inventory, policy).values()) == {"ERROR"}, policy
    # ListAgents still told whether a guardrail is configured
    assert sorted(_status(inventory, "bedrock_agent_guardrail_enabled").values()) == ["FAIL", "PASS"]


def test_unread_guardrails_and_data_sources_are_errors() -> None:
    seed()
    inventory = _inventory(
        {
            "before-call.bedrock.GetGuardrail": failing("ThrottlingException", 429),
            "before-call.bedrock-agent.GetDataSource": failing("AccessDeniedException", 403),
        },
        {"aws.bedrock.guardrail", "aws.bedrock.knowledge_base"},
    )
    assert {e.operation for e in inventory.errors} == {"bedrock:GetGuardrail", "bedrock-agent:GetDataSource"}
    for policy in (
        "bedrock_guardrail_prompt_attack_filter_high",
        "bedrock_guardrail_sensitive_information_filter",
        "bedrock_knowledge_base_data_source_kms",
    ):
        assert set(_status(inventory, policy).values()) == {"ERROR"}, policy


def test_a_denied_logging_read_is_an_error_not_not_configured() -> None:
    seed()
    inventory = _inventory(
        {"before-call.bedrock.GetModelInvocationLoggingConfiguration": failing("AccessDeniedException", 403)},
        {"aws.bedrock.invocation_logging"},
    )
    assert [r for r in inventory.resources if r.type == "aws.bedrock.invocation_logging"] == []
    assert [e.code for e in inventory.errors] == ["AccessDeniedException"]


def test_invocation_logging_reads_the_log_group_key() -> None:
    moto_ext.apply()
    boto3.client("logs").create_log_group(logGroupName="/bedrock/invocations", kmsKeyId=KEY)
    boto3.client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {"logGroupName": "/bedrock/invocations", "roleArn": ROLE},
            "s3Config": {"bucketName": "bedrock-logs"},
            "textDataDeliveryEnabled": True,
        }
    )
    (logging,) = _inventory(types={"aws.bedrock.invocation_logging"}).resources
    assert logging.data["logging_enabled"] is True
    assert logging.data["cloudwatch_log_group_kms_key_id"] == KEY
    assert logging.data["s3_buckets"] == ["bedrock-logs"]
    assert logging.uid == f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-invocation-logging"


def test_permissions_name_bedrock_actions_for_agents() -> None:
    result = CliRunner().invoke(
        permissions_command, ["--type", "aws.bedrock.agent", "--type", "aws.bedrock.guardrail"]
    )
    assert result.exit_code == 0, result.output
    actions = json.loads(result.output)["Statement"][0]["Action"]
    assert {
        "bedrock:ListAgents",
        "bedrock:GetAgent",
        "bedrock:ListAgentAliases",
        "bedrock:ListAgentActionGroups",
        "bedrock:GetAgentActionGroup",
        "bedrock:ListGuardrails",
        "bedrock:GetGuardrail",
    } <= set(actions)
    assert not [a for a in actions if a.startswith("bedrock-agent:")]


def test_detect_only_filters_do_not_count_as_filtering() -> None:
    moto_ext.apply()
    boto3.client("bedrock").create_guardrail(
        name="detect-only",
        blockedInputMessaging="no",
        blockedOutputsMessaging="no",
        contentPolicyConfig={
            "filtersConfig": [
                {
                    "type": "PROMPT_ATTACK",
                    "inputStrength": "HIGH",
                    "outputStrength": "NONE",
                    "inputAction": "NONE",
                }
            ]
        },
        sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "EMAIL", "action": "NONE"}]},
        contextualGroundingPolicyConfig={
            "filtersConfig": [
                {"type": "GROUNDING", "threshold": 0.8, "action": "NONE"},
                {"type": "RELEVANCE", "threshold": 0.8, "enabled": False},
            ]
        },
    )
    (guardrail,) = _inventory(types={"aws.bedrock.guardrail"}).resources
    assert guardrail.data["content_filters"][0]["input_action"] == "NONE"
    assert guardrail.data["prompt_attack_strength"] is None
    assert guardrail.data["sensitive_information_filter"] is False
    assert (
        guardrail.data["contextual_grounding_threshold"],
        guardrail.data["contextual_relevance_threshold"],
    ) == (
        None,
        None,
    )


def test_an_unread_custom_model_leaves_its_job_unknown_not_absent() -> None:
    seed()
    denied = {"before-call.bedrock.GetCustomModel": failing("AccessDeniedException", 403)}
    inventory = _inventory(denied, {"aws.bedrock.custom_model"})
    assert {e.operation for e in inventory.errors} == {"bedrock:GetCustomModel"}
    assert inventory.resources
    for r in inventory.resources:  # ListCustomModels names no job: None would say "not from a job"
        assert {"job_name", "job_arn", "kms_key_arn"}.isdisjoint(r.data)
        assert r.data["base_model_arn"]


NO_OUTPUT = {"outputAction": "NONE"}


def test_disabled_sensitive_information_entries_do_not_count_as_filtering() -> None:
    """An entity or pattern evaluated in neither direction (inputEnabled and outputEnabled false),
    or whose action is NONE in each direction it is evaluated, neither blocks nor masks."""
    moto_ext.apply()
    bedrock = boto3.client("bedrock")
    for name, entity in (
        ("off", {"type": "EMAIL", "action": "BLOCK", "inputEnabled": False, "outputEnabled": False}),
        ("output-only", {"type": "EMAIL", "action": "ANONYMIZE", "inputEnabled": False}),
        (
            "none-both-ways",
            {"type": "EMAIL", "action": "BLOCK", "inputAction": "NONE", "outputAction": "NONE"},
        ),
    ):
        bedrock.create_guardrail(
            name=name,
            blockedInputMessaging="no",
            blockedOutputsMessaging="no",
            sensitiveInformationPolicyConfig={"piiEntitiesConfig": [entity]},
        )
    inventory = _inventory(types={"aws.bedrock.guardrail"})
    assert {r.name: r.data["sensitive_information_filter"] for r in inventory.resources} == {
        "off": False,
        "output-only": True,
        "none-both-ways": False,
    }


def test_knowledge_base_ingestion_is_the_newest_completed_job_per_data_source() -> None:
    ids = seed()
    agents = boto3.client("bedrock-agent")
    sources = {
        s["name"]: s["dataSourceId"]
        for s in agents.list_data_sources(knowledgeBaseId=ids["kb"])["dataSourceSummaries"]
    }
    agents.start_ingestion_job(knowledgeBaseId=ids["kb"], dataSourceId=sources["handbook"])
    second = agents.start_ingestion_job(knowledgeBaseId=ids["kb"], dataSourceId=sources["handbook"])
    inventory = _inventory(types={"aws.bedrock.knowledge_base"})
    assert inventory.errors == []
    (kb,) = inventory.resources
    got = {d["name"]: d for d in kb.data["data_source_ingestion"]}
    assert got["handbook"]["last_completed_ingestion_job_id"] == second["ingestionJob"]["ingestionJobId"]
    assert got["handbook"]["last_completed_ingestion_at"] is not None
    assert (got["wiki"]["last_completed_ingestion_at"], got["wiki"]["last_completed_ingestion_job_id"]) == (
        None,
        None,
    )
    # The wiki source never completed an ingestion: the knowledge base fails.
    assert _status(inventory, "bedrock_knowledge_base_ingestion_recent") == {kb.id: "FAIL"}


def test_a_denied_ingestion_listing_leaves_only_ingestion_unread() -> None:
    seed()
    inventory = _inventory(
        {"before-call.bedrock-agent.ListIngestionJobs": failing("AccessDeniedException", 403)},
        {"aws.bedrock.knowledge_base"},
    )
    assert {e.operation for e in inventory.errors} == {"bedrock-agent:ListIngestionJobs"}
    assert set(_status(inventory, "bedrock_knowledge_base_ingestion_recent").values()) == {"ERROR"}
    assert set(_status(inventory, "bedrock_knowledge_base_data_source_kms").values()) == {"FAIL"}


def test_a_user_facing_agent_is_judged_on_the_version_its_alias_serves() -> None:
    ids = seed()
    agents = boto3.client("bedrock-agent")
    drift = agents.create_agent(
        agentName="drift",
        agentResourceRoleArn=ROLE,
        foundationModel="anthropic.claude-3-haiku-20240307-v1:0",
        idleSessionTTLInSeconds=600,
    )["agent"]["agentId"]
    agents.create_agent_alias(agentId=drift, agentAliasName="live")  # serves version 1: no guardrail
    # The guardrail is added to the working draft afterwards; the alias still serves version 1.
    agents.update_agent(
        agentId=drift,
        agentName="drift",
        agentResourceRoleArn=ROLE,
        foundationModel="anthropic.claude-3-haiku-20240307-v1:0",
        guardrailConfiguration={"guardrailIdentifier": ids["strong"], "guardrailVersion": "DRAFT"},
    )
    guarded = agents.create_agent(
        agentName="guarded",
        agentResourceRoleArn=ROLE,
        foundationModel="anthropic.claude-3-haiku-20240307-v1:0",
        guardrailConfiguration={"guardrailIdentifier": ids["strong"], "guardrailVersion": "DRAFT"},
    )["agent"]["agentId"]
    agents.create_agent_alias(agentId=guarded, agentAliasName="prod")
    inventory = _inventory(types={"aws.bedrock.agent", "aws.bedrock.guardrail"})
    assert inventory.errors == []
    by = {r.name: r for r in inventory.resources}
    served = by["drift"].data["served_versions"]
    assert [(v["alias_name"], v["agent_version"], v["guardrail_identifier"]) for v in served] == [
        ("live", "1", None)
    ]
    assert by["drift"].data["unguarded_served_versions"] == ["live:1"]
    assert by["drift"].data["guardrail_identifier"] == ids["strong"]  # the draft has one
    assert by["guarded"].data["served_versions"][0]["guardrail_identifier"] == ids["strong"]
    facing = _status(inventory, "bedrock_user_facing_agent_guardrail")
    assert (facing[by["drift"].id], facing[by["guarded"].id]) == ("FAIL", "PASS")
    assert _status(inventory, "bedrock_agent_guardrail_enabled")[by["drift"].id] == "PASS"  # draft only


def test_an_unread_agent_version_is_an_error_for_user_facing_agents() -> None:
    seed()
    inventory = _inventory(
        {"before-call.bedrock-agent.GetAgentVersion": failing("AccessDeniedException", 403)},
        {"aws.bedrock.agent", "aws.bedrock.guardrail"},
    )
    assert {e.operation for e in inventory.errors} == {"bedrock-agent:GetAgentVersion"}
    facing = _status(inventory, "bedrock_user_facing_agent_guardrail")
    assert set(facing.values()) - {"SKIP"} == {"ERROR"}


def test_every_sensitive_information_entry_must_block_or_mask_model_output() -> None:
    """Some entry filtering (sensitive_information_filter) is not every entry filtering: a
    detect-only entity or one evaluated on input only lets its matches reach the caller."""
    moto_ext.apply()
    bedrock = boto3.client("bedrock")
    masked = {"type": "EMAIL", "action": "ANONYMIZE"}
    for name, entities in (
        ("all-masked", [masked, {"type": "PHONE", "action": "BLOCK"}]),
        ("one-detect-only", [masked, {"type": "NAME", "action": "NONE"}]),
        ("input-only", [masked, {"type": "PHONE", "action": "BLOCK", "outputEnabled": False}]),
        ("output-action-none", [{"type": "EMAIL", "action": "BLOCK", "outputAction": "NONE"}]),
    ):
        bedrock.create_guardrail(
            name=name,
            blockedInputMessaging="no",
            blockedOutputsMessaging="no",
            sensitiveInformationPolicyConfig={"piiEntitiesConfig": entities},
        )
    inventory = _inventory(types={"aws.bedrock.guardrail"})
    assert {r.name: r.data["sensitive_information_unenforced_on_output"] for r in inventory.resources} == {
        "all-masked": [],
        "one-detect-only": ["NAME"],
        "input-only": ["PHONE"],
        "output-action-none": ["EMAIL"],
    }
    by_name = {r.id: r.name for r in inventory.resources}
    status = _status(inventory, "bedrock_guardrail_sensitive_information_enforced")
    assert {by_name[k]: v for k, v in status.items()} == {
        "all-masked": "PASS",
        "one-detect-only": "FAIL",
        "input-only": "FAIL",
        "output-action-none": "FAIL",
    }
    # The weaker policy passes a guardrail with one detect-only entry beside a masking one.
    weaker = _status(inventory, "bedrock_guardrail_sensitive_information_filter")
    assert {by_name[k]: v for k, v in weaker.items()}["one-detect-only"] == "PASS"
