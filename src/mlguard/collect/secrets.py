"""The one secret classifier, free-text mask and final scrub, for every provider.

:func:`classify` judges a ``(key, value)`` pair with the name and the value together:

* ``reference``: the value points at a secret store (``{{secrets/scope/key}}``, a Secrets Manager or
  SSM parameter ARN, ``{{resolve:secretsmanager:...}}``); no secret is exposed.
* ``placeholder``: the value is empty-ish or a template (``-``, ``changeme``, ``<your-key>``,
  ``${VAR}``); no secret is exposed.
* ``secret``: the value has a credential's shape whatever its key (detect-secrets' regex plugins:
  AWS, Azure storage, GitHub, Slack, JWT, private keys, URLs with a password...; plus Databricks,
  Hugging Face, OpenAI-style and Google keys, credential query parameters), or the key names a
  credential and the value is neither a flag, a number, a path, a URI nor an ARN, or the value is a
  long high-entropy base64 string (detect-secrets' entropy measure).
* ``not-secret``: everything else (UUIDs, ARNs, S3 URIs, image digests, instance types, hashes).

:func:`mask_text` replaces each credential-shaped part of free text by :data:`REDACTED` and keeps
the rest. The value of a credential key in free text (``key=value``, ``key: value``, ``export
KEY=value``, ``--flag value``) is masked to the end of its token, or whole when it is quoted; the
password of a URL up to the last ``@`` of its authority. :func:`scrub_resource` is the last step
of every collector (``InventorySink.add``): it runs over every string of a resource (name, tags,
data), masks what is a secret and records the *fact* in ``data["plaintext_secret_paths"]`` (the
paths, never the values), so policies can report a plaintext secret that is no longer in the
inventory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

from mlguard.model import Resource

if TYPE_CHECKING:
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

REDACTED = "***REDACTED***"
SECRET_PATHS = "plaintext_secret_paths"  # data key: where the final scrub found plaintext secrets

Verdict = Literal["secret", "placeholder", "reference", "not-secret"]

# Strings longer than this are cut before scanning (every regex runs in bounded time).
MAX_SCANNED_CHARS = 65_536


@dataclass(frozen=True)
class _Detectors:
    """detect-secrets' value-shape plugins and entropy measure. Left out: the keyword and
    IBM/SoftLayer/Cloudant plugins (assignment heuristics for source files; the name rules below do
    that job for key/value pairs), the public-IP plugin (an IP is not a credential) and the entropy
    plugins (used separately)."""

    plugins: tuple[RegexBasedDetector, ...]
    jwt: RegexBasedDetector  # its matches are checked by the plugin (a JWT's parts must decode)
    aws_key_id: re.Pattern[str]
    entropy: Base64HighEntropyString


@cache
def _detectors() -> _Detectors:
    """Imported on the first scrub, not at start-up: detect-secrets (and requests under it) is
    most of what ``mlguard --help`` would otherwise load."""
    from detect_secrets.plugins.artifactory import ArtifactoryDetector
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
    from detect_secrets.plugins.basic_auth import BasicAuthDetector
    from detect_secrets.plugins.discord import DiscordBotTokenDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.mailchimp import MailchimpDetector
    from detect_secrets.plugins.npm import NpmDetector
    from detect_secrets.plugins.openai import OpenAIDetector
    from detect_secrets.plugins.private_key import PrivateKeyDetector
    from detect_secrets.plugins.pypi_token import PypiTokenDetector
    from detect_secrets.plugins.sendgrid import SendGridDetector
    from detect_secrets.plugins.slack import SlackDetector
    from detect_secrets.plugins.square_oauth import SquareOAuthDetector
    from detect_secrets.plugins.stripe import StripeDetector
    from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
    from detect_secrets.plugins.twilio import TwilioKeyDetector

    jwt = JwtTokenDetector()
    plugins: tuple[RegexBasedDetector, ...] = (
        AWSKeyDetector(),
        ArtifactoryDetector(),
        AzureStorageKeyDetector(),
        BasicAuthDetector(),
        DiscordBotTokenDetector(),
        GitHubTokenDetector(),
        GitLabTokenDetector(),
        jwt,
        MailchimpDetector(),
        NpmDetector(),
        OpenAIDetector(),
        PrivateKeyDetector(),
        PypiTokenDetector(),
        SendGridDetector(),
        SlackDetector(),
        SquareOAuthDetector(),
        StripeDetector(),
        TelegramBotTokenDetector(),
        TwilioKeyDetector(),
    )
    return _Detectors(plugins, jwt, AWSKeyDetector.denylist[0], Base64HighEntropyString())


# Formats detect-secrets 1.5 does not know.
_EXTRA = (
    re.compile(r"\bdapi[0-9a-f]{32}(?:-\d+)?\b"),  # Databricks personal access token
    re.compile(r"\bdose[0-9a-f]{32}\b"),  # Databricks OAuth secret
    re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),  # Hugging Face token
    re.compile(r"\bsk-(?:proj-|ant-[a-z0-9]+-)?[A-Za-z0-9_-]{20,}"),  # OpenAI / Anthropic style
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API key
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b"),  # GitHub fine-grained token
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),  # GitHub tokens of any length
    re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"),  # Azure storage account key
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]{0,8192}?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"),
    # user:password@ in any URL (detect-secrets' basic-auth plugin stops at '!', '$', ...); the
    # password runs to the last '@' of the authority, so 'p@ss:w0rd' is masked whole.
    re.compile(r"\b[a-z][a-z0-9+.-]{0,30}://[^/\s:@{}]{1,256}:([^/\s{}]{1,256})@", re.IGNORECASE),
)

# The words of a key that name a credential (keys are split into lower-case words first).
_CRED_WORDS = frozenset(
    {
        "password", "passwd", "passphrase", "pwd", "pw", "pass", "secret", "secrets", "token", "apikey",
        "credential", "credentials", "sas", "signature", "sig", "bearer", "dsn", "privatekey",
        "accesskey", "secretkey", "clientsecret", "connectionstring", "authtoken", "accountkey",
        "sessionkey", "signingkey", "accesstoken", "refreshtoken", "sastoken", "pat",
    }
)  # fmt: skip
_CRED_PAIRS = frozenset(
    {
        ("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"), ("account", "key"),
        ("client", "secret"), ("connection", "string"), ("conn", "str"), ("session", "key"),
        ("signing", "key"), ("master", "key"), ("encryption", "key"), ("storage", "key"),
    }
)  # fmt: skip
# A single word ending in one of these names a credential too (PGPASSWORD, dbpasswd, mysqlpwd,
# clientsecret, hftoken, openaiapikey); the short words (pass, pw, sig, pat, sas) would match
# ordinary words (bypass, compat, kansas), so they count only on their own.
_CRED_SUFFIXES = (
    "password", "passwd", "passphrase", "pwd", "secret", "token", "apikey", "accesskey", "secretkey",
    "privatekey", "accountkey", "credential", "credentials",
)  # fmt: skip
# A key whose last word is one of these names, counts or configures a credential, it does not hold
# one (token_id, credential_name, secret_arn, password_min_length, secret_like_variables).
_NAMING_WORDS = frozenset(
    {
        "name", "names", "id", "ids", "arn", "arns", "type", "types", "count", "enabled", "disabled",
        "ttl", "length", "lifetime", "age", "days", "hours", "minutes", "seconds", "expiry",
        "expiration", "expires", "time", "at", "scope", "scopes", "provider", "providers", "mode",
        "path", "paths", "file", "location", "version", "policy", "rotation", "region", "header",
        "size", "timeout", "kind", "class", "format", "source", "store", "manager", "ref",
        "reference", "field", "variables", "keys", "parameters", "params", "required", "rotated",
        "used", "limit", "max", "min", "secrets", "status", "state",
        "algorithm", "spec", "usage", "origin", "owner", "user", "username", "date", "created",
    }
)  # fmt: skip

_REFERENCE = re.compile(
    r"^(?:\{\{\s*secrets/[^/{}\s]+/[^/{}\s]+\s*\}\}"  # Databricks secret reference
    r"|arn:aws[\w-]*:secretsmanager:\S+"
    r"|arn:aws[\w-]*:ssm:[^:]*:\d*:parameter/\S+"
    r"|\{\{resolve:(?:secretsmanager|ssm-secure|ssm):[^}]+\}\}"  # CloudFormation dynamic reference
    r"|(?:secretsmanager|ssm|vault|keyvault|azurekeyvault)://\S+"
    r"|dbutils\.secrets\.get\([^)]*\))$",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"^(?:[-*xX._?#0]+"
    r"|<[^<>]*>|\[[^\[\]]*\]"
    r"|\$\{[^}]*\}|\$[A-Za-z_]\w*|\$\([^)]*\)|%\(\w+\)s|%[A-Za-z_]\w*%|\{\{[^}]*\}\}|\{[A-Za-z_]\w*\}"
    r"|change[_-]?(?:me|it)|replace[_-]?me|todo|tbd|fixme|none|null|nil|n/?a|placeholder|redacted|"
    r"dummy|example|sample|secret|password|passwd|token|api[_-]?key|"
    r"(?:your|replace|insert|enter|put|add)[_-]\S*|\S*[_-]here)$",
    re.IGNORECASE,
)
# Values that a credential-named key may hold without holding a credential.
_BENIGN = re.compile(
    r"^(?:true|false|yes|no|on|off|enabled?|disabled?"
    r"|[+-]?\d{1,4}(?:\.\d+)?\s*[a-zA-Z%]{0,7}"  # small numbers, sizes, durations (not a PIN)
    r"|(?:/|\./|~/|dbfs:/|file:/|s3a?://|gs://|abfss?://|wasbs?://)\S*"  # paths and storage URIs
    r"|arn:aws[\w-]*:\S+"
    r"|[a-z][a-z0-9+.-]*://\S*)$",  # URIs (their credentials are found by shape first)
    re.IGNORECASE,
)
_QUERY_CRED = re.compile(
    r"[?&;](?P<key>access_token|token|api[_-]?key|apikey|key|sig|signature|password|pwd|secret|"
    r"client_secret|x-amz-signature|x-amz-security-token|x-amz-credential|code|auth)="
    r"(?P<value>[^&#;\s\"'<>]+)",
    re.IGNORECASE,
)
_KEY = r"[A-Za-z_][\w.-]{0,127}"  # bounded: every regex here runs in linear time
# key=value / key: value / "key": "value" in free text (scripts, connection strings, arguments).
# Only the key and the start of its value are matched (group q: an opening quote); the value's end
# is found by _value_end, so a key inside another key's value is still found.
_ASSIGNMENT = re.compile(
    rf"(?<![\w.])(?P<key>{_KEY})[\"']?[ \t]{{0,8}}(?::=|=|:)[ \t]{{0,8}}"
    r"(?:(?P<q>[\"'])|(?=[^\s\"',;&]))",
)
# --flag value in command lines.
_FLAG_VALUE = re.compile(rf"(?<!\S)(?P<key>--?{_KEY})[ \t]{{1,8}}(?:(?P<q>[\"'])|(?=[^\s\"'-]))")
# A quote not closed within this many characters is not a quoted value; a value is judged on at
# most this many characters (and masked whole), so each match costs bounded time.
_MAX_VALUE = 1024
_WHITESPACE = re.compile(r"\s")
# What may follow a reference or placeholder inside one token: the next assignment of a
# connection string or query (';Database=x', '&ssl=true'), or a separator alone.
_NEXT_ASSIGNMENT = re.compile(r"[,;&](?:[A-Za-z_][\w.-]{0,127}=.*)?", re.DOTALL)
_HEAD = re.compile(r"[^,;&]*")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_HEX_OR_UUID = re.compile(r"^[0-9a-fA-F-]+$")


_DIGEST_WORDS = frozenset({"sha", "sha1", "sha256", "sha512", "md5", "digest", "checksum", "hash", "etag"})
# "token" after these words is a paging or idempotency token, not a credential.
_NOT_CREDENTIAL_TOKENS = frozenset({"client", "next", "continuation", "pagination", "page", "idempotency"})


def key_words(key: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", key).lower()) if w]


@lru_cache(maxsize=4096)
def credential_key(key: str) -> bool:
    """The key names a credential (and is not a name, count or setting about one)."""
    words = key_words(key)
    if not words or words[-1] in _NAMING_WORDS:
        return False
    if words[-1] == "token" and len(words) > 1 and words[-2] in _NOT_CREDENTIAL_TOKENS:
        return False
    if any(w in _CRED_WORDS or _credential_suffix(w) for w in words):
        return True
    return any(pair in _CRED_PAIRS for pair in pairwise(words))


def _credential_suffix(word: str) -> bool:
    """One word that ends in a credential word (``pgpassword``), but not a paging or idempotency
    token written as one word (``nexttoken``, ``clienttoken``)."""
    for suffix in _CRED_SUFFIXES:
        if len(word) > len(suffix) and word.endswith(suffix):
            return not (suffix == "token" and word[: -len(suffix)] in _NOT_CREDENTIAL_TOKENS)
    return False


def is_reference(value: str) -> bool:
    return bool(_REFERENCE.match(value.strip()))


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.match(value.strip()))


def high_entropy(value: str) -> bool:
    """A long random-looking base64 string: no hex digest, UUID, word, path or identifier."""
    if len(value) < 32 or len(value) > 512 or _HEX_OR_UUID.match(value):
        return False
    if not (re.search(r"[a-z]", value) and re.search(r"[A-Z]", value) and re.search(r"\d", value)):
        return False
    entropy = _detectors().entropy
    if any(c not in entropy.charset for c in value):
        return False
    # Random base64 changes character class (upper, lower, digit, symbol) at about two characters
    # in three; CamelCase names and hyphenated words far less often.
    classes = [_char_class(c) for c in value]
    changes = sum(a != b for a, b in pairwise(classes))
    if changes / (len(value) - 1) < 0.5:
        return False
    return entropy.calculate_shannon_entropy(value) > entropy.entropy_limit


def _char_class(c: str) -> int:
    return 0 if c.islower() else 1 if c.isupper() else 2 if c.isdigit() else 3


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


# Every format above needs a run of 11+ word characters (the shortest: Artifactory's AP... keys),
# a private key header or a URL with user info: a string with none of them skips ~30 regexes.
_CANDIDATE = re.compile(r"[A-Za-z0-9_]{11}|PRIVATE KEY|://\S*@")


def _plugin_spans(text: str) -> Iterator[_Span]:
    if not _CANDIDATE.search(text):
        return
    detectors = _detectors()
    for plugin in detectors.plugins:
        for regex in plugin.denylist:
            for m in regex.finditer(text):
                groups = [i for i in range(1, (m.lastindex or 0) + 1) if m.group(i)]
                i = groups[-1] if groups else 0
                if plugin is detectors.jwt and not any(plugin.analyze_string(m.group(0))):
                    continue
                yield _Span(m.start(i), m.end(i))
    for regex in _EXTRA:
        for m in regex.finditer(text):
            i = 1 if m.lastindex else 0
            if not (i and (is_placeholder(m.group(i)) or is_reference(m.group(i)))):
                yield _Span(m.start(i), m.end(i))


def _assignment_spans(text: str) -> Iterator[_Span]:
    for m in _QUERY_CRED.finditer(text):
        value = m.group("value")
        if not (is_placeholder(value) or is_reference(value)) and len(value) >= 6:
            yield _Span(m.start("value"), m.end("value"))
    for regex in (_ASSIGNMENT, _FLAG_VALUE):
        token_end = -1  # the end of the whitespace-delimited token found last (matches come in order)
        masked_to = -1  # the end of the last value masked: a key inside it needs no second look
        for m in regex.finditer(text):
            start, quote = m.end(), m.group("q")
            if start < masked_to or not credential_key(m.group("key").lstrip("-")):
                continue
            end = text.find(quote, start, start + _MAX_VALUE + 1) if quote else -1
            quoted = end >= 0
            if not quoted:  # unquoted (or never closed): the value runs to the end of its token
                if token_end < start:
                    ws = _WHITESPACE.search(text, start)
                    token_end = ws.start() if ws else len(text)
                end = token_end
            if _token_secret(text[start : min(end, start + _MAX_VALUE)], quoted):
                masked_to = end
                yield _Span(start, end)


def _token_secret(value: str, quoted: bool) -> bool:
    """The value of a credential key in free text (a whole quoted string, or the rest of its token)
    is a secret. A reference or placeholder followed by the next assignment of the same token
    (``{{secrets/db/pw}}&ssl=true``, ``${PW};Database=x``) is not."""
    if not quoted:
        head = _HEAD.match(value)
        rest = value[head.end() :] if head else ""
        if head and rest and _NEXT_ASSIGNMENT.fullmatch(rest) and _exempt_value(head.group(0)):
            return False
    return _free_text_secret(value)


def _exempt_value(value: str) -> bool:
    return is_placeholder(value) or is_reference(value) or bool(_BENIGN.match(value))


def _free_text_secret(value: str) -> bool:
    """A value assigned to a credential name inside free text: words are too common there
    ("password: see the vault"), so it must look like a password (6+ characters, not one word)."""
    if len(value) < 6 or _exempt_value(value):
        return False
    return not value.isalpha() or not value.islower()


def _token_spans(text: str) -> Iterator[_Span]:
    for m in re.finditer(r"[A-Za-z0-9+/_-]{32,}={0,2}", text):
        if high_entropy(m.group(0)):
            yield _Span(m.start(), m.end())


def secret_spans(text: str) -> list[tuple[int, int]]:
    """The merged character ranges of ``text`` that hold credentials."""
    text = text[:MAX_SCANNED_CHARS]
    spans = sorted(
        (s.start, s.end)
        for s in (*_plugin_spans(text), *_assignment_spans(text), *_token_spans(text))
        if s.end > s.start
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=65_536)
def _shape(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(secret_spans(text))


def has_credential(text: str) -> bool:
    return bool(_shape(text))


def mask_text(text: str) -> str:
    """Free text with every credential-shaped part replaced by :data:`REDACTED`."""
    spans = _shape(text)
    if not spans:
        return text if len(text) <= MAX_SCANNED_CHARS else text[:MAX_SCANNED_CHARS] + REDACTED
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], REDACTED]
        last = end
    tail = text[last:] if len(text) <= MAX_SCANNED_CHARS else text[last:MAX_SCANNED_CHARS] + REDACTED
    out.append(tail)
    return "".join(out)


@lru_cache(maxsize=65_536)
def classify(key: str, value: str | bool | int | float | None) -> Verdict:
    """Judge a (key, value) pair: ``secret``, ``placeholder``, ``reference`` or ``not-secret``."""
    if value is None or isinstance(value, bool | int | float):
        return "not-secret"
    text = str(value).strip()
    if not text:
        return "not-secret"
    if REDACTED in text:
        return "secret"  # a value (or part of one) redacted earlier in the collector
    if is_reference(text):
        return "reference"
    shape = _shape(text)
    if shape and not _only_key_ids(text, shape, key) and not _digest(key, text):
        return "secret"
    if is_placeholder(text):
        return "placeholder"
    if credential_key(key) and not _BENIGN.match(text) and not shape:
        return "secret"
    return "not-secret"


def _digest(key: str, text: str) -> bool:
    """A random-looking value under a key that names a digest (``code_sha256``, ``etag``) or a
    paging/idempotency token (``client_token``) is one, unless it also has a credential's format."""
    words = key_words(key)
    paging = len(words) > 1 and words[-1] == "token" and words[-2] in _NOT_CREDENTIAL_TOKENS
    if not (paging or _DIGEST_WORDS.intersection(words)):
        return False
    text = text[:MAX_SCANNED_CHARS]
    return not any(True for _ in (*_plugin_spans(text), *_assignment_spans(text)))


def _only_key_ids(text: str, spans: tuple[tuple[int, int], ...], key: str) -> bool:
    """An AWS access key *id* under a key that names it (``access_key_id``) is an identifier."""
    words = key_words(key)
    if not words or words[-1] not in ("id", "ids"):
        return False
    aws_key_id = _detectors().aws_key_id
    return all(aws_key_id.fullmatch(text[s:e]) for s, e in spans)


def redact(key: str, value: str) -> tuple[str, bool]:
    """(value to keep, whether it held a plaintext secret): credential-shaped parts masked in place,
    a value secret by its key alone replaced whole."""
    if classify(key, value) != "secret":
        return value, False
    return (REDACTED if credential_key(key) else mask_text(value)), True


def is_secret(key: str, value: Any) -> bool:
    """The (key, value) pair holds a plaintext credential (not a reference or placeholder)."""
    return classify(str(key), None if value is None else str(value)) == "secret"


def variable_flags(values: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Variables as names plus a ``looks_like_secret`` flag; values dropped (container and Lambda
    environments, provider credentials). The final scrub records each flagged entry as a plaintext
    secret."""
    return [
        {"name": str(k), "looks_like_secret": is_secret(str(k), v)} for k, v in sorted((values or {}).items())
    ]


def replace_secrets(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Argument maps (hyperparameters, Glue job arguments): each value kept as it is unless the pair
    is a secret, then replaced whole by :data:`REDACTED` (so policies can test the elements
    against the marker)."""
    return {str(k): REDACTED if is_secret(str(k), v) else v for k, v in (values or {}).items()}


def redact_mapping(values: Mapping[str, Any] | None) -> tuple[dict[str, str], list[str]]:
    """Spark conf, environment variables, job and pipeline parameters: (a copy with the keys kept
    and each value :func:`redact`-ed, the keys that held a plaintext secret). A secret reference
    is kept, stripped."""
    out: dict[str, str] = {}
    plaintext: list[str] = []
    for key, raw in (values or {}).items():
        value, secret = redact(str(key), "" if raw is None else str(raw))
        out[key] = value.strip() if is_reference(value) else value
        if secret:
            plaintext.append(key)
    return out, sorted(plaintext)


# --flag=value in argument lists.
_ARG_FLAG = re.compile(r"^(-{1,2}[\w.-]+)=(.*)$", re.DOTALL)


def redact_args(args: Iterable[Any] | None) -> tuple[list[str], bool]:
    """Command-line style parameters (``--flag value``, ``--flag=value``): (a redacted copy, whether
    a plaintext credential was seen)."""
    out: list[str] = []
    found = False
    flag = ""
    for raw in args or []:
        arg = str(raw)
        match = _ARG_FLAG.match(arg)
        if flag and not arg.startswith("-"):
            kept, secret = redact(flag, arg)
        elif match:
            value, secret = redact(match.group(1).lstrip("-"), match.group(2))
            kept = f"{match.group(1)}={value}"
        else:
            kept, secret = redact("", arg)
        found = found or secret
        out.append(kept)
        flag = arg.lstrip("-") if arg.startswith("-") and "=" not in arg and credential_key(arg) else ""
    return out, found


def scrub(value: Any, key: str = "", path: str = "", found: list[str] | None = None) -> Any:
    """Every string in a JSON value classified with its key; secrets masked, their paths added to
    ``found``. A ``{"looks_like_secret": true}`` entry (variable names kept without values) counts."""
    if isinstance(value, Mapping):
        if value.get("looks_like_secret") is True and found is not None:
            found.append(f"{path}.{value.get('name')}" if value.get("name") else path)
        return {str(k): scrub(v, str(k), f"{path}.{k}" if path else str(k), found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        out, flag = [], ""
        for i, v in enumerate(value):  # command lines: "--password", "<value>"
            out.append(scrub(v, flag or key, f"{path}[{i}]", found))
            flag = v if isinstance(v, str) and v.startswith("-") and credential_key(v) else ""
        return out
    if isinstance(value, str):
        kept, secret = redact(key, value)
        if secret and found is not None:
            found.append(path)
        return kept
    return value


def scrub_resource(resource: Resource) -> Resource:
    """The final scrub of one resource (name, tags, data) with the fact of its secrets recorded."""
    found: list[str] = []
    data = scrub({k: v for k, v in resource.data.items() if k != SECRET_PATHS}, found=found)
    tags = {str(k): scrub(v, str(k), f"tags.{k}", found) for k, v in resource.tags.items()}
    name = resource.name
    if name is not None:
        name, secret = redact("name", name)
        if secret:
            found.append("name")
    data[SECRET_PATHS] = sorted(set(found) | set(resource.data.get(SECRET_PATHS) or []))
    return resource.model_copy(update={"name": name, "tags": tags, "data": data})
