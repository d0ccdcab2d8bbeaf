"""The collector's clients read AWS's ``...Z`` timestamps and epoch numbers themselves: the same
datetime (value, time zone object, fold, and what that zone answers), or the same error, as
botocore's ``parse_timestamp``, in any local zone."""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.credentials
import botocore.parsers
import botocore.session
import botocore.utils
import pytest
from botocore.credentials import Credentials
from dateutil import tz as dateutil_tz
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from mlguard.collect.aws import AwsCollector, timestamps
from mlguard.config import ScopeConfig

#: The shortcut is compared with botocore where it is used: where botocore's code is the code it
#: was reviewed against (mlguard.collect.aws.reviewed; elsewhere botocore's own code runs).
pytestmark = pytest.mark.skipif(
    not timestamps.reviewed(), reason="botocore's code is not the code timestamps.py was reviewed against"
)

ZONES = ["UTC", "Asia/Tokyo", "Europe/London", "America/New_York", "GMT", "Etc/GMT+5", "Australia/Lord_Howe"]
# (Europe/Moscow and America/Sao_Paulo: daylight saving time in the past, none today)
EPOCH_ZONES = [*ZONES, "Asia/Kolkata", "Europe/Moscow", "America/Sao_Paulo", "Pacific/Chatham"]


@contextlib.contextmanager
def _local_zone(name: str) -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


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
    seen: list[Any] = ["ok", repr(dt), type(dt.tzinfo), dt.fold, dt.replace(tzinfo=None)]
    for read in (
        dt.isoformat,
        dt.utcoffset,
        dt.dst,
        dt.tzname,
        lambda: dt.astimezone(datetime.UTC),  # what the collector records (mlguard.model.iso)
        dt.timestamp,
        lambda: dt.tzinfo == dateutil_tz.tzlocal(),
    ):
        try:
            seen.append(read())
        except Exception as exc:  # (a zone with daylight saving time cannot read the range's ends)
            seen.append(("raised", type(exc), str(exc)))
    return tuple(seen)


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


EDGES: list[Any] = [
    0,
    -1,
    0.5,
    -0.5,
    1.5,
    -1.5,
    5e-7,
    1.5e-6,
    1e-7,
    1700000000.123456789,
    1765000000.9999996,
    2**31 - 1,
    2**31,
    -(2**31),
    253402300799,  # the last second of year 9999
    253402300799.9999995,
    253402300800,
    -62135596800,  # the first second of year 1
    -62135596801,
    1e20,
    -1e20,
    10**30,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    1765000000,
    1765000000.5,
]
_EPOCHS = st.one_of(
    st.sampled_from(EDGES),
    st.integers(min_value=-(10**11), max_value=3 * 10**11),
    st.floats(min_value=-7e10, max_value=2.6e11),
    st.floats(min_value=0, max_value=2.2e9),
    st.floats(),
    st.integers(),
)


@pytest.mark.parametrize("name", EPOCH_ZONES)
@settings(max_examples=400, deadline=None)
@given(values=st.lists(_EPOCHS, min_size=1, max_size=20))
def test_epoch_numbers_read_as_botocore_reads_them(name: str, values: list[Any]) -> None:
    with _local_zone(name):
        for value in [*values, *EDGES]:
            assert _outcome(timestamps.parse_timestamp, value) == _outcome(
                botocore.utils.parse_timestamp, value
            ), (name, value)


@pytest.mark.parametrize("name", EPOCH_ZONES)
def test_epoch_numbers_are_read_directly_where_the_zone_has_one_offset(name: str) -> None:
    with _local_zone(name):
        offset = timestamps._epoch_offset()
        # where the local zone has daylight saving time, botocore's own function reads every number
        assert (offset is None) == bool(time.daylight)
        if offset is not None:
            assert offset == datetime.timedelta(seconds=-time.timezone)


@mock_aws
def test_a_json_answer_s_epoch_timestamps_are_botocore_s() -> None:
    """SageMaker answers in JSON with epoch numbers: a listing read by the collector's client is
    the one plain boto3 reads, time zone objects included."""
    plain = boto3.Session(aws_access_key_id="A", aws_secret_access_key="s").client(
        "sagemaker", region_name="us-east-1"
    )
    plain.create_model(
        ModelName="m1",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/i:1"},
    )
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    mine = collector.session_with(Credentials("A", "s"), "us-east-1").client("sagemaker")
    for name in ("UTC", "Asia/Kolkata", "Europe/London"):
        with _local_zone(name):
            ours, theirs = mine.list_models()["Models"], plain.list_models()["Models"]
            assert [m["ModelName"] for m in ours] == ["m1"]
            assert [_outcome(lambda m: m["CreationTime"], m) for m in ours] == [
                _outcome(lambda m: m["CreationTime"], m) for m in theirs
            ]
            assert ours == theirs


def _clock(now: datetime.datetime) -> tuple[Any, ...]:
    """All of a current time but the instant (two readings of the clock differ)."""
    return (type(now), type(now.tzinfo), now.fold, now.utcoffset(), now.dst(), now.tzname())


@pytest.mark.parametrize("name", EPOCH_ZONES)
def test_the_credentials_clock_reads_as_botocore_s(name: str) -> None:
    with _local_zone(name):
        before = botocore.credentials._local_now()  # type: ignore[attr-defined]
        ours = timestamps.local_now()
        after = botocore.credentials._local_now()  # type: ignore[attr-defined]
        assert _clock(before) == _clock(ours) == _clock(after)
        assert before <= ours <= after
        assert ours.tzinfo == dateutil_tz.tzlocal()
        # what the refresh decision reads: seconds to an expiry, either side of it
        for expiry in (after + datetime.timedelta(seconds=900), before - datetime.timedelta(seconds=900)):
            ahead, late = expiry - after, expiry - before
            assert ahead <= expiry - ours <= late


def _assumed(expiry: datetime.datetime) -> tuple[Any, list[int]]:
    """An assumed role's refreshable credentials, given to a client of the collector's sessions,
    and the refreshes they made."""
    refreshed: list[int] = []

    def fetch() -> dict[str, str]:
        refreshed.append(1)
        return {
            "access_key": "AKIATWO",
            "secret_key": "s2",
            "token": "t2",
            "expiry_time": "2099-01-01T00:00:00Z",
        }

    credentials = botocore.credentials.RefreshableCredentials.create_from_metadata(
        {"access_key": "AKIAONE", "secret_key": "s", "token": "t", "expiry_time": expiry.isoformat()},
        refresh_using=fetch,
        method="assume-role",
    )
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    collector.session_with(credentials, "us-east-1").client("sts")  # (which installs the clock)
    return credentials, refreshed


def test_assumed_credentials_read_the_collector_s_clock_and_refresh_as_before() -> None:
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=60)  # within the 15 min
    credentials, refreshed = _assumed(soon)
    assert credentials._time_fetcher is timestamps.local_now
    assert credentials.refresh_needed()  # as botocore's clock says
    assert credentials.get_frozen_credentials().access_key == "AKIATWO"
    assert refreshed == [1]
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    credentials, refreshed = _assumed(later)
    assert not credentials.refresh_needed()
    assert credentials.get_frozen_credentials().access_key == "AKIAONE"
    assert refreshed == []
    plain = botocore.credentials.RefreshableCredentials.create_from_metadata(
        {"access_key": "A", "secret_key": "s", "token": "t", "expiry_time": later.isoformat()},
        refresh_using=dict,
        method="assume-role",
    )
    boto3.Session(botocore_session=_core_with(plain)).client("sts", region_name="us-east-1")
    assert plain._time_fetcher is botocore.credentials._local_now  # type: ignore[attr-defined]


def _core_with(credentials: Any) -> Any:
    core = botocore.session.Session()
    core._credentials = credentials
    return core


def test_the_clock_is_botocore_s_where_its_code_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    table = timestamps.reproduced()
    name = "credentials._local_now"
    monkeypatch.setattr(timestamps, "reproduced", lambda: {**table, name: (table[name][0], {"0" * 16})})
    timestamps.reviewed.cache_clear()
    try:
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        credentials, _ = _assumed(later)
        assert credentials._time_fetcher is botocore.credentials._local_now  # type: ignore[attr-defined]
    finally:
        monkeypatch.undo()
        timestamps.reviewed.cache_clear()


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
