"""python -m mlguard.demo.serve: a demo server in its own process, used by client processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENT = """
import json, boto3
s3control = boto3.client("s3control")
s3control.put_public_access_block(
    AccountId="123456789012",
    PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                    "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
)
sm = boto3.client("sagemaker", region_name="eu-west-1")
role = "arn:aws:iam::123456789012:role/r"
domain = sm.create_domain(DomainName="d", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": role},
                          SubnetIds=["subnet-1"], VpcId="vpc-1")["DomainArn"].split("/")[-1]
sm.create_user_profile(DomainId=domain, UserProfileName="u")
print(json.dumps({
    "pab": s3control.get_public_access_block(AccountId="123456789012")["PublicAccessBlockConfiguration"],
    "profiles": [p["UserProfileName"] for p in sm.list_user_profiles()["UserProfiles"]],
    "other_region_profiles": len(
        boto3.client("sagemaker", region_name="us-east-1").list_user_profiles()["UserProfiles"]
    ),
}))
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
    manifest = tmp_path_factory.mktemp("serve") / "manifest.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlguard.demo.serve",
            "--no-seed",
            "--regions",
            "eu-west-1",
            "--manifest",
            str(manifest),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, "the serve process printed nothing"
        yield json.loads(line), manifest
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_serve_prints_endpoint_env_and_manifest(served: tuple[dict[str, Any], Path]) -> None:
    info, manifest_path = served
    assert info["endpoint"].startswith("http://127.0.0.1:")
    assert info["env"]["AWS_ENDPOINT_URL"] == info["endpoint"]
    assert info["manifest"]["regions"] == ["eu-west-1"]
    assert json.loads(manifest_path.read_text()) == info["manifest"]


def test_a_client_process_reaches_the_extended_server(served: tuple[dict[str, Any], Path]) -> None:
    info, _ = served
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | info["env"]
    out = subprocess.run([sys.executable, "-c", CLIENT], env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    # s3control works through the loopback host plugin, carried by the environment.
    assert result["pab"]["BlockPublicPolicy"] is True
    # User profiles exist: the moto extension is applied in the serving process.
    assert result["profiles"] == ["u"]
    assert result["other_region_profiles"] == 0
