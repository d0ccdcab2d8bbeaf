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
elsewhere, and for every other form (other offsets, RFC 822 dates, out-of-range fields, fractions
of more than six digits), botocore's own function reads the value, as before.

The JSON protocols (SageMaker, Bedrock, Glue, Lambda...: most calls of a scan) send epoch numbers,
which botocore reads with ``datetime.datetime.fromtimestamp(value, tzlocal())``: a new dateutil
``tzlocal`` per value, whose ``fromutc`` (Python code: ``_fromutc``, ``_fold_status``,
``is_ambiguous``, two ``time.localtime`` calls) costs some 20 us. Where the local zone has no
daylight saving time (``tzlocal().dst(None)`` is zero: ``time.daylight`` is 0, as on a server in
UTC), that ``fromutc`` is the UTC time plus the zone's one offset, with fold 0 (``is_ambiguous`` is
then always False: it compares a time with itself). So an ``int`` or ``float`` is read as
``fromtimestamp(value, datetime.UTC)`` (the same rounding and range checks: the same C code) plus
that offset, with a new ``tzlocal()`` attached; any error, and every zone with daylight saving
time, goes to botocore's own function (its fallbacks and messages included).

The same reading gives :func:`local_now`, ``botocore.credentials._local_now()``
(``datetime.datetime.now(tzlocal())``), the clock an assumed role's refreshable credentials read
before every signature, to decide whether to refresh; :func:`install_clock` gives it to them.
"""

from __future__ import annotations

import datetime
import functools
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import botocore.credentials
import botocore.utils
import dateutil.parser  # type: ignore[import-untyped]  # botocore's dependency, without stubs
from dateutil import tz
from dateutil.tz import _common as tz_common  # type: ignore[import-untyped]
from dateutil.tz import tz as tz_module

from mlguard.collect.aws.reviewed import Reproduced, unchanged

_ISO_Z = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z")
_PROBE = "2000-01-01T00:00:00Z"

_zones: dict[tuple[Any, ...], Callable[[], datetime.tzinfo] | None] = {}
_offsets: dict[tuple[Any, ...], datetime.timedelta | None] = {}
_lock = threading.Lock()
_UTC = datetime.UTC
# the first and last seconds of datetime's range, widened by a day for any zone's offset
_RANGE = (-62135596800 - 86400, 253402300800 + 86400)


def _local_key() -> tuple[Any, ...]:
    """What a new ``tzlocal()`` is made of (``dateutil.tz.tzlocal.__init__``)."""
    return (time.tzname, time.timezone, time.altzone, time.daylight)


def _zone_of_z() -> Callable[[], datetime.tzinfo] | None:
    """What dateutil gives a ``Z`` timestamp in this process's local zone (a fresh ``tzlocal()`` or
    ``tz.UTC``), or None if that may depend on the date or is neither."""
    key = _local_key()
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


def _epoch_offset() -> datetime.timedelta | None:
    """The one UTC offset of every ``tzlocal()`` made in this process's local zone, or None if it
    may have two (daylight saving time), if botocore would not try ``tzlocal`` alone, or if
    ``time.localtime`` (which ``tzlocal.is_ambiguous`` calls, and whose error botocore would catch)
    cannot read every second of datetime's range here."""
    key = _local_key()
    try:
        return _offsets[key]
    except KeyError:
        pass
    offset: datetime.timedelta | None = None
    local = tz.tzlocal()
    utils: Any = botocore.utils
    if (
        tuple(utils.get_tzinfo_options()) == (tz.tzlocal,)
        and local.dst(None) == datetime.timedelta(0)  # None where the zone has daylight saving time
    ):
        try:
            for second in _RANGE:
                time.localtime(second)
        except (OverflowError, OSError, ValueError):
            pass
        else:
            offset = local.utcoffset(None)
    with _lock:
        _offsets[key] = offset
    return offset


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
    elif type(value) is int or type(value) is float:  # not bool (botocore reads it: True is 1)
        offset = _epoch_offset()
        if offset is not None:
            try:
                wall = datetime.datetime.fromtimestamp(value, _UTC) + offset
            except (OverflowError, OSError, ValueError):
                pass  # botocore's fallback (_epoch_seconds_to_datetime) or its error
            else:
                return wall.replace(tzinfo=tz.tzlocal())
    parsed: datetime.datetime = botocore.utils.parse_timestamp(value)
    return parsed


def local_now() -> datetime.datetime:
    """``botocore.credentials._local_now()``, the current time as a ``tzlocal()`` datetime, read as
    :func:`parse_timestamp` reads an epoch number (``datetime.now(tz)`` is ``fromtimestamp`` of the
    clock's reading: the same C code, the UTC time, then ``tz.fromutc``)."""
    offset = _epoch_offset()
    if offset is not None:
        try:
            wall = datetime.datetime.now(_UTC) + offset
        except OverflowError:
            pass
        else:
            return wall.replace(tzinfo=tz.tzlocal())
    credentials: Any = botocore.credentials  # its stubs lack the private function
    now: datetime.datetime = credentials._local_now()
    return now


def install_clock(credentials: Any) -> bool:
    """Let ``credentials`` (botocore's refreshable credentials, reading botocore's clock) read the
    time with :func:`local_now`, where botocore's code is the code reviewed. Whether it did."""
    reads: Any = getattr(credentials, "_time_fetcher", None)
    if reads is None or reads is not getattr(botocore.credentials, "_local_now", None) or not reviewed():
        return reads is local_now
    credentials._time_fetcher = local_now
    return True


def reproduced() -> Reproduced:
    """botocore's timestamp reading that :func:`parse_timestamp` reproduces for ``...Z`` values
    and epoch numbers, with the digests of the versions reviewed (botocore 1.44.18; for dateutil's
    ``tzlocal``, whose ``fromutc`` the epoch numbers' reading reproduces, dateutil 2.9.0)."""
    utils: Any = botocore.utils  # its stubs lack the private function
    credentials: Any = botocore.credentials
    local: Any = tz.tzlocal
    return {
        "credentials._local_now": (credentials._local_now, {"5c26d7e6d851669e"}),
        "parse_timestamp": (utils.parse_timestamp, {"9c99fa67c1d1302f"}),
        "_parse_timestamp_with_tzinfo": (utils._parse_timestamp_with_tzinfo, {"dc76511bfbc420a2"}),
        "get_tzinfo_options": (utils.get_tzinfo_options, {"8be2939426b0f129"}),
        "tzlocal.__init__": (local.__init__, {"9c87dbcd6e51746f"}),
        "tzlocal.utcoffset": (local.utcoffset, {"fc59d812a50c4c07"}),
        "tzlocal.dst": (local.dst, {"a3053e30e9c5e747"}),
        "tzlocal._isdst": (local._isdst, {"3190d0b45db568c6"}),
        "tzlocal.is_ambiguous": (local.is_ambiguous, {"38a7856e419d63ca"}),
        "tzlocal._naive_is_dst": (local._naive_is_dst, {"93afea6dc6a39d35"}),
        "tzlocal.fromutc": (local.fromutc, {"a3a1cc620c5dc0e1"}),
        "tzlocal._fromutc": (local._fromutc, {"434f322ff10714ae"}),
        "tzlocal._fold_status": (local._fold_status, {"63cf2e0ea5ce156f"}),
        "_validate_fromutc_inputs": (tz_common._validate_fromutc_inputs, {"775d0aed34dbbad7"}),
        "_datetime_to_timestamp": (tz_module._datetime_to_timestamp, {"4265e9ceee952275"}),
    }


@functools.cache
def reviewed() -> bool:
    """Whether botocore reads timestamps, here, with the code :func:`parse_timestamp` was reviewed
    against (:mod:`mlguard.collect.aws.reviewed`): if not, the collector's clients keep botocore's."""
    return unchanged(reproduced())
