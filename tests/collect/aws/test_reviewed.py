"""The collector's shortcuts (signing, endpoint parameters, timestamps) run only on the botocore
code they were reviewed against (mlguard.collect.aws.reviewed): elsewhere botocore's own code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import botocore.parsers
import botocore.regions
import botocore.signers
import pytest
from botocore.credentials import Credentials

from mlguard.collect.aws import AwsCollector, endpoints, reviewed, sigv4, timestamps
from mlguard.config import ScopeConfig


def _changed(module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if botocore's code had changed under ``module``'s shortcut: one digest no longer matches."""
    table = module.reproduced()
    name = sorted(table)[0]
    monkeypatch.setattr(module, "reproduced", lambda: {**table, name: (table[name][0], {"0" * 16})})
    module.reviewed.cache_clear()


def _client() -> Any:
    """A client of the collector's sessions (which give their clients the shortcuts)."""
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    return session.client("sts", region_name="us-east-1")


def _signer(client: Any) -> type:
    return type(client._request_signer)


def _resolver(client: Any) -> type:
    return type(client._ruleset_resolver)


def _timestamps(client: Any) -> Any:
    return client._endpoint._response_parser_factory._defaults.get("timestamp_parser")


CASES: list[tuple[Any, Callable[[Any], Any], Any, Any]] = [
    (sigv4, _signer, sigv4.LeanRequestSigner, botocore.signers.RequestSigner),
    (endpoints, _resolver, endpoints.PlannedResolver, botocore.regions.EndpointRulesetResolver),
    (timestamps, _timestamps, timestamps.parse_timestamp, None),
]


@pytest.mark.parametrize(("module", "read", "lean", "own"), CASES, ids=["sigv4", "endpoints", "timestamps"])
def test_a_shortcut_is_off_where_botocore_s_code_changed(
    module: Any, read: Callable[[Any], Any], lean: Any, own: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if module.reviewed():  # the installed botocore is the one reviewed: the collector's clients take it
        assert read(_client()) is lean
    _changed(module, monkeypatch)
    try:
        assert not module.reviewed()
        assert read(_client()) is own  # botocore's own code
        plain = boto3.Session(aws_access_key_id="A", aws_secret_access_key="s").client(
            "sts", region_name="us-east-1"
        )
        assert read(plain) is own  # (as plain boto3's, always)
    finally:
        monkeypatch.undo()
        module.reviewed.cache_clear()


def test_code_without_readable_source_is_not_taken_for_reviewed() -> None:
    assert not reviewed.unchanged({"len": (len, {"0" * 16})})  # a builtin: no source to compare
    assert reviewed.unchanged({"digest": (reviewed.digest, {reviewed.digest(reviewed.digest)})})
    assert not reviewed.unchanged({"digest": (reviewed.digest, {"0" * 16})})
