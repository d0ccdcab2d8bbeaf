"""What every provider's collector does with a failure: one read-only violation, one protocol to
classify an exception, one builder of the :class:`~mlguard.model.CollectionError` it becomes.

A provider classifies its own exception types (botocore's, the Databricks SDK's, requests'): an
:class:`ErrorClassifier` turns an exception into ``(code, one-line message)``; the message is
reduced by :func:`~mlguard.collect.errortext.one_line_reason` (an HTML error page becomes its title
and HTTP status). :func:`collection_error` builds the record from it, the same way for both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from mlguard.model import CollectionError

MAX_MESSAGE = 500  # characters of a collection error's message


class ReadOnlyViolation(RuntimeError):
    """A request outside what mlguard declares it reads (a possibly mutating operation or route)
    was about to be sent. A bug in mlguard, never caught as data."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"mlguard is read-only: {reason}")

    @classmethod
    def operation(cls, service: str, operation: str) -> ReadOnlyViolation:
        """An AWS (service, API operation) that is not on the allowlist."""
        return cls(f"{service}:{operation} is not an allowlisted read operation")


class ErrorClassifier(Protocol):
    """A provider's reading of a failure: ``(code, one-line message)``, e.g. ``("AccessDenied",
    "User ... is not authorized ...")`` or ``("PERMISSION_DENIED", "...")``."""

    def __call__(self, exc: BaseException, /) -> tuple[str, str]: ...


def collection_error(
    provider: str,
    operation: str,
    cause: BaseException | tuple[str, str],
    classify: ErrorClassifier | None = None,
    *,
    account: str | None = None,
    region: str | None = None,
    workspace: str | None = None,
    resource_type: str | None = None,
    resource_uid: str | None = None,
    attributes: Iterable[str] = (),
    note: str = "",
) -> CollectionError:
    """The record of what ``operation`` could not read: ``cause`` is the exception (read by the
    provider's ``classify``) or an explicit ``(code, message)``; ``note`` is appended to the message
    (``"; scanning only us-east-1"``). ``attributes`` are kept in the order given."""
    if isinstance(cause, BaseException):
        if classify is None:
            raise TypeError("collection_error: an exception needs the provider's classifier")
        code, message = classify(cause)
    else:
        code, message = cause
    return CollectionError(
        provider=provider,
        account=account,
        region=region,
        workspace=workspace,
        resource_type=resource_type,
        operation=operation,
        code=code,
        message=f"{message}{note}"[:MAX_MESSAGE],
        resource_uid=resource_uid,
        attributes=list(attributes),
    )
