"""``mlguard scan --demo``: the real collectors against a local, seeded estate on both platforms.

AWS runs against the seeded moto server (:func:`mlguard.demo.demo_environment`), Databricks
against the fake workspace server seeded with the ``demo`` workspace. Both listen on 127.0.0.1
only; nothing leaves the machine.
"""

from __future__ import annotations

import time

import boto3

from mlguard.collect.base import Progress, providers
from mlguard.collect.databricks.provider import DatabricksCollector
from mlguard.config import ScopeConfig
from mlguard.demo.databricks_fake import WorkspaceState, demo_state, start_fake_workspace
from mlguard.demo.databricks_fake.seeds import rebase_times
from mlguard.demo.environment import demo_environment
from mlguard.pipeline import Collected, LoadedConfig, collect

DEMO_WORKSPACE = "demo.cloud.databricks.com"


def link_to_aws(state: WorkspaceState, region: str) -> WorkspaceState:
    """The demo account as one hybrid estate with the demo AWS account: its prod workspace is the
    demo workspace, and its network configurations name the seeded security groups (ids moto
    chose) of ``region``, the private one for prod, the SSH-open one for the sandbox."""
    ec2 = boto3.client("ec2", region_name=region)
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["ml-private", "ml-ssh-open"]}]
    )
    ids = {f"sg-{g['GroupName']}": g["GroupId"] for g in groups["SecurityGroups"]}
    for network in state.account_networks:
        network["security_group_ids"] = [ids.get(sg, sg) for sg in network.get("security_group_ids") or []]
        vpcs = {g["VpcId"] for g in groups["SecurityGroups"]}
        if len(vpcs) == 1:
            network["vpc_id"] = vpcs.pop()
    for ws in state.account_workspaces:
        if ws.get("workspace_id") == state.workspace_id:
            ws["deployment_name"] = DEMO_WORKSPACE.split(".", 1)[0]
    return state


def collect_demo(
    loaded: LoadedConfig,
    types: set[str],
    progress: Progress,
    command: str | None = None,
    timeout: float | None = None,
) -> tuple[Collected, str]:
    """Collect the demo estate (within ``timeout`` seconds, like any scan); returns what was
    collected and a one-line description."""
    with demo_environment() as demo:
        now_ms = int(time.time() * 1000)
        state = link_to_aws(rebase_times(demo_state(), now_ms), demo.regions[0])
        host, token, stop = start_fake_workspace(state=state)
        try:
            scope = loaded.config.scope
            scope.aws = demo.aws_scope
            scope.databricks.host = host
            scope.databricks.profile = None
            scope.databricks.account_profile = None

            def databricks(s: ScopeConfig) -> DatabricksCollector:
                return DatabricksCollector(
                    s, token=token, workspace_name=DEMO_WORKSPACE, account_id=state.account_id
                )

            available = [p for p in ("aws", "databricks") if p in providers()]
            collected = collect(
                loaded, available, types, progress, command, timeout, factories={"databricks": databricks}
            )
        finally:
            stop()
        about = (
            f"{demo.describe()} Demo Databricks workspace {DEMO_WORKSPACE} served by a local fake at {host}."
        )
    return collected, about
