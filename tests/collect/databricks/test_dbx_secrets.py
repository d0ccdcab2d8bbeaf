"""Secrets never enter the inventory: canaries planted in the demo seed appear in no output."""

from __future__ import annotations

import json

import pytest
from tests.support.databricks_harness import RecordingClock, collect_inventory

from mlguard.collect.databricks import ALL_TYPES
from mlguard.collect.secrets import REDACTED, SECRET_PATHS, mask_text, redact_args, redact_mapping, scrub
from mlguard.demo.databricks_fake import CANARIES

WORKSPACE_TYPES = frozenset(ALL_TYPES - {"databricks.account_workspace"})


def test_no_canary_in_the_serialized_inventory(start_fake) -> None:
    start_fake(page_size=3)
    inventory = collect_inventory(WORKSPACE_TYPES, clock=RecordingClock())
    text = inventory.model_dump_json()
    assert len(inventory.resources) > 50
    for canary in CANARIES:
        assert canary not in text, canary
    # ...while the flags that policies need survive.
    res = {(r.type, r.id): r.data for r in inventory.resources}
    assert res[("databricks.cluster", "0101-gpu-train-a1")]["env_plaintext_secrets"] is True
    assert res[("databricks.job", "11")]["credential_parameter_names"] == ["db_password"]
    assert res[("databricks.job", "12")]["plaintext_secrets"] is True
    assert res[("databricks.pipeline", "pl-001")]["configuration_plaintext_secrets"] is True
    assert res[("databricks.pipeline", "pl-002")].get("configuration_plaintext_secrets") is False
    assert res[("databricks.serving_endpoint", "openai-proxy")]["served_entities"][0]["external_model"] == {
        "provider": "openai",
        "name": "gpt-4o",
        "task": "llm/v1/chat",
        "credentials": [
            {"name": "openai_api_base", "looks_like_secret": False},
            {"name": "openai_api_key_plaintext", "looks_like_secret": True},
        ],
    }
    assert res[("databricks.serving_endpoint", "openai-proxy")][SECRET_PATHS] == [
        "served_entities[0].external_model.credentials[1].openai_api_key_plaintext"
    ]


def test_errors_carry_no_secret(start_fake) -> None:
    start_fake(deny={"clusters"})
    inventory = collect_inventory(frozenset({"databricks.cluster"}), clock=RecordingClock())
    assert inventory.errors
    text = inventory.model_dump_json()
    assert "dapi-fake-token" not in text


@pytest.mark.parametrize(
    ("conf", "redacted", "plaintext"),
    [
        ({"spark.password": "hunter2"}, {"spark.password": REDACTED}, ["spark.password"]),
        ({"spark.password": "{{secrets/s/k}}"}, {"spark.password": "{{secrets/s/k}}"}, []),
        ({"spark.sql.shuffle.partitions": "200"}, {"spark.sql.shuffle.partitions": "200"}, []),
        # a URL with user:password is a plaintext credential, whatever its key; only it is masked
        ({"SOME_URL": "jdbc:x://u:p@h"}, {"SOME_URL": f"jdbc:x://u:{REDACTED}@h"}, ["SOME_URL"]),
        ({"innocent": "dapi0123456789abcdef0123456789abcdef"}, {"innocent": REDACTED}, ["innocent"]),
        ({"AWS_SECRET_ACCESS_KEY": "abc"}, {"AWS_SECRET_ACCESS_KEY": REDACTED}, ["AWS_SECRET_ACCESS_KEY"]),
    ],
)
def test_redact_mapping(conf: dict[str, str], redacted: dict[str, str], plaintext: list[str]) -> None:
    assert redact_mapping(conf) == (redacted, plaintext)


def test_redact_args_and_text() -> None:
    assert redact_args(["--env", "prod", "--password=x1", "--token", "abc", "--n", "3"]) == (
        ["--env", "prod", f"--password={REDACTED}", "--token", REDACTED, "--n", "3"],
        True,
    )
    assert redact_args(["--password={{secrets/a/b}}"]) == (["--password={{secrets/a/b}}"], False)
    assert mask_text("key AKIAABCDEFGHIJKLMNOP here") == f"key {REDACTED} here"


def test_scrub_keeps_names_and_redacts_values() -> None:
    data = {
        "credential_name": "raw-data-cred",
        "token_id": "t1",
        "client_secret": "s3cr3t",
        "nested": [{"openai_api_key_plaintext": "sk-abc"}],
        "note": "ghp_" + "a" * 36,
    }
    assert json.loads(json.dumps(scrub(data))) == {
        "credential_name": "raw-data-cred",
        "token_id": "t1",
        "client_secret": REDACTED,
        "nested": [{"openai_api_key_plaintext": REDACTED}],
        "note": REDACTED,
    }
