"""Jobs (``jobs.list(expand_tasks=True)``) and Delta Live Tables pipelines (list + get for the spec)."""

from __future__ import annotations

from typing import Any

from mlguard.collect.databricks import object_acls
from mlguard.collect.databricks._common import WorkspaceContext, ms_to_iso
from mlguard.collect.databricks.engine import run_family
from mlguard.collect.databricks.spec import Detail, FamilySpec, Item, ResourceSpec
from mlguard.collect.secrets import redact_args, redact_mapping

JOB = "databricks.job"
PIPELINE = "databricks.pipeline"
TYPES = (JOB, PIPELINE)

_TASK_KINDS = (
    "notebook_task",
    "spark_python_task",
    "python_wheel_task",
    "spark_jar_task",
    "spark_submit_task",
    "sql_task",
    "dbt_task",
    "pipeline_task",
    "run_job_task",
    "condition_task",
    "for_each_task",
)


def _cluster_spec(spec: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    conf, conf_secrets = redact_mapping(spec.get("spark_conf"))
    env, env_secrets = redact_mapping(spec.get("spark_env_vars"))
    autoscale = spec.get("autoscale")
    return {
        "spark_version": spec.get("spark_version"),
        "node_type_id": spec.get("node_type_id"),
        "driver_node_type_id": spec.get("driver_node_type_id"),
        "num_workers": spec.get("num_workers"),
        "autoscale": autoscale,
        "policy_id": spec.get("policy_id"),
        "instance_pool_id": spec.get("instance_pool_id"),
        "data_security_mode": spec.get("data_security_mode"),
        "spark_conf": conf,
        "spark_env_vars": env,
        "plaintext_secret_keys": conf_secrets + env_secrets,
    }, bool(conf_secrets or env_secrets)


def _task(task: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    kind = next((k for k in _TASK_KINDS if k in task), None)
    body = task.get(kind, {}) if kind else {}
    secret = False
    params: Any = None
    if isinstance(body.get("base_parameters"), dict):
        params, found = redact_mapping(body["base_parameters"])
        secret |= bool(found)
    elif isinstance(body.get("parameters"), list):
        params, found_args = redact_args(body["parameters"])
        secret |= found_args
    elif isinstance(body.get("named_parameters"), dict):
        params, found = redact_mapping(body["named_parameters"])
        secret |= bool(found)
    new_cluster = None
    if isinstance(task.get("new_cluster"), dict):
        new_cluster, found_cluster = _cluster_spec(task["new_cluster"])
        secret |= found_cluster
    return {
        "task_key": task.get("task_key"),
        "task_type": kind,
        "existing_cluster_id": task.get("existing_cluster_id"),
        "job_cluster_key": task.get("job_cluster_key"),
        "new_cluster": new_cluster,
        "environment_key": task.get("environment_key"),
        "parameters": params,
        "timeout_seconds": task.get("timeout_seconds"),
        "max_retries": task.get("max_retries"),
        "has_failure_notification": _notifies_on_failure(task),
    }, secret


def _notifies_on_failure(settings: dict[str, Any]) -> bool:
    """An e-mail address or a notification destination for failures (job or task settings)."""
    email = settings.get("email_notifications") or {}
    hooks = settings.get("webhook_notifications") or {}
    return bool(email.get("on_failure") or hooks.get("on_failure"))


# Arrays Jobs API 2.2 returns 100 at a time (``has_more`` in jobs/list, ``next_page_token`` in
# jobs/get), and the facts derived from them: unknown when the rest could not be read.
_PAGED_ARRAYS = ("tasks", "job_clusters", "parameters", "environments")
_TASK_ATTRIBUTES = [
    "tasks",
    "task_count",
    "job_clusters",
    "existing_cluster_ids",
    "uses_all_purpose_cluster",
    "has_failure_notification",
    "parameters",
    "credential_parameter_names",
    "plaintext_secrets",
]


def _full_settings(ctx: WorkspaceContext, job_id: Any) -> dict[str, Any]:
    """A job's settings with every page of its long arrays (``GET /api/2.2/jobs/get``)."""
    query: dict[str, Any] = {"job_id": job_id}
    first = ctx.get("/api/2.2/jobs/get", query)
    settings = dict(first.get("settings") or {})
    token = first.get("next_page_token")
    while token:
        page = ctx.get("/api/2.2/jobs/get", {**query, "page_token": token})
        more = page.get("settings") or {}
        for key in _PAGED_ARRAYS:
            if more.get(key):
                settings[key] = [*(settings.get(key) or []), *more[key]]
        token = page.get("next_page_token")
    return settings


def _job(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    j = item.raw
    s = j.get("settings") or {}
    complete = item.ok("settings")  # only the first 100 tasks / job clusters unless read in full
    full = item.got.get("settings")
    s = full if complete and full else s
    run_as = s.get("run_as") or {}
    if run_as.get("service_principal_name"):
        run_as_type, run_as_name = "service_principal", run_as["service_principal_name"]
    elif run_as.get("user_name"):
        run_as_type, run_as_name = "user", run_as["user_name"]
    else:  # no run_as: the job runs as its owner (the creator unless changed)
        run_as_type, run_as_name = "owner", j.get("run_as_user_name") or j.get("creator_user_name")
    secrets = False
    tasks = []
    for task in s.get("tasks") or []:
        t, found = _task(task)
        secrets |= found
        tasks.append(t)
    job_clusters = []
    for jc in s.get("job_clusters") or []:
        spec, found = _cluster_spec(jc.get("new_cluster") or {})
        secrets |= found
        job_clusters.append({"job_cluster_key": jc.get("job_cluster_key"), **spec})
    params = []
    credential_params = []
    for p in s.get("parameters") or []:
        red, found_keys = redact_mapping({str(p.get("name")): p.get("default", "")})
        if found_keys:
            credential_params.append(p.get("name"))
        params.append({"name": p.get("name"), "default": next(iter(red.values()))})
    email = s.get("email_notifications") or {}
    hooks = s.get("webhook_notifications") or {}
    existing = sorted({t["existing_cluster_id"] for t in tasks if t["existing_cluster_id"]})
    schedule = s.get("schedule")
    data = {
        "job_name": s.get("name"),
        "creator_user_name": j.get("creator_user_name"),
        "created_at": ms_to_iso(j.get("created_time")),
        "run_as_type": run_as_type,
        "run_as": run_as_name,
        "runs_as_service_principal": run_as_type == "service_principal",
        "tasks": tasks,
        "task_count": len(tasks),
        "job_clusters": job_clusters,
        "existing_cluster_ids": existing,
        "uses_all_purpose_cluster": bool(existing),
        "email_notifications": {k: v for k, v in email.items() if isinstance(v, list)},
        "webhook_notifications": {
            k: [h.get("id") for h in v] for k, v in hooks.items() if isinstance(v, list)
        },
        # Job-level, or on every task: a failing task without one fails the run silently.
        "has_failure_notification": _notifies_on_failure(s)
        or (bool(tasks) and all(t["has_failure_notification"] for t in tasks)),
        "health_rules": (s.get("health") or {}).get("rules") or [],
        "timeout_seconds": s.get("timeout_seconds", 0),
        "max_concurrent_runs": s.get("max_concurrent_runs"),
        "schedule": schedule,
        "trigger": s.get("trigger"),
        "continuous": s.get("continuous"),
        "parameters": params,
        "credential_parameter_names": credential_params,
        "plaintext_secrets": secrets or bool(credential_params),
        "job_tags": s.get("tags") or {},
    }
    if not complete:
        for key in _TASK_ATTRIBUTES:
            del data[key]
    item.data, item.tags, item.name = data, s.get("tags"), s.get("name")


def _pipeline(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    """One pipeline: its spec comes from a detail call."""
    st = item.raw
    detail, ok = item.got.get("spec"), item.ok("spec")
    spec = (detail or {}).get("spec") or {}
    data: dict[str, Any] = {
        "pipeline_name": st.get("name"),
        "state": st.get("state"),
        "health": st.get("health"),
        "creator_user_name": st.get("creator_user_name"),
        "run_as_user_name": st.get("run_as_user_name") or (detail or {}).get("run_as_user_name"),
    }
    if ok:
        clusters = []
        secrets = False
        for c in spec.get("clusters") or []:
            cs, found = _cluster_spec(c)
            secrets |= found
            clusters.append({"label": c.get("label"), **cs})
        config, config_secrets = redact_mapping(spec.get("configuration"))
        notifications = spec.get("notifications") or []
        data.update(
            development=bool(spec.get("development", False)),
            channel=spec.get("channel", "CURRENT"),
            continuous=bool(spec.get("continuous", False)),
            photon=spec.get("photon"),
            serverless=bool(spec.get("serverless", False)),
            edition=spec.get("edition"),
            catalog=spec.get("catalog"),
            target=spec.get("target") or spec.get("schema"),
            storage=spec.get("storage"),
            clusters=clusters,
            configuration=config,
            configuration_plaintext_secrets=bool(config_secrets) or secrets,
            notifications=[
                {"email_recipients": n.get("email_recipients") or [], "alerts": n.get("alerts") or []}
                for n in notifications
            ],
            has_failure_notification=any(
                any("failure" in a for a in n.get("alerts") or []) for n in notifications
            ),
        )
    item.data = data


_SPEC_ATTRIBUTES = (
    "development",
    "channel",
    "continuous",
    "photon",
    "serverless",
    "edition",
    "catalog",
    "target",
    "storage",
    "clusters",
    "configuration",
    "configuration_plaintext_secrets",
    "notifications",
    "has_failure_notification",
)


FAMILY = FamilySpec(
    name="jobs",
    specs=(
        ResourceSpec(
            type=JOB,
            family="jobs",
            list_route="GET /api/2.2/jobs/list",
            list_sdk_call="jobs.list(expand_tasks=True)",
            items="jobs",
            query={"expand_tasks": True},
            id=lambda j: str(j.get("job_id")),
            name=lambda j: (j.get("settings") or {}).get("name"),
            normalize=_job,
            details=(
                Detail(
                    name="settings",
                    routes=("GET /api/2.2/jobs/get",),
                    sdk_calls=("jobs.get (jobs with more than 100 tasks or job clusters)",),
                    attributes=tuple(_TASK_ATTRIBUTES),
                    fetch=lambda ctx, item: _full_settings(ctx, item.raw.get("job_id")),
                    when=lambda item: bool(item.raw.get("has_more")),
                ),
            ),
            after=(object_acls.acl_detail("jobs"),),
            requires="workspace-access; CAN_MANAGE to read a job's permissions",
            without_admin="non-admins only see jobs with CAN_VIEW or higher; unreadable permissions are "
            "an attribute error (acl...)",
        ),
        ResourceSpec(
            type=PIPELINE,
            family="jobs",
            list_route="GET /api/2.0/pipelines",
            list_sdk_call="pipelines.list_pipelines",
            items="statuses",
            id=lambda st: str(st.get("pipeline_id")),
            name=lambda st: st.get("name"),
            normalize=_pipeline,
            details=(
                Detail(
                    name="spec",
                    routes=("GET /api/2.0/pipelines/{id}",),
                    sdk_calls=("pipelines.get",),
                    attributes=_SPEC_ATTRIBUTES,
                    fetch=lambda ctx, item: ctx.get(f"/api/2.0/pipelines/{item.ident}"),
                    feeds=("run_as_user_name",),
                ),
            ),
            after=(object_acls.acl_detail("pipelines"),),
            requires="workspace-access; CAN_MANAGE to read a pipeline's permissions",
            without_admin="non-admins only see pipelines with CAN_VIEW or higher; unreadable permissions "
            "are an attribute error (acl...)",
        ),
    ),
)


def collect(ctx: WorkspaceContext) -> None:
    run_family(ctx, FAMILY)
