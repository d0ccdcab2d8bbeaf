from __future__ import annotations

import pytest

from mlguard.collect.aws.normalize import to_json
from mlguard.collect.secrets import REDACTED, is_secret, replace_secrets, variable_flags


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PASSWORD", "hunter2"),
        ("api_key", "k3y-v4lue"),
        ("HF_TOKEN", "hf_abc"),
        ("client_secret", "s"),
        ("anything", "AKIAIOSFODNN7EXAMPLE"),
        ("url", "postgres://admin:s3cr3t@db.internal:5432/app"),
        ("k", "-----BEGIN RSA PRIVATE KEY-----\nMIIE"),
        ("gh", "ghp_0123456789abcdefghijABCDEFGHIJ"),
        ("databricks", "dapi0123456789abcdef0123456789abcdef"),
        ("blob", "q8Zr4TnX2vLw9Kp3Hs7Yc1Bm6Dg5Fj0AeR2"),
    ],
)
def test_secret_like_pairs(name: str, value: str) -> None:
    assert is_secret(name, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STAGE", "prod"),
        ("epochs", "10"),
        ("--job-bookmark-option", "job-bookmark-enable"),
        ("OUTPUT", "s3://bucket/some/very/long/prefix/that/is/not/secret"),
        ("ROLE", "arn:aws:iam::123456789012:role/some-long-role-name-here"),
        ("TOKEN_TTL", ""),
    ],
)
def test_ordinary_pairs(name: str, value: str) -> None:
    assert not is_secret(name, value)


def test_helpers_redact_values() -> None:
    assert replace_secrets({"epochs": "3", "password": "p"}) == {"epochs": "3", "password": REDACTED}
    # a credential under a neutral argument name: the whole value goes, so policies see the marker
    assert replace_secrets({"--conn": "jdbc:postgresql://etl:Pw0rd99@db/f", "--ref": "{{secrets/a/b}}"}) == {
        "--conn": REDACTED,
        "--ref": "{{secrets/a/b}}",
    }
    assert variable_flags({"B": "x", "A_SECRET": "y"}) == [
        {"name": "A_SECRET", "looks_like_secret": True},
        {"name": "B", "looks_like_secret": False},
    ]


def test_normaliser_never_keeps_environment_values() -> None:
    raw = {
        "PrimaryContainer": {"Environment": {"PLAIN": "visible-value"}},
        "HyperParameters": {"token": "t0k"},
    }
    data = to_json(raw)
    assert data["primary_container"]["environment"] == [{"name": "PLAIN", "looks_like_secret": False}]
    assert data["hyper_parameters"] == {"token": REDACTED}
    assert "visible-value" not in str(data)
