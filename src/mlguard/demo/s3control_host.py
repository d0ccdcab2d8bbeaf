"""botocore client plugin (test/demo only): reach a local moto server's s3control API.

botocore's s3control endpoint rules put the account id in front of the endpoint host, also for a
custom endpoint (``AWS_ENDPOINT_URL=http://127.0.0.1:5000`` becomes
``http://123456789012.127.0.0.1:5000/v20180820/...``). Against real AWS that name resolves; against
a moto server on a loopback address it does not, and every s3control call (the account-level S3
Block Public Access read) fails with EndpointConnectionError.

This plugin strips that account-id label again, and only when the remaining host is a loopback
address or ``localhost``: it cannot redirect a request to real AWS. The account id still travels in
the ``x-amz-account-id`` header, which is what moto reads.

It is loaded through botocore's client plugin hook (the ``BOTOCORE_EXPERIMENTAL__PLUGINS``
environment variable, ``name=module``), which :func:`mlguard.demo.demo_environment` sets. Being an
environment variable, it also reaches an ``mlguard`` subprocess started from that environment.
Product code never imports this module.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PLUGIN_ENV = "BOTOCORE_EXPERIMENTAL__PLUGINS"
PLUGIN_SPEC = f"mlguard_s3control_host={__name__}"

_ACCOUNT_LABEL = re.compile(r"^\d{12}\.")


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def strip_account_label(url: str) -> str:
    """``http://123456789012.127.0.0.1:5000/x`` -> ``http://127.0.0.1:5000/x``; other URLs unchanged."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not _ACCOUNT_LABEL.match(host):
        return url
    rest = _ACCOUNT_LABEL.sub("", parts.netloc, count=1)
    if not is_loopback_host(urlsplit(f"//{rest}").hostname or ""):
        return url
    return urlunsplit(parts._replace(netloc=rest))


def _before_send(request: Any, **_: Any) -> None:
    request.url = strip_account_label(request.url)


def initialize_client_plugin(client: Any) -> None:
    """botocore plugin entry point: called for every client botocore creates."""
    if client.meta.service_model.service_name == "s3control":
        client.meta.events.register("before-send.s3-control", _before_send)
