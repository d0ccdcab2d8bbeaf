"""The HTTPS path of the scan's clients: one TLS context per settings, one pool per endpoint.

botocore gives every client its own HTTP session (``botocore.httpsession.URLLib3Session``): its own
urllib3 ``PoolManager``, hence its own connections, and its own ``SSLContext``, into which urllib3
loads the CA bundle (certifi's ``cacert.pem``, ``AWS_CA_BUNDLE`` or the client's ``verify``) again
for every connection it opens (``ssl_wrap_socket`` calls ``load_verify_locations`` whenever it is
given ``ca_certs``, which botocore sets on each request): some 15 ms of CPU per connection for
certifi's bundle. An organisation scan makes one client per (account, region, service), so it
opened connections (a TCP and TLS handshake each, then the bundle parsed) for every client, though
ten accounts' clients of ``sagemaker.us-east-1.amazonaws.com`` talk to the same host.

Here the clients of a collector's sessions (:class:`Session`) send through :class:`Pools`:

- one ``SSLContext`` per (CA bundle, client certificate) per process (:func:`context_for`),
  botocore's own (``create_urllib3_context``), into which the bundle and the certificate are
  loaded once; a connection then gets no ``ca_certs`` (nothing to reload). Where loading fails
  (a missing or bad bundle, an encrypted key), nothing changes: urllib3 is given the files as
  before, loads them for the connection and fails with the same error, in the same place;
- one pool manager per (verify, proxies, proxy settings, client certificate, socket options),
  shared by every client with these settings: urllib3 keeps one bounded pool per endpoint host in
  it (its size: the scan's budget of calls in flight, or the client's ``max_pool_connections`` if
  larger), so the clients of one endpoint share its connections, whatever their account. A
  connection carries no identity (each request is signed with its client's credentials), and a
  client with other TLS, proxy or socket settings gets other pools;
- each client keeps its own settings for the rest: its timeouts (given with every request), its
  proxies and their headers, its endpoint, credentials and retries.

Connections are closed by :meth:`Pools.close` at the end of the scan (the clients, dropped with
their region's work, close nothing). Proxied connections are pooled the same way but keep
urllib3's per-connection loading (a TLS proxy without its own CA bundle is verified with the
client's bundle, given per connection).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import botocore.endpoint
import botocore.session
from botocore.httpsession import URLLib3Session, create_urllib3_context, get_cert_path

from mlguard.collect.aws import clients, configreads
from mlguard.collect.aws.reviewed import Reproduced, unchanged

try:  # urllib3's own test (urllib3.util.ssl_), before loading a key whose passphrase it would ask for
    from urllib3.util.ssl_ import _is_key_file_encrypted
except ImportError:  # pragma: no cover  (an urllib3 without it: keys are loaded per connection)

    def _is_key_file_encrypted(key_file: str) -> bool:
        return True


class TlsContext:
    """A botocore ``SSLContext`` and what has been loaded into it (once)."""

    def __init__(self) -> None:
        self.ssl = create_urllib3_context()
        self._lock = threading.Lock()
        self._verify: set[str] = set()
        self._chain: set[tuple[str, str | None]] = set()

    def verify_locations(self, ca_certs: str) -> bool:
        """Load the CA bundle ``ca_certs`` (once); False if it cannot be (urllib3 then tries, and
        fails, for each connection as before)."""
        if ca_certs in self._verify:
            return True
        with self._lock:
            if ca_certs not in self._verify:
                try:
                    self.ssl.load_verify_locations(ca_certs)
                except (OSError, ValueError):
                    return False
                self._verify.add(ca_certs)
        return True

    def cert_chain(self, cert_file: str, key_file: str | None) -> bool:
        """Load the client certificate (once); False if it cannot be without a passphrase."""
        key = (cert_file, key_file)
        if key in self._chain:
            return True
        with self._lock:
            if key not in self._chain:
                if key_file and _is_key_file_encrypted(key_file):
                    return False  # urllib3 refuses it per connection, with its own message
                try:
                    self.ssl.load_cert_chain(cert_file, key_file)
                except (OSError, ValueError):
                    return False
                self._chain.add(key)
        return True


_CONTEXTS: dict[tuple[Any, ...], TlsContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def context_for(verify: Any, cert_file: str | None, key_file: str | None) -> TlsContext:
    """This process's context for clients with ``verify`` (True, False or a CA bundle's path) and
    this client certificate. urllib3 sets a context's verify mode for each connection: clients that
    verify and clients that do not never share one."""
    key = (verify if isinstance(verify, str) else bool(verify), cert_file, key_file)
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            context = _CONTEXTS[key] = TlsContext()
    return context


class SharedPools:
    """The pool managers of the clients with one set of HTTP settings: the direct one and one per
    proxy URL, each holding one pool per endpoint host."""

    def __init__(self, context: TlsContext, maxsize: int) -> None:
        self.context = context
        self.maxsize = maxsize
        self.direct: Any = None
        self.proxied: dict[str, Any] = {}
        self.lock = threading.Lock()

    def manager(self, client: _ClientHttp, proxy_url: str | None) -> Any:
        if proxy_url is None:
            if self.direct is None:
                with self.lock:
                    if self.direct is None:
                        self.direct = client.own_manager()
            return self.direct
        manager = self.proxied.get(proxy_url)
        if manager is None:
            with self.lock:
                manager = self.proxied.get(proxy_url)
                if manager is None:
                    manager = self.proxied[proxy_url] = client.own_proxy_manager(proxy_url)
        return manager

    def clear(self) -> None:
        with self.lock:
            managers = [m for m in [self.direct, *self.proxied.values()] if m is not None]
        for manager in managers:
            manager.clear()


_BOTOCORE_HTTP: Any = URLLib3Session  # its stubs lack the private parts used here


class _ClientHttp(_BOTOCORE_HTTP):  # type: ignore[misc]
    """A client's HTTP session: botocore's, with its settings, sending through shared pools."""

    def __init__(self, shared: SharedPools, timeout: Any, **settings: Any) -> None:
        self._shared = shared
        super().__init__(**settings)
        self._timeout = timeout  # as the client's (botocore's takes a pair and makes it this)

    def _get_ssl_context(self) -> ssl.SSLContext:
        context: ssl.SSLContext = self._shared.context.ssl
        return context

    def _get_pool_manager_kwargs(self, **extra_kwargs: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = super()._get_pool_manager_kwargs(**extra_kwargs)
        kwargs["maxsize"] = max(self._shared.maxsize, self._max_pool_connections)
        return kwargs

    def own_manager(self) -> Any:
        return self._manager

    def own_proxy_manager(self, proxy_url: str) -> Any:
        return super()._get_proxy_manager(proxy_url)

    def _get_connection_manager(self, url: str, proxy_url: str | None = None) -> Any:
        return self._shared.manager(self, proxy_url)

    def _setup_ssl_cert(self, conn: Any, url: str, verify: Any) -> None:
        """botocore's settings of the (shared) pool for this request, without the files loaded in
        the context already. Each attribute is set once, to its final value: another thread may be
        opening a connection of this pool meanwhile."""
        https = url.lower().startswith("https")
        direct = https and getattr(conn, "proxy", None) is None  # proxied: see the module's docstring
        context = self._shared.context
        if https and verify:
            ca_certs = str(get_cert_path(verify))
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None if direct and context.verify_locations(ca_certs) else ca_certs
        else:
            conn.cert_reqs = "CERT_NONE"
            conn.ca_certs = None
        cert_file, key_file = self._cert_file, self._key_file
        if direct and cert_file is not None and context.cert_chain(cert_file, key_file):
            cert_file = key_file = None
        conn.cert_file, conn.key_file = cert_file, key_file

    def _get_request_timeout(self, request: Any) -> Any:
        """The client's own timeouts (the pools are shared by clients whose timeouts differ),
        unless the request overrides its read timeout (botocore's per-request override)."""
        return super()._get_request_timeout(request) or self._timeout

    def close(self) -> None:
        """Nothing: the pools are the scan's (:meth:`Pools.close`)."""


class Pools:
    """The scan's shared HTTP connection pools (see the module's docstring); ``maxsize``: the
    connections kept per endpoint host, the scan's budget of calls in flight."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._shared: dict[tuple[Any, ...], SharedPools] = {}
        self._lock = threading.Lock()

    def adopt(self, client: Any) -> None:
        """Make ``client`` send through the shared pools of its settings (a client whose endpoint
        has another kind of HTTP session is left as it is)."""
        endpoint: Any = getattr(client, "_endpoint", None)
        own: Any = getattr(endpoint, "http_session", None)
        if type(own) is not _BOTOCORE_HTTP:
            return
        proxy_config = own._proxy_config
        settings: dict[str, Any] = {
            "verify": own._verify,
            "proxies": proxy_config._proxies,
            "timeout": own._timeout,
            "max_pool_connections": own._max_pool_connections,
            "socket_options": own._socket_options,
            "client_cert": own._cert_file if own._key_file is None else (own._cert_file, own._key_file),
            "proxies_config": proxy_config.settings,
        }
        classes = dict(own._pool_classes_by_scheme)  # its connection classes (e.g. headers.py's)
        key = (
            settings["verify"],
            _frozen(settings["proxies"]),
            _frozen(settings["proxies_config"]),
            own._cert_file,
            own._key_file,
            _frozen(settings["socket_options"]),
            tuple(sorted(classes.items())),
        )
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                ca = get_cert_path(own._verify) if own._verify else False
                context = context_for(ca, own._cert_file, own._key_file)
                shared = self._shared[key] = SharedPools(context, self.maxsize)
        http = _ClientHttp(shared, **settings)
        http._pool_classes_by_scheme.update(classes)  # the table its pool managers hold, kept
        endpoint.http_session = http

    def close(self) -> None:
        """Close every pooled connection (the pools are made again if the collector scans again)."""
        with self._lock:
            shared = list(self._shared.values())
        for pools in shared:
            pools.clear()


def _frozen(value: Any) -> Any:
    """A hashable, order-free form of settings made of dicts, lists and tuples."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


#: whether a :class:`Session` is making a client in this context (whose HTTP session it replaces)
_MAKING: contextvars.ContextVar[bool] = contextvars.ContextVar("mlguard_making_client", default=False)
_BOTOCORE_SSL_CONTEXT: Any = _BOTOCORE_HTTP._get_ssl_context


@contextlib.contextmanager
def making_client() -> Iterator[None]:
    """Within: a :class:`Session` is making a client in this context (see :func:`_ssl_context`)."""
    token = _MAKING.set(True)
    try:
        yield
    finally:
        _MAKING.reset(token)


def _ssl_context(http: Any) -> ssl.SSLContext:
    """``URLLib3Session._get_ssl_context`` while the collector's sessions are in this process.

    botocore makes an HTTP session for every client, and for it a new ``SSLContext``
    (``create_urllib3_context``: ~0.13 ms of CPU, a fifth of the cost of a client), given to a
    pool manager that opens nothing: :meth:`Pools.adopt` replaces that HTTP session with one sending
    through the shared pools before the client sends anything. So while a :class:`Session` makes a
    client (and only for botocore's own HTTP session class), the context given is the one the
    shared pools will use for these settings (:func:`context_for`: made by the same
    ``create_urllib3_context``); everywhere else, botocore's own new context."""
    if _MAKING.get() and type(http) is _BOTOCORE_HTTP and reviewed():
        ca = get_cert_path(http._verify) if http._verify else False
        shared: ssl.SSLContext = context_for(ca, http._cert_file, http._key_file).ssl
        return shared
    context: ssl.SSLContext = _BOTOCORE_SSL_CONTEXT(http)
    return context


def reproduced() -> Reproduced:
    """The botocore code :func:`_ssl_context` relies on (an HTTP session's context is made in its
    constructor for its pool managers, and used only when it sends: never, for a client whose HTTP
    session :meth:`Pools.adopt` replaces), with the digests of the versions reviewed (botocore
    1.44.18)."""
    endpoint: Any = botocore.endpoint.EndpointCreator
    table: list[tuple[str, Any, set[str]]] = [
        ("URLLib3Session._get_ssl_context", _BOTOCORE_SSL_CONTEXT, {"edf40308e93a7944"}),
        ("URLLib3Session.__init__", _BOTOCORE_HTTP.__init__, {"9feaa1cb12588f9a"}),
        (
            "URLLib3Session._get_pool_manager_kwargs",
            _BOTOCORE_HTTP._get_pool_manager_kwargs,
            {"afc825ce8ef08191"},
        ),
        ("EndpointCreator.create_endpoint", endpoint.create_endpoint, {"7e17d54b58eec698"}),
    ]
    return {name: (code, digests) for name, code, digests in table}


@functools.cache
def reviewed() -> bool:
    """Whether botocore's HTTP session is, here, the code :func:`_ssl_context` was reviewed against
    (:mod:`mlguard.collect.aws.reviewed`): if not, every client's HTTP session makes its context."""
    return unchanged(reproduced())


class Session(botocore.session.Session):
    """A botocore session whose clients send through ``pools`` (:meth:`Pools.adopt`)."""

    def __init__(self, pools: Pools, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pools = pools
        configreads.adopt(self)  # a client's configuration read once per variable (configreads.py)
        _BOTOCORE_HTTP._get_ssl_context = _ssl_context  # (see there: the same for anyone else)

    def _register_builtin_handlers(self, events: Any) -> None:
        clients.share_aliases(events)  # before its ~130 registrations: each name aliased once a process
        super()._register_builtin_handlers(events)  # type: ignore[misc]  # not in its stubs

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        with making_client(), configreads.reading_once():
            client = super().create_client(*args, **kwargs)
        self.pools.adopt(client)
        return client
