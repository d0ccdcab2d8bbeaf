# mypy: ignore-errors
"""mlguard checks for SageMaker resources in CloudFormation templates.

checkov checks ``AWS::SageMaker::EndpointConfig`` not at all; these mirror the Terraform checks.
"""

from __future__ import annotations

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories
from mlg_common import CheckResult, as_bool, as_int


def _properties(conf):
    props = conf.get("Properties")
    return props if isinstance(props, dict) else {}


def _is_intrinsic(value):
    """A CloudFormation intrinsic function (Ref, Fn::If, ...): not known before deployment."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::"))


class EndpointConfigDataCapture(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SageMaker endpoint configuration captures inference data (DataCaptureConfig enabled)",
            id="MLG_SM_1",
            categories=[CheckCategories.LOGGING],
            supported_resources=["AWS::SageMaker::EndpointConfig"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = [
            "Properties/DataCaptureConfig/EnableCapture",
            "Properties/DataCaptureConfig/InitialSamplingPercentage",
        ]
        capture = _properties(conf).get("DataCaptureConfig")
        if _is_intrinsic(capture):
            return CheckResult.UNKNOWN
        if not isinstance(capture, dict):
            return CheckResult.FAILED
        enabled, sampling = capture.get("EnableCapture", True), capture.get("InitialSamplingPercentage")
        if _is_intrinsic(enabled) or _is_intrinsic(sampling):
            return CheckResult.UNKNOWN
        if as_bool(enabled) is False or as_int(sampling) == 0:
            return CheckResult.FAILED
        return CheckResult.PASSED


class EndpointConfigKms(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SageMaker endpoint configuration encrypts data at rest with KMS (KmsKeyId)",
            id="MLG_SM_4",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::SageMaker::EndpointConfig"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["Properties/KmsKeyId"]
        key = _properties(conf).get("KmsKeyId")
        if key is None or (isinstance(key, str) and not key.strip()):
            return CheckResult.FAILED
        return CheckResult.PASSED


checks = [EndpointConfigDataCapture(), EndpointConfigKms()]
