"""The fake itself behaves like the REST API on the points the collectors depend on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mlguard.demo.databricks_fake import WorkspaceState, demo_state, load_state, start_fake_workspace
from mlguard.errors import InputError


def _get(server, path: str, token: str | None = None, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or server.token}"}
    return requests.get(server.host + path, headers=headers, params=params, timeout=5)


def test_well_known_is_404_and_auth_is_checked(start_fake) -> None:
    server = start_fake(env=False)
    assert requests.get(server.host + "/.well-known/databricks-config", timeout=5).status_code == 404
    denied = _get(server, "/api/2.1/clusters/list", token="wrong")
    assert denied.status_code == 401
    assert denied.json()["error_code"] == "UNAUTHENTICATED"


def test_error_body_and_deny(start_fake) -> None:
    server = start_fake(env=False, deny={"tokens"})
    resp = _get(server, "/api/2.0/token-management/tokens")
    assert resp.status_code == 403
    assert set(resp.json()) == {"error_code", "message"}
    assert resp.json()["error_code"] == "PERMISSION_DENIED"
    missing = _get(server, "/api/2.0/pipelines/nope")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_throttles_every_nth_request_with_retry_after(start_fake) -> None:
    server = start_fake(env=False, throttle_every=3, retry_after=2)
    codes = [_get(server, "/api/2.0/ip-access-lists") for _ in range(6)]
    assert [r.status_code for r in codes] == [200, 200, 429, 200, 200, 429]
    assert codes[2].headers["Retry-After"] == "2"
    assert codes[2].json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_paging_tokens_and_has_more(start_fake) -> None:
    server = start_fake(env=False, page_size=2)
    pages = [_get(server, "/api/2.2/jobs/list").json()]
    while pages[-1]["has_more"]:
        pages.append(_get(server, "/api/2.2/jobs/list", page_token=pages[-1]["next_page_token"]).json())
    seeded = len(demo_state().jobs)
    assert [len(p["jobs"]) for p in pages] == [2] * (seeded // 2) + [seeded % 2] * (seeded % 2)
    assert "next_page_token" not in pages[-1]
    page = _get(server, "/api/2.1/unity-catalog/catalogs").json()
    empty = _get(server, "/api/2.1/unity-catalog/catalogs", page_token=page["next_page_token"]).json()
    assert empty["catalogs"] == []
    assert empty["next_page_token"]
    scim = _get(server, "/api/2.0/preview/scim/v2/ServicePrincipals", startIndex="2", count="10").json()
    assert (scim["totalResults"], scim["startIndex"], len(scim["Resources"])) == (2, 2, 1)


def test_workspace_conf_denies_the_whole_request_for_one_admin_key(start_fake) -> None:
    server = start_fake(env=False, deny_conf_keys={"enableVerboseAuditLogs"})
    ok = _get(server, "/api/2.0/workspace-conf", keys="enableTokensConfig,maxTokenLifetimeDays").json()
    assert ok == {"enableTokensConfig": "true", "maxTokenLifetimeDays": "0"}
    denied = _get(server, "/api/2.0/workspace-conf", keys="enableTokensConfig,enableVerboseAuditLogs")
    assert denied.status_code == 403


def test_state_round_trips_through_json(tmp_path: Path) -> None:
    path = tmp_path / "ws.json"
    path.write_text(demo_state().model_dump_json(), encoding="utf-8")
    assert load_state(str(path)) == demo_state()
    with pytest.raises(InputError, match="unknown fake workspace seed"):
        load_state("nope")
    (tmp_path / "bad.json").write_text(json.dumps({"clusters": "x"}), encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.json"):
        load_state(str(tmp_path / "bad.json"))
    assert load_state("bulk:24").counts()["clusters"] == 2
    assert load_state("empty") == WorkspaceState()


def test_start_fake_workspace_for_the_demo() -> None:
    host, token, stop = start_fake_workspace("demo")
    try:
        resp = requests.get(
            host + "/api/2.1/clusters/list", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert len(resp.json()["clusters"]) == 6
    finally:
        stop()


def test_module_entry_point_serves_until_stopped() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlguard.demo.databricks_fake", "--seed", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        host = proc.stdout.readline().strip().split("=", 1)[1]
        token = proc.stdout.readline().strip().split("=", 1)[1]
        resp = requests.get(
            host + "/api/2.0/sql/warehouses", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert [w["id"] for w in resp.json()["warehouses"]] == ["wh-001", "wh-002"]
    finally:
        proc.terminate()
        proc.wait(timeout=5)
