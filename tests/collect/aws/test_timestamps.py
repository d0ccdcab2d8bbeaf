"""The collector's clients read AWS's ``...Z`` timestamps themselves: the same datetime (value, time
zone object, fold), or the same error, as botocore's ``parse_timestamp``, in any local zone."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.parsers
import botocore.utils
import pytest
from botocore.credentials import Credentials

from mlguard.collect.aws import AwsCollector, timestamps
from mlguard.config import ScopeConfig

#: The shortcut is compared with botocore where it is used: where botocore's code is the code it
#: was reviewed against (mlguard.collect.aws.reviewed; elsewhere botocore's own code runs).
pytestmark = pytest.mark.skipif(
    not timestamps.reviewed(), reason="botocore's code is not the code timestamps.py was reviewed against"
)

ZONES = ["UTC", "Asia/Tokyo", "Europe/London", "America/New_York", "GMT", "Etc/GMT+5", "Australia/Lord_Howe"]


@pytest.fixture(params=ZONES)
def zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    try:
        yield request.param
    finally:
        monkeypatch.undo()
        time.tzset()


def _value(rng: random.Random) -> Any:
    year = rng.choice([2026, 1999, 1970, 2038, 2100, 1, 9999, 0, 1900])
    month, day = rng.choice([1, 3, 6, 10, 12, 13, 0]), rng.choice([1, 15, 28, 29, 30, 31, 32])
    hour, minute, second = (
        rng.choice([0, 1, 2, 12, 23, 24]),
        rng.choice([0, 30, 59, 60]),
        rng.choice([0, 59, 60]),
    )
    fraction = rng.choice(["", ".1", ".12", ".123", ".123456", ".1234567", ".000000001", "."])
    suffix = rng.choice(["Z", "Z", "Z", "z", "+00:00", "-05:00", "", " Z", "Z "])
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{suffix}"
    other = [
        1765000000,
        1765000000.5,
        "1765000000",
        "Sun, 06 Dec 2026 11:00:00 GMT",
        "",
        "garbage",
        "٢٠٢٦-12-06T11:00:00Z",
    ]
    return rng.choice([text, text, text, rng.choice(other)])


def _outcome(parse: Any, value: Any) -> Any:
    try:
        dt = parse(value)
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    return ("ok", dt, repr(dt), type(dt.tzinfo), dt.fold, dt.isoformat(), dt.utcoffset())


def test_timestamps_read_as_botocore_reads_them(zone: str) -> None:
    rng = random.Random(zone)
    fast = 0
    for _ in range(1500):
        value = _value(rng)
        assert _outcome(timestamps.parse_timestamp, value) == _outcome(
            botocore.utils.parse_timestamp, value
        ), (
            zone,
            value,
        )
        fast += isinstance(value, str) and timestamps._ISO_Z.fullmatch(value) is not None
    assert fast > 150
    # where dateutil's choice may depend on the date, botocore's own function reads every value
    assert (timestamps._zone_of_z() is None) == bool(time.daylight)


def test_collector_sessions_parse_with_it_and_plain_boto3_does_not() -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    client = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1").client("iam")
    factory = client._endpoint._response_parser_factory
    assert factory.create_parser("query")._timestamp_parser is timestamps.parse_timestamp
    plain = boto3.Session(aws_access_key_id="A", aws_secret_access_key="s").client(
        "iam", region_name="us-east-1"
    )
    parser = plain._endpoint._response_parser_factory.create_parser("query")
    assert parser._timestamp_parser is botocore.parsers.DEFAULT_TIMESTAMP_PARSER


def test_a_session_s_own_timestamp_parser_is_kept() -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    core: Any = session._session  # type: ignore[attr-defined]
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
    client = session.client("iam")
    assert client._endpoint._response_parser_factory.create_parser("query")._timestamp_parser is str
