"""IaC scanning: checkov (run as a separate process) over Terraform and CloudFormation.

mlguard never imports checkov; ``checks/`` holds mlguard's own checkov checks, which only checkov
loads (``--external-checks-dir``).
"""

from mlguard.iac.runner import (
    CHECKS_DIR,
    ENV_CHECKOV_BIN,
    FRAMEWORKS,
    INSTALL_HINT,
    CheckovFailedError,
    CheckovTimeoutError,
    find_checkov,
)
from mlguard.iac.scan import IacScan, build_scan_result, scan_iac, with_compliance

__all__ = [
    "CHECKS_DIR",
    "ENV_CHECKOV_BIN",
    "FRAMEWORKS",
    "INSTALL_HINT",
    "CheckovFailedError",
    "CheckovTimeoutError",
    "IacScan",
    "build_scan_result",
    "find_checkov",
    "scan_iac",
    "with_compliance",
]
