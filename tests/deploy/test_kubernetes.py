"""deploy/kubernetes: the kustomize base renders (kubectl kustomize, when kubectl or kustomize is
installed), every object validates against the Kubernetes 1.33 schemas (kubernetes-validate,
strict: an unknown field is an error), its wiring holds together, and the shard and merge
containers' own command lines, run as written against a moto organisation, give the results of one
single-process scan."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from mlguard.collect.shard import parse_shard
from mlguard.pipeline import load_config

from .conftest import (
    DEPLOY,
    EXE,
    comparable,
    finish,
    kube_expand,
    load_yaml_documents,
    mlguard_on_path,
    narrowed_config,
    start,
)

BASE = DEPLOY / "kubernetes" / "base"
K8S_VERSION = "1.33.0"  # Indexed Jobs' backoffLimitPerIndex and podFailurePolicy are GA from 1.33


def rendered(use_tool: bool = True) -> list[dict[str, Any]]:
    """`kustomize build` when a kustomize is installed (kustomize, or kubectl's), else the
    resource files as written plus the generated ConfigMap (without the name's hash suffix)."""
    argv = None
    if use_tool and shutil.which("kustomize"):
        argv = ["kustomize", "build", str(BASE)]
    elif use_tool and shutil.which("kubectl"):
        argv = ["kubectl", "kustomize", str(BASE)]
    if argv is not None:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        return [d for d in YAML(typ="safe", pure=True).load_all(done.stdout) if d]
    kustomization = load_yaml_documents(BASE / "kustomization.yaml")[0]
    docs: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        docs += load_yaml_documents(BASE / name)
    for gen in kustomization["configMapGenerator"]:
        data = {f: (BASE / f).read_text() for f in gen["files"]}
        docs.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data}
        )
    return docs


def test_the_files_as_written_validate_too() -> None:
    """What CI without kustomize checks: every file of the base, and the generated ConfigMap."""
    docs = rendered(use_tool=False)
    assert {d["kind"] for d in docs} >= {"CronJob", "ServiceAccount", "Role", "ConfigMap", "Namespace"}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in rendered()}


def _by_prefix(objects: dict[tuple[str, str], dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for (k, n), o in objects.items() if k == kind and n.startswith(name)]
    return found


def _pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def _container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    (c,) = [c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == name]
    return c


def test_every_object_validates_against_the_kubernetes_schema(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    assert {k for k, _ in objects} >= {"CronJob", "ServiceAccount", "Role", "RoleBinding", "ConfigMap"}
    for obj in objects.values():
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_validation_is_real(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    shards = copy.deepcopy(objects["CronJob", "mlguard-shards"])
    shards["spec"]["jobTemplate"]["spec"]["completionMode"] = "Indexed"
    shards["spec"]["jobTemplate"]["spec"]["parallelsm"] = 4  # a typo: strict mode refuses it
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(shards, K8S_VERSION, strict=True)
    del shards["spec"]["jobTemplate"]["spec"]["parallelsm"]
    _pod(shards)["containers"][0]["resources"]["limits"]["memory"] = ["1Gi"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(shards, K8S_VERSION, strict=True)


def test_the_shard_job_is_indexed_and_n_agrees_everywhere(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    cron = objects["CronJob", "mlguard-shards"]
    assert cron["spec"]["suspend"] is True  # only a template: the launcher creates its Jobs
    job = cron["spec"]["jobTemplate"]["spec"]
    assert job["completionMode"] == "Indexed"
    n = job["completions"]
    assert 1 <= job["parallelism"] <= n
    args = _container(_pod(cron), "collect")["args"]
    spec = args[args.index("--shard") + 1]
    assert spec == f"auto/{n}"
    assert args[args.index("--output") + 1].endswith(f"-of-{n}.json")
    for k in range(n):  # the index Kubernetes gives pod K is the shard it reads
        shard = parse_shard(spec, {"JOB_COMPLETION_INDEX": str(k)})
        assert (shard.index, shard.count) == (k, n)
    # mlguard's own exit codes (bad input 2, incomplete 3, nothing collected 4) fail the index
    # at once; other failures (a crash, an eviction) are retried per index.
    (rule,) = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailIndex"
    assert rule["onExitCodes"] == {"containerName": "collect", "operator": "In", "values": [2, 3, 4]}
    assert job["backoffLimitPerIndex"] >= 1


def test_the_launcher_creates_the_shard_job_waits_and_merges(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    cron = objects["CronJob", "mlguard-org-scan"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = _pod(cron)
    init = _container(pod, "run-shards")
    script = init["args"][0]
    assert "create job" in script
    assert "--from=cronjob/mlguard-shards" in script
    assert "Complete" in script
    assert "Failed" in script
    done = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    env = {e["name"]: e for e in init["env"]}
    assert env["RUN"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['batch.kubernetes.io/job-name']"
    )
    assert env["SHARD_JOB"]["value"] == "$(RUN)-shards"
    # the shard pods write under their Job's name; the merge reads there
    shard_env = {
        e["name"]: e for e in _container(_pod(objects["CronJob", "mlguard-shards"]), "collect")["env"]
    }
    assert shard_env["SHARD_JOB"]["valueFrom"] == env["RUN"]["valueFrom"]
    merge = _container(pod, "merge")
    assert '"/parts/$RUN-shards"/inventory-shard-*.json' in merge["args"][0]
    # the Kubernetes API token reaches the kubectl container only
    assert pod["automountServiceAccountToken"] is False
    assert any(m["name"] == "kube-api" for m in init["volumeMounts"])
    assert not any(m["name"] == "kube-api" for m in merge["volumeMounts"])
    role = _by_prefix(objects, "Role", "mlguard-launcher")
    rules = {(r["resources"][0], v) for r in role["rules"] for v in r["verbs"]}
    assert {("cronjobs", "get"), ("jobs", "create"), ("jobs", "get")} <= rules
    assert not any(v in {"delete", "patch", "update", "*"} for _, v in rules)
    binding = _by_prefix(objects, "RoleBinding", "mlguard-launcher")
    assert binding["subjects"][0]["name"] == pod["serviceAccountName"] == "mlguard-launcher"


def test_credentials_irsa_and_the_databricks_secret(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    sa = objects["ServiceAccount", "mlguard-scanner"]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    pod = _pod(objects["CronJob", "mlguard-shards"])
    assert pod["serviceAccountName"] == "mlguard-scanner"
    env = {e["name"]: e for e in _container(pod, "collect")["env"]}
    for name in ("DATABRICKS_HOST", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "mlguard-databricks", name
        assert "value" not in env[name]
    assert not any(o["kind"] == "Secret" for o in objects.values())  # never a secret in the repository


def test_every_container_is_bounded_and_unprivileged(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    for name in ("mlguard-shards", "mlguard-org-scan"):
        pod = _pod(objects["CronJob", name])
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for c in pod.get("initContainers", []) + pod["containers"]:
            where = f"{name}/{c['name']}"
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(c["resources"]["limits"]), where
            ctx = c["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where


def test_the_shipped_configuration_is_valid(tmp_path: Path) -> None:
    loaded = load_config(BASE / "mlguard.yaml")
    assert loaded.config.scope.aws.org_role
    assert set(loaded.config.scope.providers) == {"aws", "databricks"}


@pytest.mark.e2e
def test_the_containers_commands_shard_and_merge_like_one_scan(
    objects: dict[tuple[str, str], dict[str, Any]],
    estate: tuple[dict[str, str], list[str]],
    tmp_path: Path,
) -> None:
    """The manifests' own command lines, with Kubernetes' $(VAR) expansion, the volumes mapped to
    local folders and one local process per index, against the moto organisation."""
    env, _ = estate
    env = mlguard_on_path(env)
    config = narrowed_config(
        YAML(typ="safe", pure=True).load(BASE / "mlguard.yaml"), tmp_path / "mlguard.yaml"
    )
    parts_dir = tmp_path / "parts"

    def local(text: str) -> str:
        return text.replace("/etc/mlguard/mlguard.yaml", str(config)).replace("/parts/", f"{parts_dir}/")

    shards_cron = objects["CronJob", "mlguard-shards"]
    n = shards_cron["spec"]["jobTemplate"]["spec"]["completions"]
    collect = _container(_pod(shards_cron), "collect")
    run = "mlguard-org-scan-29420160"
    procs = []
    for k in range(n):
        pod_env = {"SHARD_JOB": f"{run}-shards", "JOB_COMPLETION_INDEX": str(k)}
        assert collect["command"] == ["mlguard"]
        argv = [EXE, *(local(kube_expand(a, pod_env)) for a in collect["args"])]
        procs.append(start(argv, {**env, **pod_env}, tmp_path))
    for proc in procs:
        code, out = finish(proc)
        assert code == 0, out
    parts = sorted((parts_dir / f"{run}-shards").iterdir())
    assert [p.name for p in parts] == sorted(f"inventory-shard-{k}-of-{n}.json" for k in range(n))

    merge = _container(_pod(objects["CronJob", "mlguard-org-scan"]), "merge")
    argv = [*merge["command"], local(merge["args"][0])]
    code, out = finish(start(argv, {**env, "RUN": run}, tmp_path))
    single = start(
        [EXE, "--config", str(config), "scan", "--format", "json", "--output-dir", "single", "-q"],
        env,
        tmp_path,
    )
    single_code, single_out = finish(single)
    assert code == single_code, out + single_out
    merged = parts_dir / run / "report" / "results.json"
    assert comparable(merged) == comparable(tmp_path / "single" / "results.json")
    assert comparable(merged)["results"]
    assert (parts_dir / run / "report" / "results.sarif").is_file()
    prov = json.loads(merged.read_text())["provenance"]
    assert [(s["index"], s["count"]) for s in prov["shards"]] == [(k, n) for k in range(n)]

    # a shard whose pod never wrote its part: the merge still runs and says the run is incomplete.
    # moto gives the member accounts random ids, so the units the hash placed on the removed shard
    # vary from run to run, and may be none: the results must say so either way
    lost = json.loads(parts[-1].read_text())["provenance"]["shard"]["units"]
    parts[-1].unlink()
    merged.unlink()  # what is read below is the second merge's, never the first's
    code, out = finish(start(argv, {**env, "RUN": run}, tmp_path))
    assert code == 3, out
    errors = [e for e in json.loads(merged.read_text())["errors"] if e["code"] == "ShardMissing"]
    assert errors, out
    if lost:
        assert {e["message"].split("unit ")[1].split(" ")[0] for e in errors} == set(lost)
    else:
        assert [e["provider"] for e in errors] == ["mlguard"]
        assert f"shard {n - 1}/{n} is missing" in errors[0]["message"]


def test_the_image_runs_as_the_user_the_deployments_expect(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """deploy/Dockerfile (not built here: no network) runs as uid 10001, the pods' runAsUser and
    the Batch jobs' User, copies what the wheel is built from, and sets no ENTRYPOINT (the
    deployments' `sh -c` commands would become its arguments)."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile
    assert "ENTRYPOINT" not in dockerfile.replace("No ENTRYPOINT", "")
    for source in ("pyproject.toml", "README.md", "src", "policies"):
        assert source in dockerfile
        assert (DEPLOY.parent / source).exists()
    for name in ("mlguard-shards", "mlguard-org-scan"):
        assert _pod(objects["CronJob", name])["securityContext"]["runAsUser"] == 10001
    batch = (DEPLOY / "aws-batch" / "mlguard-org-scan.yaml").read_text()
    assert batch.count('User: "10001"') == 2


@pytest.mark.skipif(not (shutil.which("kustomize") or shutil.which("kubectl")), reason="no kustomize")
def test_the_documented_overlay_renders_and_keeps_n_consistent(tmp_path: Path) -> None:
    """docs/deploy.md's example overlay, applied to the base: valid, and N = 8 everywhere."""
    text = (DEPLOY.parent / "docs" / "deploy.md").read_text()
    start_at = text.rindex("\n", 0, text.index("# overlays/prod/kustomization.yaml")) + 1
    block = text[start_at : text.index("```", start_at)]
    overlay = tmp_path / "overlays" / "prod"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("\n".join(line[3:] for line in block.splitlines()))
    shutil.copytree(BASE, tmp_path / "base")
    tool = shutil.which("kustomize")
    argv = [tool, "build", str(overlay)] if tool else ["kubectl", "kustomize", str(overlay)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    objects = {
        (d["kind"], d["metadata"]["name"]): d for d in YAML(typ="safe", pure=True).load_all(done.stdout) if d
    }
    for obj in objects.values():
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    test_the_shard_job_is_indexed_and_n_agrees_everywhere(objects)
    shards = objects["CronJob", "mlguard-shards"]
    assert shards["spec"]["jobTemplate"]["spec"]["completions"] == 8
    image = _container(_pod(shards), "collect")["image"]
    assert image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlguard:0.1.0"
    assert _container(_pod(objects["CronJob", "mlguard-org-scan"]), "merge")["image"] == image
    sa = objects["ServiceAccount", "mlguard-scanner"]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(":role/mlguard-scanner")
    assert objects["PersistentVolumeClaim", "mlguard-parts"]["spec"]["storageClassName"] == "efs-sc"
