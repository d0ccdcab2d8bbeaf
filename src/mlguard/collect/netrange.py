"""When an address range counts as "the internet": one rule for every collector.

A range wider than ``MIN_PREFIX`` (/8 for IPv4, /32 for IPv6) that holds public addresses is the
internet, not a restriction: ``0.0.0.0/1`` plus ``128.0.0.0/1`` opens a port to the world as surely
as ``0.0.0.0/0``. Security group sources, Databricks IP access lists and the ``aws:SourceIp``
conditions of IAM policies all use this threshold.
"""

from __future__ import annotations

import ipaddress

MIN_PREFIX = {4: 8, 6: 32}  # a CIDR wider than these is "the internet", not a restriction

# Blocks without public unicast addresses: private, shared, loopback, link-local, multicast, reserved.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
        "::/8",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidr(value: object) -> Network | None:
    """The network a CIDR (or bare address) names, host bits ignored; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def is_narrow(net: Network) -> bool:
    """The range is at least as narrow as the threshold: a real restriction."""
    return net.prefixlen >= MIN_PREFIX[net.version]


def open_to_internet(value: object) -> bool:
    """The CIDR is wider than the threshold and holds public addresses."""
    net = parse_cidr(value)
    if net is None or is_narrow(net):
        return False
    return not any(net.version == block.version and net.subnet_of(block) for block in _NOT_PUBLIC)  # type: ignore[arg-type]
