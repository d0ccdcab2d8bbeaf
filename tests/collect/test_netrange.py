"""One rule for "open to the internet": wider than /8 (IPv4) or /32 (IPv6) and holding public
addresses, shared by security groups, Databricks IP access lists and aws:SourceIp conditions."""

from __future__ import annotations

import pytest

from mlguard.collect.netrange import open_to_internet


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("0.0.0.0/0", True),
        ("::/0", True),
        ("0.0.0.0/1", True),
        ("128.0.0.0/1", True),
        ("11.0.0.0/7", True),
        ("2000::/3", True),
        ("2001:db8::/31", True),
        ("10.0.0.0/8", False),  # at the threshold: a restriction
        ("52.0.0.0/8", False),
        ("2001:db8::/32", False),
        ("203.0.113.7", False),
        ("224.0.0.0/3", False),  # multicast and reserved: no public unicast address
        ("fc00::/7", False),
        ("not-a-cidr", False),
        (None, False),
    ],
)
def test_open_to_internet(cidr: object, expected: bool) -> None:
    assert open_to_internet(cidr) is expected
