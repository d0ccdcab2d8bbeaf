"""The one secret classifier: names and values judged together, and the final scrub."""

from __future__ import annotations

from typing import Any

import pytest

from mlguard.collect.base import InventorySink
from mlguard.collect.secrets import REDACTED, SECRET_PATHS, classify, mask_text, scrub_resource
from mlguard.model import CollectionError, Resource

# Realistic-looking, made-up credentials (none of them is live).
AWS_ID = "AKIA2E0A8F3B244C9986"
AWS_SECRET = "r9Qe4T0pWb7Xk2Lm8Zs5Nc1Vy6Hd3Jf0Ga4Ku7Ro"
AZURE_KEY = "u3Zq9Xk2Lp7Wm4Rt8Ys1Vb6Nc0Hd5Jf3Ga9Ke2Lo7Pi4Mu8Qy1Tz6Xw0Rv5Sb3Nd9Fh2Jk7Lg4Pq8Wt1Ym6Zc0A=="
DATABRICKS = "dapi3f9a1c7e5b2d4f608a9c1e3b5d7f9a2c"
GITHUB = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3s12"
SLACK = "xoxb-2048105337-1093278451203-Qm7Zr2Xk9Lp4Wt8Yv1Bn6Hc3"
OPENAI = "sk-proj-Xk9Lp4Wt8Yv1Bn6Hc3Qm7Zr2Ds5Fg0Jh"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtbGd1YXJkIiwiaWF0IjoxNzAwMDAwMDAwfQ."
    "Tq3m0cW5r2m8p1Zl7sX4v9k6b3n0h5j2f8d1g4s7a0Q"
)
HEX_SECRET = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----"

SECRET, PLACEHOLDER, REFERENCE, NOT_SECRET = "secret", "placeholder", "reference", "not-secret"

CASES: list[tuple[str, str, str]] = [
    # placeholders: a credential name alone does not make a finding
    ("API_KEY", "-", PLACEHOLDER),
    ("API_KEY", "changeme", PLACEHOLDER),
    ("DB_PASSWORD", "<your-key>", PLACEHOLDER),
    ("DB_PASSWORD", "${DB_PASSWORD}", PLACEHOLDER),
    ("token", "$HF_TOKEN", PLACEHOLDER),
    ("client_secret", "xxxxxxxx", PLACEHOLDER),
    ("client_secret", "********", PLACEHOLDER),
    ("api_key", "REPLACE_ME", PLACEHOLDER),
    ("password", "{{ db_password }}", PLACEHOLDER),
    ("password", "your-password-here", PLACEHOLDER),
    ("secret", "TODO", PLACEHOLDER),
    # references to a secret store are not plaintext secrets
    ("spark.hadoop.fs.s3a.secret.key", "{{secrets/ml/s3-secret}}", REFERENCE),
    ("HF_TOKEN", "{{secrets/ml/hf-token}}", REFERENCE),
    ("DB_PASSWORD", "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf", REFERENCE),
    ("API_KEY", "arn:aws:ssm:us-east-1:111122223333:parameter/ml/api-key", REFERENCE),
    ("password", "{{resolve:secretsmanager:prod/db:SecretString:password}}", REFERENCE),
    # real values under credential-looking keys
    ("DB_PASSWORD", "hunter2", SECRET),
    ("client_secret", "s3cr3t-v4lue", SECRET),
    ("--db_password", "Pa55w0rd!", SECRET),
    ("HF_TOKEN", "hf_abc", SECRET),
    ("spark.hadoop.fs.s3a.secret.key", AWS_SECRET, SECRET),
    ("fs.s3a.secret.key", AWS_SECRET, SECRET),
    ("fs.azure.account.key.mlstore.dfs.core.windows.net", AZURE_KEY, SECRET),
    ("openai_api_key_plaintext", "sk-abc", SECRET),
    ("privateKey", "abc123def456", SECRET),
    ("connectionString", "Server=db;Database=ml", SECRET),
    ("webhook_signing_key", HEX_SECRET, SECRET),
    ("DB_PASS", "hunter22", SECRET),
    ("DB_PASSWORD", "20481937", SECRET),
    ("spark.hadoop.javax.jdo.option.ConnectionPassword", "hive123", SECRET),
    # real values under neutral keys: their shape gives them away
    ("anything", AWS_ID, SECRET),
    ("AZURE_STORAGE", AZURE_KEY, SECRET),
    ("conf", "DefaultEndpointsProtocol=https;AccountName=ml;AccountKey=" + AZURE_KEY, SECRET),
    ("url", "postgres://admin:s3cr3tPw@db.internal:5432/app", SECRET),
    ("MLFLOW_URI", "https://mlflow:Tr4ck1ngPw@mlflow.internal", SECRET),
    ("db", "postgres://etl:Pa55w0rd!@db/x", SECRET),
    ("endpoint", "https://api.example.com/v1/predict?token=Zx81kLq0Pw93", SECRET),
    ("blob", "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sig=Qm7Zr2Xk9Lp4Wt8Yv1Bn6Hc3%3D", SECRET),
    ("cert", PRIVATE_KEY, SECRET),
    ("header", "Bearer " + JWT, SECRET),
    ("workspace", DATABRICKS, SECRET),
    ("git", GITHUB, SECRET),
    ("notify", SLACK, SECRET),
    ("llm", OPENAI, SECRET),
    ("hook", "https://hooks.slack.com/services/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", SECRET),
    ("maps", "AIzaSyD3x9Lq2Wm8Rt5Yv1Bn6Hc3Zk7Xp0Jf4Ga", SECRET),
    ("random", AWS_SECRET, SECRET),
    ("args", "--epochs 3 --password Pa55w0rd! --lr 0.1", SECRET),
    ("desc", "run with --password=Pa55w0rd! nightly", SECRET),
    ("script", "#!/bin/bash\nexport AWS_SECRET_ACCESS_KEY=" + AWS_SECRET + "\n", SECRET),
    # one word ending in a credential word names a credential (PGPASSWORD, dbpasswd, hftoken)
    ("PGPASSWORD", "Tr0ub4dor", SECRET),
    ("dbpasswd", "hunter22", SECRET),
    ("MYSQLPWD", "hunter22", SECRET),
    ("hftoken", "abc123xyz", SECRET),
    ("openaiapikey", "abc123def", SECRET),
    ("setup", "export PGPASSWORD=Tr0ub4dor&3x; psql -h db", SECRET),
    ("cmd", "python t.py --db-password 'correct horse battery staple'", SECRET),
    ("cmd", 'run --api-key "Summer 2024 pw!"', SECRET),
    # false-positive traps
    ("TOKEN_TTL", "3600", NOT_SECRET),
    ("token_refresh", "300s", NOT_SECRET),
    ("token_id", "0123abcd", NOT_SECRET),
    ("access_key_id", AWS_ID, NOT_SECRET),
    ("credential_name", "raw-data-cred", NOT_SECRET),
    ("secret_scope", "ml", NOT_SECRET),
    ("tokenizer", "bert-base-uncased", NOT_SECRET),
    ("spark.databricks.passthrough.enabled", "true", NOT_SECRET),
    ("DB_PASSWORD_FILE", "/run/secrets/db", NOT_SECRET),
    ("SECRET_PATH", "s3://ml-secrets/prod/", NOT_SECRET),
    ("fs.s3a.aws.credentials.provider", "com.amazonaws.auth.InstanceProfileCredentialsProvider", NOT_SECRET),
    ("run_id", "0f8fad5b-d9cb-469f-a165-70867728950e", NOT_SECRET),
    ("role", "arn:aws:iam::111122223333:role/SageMakerExecutionRoleForTrainingJobsInProd2024", NOT_SECRET),
    ("RoleName", "SageMakerExecutionRoleForTrainingJobsInProd2024", NOT_SECRET),
    ("output", "s3://ml-artifacts/models/churn/2024-06-01/model.tar.gz", NOT_SECRET),
    ("image", "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch@sha256:" + HEX_SECRET, NOT_SECRET),
    ("image", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/t:9f86d081884c7d659a2feaa0c55ad015", NOT_SECRET),
    ("instance_type", "ml.p4d.24xlarge", NOT_SECRET),
    ("commit", "da39a3ee5e6b4b0d3255bfef95601890afd80709", NOT_SECRET),
    ("checksum", HEX_SECRET, NOT_SECRET),
    ("CodeSha256", "q8Zr4TnX2vLw9Kp3Hs7Yc1Bm6Dg5Fj0AeR2Wt8Yv1B=", NOT_SECRET),
    ("ClientToken", "q8Zr4TnX2vLw9Kp3Hs7Yc1Bm6Dg5Fj0AeR2", NOT_SECRET),
    ("NextToken", "eyJ2IjoxfQ==", NOT_SECRET),
    ("kms_key_id", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", NOT_SECRET),
    ("description", "Nightly retraining. Password rotation is handled by the vault.", NOT_SECRET),
    ("description", "password: see the team vault", NOT_SECRET),
    ("jdbc", "jdbc:postgresql://db.internal:5432/features?user=ml&password={{secrets/db/pw}}", NOT_SECRET),
    ("url", "https://huggingface.co/bert-base-uncased/resolve/main/config.json", NOT_SECRET),
    ("created", "2026-06-01T12:00:00Z", NOT_SECRET),
    ("epochs", "10", NOT_SECRET),
    ("spark.hadoop.javax.jdo.option.ConnectionUserName", "hive", NOT_SECRET),
    ("sagemaker_program", "train.py", NOT_SECRET),
    ("model_id", "meta-llama/Llama-3-8B-Instruct", NOT_SECRET),
    ("notes", "Contact ops for the password", NOT_SECRET),
    ("db", "postgres://etl:${DB_PASSWORD}@db/x", NOT_SECRET),
    ("db", "postgres://etl:{{secrets/db/pw}}@db/x", NOT_SECRET),
    ("empty_token", "", NOT_SECRET),
    # near misses of the suffix rule: paging tokens, short words inside ordinary words, settings
    ("nexttoken", "eyJ2IjoxfQ==", NOT_SECRET),
    ("paginationtoken", "Zx81kLq0Pw93", NOT_SECRET),
    ("bypass", "Tr0ub4dor", NOT_SECRET),
    ("compat", "spark3x-2024", NOT_SECRET),
    ("PGPASSWORD_FILE", "/run/secrets/pg", NOT_SECRET),
    ("PasswordMinLength", "14", NOT_SECRET),
    ("setup", "export PGPASSWORD=${PGPASSWORD}; psql -h db", NOT_SECRET),
    ("cmd", "train.py --password-file /run/secrets/db --token-id 'ab cd'", NOT_SECRET),
]


@pytest.mark.parametrize(("key", "value", "expected"), CASES, ids=[f"{k}={v[:24]}" for k, v, _ in CASES])
def test_classify(key: str, value: str, expected: str) -> None:
    assert classify(key, value) == expected


def test_mask_text_keeps_the_rest_of_the_text() -> None:
    text = f"Deploy with key {AWS_ID} / {AWS_SECRET} from https://ci:{GITHUB}@git.internal/repo.git"
    masked = mask_text(text)
    for raw in (AWS_ID, AWS_SECRET, GITHUB):
        assert raw not in masked
    assert (
        masked == f"Deploy with key {REDACTED} / {REDACTED} from https://ci:{REDACTED}@git.internal/repo.git"
    )
    assert mask_text("epochs=3 lr=0.1") == "epochs=3 lr=0.1"


# (free text, as masked): a credential's value is masked to the end of its token, or whole when it
# is quoted; URL user info to the last '@' of the authority; the rest of the text is kept.
MASKS: list[tuple[str, str]] = [
    ("spark.db.password=Tr0ub4dor&3x", f"spark.db.password={REDACTED}"),
    ("export PGPASSWORD=Tr0ub4dor&3x; psql -h db", f"export PGPASSWORD={REDACTED} psql -h db"),
    (
        "python t.py --db-password 'correct horse battery staple' --epochs 3",
        f"python t.py --db-password '{REDACTED}' --epochs 3",
    ),
    ("run --api-key 'Summer 2024 pw!' --lr 0.1", f"run --api-key '{REDACTED}' --lr 0.1"),
    ('run --api-key="Summer 2024 pw!" --lr 0.1', f'run --api-key="{REDACTED}" --lr 0.1'),
    ('{"db_password": "two words", "user": "ml"}', f'{{"db_password": "{REDACTED}", "user": "ml"}}'),
    ("clone https://user:p@ss:w0rd@git.internal/x.git", f"clone https://user:{REDACTED}@git.internal/x.git"),
    ("Server=db;Password=abc123;Database=ml", f"Server=db;Password={REDACTED}"),
    # near misses: references and placeholders inside a connection string or query, unclosed quotes
    ("Server=db;Password=${DB_PASSWORD};Database=ml", "Server=db;Password=${DB_PASSWORD};Database=ml"),
    (
        "jdbc:postgresql://db/f?user=ml&password={{secrets/db/pw}}&ssl=true",
        "jdbc:postgresql://db/f?user=ml&password={{secrets/db/pw}}&ssl=true",
    ),
    ("password: see the team vault", "password: see the team vault"),
    ("bypass=Tr0ub4dor&3x nexttoken=Zx81kLq0Pw93&3x", "bypass=Tr0ub4dor&3x nexttoken=Zx81kLq0Pw93&3x"),
    ("https://ml@git.internal/x.git", "https://ml@git.internal/x.git"),
    ("password: 'see the vault", "password: 'see the vault"),
]


@pytest.mark.parametrize(("text", "masked"), MASKS, ids=[t[:32] for t, _ in MASKS])
def test_mask_text_masks_a_credential_value_whole(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_scrub_resource_masks_job_parameters_whole() -> None:
    """The reviewer's job: a conf argument, a quoted flag value inside a shell command and an
    exported variable, each masked whole and recorded by path."""
    resource = Resource(
        uid="databricks://ws/job/1",
        type="databricks.job",
        provider="databricks",
        id="1",
        data={
            "tasks": [
                {"parameters": ["--conf", "spark.db.password=Tr0ub4dor&3x"]},
                {"parameters": ["bash", "-c", "python t.py --db-password 'correct horse battery staple'"]},
                {"parameters": {"setup": "export PGPASSWORD=Tr0ub4dor&3x; psql -h db"}},
            ]
        },
    )
    out = scrub_resource(resource)
    text = out.model_dump_json()
    for raw in ("Tr0ub4dor", "&3x", "correct horse", "battery staple"):
        assert raw not in text
    tasks = out.data["tasks"]
    assert tasks[0]["parameters"] == ["--conf", f"spark.db.password={REDACTED}"]
    assert tasks[1]["parameters"][2] == f"python t.py --db-password '{REDACTED}'"
    assert tasks[2]["parameters"] == {"setup": f"export PGPASSWORD={REDACTED} psql -h db"}
    assert out.data[SECRET_PATHS] == [
        "tasks[0].parameters[1]",
        "tasks[1].parameters[2]",
        "tasks[2].parameters.setup",
    ]


def test_scrub_resource_masks_every_string_and_records_where() -> None:
    resource = Resource(
        uid="arn:aws:sagemaker:us-east-1:111122223333:processing-job/p",
        type="aws.sagemaker.processing_job",
        provider="aws",
        id="p",
        name="p",
        tags={"owner": "ml-team", "deploy_token": "Zk3p9Lq2Wx8R"},
        data={
            "app_specification": {"container_arguments": ["--password", "Pa55w0rd!", "--epochs", "3"]},
            "description": f"uses {DATABRICKS} to call the workspace",
            "environment": [{"name": "DB_PASSWORD", "looks_like_secret": True}],
            "role_arn": "arn:aws:iam::111122223333:role/ml",
        },
    )
    out = scrub_resource(resource)
    text = out.model_dump_json()
    for raw in ("Zk3p9Lq2Wx8R", "Pa55w0rd!", DATABRICKS):
        assert raw not in text
    assert out.data["app_specification"]["container_arguments"] == ["--password", REDACTED, "--epochs", "3"]
    assert out.data["description"] == f"uses {REDACTED} to call the workspace"
    assert out.data["role_arn"] == "arn:aws:iam::111122223333:role/ml"
    assert out.data[SECRET_PATHS] == [
        "app_specification.container_arguments[1]",
        "description",
        "environment[0].DB_PASSWORD",
        "tags.deploy_token",
    ]
    # idempotent: a second pass finds the same facts and changes nothing
    assert scrub_resource(out) == out


def test_the_sink_scrubs_resources_and_error_messages() -> None:
    sink = InventorySink()
    sink.add(Resource(uid="u", type="aws.glue.job", provider="aws", id="u", data={"note": GITHUB}))
    sink.error(CollectionError(provider="aws", operation="get_job", code="X", message=f"bad value {GITHUB}"))
    inventory = sink.to_inventory("2026-06-01T00:00:00Z")
    assert GITHUB not in inventory.model_dump_json()
    assert inventory.resources[0].data[SECRET_PATHS] == ["note"]


SECRET_POLICIES = {
    "aws.sagemaker.model": "sagemaker_model_no_plaintext_secrets",
    "aws.sagemaker.training_job": "sagemaker_training_job_no_plaintext_secrets",
    "aws.sagemaker.processing_job": "sagemaker_processing_job_no_plaintext_secrets",
    "aws.sagemaker.notebook_instance": "sagemaker_notebook_no_plaintext_secrets",
    "databricks.job": "databricks_job_no_plaintext_secrets",
    "databricks.pipeline": "databricks_pipeline_no_plaintext_secrets",
}

# (type, data as read with a literal secret, data as read with a reference or a placeholder)
RAW: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "aws.sagemaker.model",
        {"primary_container": {"Environment": {"OPENAI_API_KEY": OPENAI}}},
        {"primary_container": {"Environment": {"OPENAI_API_KEY": "{{resolve:secretsmanager:oai}}"}}},
    ),
    (
        "aws.sagemaker.training_job",
        {"HyperParameters": {"epochs": "3", "wandb_api_key": HEX_SECRET}},
        {"HyperParameters": {"epochs": "3", "wandb_api_key": "${WANDB_API_KEY}"}},
    ),
    (
        "aws.sagemaker.processing_job",
        {"AppSpecification": {"ContainerArguments": ["--db", "postgres://etl:Pa55w0rd!@db/x"]}},
        {"AppSpecification": {"ContainerArguments": ["--db-password", "<db-password>"]}},
    ),
    (
        "aws.sagemaker.notebook_instance",
        {"Description": f"token {GITHUB}"},
        {"Description": "token in Secrets Manager: arn:aws:secretsmanager:us-east-1:1:secret:gh"},
    ),
    (
        "databricks.job",
        {"tasks": [{"parameters": {"source": f"https://ci:{GITHUB}@git.internal/x.git"}}]},
        {"tasks": [{"parameters": {"api_token": "{{secrets/ci/github}}"}}]},
    ),
    (
        "databricks.pipeline",
        {"configuration": {"fs.azure.account.key.ml.dfs.core.windows.net": AZURE_KEY}},
        {"configuration": {"fs.azure.account.key.ml.dfs.core.windows.net": "{{secrets/ml/adls}}"}},
    ),
]


@pytest.mark.parametrize(("rtype", "leaky", "clean"), RAW, ids=[t for t, _, _ in RAW])
def test_secret_policies_fail_on_literals_and_pass_on_references(
    rtype: str, leaky: dict[str, Any], clean: dict[str, Any]
) -> None:
    from mlguard.collect.aws.normalize import to_json
    from mlguard.model import Inventory
    from mlguard.policy.evaluator import evaluate_inventory
    from mlguard.policy.loader import builtin_policy_dir, load_policy_set

    policy = load_policy_set([(builtin_policy_dir(), "builtin")]).policies[SECRET_POLICIES[rtype]]
    sink = InventorySink()
    for name, raw in (("leaky", leaky), ("clean", clean)):
        data = to_json(raw) if rtype.startswith("aws.") else raw
        provider = rtype.split(".", 1)[0]
        sink.add(Resource(uid=f"{rtype}/{name}", type=rtype, provider=provider, id=name, data=data))
    inventory: Inventory = sink.to_inventory("2026-06-01T00:00:00Z")
    for raw in (OPENAI, HEX_SECRET, "Pa55w0rd!", GITHUB, AZURE_KEY):
        assert raw not in inventory.model_dump_json()
    results = evaluate_inventory([policy], inventory).results
    status = {r.resource_uid.rsplit("/", 1)[1]: r.status.value for r in results}
    assert status == {"leaky": "FAIL", "clean": "PASS"}
    leaky_result = next(r for r in results if r.resource_uid.endswith("leaky"))
    assert leaky_result.evidence.values["plaintext_secret_paths"]  # where, never what


def test_evidence_and_messages_never_carry_a_raw_secret() -> None:
    """An inventory read from a file (not through the collectors) may hold raw values: the
    evaluator's evidence and FAIL messages pass the same scrub."""
    from mlguard.model import Inventory, Provenance
    from mlguard.policy.evaluator import evaluate_inventory
    from mlguard.policy.loader import builtin_policy_dir, load_policy_set

    policy = load_policy_set([(builtin_policy_dir(), "builtin")]).policies["glue_job_no_secrets_in_arguments"]
    resource = Resource(
        uid="arn:aws:glue:us-east-1:111122223333:job/raw",
        type="aws.glue.job",
        provider="aws",
        id="raw",
        data={"default_arguments": {"--note": f"calls {GITHUB}", "--db_password": REDACTED}},
    )
    inventory = Inventory(
        provenance=Provenance(version="t", started_at="2026-06-01T00:00:00Z"), resources=[resource]
    )
    (result,) = evaluate_inventory([policy], inventory).results
    assert result.status.value == "FAIL"
    assert GITHUB not in result.model_dump_json()
    assert "calls " + REDACTED in str(result.evidence.values)


@pytest.mark.parametrize(
    "filler", ["a", "a.", "password", "a=", "Ab1+/", "--password ", "password=", "pwd='", "password=${A};"]
)
def test_long_free_text_is_scanned_to_its_bound(filler: str) -> None:
    """Pathological 60 kB strings (the shapes that made an unbounded key regex quadratic) are
    scanned whole; a token at the end is still found; text past the bound is dropped, not kept."""
    text = filler * (60_000 // len(filler)) + f" {GITHUB}"
    assert GITHUB not in mask_text(text)
    longer = "x " * 40_000 + GITHUB
    masked = mask_text(longer)
    assert GITHUB not in masked
    assert masked.endswith(REDACTED)


def test_detect_secrets_is_imported_by_the_first_scrub_not_at_start_up() -> None:
    """``mlguard --help`` does not pay for detect-secrets (and requests under it): the classifier
    loads it on first use, and then finds what it finds."""
    import subprocess
    import sys

    code = (
        "import sys, mlguard.cli\n"
        "print('detect_secrets' in sys.modules)\n"
        "from mlguard.collect.secrets import classify\n"
        f"print(classify('note', {GITHUB!r}), 'detect_secrets' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "secret", "True"]
