"""SageMaker Studio custom images: images and the app image configurations that run them.

A Studio domain can attach custom images (``CreateImage`` + image versions in ECR) through app
image configurations (kernel, JupyterLab or Code Editor settings). Both are read from their list
calls, which carry every field but the image's role; tags come from ``ListTags``.
"""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import data_of
from mlguard.collect.aws.sagemaker import _spec
from mlguard.collect.aws.spec import Item, Options, define

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
)
