"""AWS's ISO-8601 UTC timestamps read without dateutil's general parser, for the collector's clients.

botocore reads a timestamp of an XML or query answer (``CreateDate``, ``LaunchTime``,
``CreationDate``...) with ``botocore.utils.parse_timestamp``: ``float(value)`` first, then
``dateutil.parser.parse(value, tzinfos={'GMT': tzutc()})``, whose tokenizer costs some 30 us a
value (an IAM role listing has several per role).

:func:`parse_timestamp` reads the one form AWS sends, ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, itself,
and gives it the time zone dateutil gives a ``Z`` timestamp on this machine. dateutil's choice
(``dateutil.parser._parser.parser._build_tzaware``) depends on the local time zone: ``tzlocal()``
when the machine's zone is called ``UTC`` (``time.tzname``), else ``tz.UTC``; and, in a zone with
daylight saving time, on the date (its "winter GMT in the UK" rule). So the choice is taken from
dateutil itself, on one probe timestamp, per local-zone setting (``time.tzname``, ``timezone``,
``altzone``, ``daylight``), and only where it cannot depend on the date (no daylight saving time);
elsewhere, and for every other form (numbers, other offsets, RFC 822 dates, out-of-range fields,
fractions of more than six digits), botocore's own function reads the value, as before.
"""

from __future__ import annotations

import datetime
import functools
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import botocore.utils
import dateutil.parser  # type: ignore[import-untyped]  # botocore's dependency, without stubs
from dateutil import tz

from mlguard.collect.aws.reviewed import Reproduced, unchanged

_ISO_Z = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z")
_PROBE = "2000-01-01T00:00:00Z"

_zones: dict[tuple[Any, ...], Callable[[], datetime.tzinfo] | None] = {}
_lock = threading.Lock()


def _zone_of_z() -> Callable[[], datetime.tzinfo] | None:
    """What dateutil gives a ``Z`` timestamp in this process's local zone (a fresh ``tzlocal()`` or
    ``tz.UTC``), or None if that may depend on the date or is neither."""
    key = (time.tzname, time.timezone, time.altzone, time.daylight)
    try:
        return _zones[key]
    except KeyError:
        pass
    zone: Callable[[], datetime.tzinfo] | None = None
    if not time.daylight and time.timezone == time.altzone:
        probe = dateutil.parser.parse(_PROBE, tzinfos={"GMT": tz.tzutc()})
        if probe.fold or probe.replace(tzinfo=None) != datetime.datetime(2000, 1, 1):
            zone = None
        elif probe.tzinfo is tz.UTC:
            zone = _utc
        elif type(probe.tzinfo) is tz.tzlocal and probe.tzinfo == tz.tzlocal():
            zone = tz.tzlocal
    with _lock:
        _zones[key] = zone
    return zone


def _utc() -> datetime.tzinfo:
    utc: datetime.tzinfo = tz.UTC
    return utc


def parse_timestamp(value: Any) -> datetime.datetime:
    """``botocore.utils.parse_timestamp(value)``, the ``...Z`` form read directly (see the module)."""
    if type(value) is str:
        match = _ISO_Z.fullmatch(value)
        if match is not None:
            zone = _zone_of_z()
            if zone is not None:
                year, month, day, hour, minute, second, fraction = match.groups()
                micro = int(fraction.ljust(6, "0")) if fraction else 0
                try:
                    naive = datetime.datetime(
                        int(year), int(month), int(day), int(hour), int(minute), int(second), micro
                    )
                except ValueError:
                    pass  # botocore's error (or dateutil's reading) of an out-of-range field
                else:
                    return naive.replace(tzinfo=zone())
    parsed: datetime.datetime = botocore.utils.parse_timestamp(value)
    return parsed


def reproduced() -> Reproduced:
    """botocore's timestamp reading that :func:`parse_timestamp` reproduces for ``...Z`` values,
    with the digests of the versions reviewed (botocore 1.44.18)."""
    utils: Any = botocore.utils  # its stubs lack the private function
    return {
        "parse_timestamp": (utils.parse_timestamp, {"9c99fa67c1d1302f"}),
        "_parse_timestamp_with_tzinfo": (utils._parse_timestamp_with_tzinfo, {"dc76511bfbc420a2"}),
        "get_tzinfo_options": (utils.get_tzinfo_options, {"8be2939426b0f129"}),
    }


@functools.cache
def reviewed() -> bool:
    """Whether botocore reads timestamps, here, with the code :func:`parse_timestamp` was reviewed
    against (:mod:`mlguard.collect.aws.reviewed`): if not, the collector's clients keep botocore's."""
    return unchanged(reproduced())
