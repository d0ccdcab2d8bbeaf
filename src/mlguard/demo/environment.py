"""The offline demo: a seeded ML estate on a local moto server, for ``mlguard scan --demo``.

:func:`demo_environment` starts ``moto.server.ThreadedMotoServer`` on 127.0.0.1 (a free port),
applies mlguard's moto extension (:mod:`mlguard.demo.moto_ext`), points the standard AWS
environment variables at the server (``AWS_ENDPOINT_URL``, fake credentials, region; ``AWS_PROFILE``
and other credential sources unset), seeds the estate of :mod:`mlguard.demo.aws_estate`, and
yields a :class:`DemoEnvironment` with the scope to scan and the manifest. On exit the server stops
and the environment is restored exactly. The real collectors then scan it unchanged: they honour
``AWS_ENDPOINT_URL`` like any botocore client.

Nothing here contacts anything but 127.0.0.1. Needs the ``demo`` extra (moto).
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mlguard.errors import CollectionSetupError, InputError, ToolMissingError

try:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.server import ThreadedMotoServer
except ImportError as exc:
    raise ToolMissingError(
        "the demo needs moto, which is not installed: pip install 'mlguard[demo]'"
    ) from exc

from mlguard.config import AwsScope
from mlguard.demo import moto_ext, s3control_host
from mlguard.demo.aws_estate import (
    AWS_MANAGED_POLICIES,
    CANARY_SECRET,
    DEFAULT_REGIONS,
    AwsEstateManifest,
    Flaw,
    seed_aws,
)

__all__ = [
    "CANARY_SECRET",
    "DEMO_ENV_VARS",
    "AwsEstateManifest",
    "DemoEnvironment",
    "Flaw",
    "demo_environment",
    "seed_aws",
]

#: Variables set for the duration of the demo (values filled in at start).
DEMO_ENV_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED",
    s3control_host.PLUGIN_ENV,
)

#: Variables removed for the duration of the demo, so no real credentials, profile, config file or
#: per-service endpoint can leak in and send a request anywhere but the local server.
_UNSET_ENV_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


@dataclass
class DemoEnvironment:
    """What a demo run scans: the local endpoint, the AWS scope, the seeded manifest.

    ``databricks`` is the hook for the fake Databricks workspace (built elsewhere, wired by the
    CLI): whoever starts it stores its handle (host, token, its own manifest) here, so a demo scan
    can cover both providers. It stays ``None`` when only AWS is seeded.
    """

    endpoint_url: str
    account_id: str
    regions: list[str]
    manifest: AwsEstateManifest
    databricks: Any = None
    env: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the console before a demo scan starts."""
        m = self.manifest
        return (
            f"Demo AWS estate: {m.total} resources of {len(m.counts)} types in {', '.join(self.regions)} "
            f"(account {self.account_id}), {len(m.flaws)} planted misconfigurations; "
            f"served by a local moto server at {self.endpoint_url}, nothing leaves this machine."
        )

    @property
    def aws_scope(self) -> AwsScope:
        """The AWS scope to scan: exactly the seeded regions (no profile, no role)."""
        return AwsScope(regions=list(self.regions))


@contextmanager
def _patched_environ(values: dict[str, str], unset: tuple[str, ...]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*values, *unset)}
    extra_endpoints = {k: v for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL_")}
    try:
        for key in (*unset, *extra_endpoints):
            os.environ.pop(key, None)
        os.environ.update(values)
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        os.environ.update(extra_endpoints)


def _moto_api(endpoint: str, action: str) -> None:
    """POST to the local moto server's own management API (``/moto-api/<action>``)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/{action}", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@contextmanager
def demo_environment(
    regions: list[str] | tuple[str, ...] = DEFAULT_REGIONS,
    *,
    seed: bool = True,
) -> Iterator[DemoEnvironment]:
    """Run a seeded, local-only AWS estate for the duration of the ``with`` block.

    The account is moto's default account (the one moto serves for the fake credentials). With
    ``seed=False`` the server starts empty (for tests and benchmarks that seed their own).
    Raises :class:`~mlguard.errors.CollectionSetupError` if the server cannot start or the estate
    cannot be seeded.
    """
    region_list = list(regions)
    if not region_list:
        raise InputError("the demo needs at least one region")
    moto_ext.apply()
    account_id = str(DEFAULT_ACCOUNT_ID)
    # The server thread logs every request through werkzeug; a demo's console is for the report.
    werkzeug_log = logging.getLogger("werkzeug")
    previous_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    endpoint = ""
    started = False
    try:
        try:
            server.start()
            started = True
            host, port = server.get_host_and_port()
        except OSError as exc:
            raise CollectionSetupError(f"could not start the local moto server for the demo: {exc}") from exc
        endpoint = f"http://{host}:{port}"
        with _patched_environ(_demo_env(endpoint, region_list), _UNSET_ENV_VARS):
            try:
                # Start from an empty estate, with moto's id generator seeded: every demo run gets
                # the same key, instance and job ids, so recorded demo runs compare cleanly.
                _moto_api(endpoint, "reset")
                _moto_api(endpoint, "seed?a=2026")
                manifest = (
                    _seed(account_id, region_list) if seed else _empty_manifest(account_id, region_list)
                )
            except (BotoCoreError, ClientError, OSError) as exc:
                raise CollectionSetupError(f"could not seed the demo estate on {endpoint}: {exc}") from exc
            yield DemoEnvironment(
                endpoint_url=endpoint,
                account_id=account_id,
                regions=region_list,
                manifest=manifest,
                env={k: os.environ[k] for k in DEMO_ENV_VARS},
            )
    finally:
        try:
            if endpoint:  # leave nothing behind in this process
                _moto_api(endpoint, "reset")
        finally:
            if started:
                server.stop()
            werkzeug_log.setLevel(previous_level)


def _demo_env(endpoint: str, regions: list[str]) -> dict[str, str]:
    plugins = [p for p in os.environ.get(s3control_host.PLUGIN_ENV, "").split(",") if p and p != "DISABLED"]
    if s3control_host.PLUGIN_SPEC not in plugins:
        plugins.append(s3control_host.PLUGIN_SPEC)
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's documented fake credentials
        "AWS_DEFAULT_REGION": regions[0],
        "AWS_REGION": regions[0],
        # No profile or per-service endpoint from the user's files, no instance metadata calls.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        s3control_host.PLUGIN_ENV: ",".join(plugins),
    }


def _seed(account_id: str, regions: list[str]) -> AwsEstateManifest:
    moto_ext.add_aws_managed_policies(account_id, AWS_MANAGED_POLICIES)
    manifest = seed_aws(
        boto3.session.Session(),
        account_id,
        regions,
        backdate_access_key=moto_ext.backdate_access_key(account_id),
    )
    moto_ext.age_estate(account_id, regions)
    return manifest


def _empty_manifest(account_id: str, regions: list[str]) -> AwsEstateManifest:
    return AwsEstateManifest(
        account_id=account_id, regions=regions, counts={}, names={}, flaws=[], canary_secret=CANARY_SECRET
    )
