"""SageMaker Studio custom images (images and the app image configurations that run them) and
Studio spaces.

A Studio domain can attach custom images (``CreateImage`` + image versions in ECR) through app
image configurations (kernel, JupyterLab or Code Editor settings). Both are read from their list
calls, which carry every field but the image's role; tags come from ``ListTags``.

A space (``ListSpaces`` per region, ``DescribeSpace`` each) is the storage and app settings a
JupyterLab or Code Editor app runs with: private to its owner's user profile or shared with every
profile of the domain. Its ARN comes only from ``DescribeSpace``, which ``ListTags`` needs.
"""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import data_of
from mlguard.collect.aws.sagemaker import _GPU_FIELDS, _first, _spec, _unknown_type, ml_instance_facts
from mlguard.collect.aws.spec import Caller, Detail, Item, Options, ResourceSpec, define

_APP_CONFIGS = {
    "KernelGatewayImageConfig": "KernelGateway",
    "JupyterLabAppImageConfig": "JupyterLab",
    "CodeEditorAppImageConfig": "CodeEditor",
}


def _app_image_config(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        **data_of(raw, drop=("AppImageConfigArn",)),
        # The Studio app types the configuration serves (one in practice).
        "app_types": [app for key, app in _APP_CONFIGS.items() if raw.get(key)],
    }


# The settings block of each app type a space may run (SpaceSettings.<key>).
_SPACE_APP_SETTINGS = {
    "JupyterLab": "JupyterLabAppSettings",
    "CodeEditor": "CodeEditorAppSettings",
    "JupyterServer": "JupyterServerAppSettings",
    "KernelGateway": "KernelGatewayAppSettings",
}

_SPACE_DETAIL_FIELDS = (
    "space_settings",
    "space_sharing_settings",
    "ownership_settings",
    "home_efs_file_system_uid",
    "app_type",
    "sharing_type",
    "owner_user_profile_name",
    "instance_type",
    *_GPU_FIELDS,
    "idle_timeout_minutes",
)


def _space_tags(caller: Caller, raw: dict[str, Any]) -> list[Any]:
    """ListTags on the space's ARN, which only DescribeSpace returns (ListSpaces carries none):
    the describe detail's when it ran, else a DescribeSpace of its own (a scan reading only tags)."""
    arn = raw.get("SpaceArn")
    if not arn:
        ids = {"DomainId": raw["DomainId"], "SpaceName": raw["SpaceName"]}
        arn = caller.call("sagemaker", "describe_space", **ids)["SpaceArn"]
    return list(caller.call("sagemaker", "list_tags", ResourceArn=arn).get("Tags") or [])


def _space(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    data = data_of(
        raw,
        drop=(
            "SpaceArn",
            "SpaceName",
            "SpaceSettingsSummary",
            "SpaceSharingSettingsSummary",
            "OwnershipSettingsSummary",
        ),
    )
    app_type = _first(raw, ("SpaceSettings", "AppType"))
    settings_key = _SPACE_APP_SETTINGS.get(str(app_type))
    app_settings = _first(raw, ("SpaceSettings", settings_key)) if settings_key else None
    data["app_type"] = app_type
    data["sharing_type"] = _first(raw, ("SpaceSharingSettings", "SharingType"))
    data["owner_user_profile_name"] = _first(raw, ("OwnershipSettings", "OwnerUserProfileName"))
    instance_type = _first(app_settings or {}, ("DefaultResourceSpec", "InstanceType"))
    # No DefaultResourceSpec: Studio starts the app on its CPU default (ml.t3.medium), no accelerator.
    data.update(ml_instance_facts(instance_type))
    if data["is_gpu"] is None:
        _unknown_type(item, "describe_space", instance_type, _GPU_FIELDS)
    # The space's own idle shutdown (minutes); None when the space sets none.
    data["idle_timeout_minutes"] = _first(
        app_settings or {}, ("AppLifecycleManagement", "IdleSettings", "IdleTimeoutInMinutes")
    )
    return data


define(
    _spec(
        "image",
        "list_images",
        "Images",
        "Image",
        normalize=lambda item, opts: data_of(item.raw, drop=("ImageArn",)),
        tagged=True,
    ),
    _spec(
        "app_image_config",
        "list_app_image_configs",
        "AppImageConfigs",
        "AppImageConfig",
        normalize=_app_image_config,
        tagged=True,
    ),
    ResourceSpec(
        type="aws.sagemaker.space",
        family="sagemaker",
        service="sagemaker",
        operation="list_spaces",
        items="Spaces",
        id="join('/', [DomainId, SpaceName])",
        name="SpaceName",
        arn="SpaceArn",
        arn_template="arn:{partition}:sagemaker:{region}:{account}:space/{id}",
        details=(
            Detail(
                operation="describe_space",
                params=lambda r: {"DomainId": r["DomainId"], "SpaceName": r["SpaceName"]},
                attributes=_SPACE_DETAIL_FIELDS,
            ),
            Detail(
                operation="list_tags",
                also=("describe_space",),
                fetch=_space_tags,
                into="Tags",
                attributes=("tags",),
            ),
        ),
        tags="Tags",
        normalize=_space,
    ),
)
