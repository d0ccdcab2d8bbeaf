"""Rewrite the read-only action list of deploy/aws-batch/mlguard-org-scan.yaml from
`mlguard permissions aws`, so the Batch job role allows exactly what the collectors call.

Run after adding or changing an AWS collector's operations (tests/deploy/test_aws_batch.py fails
until then):  PYTHONPATH=src python scripts/sync-deploy-policy.py
"""

from __future__ import annotations

import re
from pathlib import Path

from mlguard.collect.aws.permissions import permissions

TEMPLATE = Path(__file__).resolve().parents[1] / "deploy" / "aws-batch" / "mlguard-org-scan.yaml"
BLOCK = re.compile(
    r"(?P<head>^(?P<indent> *)# BEGIN `mlguard permissions aws`[^\n]*\n(?P=indent)Action:\n)"
    r"(?:(?P=indent)  - [^\n]*\n)+"
    r"(?P<tail>(?P=indent)# END `mlguard permissions aws`)",
    re.MULTILINE,
)


def rewritten(text: str) -> str:
    actions = permissions()["Statement"][0]["Action"]

    def block(m: re.Match[str]) -> str:
        lines = "".join(f"{m.group('indent')}  - {a}\n" for a in actions)
        return m.group("head") + lines + m.group("tail")

    new, count = BLOCK.subn(block, text)
    if count != 1:
        raise SystemExit(f"{TEMPLATE}: expected one `mlguard permissions aws` block, found {count}")
    return new


if __name__ == "__main__":
    TEMPLATE.write_text(rewritten(TEMPLATE.read_text()))
    print(f"rewrote the read-only actions of {TEMPLATE}")
