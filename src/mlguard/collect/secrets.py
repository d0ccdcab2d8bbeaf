"""What every provider's redaction shares: the one marker and the credential formats.

Each provider redacts where its APIs put secrets (``collect/aws/redact.py``: environments,
hyperparameters, job arguments; ``collect/databricks/redact.py``: Spark conf, env vars, job
parameters, ``{{secrets/...}}`` references). Both replace a secret with :data:`REDACTED` and
recognise a credential by its shape with :data:`CREDENTIAL_VALUE`, so a policy or a reader sees
the same marker whatever the platform.
"""

from __future__ import annotations

import re

REDACTED = "***REDACTED***"

# Values that are credentials whatever their key; lookarounds rather than consumed boundaries, so
# masking one inside free text leaves the text around it intact.
CREDENTIAL_VALUE = re.compile(
    r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"  # AWS access key id
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"  # URL with user:password
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"  # GitHub tokens
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack tokens
    r"|\bdapi[0-9a-f]{32}(?:-\d+)?"  # Databricks personal access token
    r"|\bsk-[A-Za-z0-9_-]{20,}"  # OpenAI-style keys
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JWT
)


def has_credential(text: str) -> bool:
    return CREDENTIAL_VALUE.search(text) is not None


def mask_credentials(text: str) -> str:
    """Free text: every credential-shaped part replaced by :data:`REDACTED`."""
    return CREDENTIAL_VALUE.sub(REDACTED, text)
