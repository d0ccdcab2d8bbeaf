"""botocore's SigV4 signing, at a fraction of its cost, for the collector's clients.

botocore signs every request with :class:`~botocore.auth.SigV4Auth` (``s3v4``:
:class:`~botocore.auth.S3SigV4Auth`), whose header work goes through the request's
``email.message.Message`` headers: each membership test lowercases every name, each read passes
every value through the email package's surrogate check, the headers to sign are gathered twice
into a fresh ``Message``, and ``request.body`` prepares the whole request (URL, headers, content
length) to read the body. The signing key is derived again (four HMACs) for every request.

:class:`LeanSigV4Auth` and :class:`LeanS3SigV4Auth` are those two signers with the same steps done
on one plain list of the request's headers, read once, and the signing key kept per client for its
(secret, date, region, service). They change the request exactly as botocore's do: the same headers
removed and appended in the same order with the same values (``X-Amz-Date``,
``X-Amz-Security-Token``, ``X-Amz-Content-SHA256``, ``Authorization``), the same ``timestamp`` in
the request's context, the same canonical request, string to sign and signature, the same debug log
lines. Whatever they do not reproduce step for step goes to botocore's own ``add_auth``, decided
before the request is touched: a header name that is not an ASCII string, a value that is not a
string (or holds surrogates: botocore turns it into an email ``Header``), a ``Date`` header,
streaming (trailer) checksums, headers that are not botocore's ``HTTPHeaders``, no credentials.
Presigned URLs and posts, SigV4a, S3 Express, the CRT signers and any other signer are never
replaced: :class:`LeanRequestSigner` swaps only an auth object whose class is exactly
``SigV4Auth`` or ``S3SigV4Auth``.

:func:`install` gives one client this signer (its own ``RequestSigner`` becomes a
:class:`LeanRequestSigner`); botocore itself, and every other client of the process, is untouched.
"""

from __future__ import annotations

import email._policybase
import email.message
import functools
import hmac
import logging
from hashlib import sha256
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.compat
import botocore.signers

from mlguard.collect.aws import timestamps
from mlguard.collect.aws.reviewed import Reproduced, unchanged

_auth: Any = botocore.auth  # read at call time: whatever botocore's module holds then (frozen clocks)
_logger = logging.getLogger(botocore.auth.__name__)  # botocore's own: the same debug lines
_HEADERS_CLASS: Any = botocore.compat.HTTPHeaders
_COMPAT32: Any = email._policybase.Compat32  # its header methods: values as stored, any count
_REQUEST_CLASS: Any = botocore.awsrequest.AWSRequest
_PREPARER_CLASS: Any = botocore.awsrequest.AWSRequestPreparer
_PLAIN_DATA = (type(None), bytes, str, dict)  # bodies whose preparation is only ``_prepare_body``
_BOTOCORE_SIGV4: Any = botocore.auth.SigV4Auth  # its stubs lack the methods overridden here
_BOTOCORE_S3SIGV4: Any = botocore.auth.S3SigV4Auth
_BOTOCORE_SIGNER: Any = botocore.signers.RequestSigner


def _encodable(value: str) -> bool:
    """Whether the email package hands ``value`` back as is (it has no surrogates)."""
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _entries(request: Any) -> list[tuple[str, str, str]] | None:
    """The request's headers as (lowercase name, name, value), in order, or None when they are not
    what this module reproduces exactly (botocore's own signer then signs the request)."""
    headers = request.headers
    if type(headers) is not _HEADERS_CLASS or type(headers.policy) is not _COMPAT32:
        return None
    raw = headers._headers
    if type(raw) is not list:
        return None
    entries: list[tuple[str, str, str]] = []
    for item in raw:
        if type(item) is not tuple or len(item) != 2:
            return None
        name, value = item
        if type(name) is not str or not name.isascii() or type(value) is not str or not _encodable(value):
            return None
        lname = name.lower()
        if lname == "date":
            return None  # botocore then signs with a Date header: its own path
        entries.append((lname, name, value))
    return entries


def _replace(entries: list[tuple[str, str, str]], name: str, value: str) -> None:
    """botocore's ``del headers[name]`` (if present) then ``headers[name] = value``."""
    lname = name.lower()
    if any(e[0] == lname for e in entries):
        entries[:] = [e for e in entries if e[0] != lname]
    entries.append((lname, name, value))


def _store(request: Any, entries: list[tuple[str, str, str]]) -> None:
    request.headers._headers = [(name, value) for _, name, value in entries]


def _body(request: Any) -> Any:
    """``request.body`` without preparing the URL and headers it does not use (botocore's
    ``_prepare_body``, then bytes); any other request or body: ``request.body`` itself."""
    if (
        type(request) is _REQUEST_CLASS
        and type(request._request_preparer) is _PREPARER_CLASS
        and type(request.data) in _PLAIN_DATA
    ):
        body = request._request_preparer._prepare_body(request)
        if isinstance(body, str):
            body = body.encode("utf-8")
        return body
    return request.body


class ClientCache:
    """What one client's signatures share: the last signing key, derived once per (secret, date,
    region, service), and what botocore derives from the last URL alone (the host header, the
    canonical path and, without params, query), per signer class. Each is a pure function of its
    key; a client's calls to a JSON or query service all have the same URL."""

    def __init__(self) -> None:
        self._key: tuple[str, str, str, str, bytes] | None = None
        self._url: tuple[str, type, str, str] | None = None
        self._host: tuple[str, str] | None = None

    def signing_key(self, secret: str, day: str, region: str, service: str) -> bytes:
        last = self._key  # one read: another thread may replace it, never half of it
        if (
            last is not None
            and last[0] == secret
            and last[1] == day
            and last[2] == region
            and last[3] == service
        ):
            return last[4]
        k_date = hmac.new(f"AWS4{secret}".encode(), day.encode("utf-8"), sha256).digest()
        k_region = hmac.new(k_date, region.encode("utf-8"), sha256).digest()
        k_service = hmac.new(k_region, service.encode("utf-8"), sha256).digest()
        signing = hmac.new(k_service, b"aws4_request", sha256).digest()
        self._key = (secret, day, region, service, signing)
        return signing

    def url_parts(self, auth: Any, url: str) -> tuple[str, str]:
        """(canonical path, canonical query of the URL) as ``auth`` derives them."""
        last = self._url
        if last is not None and last[0] == url and last[1] is type(auth):
            return last[2], last[3]
        parts = _auth.urlsplit(url)
        path: str = auth._normalize_url_path(parts.path)
        query: str = auth._canonical_query_string_url(parts)
        self._url = (url, type(auth), path, query)
        return path, query

    def host(self, url: str) -> str:
        """The host header botocore derives from ``url`` (asked only without one: a bad port raises)."""
        last = self._host
        if last is not None and last[0] == url:
            return last[1]
        host: str = _auth._host_from_url(url)
        self._host = (url, host)
        return host


class _Lean:
    """The signing steps of :class:`~botocore.auth.SigV4Auth` on one list of the headers. Mixed
    into a botocore signer class, whose other methods (query string, path, payload policy) it uses."""

    _cache: ClientCache | None = None
    _S3 = False  # S3SigV4Auth: X-Amz-Content-SHA256 always set to the payload's hash

    credentials: Any
    _region_name: Any
    _service_name: Any

    def add_auth(self, request: Any) -> None:
        if not self._lean(request):
            super().add_auth(request)  # type: ignore[misc]

    def _lean(self, request: Any) -> bool:
        """Sign ``request`` as botocore's signer does; False (request untouched) if it is one this
        module leaves to botocore."""
        credentials = self.credentials
        if credentials is None:
            return False  # botocore raises NoCredentialsError
        region, service, access_key, token = (
            self._region_name,
            self._service_name,
            credentials.access_key,
            credentials.token,
        )
        if type(region) is not str or type(service) is not str or type(access_key) is not str:
            return False
        if token and (type(token) is not str or not _encodable(token)):
            return False
        if type(request.method) is not str or type(request.url) is not str:
            return False
        if self._is_streaming_checksum_payload(request):  # type: ignore[attr-defined]
            return False
        entries = _entries(request)
        if entries is None:
            return False

        timestamp: str = _auth.get_current_datetime().strftime(_auth.SIGV4_TIMESTAMP)
        context = request.context
        context["timestamp"] = timestamp
        # _modify_request_before_signing
        if any(e[0] == "authorization" for e in entries):
            entries = [e for e in entries if e[0] != "authorization"]
        _replace(entries, "X-Amz-Date", timestamp)
        if token:
            _replace(entries, "X-Amz-Security-Token", token)
        if not context.get("payload_signing_enabled", True):
            _replace(entries, "X-Amz-Content-SHA256", _auth.UNSIGNED_PAYLOAD)
        if self._S3:
            entries = [e for e in entries if e[0] != "x-amz-content-sha256"]
            _store(request, entries)  # the payload policy reads the headers as they are now
            _replace(entries, "X-Amz-Content-SHA256", self._payload(request))
        _store(request, entries)

        # canonical_request, in botocore's order (the same step fails first): path, query, headers,
        # payload
        cache = self._cache if self._cache is not None else ClientCache()
        method = request.method.upper()
        path, url_query = cache.url_parts(self, request.url)
        params = request.params
        query = self._canonical_query_string_params(params) if params else url_query  # type: ignore[attr-defined]
        blacklist = _auth.SIGNED_HEADERS_BLACKLIST
        to_sign: dict[str, list[str]] = {}
        checksum: str | None = None
        for lname, _, value in entries:
            if checksum is None and lname == "x-amz-content-sha256":
                checksum = value
            if lname not in blacklist:
                values = to_sign.get(lname)
                if values is None:
                    to_sign[lname] = [value]
                else:
                    values.append(value)
        if "host" not in to_sign:
            to_sign["host"] = [cache.host(request.url)]
        names = sorted(to_sign)
        lines = []
        for name in names:
            values = to_sign[name]
            if len(values) == 1:
                lines.append(f"{name}:{' '.join(values[0].split())}")
            else:
                lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}")
        canonical_headers = "\n".join(lines)
        # botocore's signed names are stripped (its canonical ones are not); lowercase ASCII already
        stripped = [n.strip() for n in names]
        signed_headers = ";".join(names if stripped == names else sorted(stripped))
        canonical_request = "\n".join(
            (
                method,
                path,
                query,
                canonical_headers + "\n",
                signed_headers,
                checksum if checksum is not None else self._payload(request),
            )
        )
        debug = _logger.isEnabledFor(logging.DEBUG)
        if debug:
            _logger.debug("Calculating signature using v4 auth.")
            _logger.debug("CanonicalRequest:\n%s", canonical_request)

        day = timestamp[0:8]
        scope = f"{day}/{region}/{service}/aws4_request"
        string_to_sign = "\n".join(
            ("AWS4-HMAC-SHA256", timestamp, scope, sha256(canonical_request.encode("utf-8")).hexdigest())
        )
        if debug:
            _logger.debug("StringToSign:\n%s", string_to_sign)
        key = cache.signing_key(credentials.secret_key, day, region, service)
        signature = hmac.new(key, string_to_sign.encode("utf-8"), sha256).hexdigest()
        if debug:
            _logger.debug("Signature:\n%s", signature)

        request.headers._headers.append(
            (
                "Authorization",
                f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                f"SignedHeaders={signed_headers}, Signature={signature}",
            )
        )
        return True

    def _payload(self, request: Any) -> str:
        """botocore's ``payload`` (not overridden: botocore's own path keeps it), reading the body
        without preparing the whole request."""
        if self._is_streaming_checksum_payload(request):  # type: ignore[attr-defined]
            return _auth.STREAMING_UNSIGNED_PAYLOAD_TRAILER  # type: ignore[no-any-return]
        if not self._should_sha256_sign_payload(request):  # type: ignore[attr-defined]
            return _auth.UNSIGNED_PAYLOAD  # type: ignore[no-any-return]
        request_body = _body(request)
        if request_body and hasattr(request_body, "seek"):
            position = request_body.tell()
            checksum = sha256()
            for chunk in iter(lambda: request_body.read(_auth.PAYLOAD_BUFFER), b""):
                checksum.update(chunk)
            request_body.seek(position)
            return checksum.hexdigest()
        if request_body:
            return sha256(request_body).hexdigest()
        return _auth.EMPTY_SHA256_HASH  # type: ignore[no-any-return]


class LeanSigV4Auth(_Lean, _BOTOCORE_SIGV4):  # type: ignore[misc]
    """:class:`~botocore.auth.SigV4Auth`, signing the same, cheaper."""


class LeanS3SigV4Auth(_Lean, _BOTOCORE_S3SIGV4):  # type: ignore[misc]
    """:class:`~botocore.auth.S3SigV4Auth`, signing the same, cheaper."""

    _S3 = True


_LEAN: dict[type, type] = {botocore.auth.SigV4Auth: LeanSigV4Auth, botocore.auth.S3SigV4Auth: LeanS3SigV4Auth}


class LeanRequestSigner(_BOTOCORE_SIGNER):  # type: ignore[misc]
    """botocore's request signer, whose ``SigV4Auth``/``S3SigV4Auth`` are the lean ones. Every
    choice (signature version, region, signing name, credentials, events) stays botocore's."""

    def get_auth_instance(self, *args: Any, **kwargs: Any) -> Any:
        auth = super().get_auth_instance(*args, **kwargs)
        lean = _LEAN.get(type(auth))
        if lean is not None:
            auth.__class__ = lean  # the same object, every attribute botocore gave it
            cache = self.__dict__.get("_mlguard_cache")
            if cache is None:
                cache = self._mlguard_cache = ClientCache()
            auth._cache = cache
        return auth


def reproduced() -> Reproduced:
    """What the lean signers reproduce of botocore's and the email package's code, each with the
    digests (sha256 of its source, first 16 hex digits) of the versions this module was reviewed
    against (botocore 1.44.18; Python 3.11 to 3.13, whose ``Message.__contains__`` differs only
    in how it is written)."""
    sig, s3 = botocore.auth.SigV4Auth, botocore.auth.S3SigV4Auth
    msg, compat, policy = email.message.Message, email._policybase.Compat32, email._policybase.Policy
    table: list[tuple[Any, str, set[str]]] = [
        (sig, "add_auth", {"0a37f12b13c3d758"}),
        (sig, "headers_to_sign", {"ab710967c39dab72"}),
        (sig, "canonical_headers", {"b730b3c91eeb2128"}),
        (sig, "_header_value", {"e3ae1fb2ba186066"}),
        (sig, "signed_headers", {"14dfde88d7dab31f"}),
        (sig, "payload", {"ef5c4f1d35324a7b"}),
        (sig, "canonical_request", {"fcddf419e5c48554"}),
        (sig, "canonical_query_string", {"20da59ac5e2820ca"}),
        (sig, "scope", {"788d63b218549016"}),
        (sig, "credential_scope", {"ce701df9a25d1b76"}),
        (sig, "string_to_sign", {"5b4ddbeef6205bf9"}),
        (sig, "signature", {"e62ff117617719fa"}),
        (sig, "_sign", {"410820ae02f87992"}),
        (sig, "_inject_signature_to_request", {"9ee031dda3b3cb18"}),
        (sig, "_modify_request_before_signing", {"c5366d6e92e5a6c0"}),
        (sig, "_set_necessary_date_headers", {"63f0a54a2d1df80d"}),
        (s3, "_modify_request_before_signing", {"0123ee7de45e9bf3"}),
        (botocore.awsrequest.AWSRequest, "body", {"7bf497356eb44f0e"}),
        (botocore.awsrequest.AWSRequestPreparer, "prepare", {"030fa70958c90192"}),
        (botocore.signers.RequestSigner, "get_auth_instance", {"cef293447a8fab22"}),
        (msg, "__setitem__", {"e7b626e0f9398993"}),
        (msg, "__delitem__", {"c2fb3f8282e670b4"}),
        (msg, "__contains__", {"c5cc9c0bb4a51533", "1b23917d87965627"}),
        (msg, "get", {"97a06cf1929b2ebd"}),
        (msg, "get_all", {"666b254394b6993e"}),
        (msg, "items", {"3826dc1286911048"}),
        (compat, "header_fetch_parse", {"a20d9c35f8528a08"}),
        (compat, "header_store_parse", {"544ae047f51cfadb"}),
        (compat, "_sanitize_header", {"6488eaf9470b7093"}),
        (policy, "header_max_count", {"29d733c365802adb"}),
    ]
    code = {f"{owner.__name__}.{name}": (getattr(owner, name), digests) for owner, name, digests in table}
    return {name: (c.fget if isinstance(c, property) else c, d) for name, (c, d) in code.items()}


@functools.cache
def reviewed() -> bool:
    """Whether the code the lean signers reproduce is, here, the code they were reviewed against
    (:mod:`mlguard.collect.aws.reviewed`): if not, the collector's clients keep botocore's signer."""
    return unchanged(reproduced())


def install(client: Any) -> None:
    """Sign ``client``'s requests with the lean signers (a no-op for a signer that is not exactly
    botocore's ``RequestSigner``, or where botocore's code is not the code reviewed:
    :func:`reviewed`), and its credentials the collector's clock (``timestamps.install_clock``)."""
    signer: Any = getattr(client, "_request_signer", None)
    if type(signer) is _BOTOCORE_SIGNER and reviewed():
        signer.__class__ = LeanRequestSigner
    # the expiry check before each signature (an assumed role's refreshable credentials) reads the
    # clock without dateutil's tzlocal.fromutc, where that is botocore's reading (timestamps.py)
    timestamps.install_clock(getattr(signer, "_credentials", None))
