"""A small, test/demo-only extension of moto 5.2.x for the SageMaker, EMR, EC2 and Bedrock gaps
mlguard meets.

moto is a fake of AWS; where it lacks an operation or drops a field, mlguard's collectors would
see "no resources" or a wrong value and their real code paths could not be exercised offline.
This module fills exactly those gaps, and nothing in mlguard's product code knows about it: it is
applied by the demo environment (:mod:`mlguard.demo.environment`) and by tests, never by the scanner.

Each gap is one ``_patch_*`` function whose docstring says what moto 5.2.5 lacks. The patches act
on moto's backend and response classes, so they work the same in-process (under
``moto.mock_aws``) and in a ``moto.server.ThreadedMotoServer`` running in this process. State the
patches add lives on the per-account/per-region backend object, so moto's ``reset()`` clears it.

Bedrock (moto 5.2.6): guardrails, provisioned throughput, imported models and application
inference profiles are stored by ``_patch_bedrock_guardrails`` and
``_patch_bedrock_models_and_throughput`` (which also stops moto inventing a KMS key for every
customization job); agent guardrail configuration, agent aliases, action groups and knowledge base
data sources by ``_patch_bedrock_agents``; prompts and batch inference jobs by
``_patch_bedrock_prompts_and_batch_jobs``; knowledge base ingestion jobs by
``_patch_bedrock_ingestion_jobs``; Bedrock Flows by ``_patch_bedrock_flows``; agent versions
(what an alias pins) by ``_patch_bedrock_agent_versions``. moto's own model invocation logging,
custom models, customization jobs, agents and knowledge bases are used as they are.

The s3control host quirk is on the client side (botocore prefixes the account id to the endpoint
host, ``123456789012.127.0.0.1``, which does not resolve) and is handled by
:mod:`mlguard.demo.s3control_host`, a botocore client plugin the demo environment enables.

:func:`apply` is idempotent and thread-safe; :func:`gaps` lists what it patches.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from mlguard.errors import ToolMissingError

try:
    import moto
    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.utils import utcnow
    from moto.sagemaker import models as sm_models
    from moto.sagemaker import responses as sm_responses
    from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
    from moto.utilities.paginator import paginate
except ImportError as exc:  # pragma: no cover - exercised only without the demo extra
    raise ToolMissingError(
        "moto is not installed; the demo estate and the AWS test fakes need it: pip install 'mlguard[demo]'"
    ) from exc

F = TypeVar("F", bound=Callable[..., Any])

SUPPORTED_MOTO = "5.2."

#: Real SageMaker GPU instance families that moto 5.2.x rejects for endpoint configs and notebooks.
GPU_INSTANCE_TYPE = re.compile(
    r"^ml\.(g4dn|g5|g6|g6e|p3|p3dn|p4d|p4de|p5|p5e|p5en)\."
    r"(xlarge|[0-9]+xlarge)$"
)

_PAGINATION = {
    "_list_spaces": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": 100,
        "unique_attribute": "arn",
    },
    "_list_user_profiles": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": 100,
        "unique_attribute": "arn",
    },
    "_list_feature_groups": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": 100,
        "unique_attribute": "arn",
    },
    "_list_monitoring_schedules": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": 100,
        "unique_attribute": "arn",
    },
    "_list_records": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": 100,
        "unique_attribute": "arn",
    },
}

_lock = threading.Lock()
_applied: list[str] = []


def _arn(backend: Any, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{kind}/{name}"


def _store(backend: Any, attr: str) -> dict[str, Any]:
    """Per-backend storage for the records this module adds (cleared by moto's reset())."""
    found: dict[str, Any] | None = backend.__dict__.get(attr)
    if found is None:
        found = {}
        backend.__dict__[attr] = found
    return found


def _wraps_once(target: Any, name: str, build: Callable[[Any], Any]) -> None:
    """Replace ``target.name`` with ``build(original)`` unless this module already did."""
    current = getattr(target, name, None)
    if getattr(current, "__mlguard_patch__", False):
        return
    replacement = build(current)
    replacement.__mlguard_patch__ = True
    setattr(target, name, replacement)


def _add_method(cls: Any, fn: Callable[[Any], Any]) -> None:
    """Install ``fn`` as the response handler of the same name (moto dispatches by method name)."""

    def build(_original: Any) -> Callable[[Any], Any]:
        return fn

    _wraps_once(cls, fn.__name__, build)


def _sorted(items: list[Any], sort_by: str | None, order: str | None, keys: dict[str, str]) -> list[Any]:
    attr = keys.get(sort_by or "CreationTime", "creation_time")
    return sorted(
        items, key=lambda item: getattr(item, attr), reverse=(order or "Descending") == "Descending"
    )


# --------------------------------------------------------------------------- instance types


def _patch_gpu_instance_types() -> None:
    """moto 5.2.x validates endpoint-config variants and notebook instances against fixed, dated
    lists that lack current GPU families (ml.g5.*, ml.g6.*, ml.p4d.*, ml.p5.*; notebooks even lack
    ml.g4dn.*), so CreateEndpointConfig / CreateNotebookInstance fail with a ValidationException.
    Accept the real GPU instance types; anything else still goes through moto's own check."""

    def build(original: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
        def validate_instance_type(self: Any, instance_type: str) -> None:
            if isinstance(instance_type, str) and GPU_INSTANCE_TYPE.match(instance_type):
                return
            original(self, instance_type)

        return validate_instance_type

    _wraps_once(sm_models.FakeEndpointConfig, "validate_instance_type", build)
    _wraps_once(sm_models.FakeSagemakerNotebookInstance, "validate_instance_type", build)


# --------------------------------------------------------------------------- models


def _patch_model_network_isolation() -> None:
    """moto 5.2.x ignores CreateModel's ``EnableNetworkIsolation`` and DescribeModel always returns
    ``false``, so a policy on network isolation could never pass against moto. Store the flag on
    the model object, where DescribeModel already reads it from."""

    def build(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def create_model(self: Any) -> Any:
            result = original(self)
            model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
            model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
            return result

        return create_model

    _wraps_once(sm_responses.SageMakerResponse, "create_model", build)


def _patch_notebook_platform_and_imds() -> None:
    """moto 5.2.x drops CreateNotebookInstance's ``PlatformIdentifier`` and
    ``InstanceMetadataServiceConfiguration`` and DescribeNotebookInstance never returns them, so
    policies on the notebook platform or IMDSv2 could never pass against moto. Keep the values
    given at creation and return them (nothing is returned when none was given)."""

    def build_create(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def create_notebook_instance(self: Any) -> Any:
            result = original(self)
            notebook = self.sagemaker_backend.get_notebook_instance(self._get_param("NotebookInstanceName"))
            notebook.__dict__["mlguard_platform_identifier"] = self._get_param("PlatformIdentifier")
            notebook.__dict__["mlguard_imds"] = self._get_param("InstanceMetadataServiceConfiguration")
            return result

        return create_notebook_instance

    def build_to_dict(original: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
        def to_dict(self: Any) -> dict[str, Any]:
            out = original(self)
            platform = self.__dict__.get("mlguard_platform_identifier")
            imds = self.__dict__.get("mlguard_imds")
            if platform:
                out["PlatformIdentifier"] = platform
            if imds:
                out["InstanceMetadataServiceConfiguration"] = imds
            return out

        return to_dict

    _wraps_once(sm_responses.SageMakerResponse, "create_notebook_instance", build_create)
    _wraps_once(sm_models.FakeSagemakerNotebookInstance, "to_dict", build_to_dict)


def _patch_processing_resources() -> None:
    """moto 5.2.x drops CreateProcessingJob's ``ProcessingResources``, so DescribeProcessingJob has
    no instance type, count or volume KMS key. Keep it on the job, whose response is built from
    its attributes."""

    def build(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def create_processing_job(self: Any) -> Any:
            result = original(self)
            resources = self._get_param("ProcessingResources")
            if resources:
                name = self._get_param("ProcessingJobName")
                job = self.sagemaker_backend.processing_jobs[name]
                job.processing_resources = resources
            return result

        return create_processing_job

    _wraps_once(sm_responses.SageMakerResponse, "create_processing_job", build)


# --------------------------------------------------------------------------- user profiles


@dataclass
class UserProfile:
    domain_id: str
    name: str
    arn: str
    user_settings: dict[str, Any]
    tags: list[dict[str, str]]
    single_sign_on_user_identifier: str | None = None
    single_sign_on_user_value: str | None = None
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)
    status: str = "InService"

    def summary(self) -> dict[str, Any]:
        return {
            "DomainId": self.domain_id,
            "UserProfileName": self.name,
            "Status": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }

    def describe(self) -> dict[str, Any]:
        out = {
            **self.summary(),
            "UserProfileArn": self.arn,
            "HomeEfsFileSystemUid": "200001",
            "UserSettings": self.user_settings,
        }
        if self.single_sign_on_user_identifier:
            out["SingleSignOnUserIdentifier"] = self.single_sign_on_user_identifier
            out["SingleSignOnUserValue"] = self.single_sign_on_user_value
        return out


def _user_profiles(backend: Any) -> dict[str, UserProfile]:
    return _store(backend, "_mlguard_user_profiles")


def _user_profile_key(domain_id: str, name: str) -> str:
    return f"{domain_id}/{name}"


@paginate(pagination_model=_PAGINATION)
def _list_user_profiles(
    backend: Any,
    *,
    domain_id: str | None,
    name_contains: str | None,
    sort_by: str | None,
    sort_order: str | None,
) -> list[UserProfile]:
    items = [
        p
        for p in _user_profiles(backend).values()
        if (not domain_id or p.domain_id == domain_id) and (not name_contains or name_contains in p.name)
    ]
    return _sorted(
        items,
        sort_by,
        sort_order,
        {"CreationTime": "creation_time", "LastModifiedTime": "last_modified_time"},
    )


def _patch_user_profiles() -> None:
    """moto 5.2.x implements SageMaker domains but not their user profiles: CreateUserProfile,
    DescribeUserProfile, ListUserProfiles and DeleteUserProfile raise NotImplementedError. Add them
    (profiles belong to an existing domain; list filters DomainIdEquals / UserProfileNameContains,
    sorting and NextToken pagination)."""
    cls = sm_responses.SageMakerResponse

    def create_user_profile(self: Any) -> Any:
        backend = self.sagemaker_backend
        domain_id = self._get_param("DomainId")
        name = self._get_param("UserProfileName")
        if domain_id not in backend.domains:
            raise ResourceNotFound(f"Domain {domain_id} not found")
        key = _user_profile_key(domain_id, name)
        if key in _user_profiles(backend):
            raise ResourceInUseException(f"User profile {name} already exists in domain {domain_id}")
        profile = UserProfile(
            domain_id=domain_id,
            name=name,
            arn=_arn(backend, "user-profile", key),
            user_settings=self._get_param("UserSettings") or {},
            tags=self._get_param("Tags") or [],
            single_sign_on_user_identifier=self._get_param("SingleSignOnUserIdentifier"),
            single_sign_on_user_value=self._get_param("SingleSignOnUserValue"),
        )
        _user_profiles(backend)[key] = profile
        return ActionResult({"UserProfileArn": profile.arn})

    def _get(self: Any) -> UserProfile:
        domain_id = self._get_param("DomainId")
        name = self._get_param("UserProfileName")
        found = _user_profiles(self.sagemaker_backend).get(_user_profile_key(domain_id, name))
        if found is None:
            raise ResourceNotFound(f"User profile {name} not found in domain {domain_id}")
        return found

    def describe_user_profile(self: Any) -> Any:
        return ActionResult(_get(self).describe())

    def delete_user_profile(self: Any) -> Any:
        profile = _get(self)
        del _user_profiles(self.sagemaker_backend)[_user_profile_key(profile.domain_id, profile.name)]
        return EmptyResult()

    def list_user_profiles(self: Any) -> Any:
        items, token = _list_user_profiles(
            self.sagemaker_backend,
            domain_id=self._get_param("DomainIdEquals"),
            name_contains=self._get_param("UserProfileNameContains"),
            sort_by=self._get_param("SortBy"),
            sort_order=self._get_param("SortOrder"),
            next_token=self._get_param("NextToken"),
            max_results=self._get_param("MaxResults"),
        )
        return ActionResult({"UserProfiles": [p.summary() for p in items], "NextToken": token})

    for fn in (create_user_profile, describe_user_profile, delete_user_profile, list_user_profiles):
        _add_method(cls, fn)


# --------------------------------------------------------------------------- spaces


@dataclass
class Space:
    domain_id: str
    name: str
    arn: str
    space_settings: dict[str, Any]
    ownership_settings: dict[str, Any] | None
    sharing_settings: dict[str, Any] | None
    display_name: str | None
    tags: list[dict[str, str]]
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)
    status: str = "InService"

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "DomainId": self.domain_id,
            "SpaceName": self.name,
            "Status": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.space_settings.get("AppType"):
            out["SpaceSettingsSummary"] = {"AppType": self.space_settings["AppType"]}
        if self.sharing_settings:
            out["SpaceSharingSettingsSummary"] = self.sharing_settings
        if self.ownership_settings:
            out["OwnershipSettingsSummary"] = self.ownership_settings
        if self.display_name:
            out["SpaceDisplayName"] = self.display_name
        return out

    def describe(self) -> dict[str, Any]:
        out = {
            **self.summary(),
            "SpaceArn": self.arn,
            "HomeEfsFileSystemUid": "200002",
            "SpaceSettings": self.space_settings,
        }
        for key in ("SpaceSettingsSummary", "SpaceSharingSettingsSummary", "OwnershipSettingsSummary"):
            out.pop(key, None)
        if self.sharing_settings:
            out["SpaceSharingSettings"] = self.sharing_settings
        if self.ownership_settings:
            out["OwnershipSettings"] = self.ownership_settings
        return out


def _spaces(backend: Any) -> dict[str, Space]:
    return _store(backend, "_mlguard_spaces")


@paginate(pagination_model=_PAGINATION)
def _list_spaces(
    backend: Any,
    *,
    domain_id: str | None,
    name_contains: str | None,
    sort_by: str | None,
    sort_order: str | None,
) -> list[Space]:
    items = [
        s
        for s in _spaces(backend).values()
        if (not domain_id or s.domain_id == domain_id) and (not name_contains or name_contains in s.name)
    ]
    return _sorted(
        items,
        sort_by,
        sort_order,
        {"CreationTime": "creation_time", "LastModifiedTime": "last_modified_time"},
    )


def _patch_spaces() -> None:
    """moto 5.2.x has no SageMaker Studio spaces: CreateSpace, DescribeSpace, ListSpaces and
    DeleteSpace raise NotImplementedError. Add them (a space belongs to an existing domain; list
    filters DomainIdEquals / SpaceNameContains, sorting and NextToken pagination; the ARN is
    ``space/<domain-id>/<space-name>`` like AWS's, and ListTags resolves it)."""
    cls = sm_responses.SageMakerResponse

    def create_space(self: Any) -> Any:
        backend = self.sagemaker_backend
        domain_id = self._get_param("DomainId")
        name = self._get_param("SpaceName")
        if domain_id not in backend.domains:
            raise ResourceNotFound(f"Domain {domain_id} not found")
        key = _user_profile_key(domain_id, name)
        if key in _spaces(backend):
            raise ResourceInUseException(f"Space {name} already exists in domain {domain_id}")
        space = Space(
            domain_id=domain_id,
            name=name,
            arn=_arn(backend, "space", key),
            space_settings=self._get_param("SpaceSettings") or {},
            ownership_settings=self._get_param("OwnershipSettings"),
            sharing_settings=self._get_param("SpaceSharingSettings"),
            display_name=self._get_param("SpaceDisplayName"),
            tags=self._get_param("Tags") or [],
        )
        _spaces(backend)[key] = space
        return ActionResult({"SpaceArn": space.arn})

    def _get(self: Any) -> Space:
        domain_id = self._get_param("DomainId")
        name = self._get_param("SpaceName")
        found = _spaces(self.sagemaker_backend).get(_user_profile_key(domain_id, name))
        if found is None:
            raise ResourceNotFound(f"Space {name} not found in domain {domain_id}")
        return found

    def describe_space(self: Any) -> Any:
        return ActionResult(_get(self).describe())

    def delete_space(self: Any) -> Any:
        space = _get(self)
        del _spaces(self.sagemaker_backend)[_user_profile_key(space.domain_id, space.name)]
        return EmptyResult()

    def list_spaces(self: Any) -> Any:
        items, token = _list_spaces(
            self.sagemaker_backend,
            domain_id=self._get_param("DomainIdEquals"),
            name_contains=self._get_param("SpaceNameContains"),
            sort_by=self._get_param("SortBy"),
            sort_order=self._get_param("SortOrder"),
            next_token=self._get_param("NextToken"),
            max_results=self._get_param("MaxResults"),
        )
        return ActionResult({"Spaces": [s.summary() for s in items], "NextToken": token})

    for fn in (create_space, describe_space, delete_space, list_spaces):
        _add_method(cls, fn)


# --------------------------------------------------------------------------- feature groups


@dataclass
class FeatureGroupRecord:
    """A feature group as CreateFeatureGroup describes it, online and offline stores included."""

    name: str
    arn: str
    record_identifier_feature_name: str
    event_time_feature_name: str
    feature_definitions: list[dict[str, Any]]
    online_store_config: dict[str, Any] | None
    offline_store_config: dict[str, Any] | None
    role_arn: str | None
    description: str | None
    tags: list[dict[str, str]]
    creation_time: datetime = field(default_factory=utcnow)

    @property
    def feature_group_name(self) -> str:  # name used by moto's own Search implementation
        return self.name

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "FeatureGroupName": self.name,
            "FeatureGroupArn": self.arn,
            "CreationTime": self.creation_time,
            "FeatureGroupStatus": "Created",
        }
        if self.offline_store_config:
            out["OfflineStoreStatus"] = {"Status": "Active"}
        return out

    def describe(self) -> dict[str, Any]:
        out = {
            **self.summary(),
            "RecordIdentifierFeatureName": self.record_identifier_feature_name,
            "EventTimeFeatureName": self.event_time_feature_name,
            "FeatureDefinitions": self.feature_definitions,
            "ThroughputConfig": {"ThroughputMode": "OnDemand"},
        }
        for key, value in (
            ("OnlineStoreConfig", self.online_store_config),
            ("OfflineStoreConfig", self.offline_store_config),
            ("RoleArn", self.role_arn),
            ("Description", self.description),
        ):
            if value:
                out[key] = value
        return out

    @property
    def response_object(self) -> dict[str, Any]:
        return self.describe()


@paginate(pagination_model=_PAGINATION)
def _list_feature_groups(
    backend: Any, *, name_contains: str | None, sort_by: str | None, sort_order: str | None
) -> list[FeatureGroupRecord]:
    items = [
        fg
        for fg in backend.feature_groups.values()
        if isinstance(fg, FeatureGroupRecord) and (not name_contains or name_contains in fg.name)
    ]
    return _sorted(items, sort_by, sort_order, {"Name": "name", "CreationTime": "creation_time"})


def _patch_feature_groups() -> None:
    """moto 5.2.x has no ListFeatureGroups, and its CreateFeatureGroup drops OnlineStoreConfig and
    crashes (TypeError) when no OfflineStoreConfig is given, so an online-only feature group (and
    the online store's KMS key) cannot be represented. Replace CreateFeatureGroup with one that
    keeps both stores, and add ListFeatureGroups (NameContains, sorting, NextToken). Records are
    kept in moto's own ``feature_groups`` table, so moto's DescribeFeatureGroup, tagging and Search
    see them too."""
    cls = sm_responses.SageMakerResponse

    def create_feature_group(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param("FeatureGroupName")
        arn = _arn(backend, "feature-group", name.lower())
        if arn in backend.feature_groups:
            raise ResourceInUseException(
                f"Resource Already Exists: FeatureGroup with name {name} already exists."
            )
        offline = self._get_param("OfflineStoreConfig")
        if offline:
            offline = dict(offline)
            offline.setdefault(
                "DataCatalogConfig",
                {
                    "TableName": f"{name.replace('-', '_')}_{int(utcnow().timestamp())}",
                    "Catalog": "AwsDataCatalog",
                    "Database": "sagemaker_featurestore",
                },
            )
        backend.feature_groups[arn] = FeatureGroupRecord(
            name=name,
            arn=arn,
            record_identifier_feature_name=self._get_param("RecordIdentifierFeatureName"),
            event_time_feature_name=self._get_param("EventTimeFeatureName"),
            feature_definitions=self._get_param("FeatureDefinitions") or [],
            online_store_config=self._get_param("OnlineStoreConfig"),
            offline_store_config=offline,
            role_arn=self._get_param("RoleArn"),
            description=self._get_param("Description"),
            tags=self._get_param("Tags") or [],
        )
        return ActionResult({"FeatureGroupArn": arn})

    def describe_feature_group(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param("FeatureGroupName")
        found = backend.feature_groups.get(_arn(backend, "feature-group", name.lower()))
        if found is None:
            raise ResourceNotFound(f"Resource Not Found: FeatureGroup {name} does not exist.")
        return ActionResult(found.describe())

    def list_feature_groups(self: Any) -> Any:
        items, token = _list_feature_groups(
            self.sagemaker_backend,
            name_contains=self._get_param("NameContains"),
            sort_by=self._get_param("SortBy"),
            sort_order=self._get_param("SortOrder"),
            next_token=self._get_param("NextToken"),
            max_results=self._get_param("MaxResults"),
        )
        return ActionResult({"FeatureGroupSummaries": [fg.summary() for fg in items], "NextToken": token})

    for fn in (create_feature_group, describe_feature_group, list_feature_groups):
        _add_method(cls, fn)


# --------------------------------------------------------------------------- monitoring schedules


@dataclass
class MonitoringSchedule:
    name: str
    arn: str
    config: dict[str, Any]
    endpoint_name: str | None
    tags: list[dict[str, str]]
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)
    status: str = "Scheduled"

    @property
    def monitoring_type(self) -> str:
        return str(self.config.get("MonitoringType", "DataQuality"))

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "MonitoringScheduleName": self.name,
            "MonitoringScheduleArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "MonitoringScheduleStatus": self.status,
            "MonitoringType": self.monitoring_type,
        }
        if self.endpoint_name:
            out["EndpointName"] = self.endpoint_name
        if self.config.get("MonitoringJobDefinitionName"):
            out["MonitoringJobDefinitionName"] = self.config["MonitoringJobDefinitionName"]
        return out

    def describe(self) -> dict[str, Any]:
        out = self.summary()
        out.pop("MonitoringJobDefinitionName", None)
        out["MonitoringScheduleConfig"] = self.config
        return out


def _monitoring_schedules(backend: Any) -> dict[str, MonitoringSchedule]:
    return _store(backend, "_mlguard_monitoring_schedules")


def _schedule_endpoint(backend: Any, config: dict[str, Any]) -> str | None:
    """The endpoint a schedule watches: from its inline job definition or its named one."""
    inline = config.get("MonitoringJobDefinition") or {}
    for monitoring_input in inline.get("MonitoringInputs") or []:
        name = (monitoring_input.get("EndpointInput") or {}).get("EndpointName")
        if name:
            return str(name)
    definition_name = config.get("MonitoringJobDefinitionName")
    if definition_name:
        for table in (
            backend.data_quality_job_definitions,
            backend.model_quality_job_definitions,
            backend.model_bias_job_definitions,
            backend.model_explainability_job_definitions,
        ):
            definition = table.get(definition_name)
            if definition is None:
                continue
            for value in definition.__dict__.values():
                if isinstance(value, dict) and (value.get("EndpointInput") or {}).get("EndpointName"):
                    return str(value["EndpointInput"]["EndpointName"])
    return None


@paginate(pagination_model=_PAGINATION)
def _list_monitoring_schedules(
    backend: Any,
    *,
    endpoint_name: str | None,
    name_contains: str | None,
    status: str | None,
    monitoring_type: str | None,
    sort_by: str | None,
    sort_order: str | None,
) -> list[MonitoringSchedule]:
    items = [
        s
        for s in _monitoring_schedules(backend).values()
        if (not endpoint_name or s.endpoint_name == endpoint_name)
        and (not name_contains or name_contains in s.name)
        and (not status or s.status == status)
        and (not monitoring_type or s.monitoring_type == monitoring_type)
    ]
    return _sorted(
        items, sort_by, sort_order, {"Name": "name", "CreationTime": "creation_time", "Status": "status"}
    )


def _patch_monitoring_schedules() -> None:
    """moto 5.2.x has SageMaker monitoring job definitions but no monitoring schedules:
    CreateMonitoringSchedule, DescribeMonitoringSchedule, ListMonitoringSchedules and
    DeleteMonitoringSchedule raise NotImplementedError, so Model Monitor coverage cannot be
    seeded or read. Add them; the watched endpoint is taken from the inline job definition's
    EndpointInput or from the named job definition, and ListMonitoringSchedules filters by
    EndpointName, NameContains, StatusEquals and MonitoringTypeEquals, with NextToken paging."""
    cls = sm_responses.SageMakerResponse

    def create_monitoring_schedule(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param("MonitoringScheduleName")
        if name in _monitoring_schedules(backend):
            raise ResourceInUseException(f"Monitoring schedule {name} already exists")
        config = self._get_param("MonitoringScheduleConfig") or {}
        if not config.get("MonitoringJobDefinition") and not config.get("MonitoringJobDefinitionName"):
            raise ValidationError(
                "MonitoringScheduleConfig needs MonitoringJobDefinition or MonitoringJobDefinitionName"
            )
        schedule = MonitoringSchedule(
            name=name,
            arn=_arn(backend, "monitoring-schedule", name.lower()),
            config=config,
            endpoint_name=_schedule_endpoint(backend, config),
            tags=self._get_param("Tags") or [],
        )
        _monitoring_schedules(backend)[name] = schedule
        return ActionResult({"MonitoringScheduleArn": schedule.arn})

    def _get(self: Any) -> MonitoringSchedule:
        name = self._get_param("MonitoringScheduleName")
        found = _monitoring_schedules(self.sagemaker_backend).get(name)
        if found is None:
            raise ResourceNotFound(f"Monitoring schedule {name} not found")
        return found

    def describe_monitoring_schedule(self: Any) -> Any:
        return ActionResult(_get(self).describe())

    def delete_monitoring_schedule(self: Any) -> Any:
        del _monitoring_schedules(self.sagemaker_backend)[_get(self).name]
        return EmptyResult()

    def list_monitoring_schedules(self: Any) -> Any:
        items, token = _list_monitoring_schedules(
            self.sagemaker_backend,
            endpoint_name=self._get_param("EndpointName"),
            name_contains=self._get_param("NameContains"),
            status=self._get_param("StatusEquals"),
            monitoring_type=self._get_param("MonitoringTypeEquals"),
            sort_by=self._get_param("SortBy"),
            sort_order=self._get_param("SortOrder"),
            next_token=self._get_param("NextToken"),
            max_results=self._get_param("MaxResults"),
        )
        return ActionResult({"MonitoringScheduleSummaries": [s.summary() for s in items], "NextToken": token})

    for fn in (
        create_monitoring_schedule,
        describe_monitoring_schedule,
        delete_monitoring_schedule,
        list_monitoring_schedules,
    ):
        _add_method(cls, fn)


# --------------------------------------------------------------------------- images, app image configs,
# --------------------------------------------------------------------------- inference experiments


@dataclass
class Record:
    """A SageMaker resource this module adds whose description is its create request: the
    parameters kept as given (Tags apart), plus name, ARN, status and times."""

    kind: str
    name: str
    arn: str
    body: dict[str, Any]
    tags: list[dict[str, str]]
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, kw_only=True)
class _Kind:
    """How one record kind is named, summarised and described (the operations are
    Create<noun>, Describe<noun>, List<noun>s and Delete<noun>)."""

    noun: str  # snake_case: image, app_image_config, inference_experiment
    arn_kind: str  # the resource part of the ARN: image, app-image-config, inference-experiment
    name_key: str
    arn_key: str
    list_key: str
    summary_keys: tuple[str, ...]
    status: tuple[str, str] | None = None  # (key, value) of the status both answers carry
    shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: body  # create -> describe


def _experiment_shape(body: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in body.items() if k != "EndpointName"}
    out["EndpointMetadata"] = {"EndpointName": body.get("EndpointName"), "EndpointStatus": "InService"}
    return out


_KINDS: dict[str, _Kind] = {
    k.noun: k
    for k in (
        _Kind(
            noun="image",
            arn_kind="image",
            name_key="ImageName",
            arn_key="ImageArn",
            list_key="Images",
            summary_keys=("Description", "DisplayName"),
            status=("ImageStatus", "CREATED"),
        ),
        _Kind(
            noun="app_image_config",
            arn_kind="app-image-config",
            name_key="AppImageConfigName",
            arn_key="AppImageConfigArn",
            list_key="AppImageConfigs",
            summary_keys=("KernelGatewayImageConfig", "JupyterLabAppImageConfig", "CodeEditorAppImageConfig"),
        ),
        _Kind(
            noun="inference_experiment",
            arn_kind="inference-experiment",
            name_key="Name",
            arn_key="Arn",
            list_key="InferenceExperiments",
            summary_keys=("Type", "Schedule", "Description", "RoleArn"),
            status=("Status", "Running"),
            shape=_experiment_shape,
        ),
    )
}


def _records(backend: Any, noun: str) -> dict[str, Record]:
    return _store(backend, f"_mlguard_{noun}s")


def _record_by_arn(backend: Any, arn: str) -> Record | None:
    return next((r for k in _KINDS for r in _records(backend, k).values() if r.arn == arn), None)


@paginate(pagination_model=_PAGINATION)
def _list_records(
    backend: Any, *, noun: str, name_contains: str | None, sort_by: str | None, sort_order: str | None
) -> list[Record]:
    items = [r for r in _records(backend, noun).values() if not name_contains or name_contains in r.name]
    return _sorted(
        items,
        sort_by,
        sort_order,
        {"Name": "name", "CreationTime": "creation_time", "LastModifiedTime": "last_modified_time"},
    )


def _add_record_kind(kind: _Kind) -> None:
    """Install Create/Describe/List/Delete of one record kind on moto's SageMaker responses."""
    noun = "".join(part.title() for part in kind.noun.split("_"))

    def summary(record: Record) -> dict[str, Any]:
        out: dict[str, Any] = {
            kind.name_key: record.name,
            kind.arn_key: record.arn,
            "CreationTime": record.creation_time,
            "LastModifiedTime": record.last_modified_time,
        }
        if kind.status:
            out[kind.status[0]] = kind.status[1]
        out.update({k: record.body[k] for k in kind.summary_keys if k in record.body})
        return out

    def get(self: Any) -> Record:
        name = self._get_param(kind.name_key)
        found = _records(self.sagemaker_backend, kind.noun).get(name)
        if found is None:
            raise ResourceNotFound(f"{noun} {name} not found")
        return found

    def create(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param(kind.name_key)
        if name in _records(backend, kind.noun):
            raise ResourceInUseException(f"{noun} {name} already exists")
        body = {k: v for k, v in self._get_params().items() if k not in ("Tags", kind.name_key)}
        record = Record(
            kind=kind.noun,
            name=name,
            arn=_arn(backend, kind.arn_kind, name),
            body=body,
            tags=self._get_param("Tags") or [],
        )
        _records(backend, kind.noun)[name] = record
        return ActionResult({kind.arn_key: record.arn})

    def describe(self: Any) -> Any:
        record = get(self)
        return ActionResult({**summary(record), **kind.shape(record.body)})

    def delete(self: Any) -> Any:
        del _records(self.sagemaker_backend, kind.noun)[get(self).name]
        return EmptyResult()

    def list_(self: Any) -> Any:
        items, token = _list_records(
            self.sagemaker_backend,
            noun=kind.noun,
            name_contains=self._get_param("NameContains"),
            sort_by=self._get_param("SortBy"),
            sort_order=self._get_param("SortOrder"),
            next_token=self._get_param("NextToken"),
            max_results=self._get_param("MaxResults"),
        )
        return ActionResult({kind.list_key: [summary(r) for r in items], "NextToken": token})

    for verb, fn in (("create", create), ("describe", describe), ("delete", delete), ("list", list_)):
        fn.__name__ = f"{verb}_{kind.noun}s" if verb == "list" else f"{verb}_{kind.noun}"
        _add_method(sm_responses.SageMakerResponse, fn)


def _patch_studio_images() -> None:
    """moto 5.2.x has no SageMaker images or app image configurations: CreateImage, DescribeImage,
    ListImages, CreateAppImageConfig, DescribeAppImageConfig and ListAppImageConfigs raise
    NotImplementedError, so Studio custom images (and their tags) cannot be seeded or read. Add
    Create/Describe/List/Delete of both (NameContains, sorting, NextToken) and tags on them."""
    _add_record_kind(_KINDS["image"])
    _add_record_kind(_KINDS["app_image_config"])


def _patch_inference_experiments() -> None:
    """moto 5.2.x has no SageMaker inference experiments (shadow tests): CreateInferenceExperiment,
    DescribeInferenceExperiment and ListInferenceExperiments raise NotImplementedError, so their
    KMS keys (the instance storage volume's KmsKey, DataStorageConfig.KmsKey) cannot be seeded or
    read. Add Create/Describe/List/Delete (the endpoint goes into EndpointMetadata; status Running)
    and tags on them."""
    _add_record_kind(_KINDS["inference_experiment"])


# --------------------------------------------------------------------------- tags on added records


def _patch_tags_for_added_records() -> None:
    """moto 5.2.x resolves ListTags/AddTags/DeleteTags ARNs through a fixed table that has no
    feature groups, monitoring schedules, user profiles, spaces (their ARNs even have two path
    segments), images, app image configs or inference experiments, so ListTags on them fails
    with an internal error; and model cards, model quality and model explainability job
    definitions created without Tags keep ``None``, on which ListTags fails too. Resolve the
    records this module adds and give untagged ones an empty list; everything else still goes
    through moto's lookup."""

    def build(original: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
        def _get_resource_from_arn(self: Any, arn: str) -> Any:
            resource_part = arn.split(":", 5)[-1]
            kind, _, rest = resource_part.partition("/")
            found: Any = None
            if kind == "feature-group":
                found = self.feature_groups.get(arn)
            elif kind == "monitoring-schedule":
                found = next((s for s in _monitoring_schedules(self).values() if s.arn == arn), None)
            elif kind == "user-profile":
                found = _user_profiles(self).get(rest)
            elif kind == "space":
                found = _spaces(self).get(rest)
            elif kind in ("image", "app-image-config", "inference-experiment"):
                found = _record_by_arn(self, arn)
            else:
                found = original(self, arn)
                if getattr(found, "tags", []) is None:  # created without Tags
                    found.tags = []
                return found
            if found is None:
                raise ValidationError(message=f"Could not find {kind} with name {rest}")
            return found

        return _get_resource_from_arn

    _wraps_once(sm_models.SageMakerModelBackend, "_get_resource_from_arn", build)


# --------------------------------------------------------------------------- EMR regions


def _patch_emr_region_on_custom_endpoint() -> None:
    """moto 5.2.x's EMR takes the region only from an ``elasticmapreduce`` host name; behind a
    custom endpoint (``AWS_ENDPOINT_URL=http://127.0.0.1:port``, the moto server) every request
    lands in the default region, so a cluster created in us-east-1 is also listed in eu-west-1.
    Fall back to moto's generic region detection (the SigV4 credential scope), as every other
    moto service does."""
    from moto.core.responses import BaseResponse
    from moto.emr.responses import ElasticMapReduceResponse

    def build(original: Callable[[Any, Any, str], str]) -> Callable[[Any, Any, str], str]:
        def get_region_from_url(self: Any, request: Any, full_url: str) -> str:
            if any(
                regex.search(self.parsed_url.netloc) for regex in ElasticMapReduceResponse.emr_region_regex
            ):
                return original(self, request, full_url)
            return str(BaseResponse.get_region_from_url(self, request, full_url))

        return get_region_from_url

    _wraps_once(ElasticMapReduceResponse, "get_region_from_url", build)


def _patch_emr_block_public_access_off() -> None:
    """moto 5.2.x stores ``BlockPublicSecurityGroupRules`` as ``value or True``, so turning EMR
    block public access off is silently ignored and the account always looks protected. Store the
    flag as given (absent still means on, as in AWS)."""
    from moto.emr.responses import ElasticMapReduceResponse

    def put_block_public_access_configuration(self: Any) -> Any:
        config = self._get_params().get("BlockPublicAccessConfiguration") or {}
        flag = config.get("BlockPublicSecurityGroupRules")
        self.backend.put_block_public_access_configuration(
            block_public_security_group_rules=True if flag is None else flag,
            rule_ranges=config.get("PermittedPublicSecurityGroupRuleRanges"),
        )
        return EmptyResult()

    _add_method(ElasticMapReduceResponse, put_block_public_access_configuration)


def _patch_emr_termination_and_scaling_policies() -> None:
    """moto 5.2.x's EMR has no auto-termination or managed scaling policies: Put/Get/Remove
    AutoTerminationPolicy and ManagedScalingPolicy answer "not implemented", so whether a cluster
    stops when idle or scales within bounds cannot be exercised offline. Store both per cluster on
    the backend; Get answers an empty response when none is set, as AWS does, and every call on an
    unknown cluster raises moto's InvalidCluster (``InvalidRequestException``)."""
    from moto.emr.responses import ElasticMapReduceResponse

    def policies(self: Any, kind: str) -> dict[str, Any]:
        self.backend.describe_cluster(self._get_param("ClusterId"))  # InvalidCluster if unknown
        return _store(self.backend, f"_mlguard_emr_{kind}")

    def put_auto_termination_policy(self: Any) -> Any:
        policy = self._get_param("AutoTerminationPolicy") or {}
        policies(self, "auto_termination")[self._get_param("ClusterId")] = {
            "IdleTimeout": int(policy.get("IdleTimeout", 3600))
        }
        return EmptyResult()

    def get_auto_termination_policy(self: Any) -> Any:
        found = policies(self, "auto_termination").get(self._get_param("ClusterId"))
        return ActionResult({"AutoTerminationPolicy": found} if found else {})

    def remove_auto_termination_policy(self: Any) -> Any:
        policies(self, "auto_termination").pop(self._get_param("ClusterId"), None)
        return EmptyResult()

    def put_managed_scaling_policy(self: Any) -> Any:
        policy = self._get_param("ManagedScalingPolicy") or {}
        policies(self, "managed_scaling")[self._get_param("ClusterId")] = policy
        return EmptyResult()

    def get_managed_scaling_policy(self: Any) -> Any:
        found = policies(self, "managed_scaling").get(self._get_param("ClusterId"))
        return ActionResult({"ManagedScalingPolicy": found} if found else {})

    def remove_managed_scaling_policy(self: Any) -> Any:
        policies(self, "managed_scaling").pop(self._get_param("ClusterId"), None)
        return EmptyResult()

    for handler in (
        put_auto_termination_policy,
        get_auto_termination_policy,
        remove_auto_termination_policy,
        put_managed_scaling_policy,
        get_managed_scaling_policy,
        remove_managed_scaling_policy,
    ):
        _add_method(ElasticMapReduceResponse, handler)


# --------------------------------------------------------------------------- EC2 P3 types

#: Published specs of the P3 sizes (vCPUs, memory MiB, V100 16 GiB GPUs, network performance).
_P3_SIZES = {
    "p3.2xlarge": (8, 62464, 1, "Up to 10 Gigabit"),
    "p3.8xlarge": (32, 249856, 4, "10 Gigabit"),
    "p3.16xlarge": (64, 499712, 8, "25 Gigabit"),
}


def _patch_ec2_p3_instance_types() -> None:
    """moto 5.2.x's EC2 instance type catalogue has p3dn.24xlarge but not p3.2xlarge, p3.8xlarge or
    p3.16xlarge (NVIDIA V100 instances still running in many ML fleets): RunInstances accepts them
    but DescribeInstanceTypes answers InvalidInstanceType, so their GPU facts cannot be read. Add
    them, built from moto's p3dn.24xlarge entry with the published vCPU, memory and GPU counts."""
    from copy import deepcopy

    from moto.ec2.models import instance_types as it

    template = it.INSTANCE_TYPES.get("p3dn.24xlarge")
    if template is None:
        return
    for name, (vcpus, memory, gpus, network) in _P3_SIZES.items():
        if name in it.INSTANCE_TYPES:
            continue
        entry = deepcopy(template)
        entry.pop("InstanceStorageInfo", None)
        entry.update(
            InstanceType=name,
            InstanceStorageSupported=False,
            MemoryInfo={"SizeInMiB": memory},
            VCpuInfo={
                "DefaultCores": vcpus // 2,
                "DefaultThreadsPerCore": 2,
                "DefaultVCpus": vcpus,
                "ValidCores": list(range(2, vcpus // 2 + 1, 2)),
                "ValidThreadsPerCore": [1, 2],
            },
            GpuInfo={
                "Gpus": [
                    {
                        "Count": gpus,
                        "Manufacturer": "NVIDIA",
                        "MemoryInfo": {"SizeInMiB": 16384},
                        "Name": "V100",
                    }
                ],
                "TotalGpuMemoryInMiB": 16384 * gpus,
            },
        )
        entry["NetworkInfo"]["NetworkPerformance"] = network
        it.INSTANCE_TYPES[name] = entry
        it.InstanceTypeBackend.instance_types.append(it.InstanceType(name))


# --------------------------------------------------------------------------- AgentCore tools

#: Field of each AgentCore tool kind: (Get/List id parameter, ARN resource kind, summaries key).
_AGENTCORE_TOOLS = {
    "browser": ("browserId", "browser-custom", "browserSummaries"),
    "code_interpreter": ("codeInterpreterId", "code-interpreter-custom", "codeInterpreterSummaries"),
}


def _agentcore_tool_handlers(kind: str) -> list[Callable[[Any], Any]]:
    """Create/Get/List/Delete handlers of one AgentCore tool kind (``browser``/``code_interpreter``)."""
    from moto.bedrockagentcorecontrol.exceptions import ResourceNotFoundException
    from moto.moto_api._internal import mock_random

    id_param, arn_kind, summaries = _AGENTCORE_TOOLS[kind]
    camel = "".join(w.capitalize() for w in kind.split("_"))
    arn_key = id_param.removesuffix("Id") + "Arn"

    def store(self: Any) -> dict[str, dict[str, Any]]:
        return _store(self.backend, f"_mlguard_agentcore_{kind}s")

    def get(self: Any) -> dict[str, Any]:
        found = store(self).get(self._get_param(id_param))
        if found is None:
            raise ResourceNotFoundException(f"{camel} {self._get_param(id_param)} not found")
        return found

    def create(self: Any) -> Any:
        name = self._get_param("name")
        tool_id = f"{name}-{mock_random.get_random_hex(10)}"
        now = utcnow()
        record: dict[str, Any] = {
            id_param: tool_id,
            arn_key: f"arn:aws:bedrock-agentcore:{self.region}:{self.current_account}:{arn_kind}/{tool_id}",
            "name": name,
            "description": self._get_param("description") or "",
            "executionRoleArn": self._get_param("executionRoleArn"),
            "networkConfiguration": self._get_param("networkConfiguration"),
            "status": "READY",
            "createdAt": now,
            "lastUpdatedAt": now,
        }
        if kind == "browser":
            record["recording"] = self._get_param("recording") or {"enabled": False}
            record["browserSigning"] = self._get_param("browserSigning") or {"enabled": False}
        store(self)[tool_id] = record
        return ActionResult(
            {id_param: tool_id, arn_key: record[arn_key], "createdAt": now, "status": "CREATING"}
        )

    def describe(self: Any) -> Any:
        return ActionResult({k: v for k, v in get(self).items() if v is not None})

    def list_(self: Any) -> Any:
        # Only custom tools are stored here; a SYSTEM listing has the AWS-managed tool only.
        wanted = self._get_param("type")
        items = [] if wanted == "SYSTEM" else list(store(self).values())
        keys = (id_param, arn_key, "name", "description", "status", "createdAt", "lastUpdatedAt")
        return ActionResult({summaries: [{k: r[k] for k in keys} for r in items]})

    def delete(self: Any) -> Any:
        record = get(self)
        store(self).pop(record[id_param])
        return ActionResult({id_param: record[id_param], "status": "DELETING", "lastModifiedAt": utcnow()})

    create.__name__ = f"create_{kind}"
    describe.__name__ = f"get_{kind}"
    list_.__name__ = f"list_{kind}s"
    delete.__name__ = f"delete_{kind}"
    return [create, describe, list_, delete]


def _patch_agentcore_tools() -> None:
    """moto 5.2.x's Bedrock AgentCore control plane has runtimes, gateways and memories but no
    custom browsers or code interpreters: Create/Get/List/DeleteBrowser and ...CodeInterpreter
    answer "not implemented", so their network mode and session recording cannot be exercised
    offline. Store both per account and region on the backend, with the Get shapes of the API."""
    from moto.bedrockagentcorecontrol.responses import BedrockAgentCoreControlResponse

    for kind in _AGENTCORE_TOOLS:
        for handler in _agentcore_tool_handlers(kind):
            _add_method(BedrockAgentCoreControlResponse, handler)


# --------------------------------------------------------------------------- Bedrock


def _bedrock_id(*parts: str) -> str:
    """A stable 10-character Bedrock-style id (lower-case alphanumerics) for a created record."""
    import hashlib

    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:10]


def _response_shape(config: Any) -> Any:
    """A Create* request's ``*Config`` structure in the shape Get* answers (``filtersConfig`` ->
    ``filters``, ``contentPolicyConfig`` -> ``contentPolicy``)."""
    if isinstance(config, dict):
        return {(k[:-6] if k.endswith("Config") else k): _response_shape(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_response_shape(v) for v in config]
    return config


def _bedrock_list(resp: Any, attr: str, key: str) -> Any:
    items = list(_store(resp.bedrock_backend, attr).values())
    return ActionResult({key: items})


def _patch_bedrock_guardrails() -> None:
    """moto 5.2.x has no Bedrock guardrails: CreateGuardrail, GetGuardrail and ListGuardrails are
    not implemented. Store the working draft of each guardrail with its content, prompt-attack,
    sensitive-information, contextual-grounding, topic and word policies and its KMS key."""
    from moto.bedrock.responses import BedrockResponse

    def create_guardrail(self: Any) -> Any:
        backend = self.bedrock_backend
        name = self._get_param("name")
        gid = _bedrock_id(backend.account_id, backend.region_name, "guardrail", name)
        now = utcnow()
        record: dict[str, Any] = {
            "name": name,
            "guardrailId": gid,
            "guardrailArn": f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:guardrail/{gid}",
            "version": "DRAFT",
            "status": "READY",
            "createdAt": now,
            "updatedAt": now,
        }
        for key in ("description", "blockedInputMessaging", "blockedOutputsMessaging", "kmsKeyId"):
            if self._get_param(key) is not None:
                record["kmsKeyArn" if key == "kmsKeyId" else key] = self._get_param(key)
        for key in (
            "contentPolicyConfig",
            "sensitiveInformationPolicyConfig",
            "contextualGroundingPolicyConfig",
            "topicPolicyConfig",
            "wordPolicyConfig",
        ):
            if self._get_param(key) is not None:
                record[key[:-6]] = _response_shape(self._get_param(key))
        _store(backend, "_mlguard_guardrails")[gid] = record
        return ActionResult(
            {"guardrailId": gid, "guardrailArn": record["guardrailArn"], "version": "DRAFT", "createdAt": now}
        )

    def get_guardrail(self: Any) -> Any:
        ident = str(self._get_param("guardrailIdentifier"))
        found = _store(self.bedrock_backend, "_mlguard_guardrails").get(ident.rsplit("/", 1)[-1])
        if found is None:
            from moto.bedrock.exceptions import ResourceNotFoundException

            raise ResourceNotFoundException(f"Guardrail {ident} not found")
        return ActionResult(found)

    def list_guardrails(self: Any) -> Any:
        return ActionResult(
            {
                "guardrails": [
                    {
                        "id": g["guardrailId"],
                        "arn": g["guardrailArn"],
                        "name": g["name"],
                        "status": g["status"],
                        "version": g["version"],
                        "createdAt": g["createdAt"],
                        "updatedAt": g["updatedAt"],
                        **({"description": g["description"]} if "description" in g else {}),
                    }
                    for g in _store(self.bedrock_backend, "_mlguard_guardrails").values()
                ]
            }
        )

    for fn in (create_guardrail, get_guardrail, list_guardrails):
        _add_method(BedrockResponse, fn)


def _patch_bedrock_models_and_throughput() -> None:
    """moto 5.2.x lacks Bedrock provisioned throughput (Create/Get/ListProvisionedModelThroughputs),
    imported models (CreateModelImportJob, Get/ListImportedModels) and application inference
    profiles (Create/ListInferenceProfiles), and reports a made-up KMS key ARN on every
    customization job and custom model even when none was given (so "no customer key" could never
    be seen). Store the three record kinds; report the key that CreateModelCustomizationJob named."""
    from moto.bedrock.models import ModelCustomizationJob
    from moto.bedrock.responses import BedrockResponse

    def build_init(original: Callable[..., None]) -> Callable[..., None]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            self.output_model_kms_key_arn = self.custom_model_kms_key_id

        return __init__

    _wraps_once(ModelCustomizationJob, "__init__", build_init)

    def _model_arn(backend: Any, model_id: str) -> str:
        if model_id.startswith("arn:"):
            return model_id
        return f"arn:aws:bedrock:{backend.region_name}::foundation-model/{model_id}"

    def create_provisioned_model_throughput(self: Any) -> Any:
        backend = self.bedrock_backend
        name = self._get_param("provisionedModelName")
        pid = _bedrock_id(backend.account_id, backend.region_name, "provisioned-model", name)
        arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:provisioned-model/{pid}"
        model = _model_arn(backend, str(self._get_param("modelId")))
        now = utcnow()
        record: dict[str, Any] = {
            "provisionedModelName": name,
            "provisionedModelArn": arn,
            "modelArn": model,
            "desiredModelArn": model,
            "foundationModelArn": next(
                (m.base_model_arn for m in backend.custom_models.values() if m.model_arn == model), model
            ),
            "modelUnits": self._get_int_param("modelUnits"),
            "desiredModelUnits": self._get_int_param("modelUnits"),
            "status": "InService",
            "creationTime": now,
            "lastModifiedTime": now,
        }
        commitment = self._get_param("commitmentDuration")
        if commitment:
            record["commitmentDuration"] = commitment
            months = 1 if commitment == "OneMonth" else 6
            record["commitmentExpirationTime"] = now + timedelta(days=30 * months)
        _store(backend, "_mlguard_provisioned")[name] = record
        return ActionResult({"provisionedModelArn": arn})

    def list_provisioned_model_throughputs(self: Any) -> Any:
        return _bedrock_list(self, "_mlguard_provisioned", "provisionedModelSummaries")

    def create_model_import_job(self: Any) -> Any:
        backend = self.bedrock_backend
        job = self._get_param("jobName")
        name = self._get_param("importedModelName")
        mid = _bedrock_id(backend.account_id, backend.region_name, "imported-model", name)
        job_arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:model-import-job/{job}"
        record: dict[str, Any] = {
            "modelArn": f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:imported-model/{mid}",
            "modelName": name,
            "jobName": job,
            "jobArn": job_arn,
            "modelDataSource": self._get_param("modelDataSource"),
            "creationTime": utcnow(),
            "modelArchitecture": "llama3",
            "instructSupported": True,
        }
        if self._get_param("importedModelKmsKeyId"):
            record["modelKmsKeyArn"] = self._get_param("importedModelKmsKeyId")
        _store(backend, "_mlguard_imported")[name] = record
        return ActionResult({"jobArn": job_arn})

    def list_imported_models(self: Any) -> Any:
        keys = ("modelArn", "modelName", "creationTime", "instructSupported", "modelArchitecture")
        items = [{k: m[k] for k in keys} for m in _store(self.bedrock_backend, "_mlguard_imported").values()]
        return ActionResult({"modelSummaries": items})

    def get_imported_model(self: Any) -> Any:
        ident = str(self._get_param("modelIdentifier"))
        for m in _store(self.bedrock_backend, "_mlguard_imported").values():
            if ident in (m["modelName"], m["modelArn"]):
                return ActionResult(m)
        from moto.bedrock.exceptions import ResourceNotFoundException

        raise ResourceNotFoundException(f"Imported model {ident} not found")

    def create_inference_profile(self: Any) -> Any:
        backend = self.bedrock_backend
        name = self._get_param("inferenceProfileName")
        pid = _bedrock_id(backend.account_id, backend.region_name, "inference-profile", name)
        arn = (
            f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:application-inference-profile/{pid}"
        )
        source = str((self._get_param("modelSource") or {}).get("copyFrom") or "")
        now = utcnow()
        record: dict[str, Any] = {
            "inferenceProfileName": name,
            "inferenceProfileId": pid,
            "inferenceProfileArn": arn,
            "models": [{"modelArn": source}] if source else [],
            "status": "ACTIVE",
            "type": "APPLICATION",
            "createdAt": now,
            "updatedAt": now,
        }
        if self._get_param("description"):
            record["description"] = self._get_param("description")
        _store(backend, "_mlguard_inference_profiles")[pid] = record
        return ActionResult({"inferenceProfileArn": arn, "status": "ACTIVE"})

    def list_inference_profiles(self: Any) -> Any:
        wanted = self._get_param("typeEquals")
        items = [
            p
            for p in _store(self.bedrock_backend, "_mlguard_inference_profiles").values()
            if wanted in (None, p["type"])
        ]
        return ActionResult({"inferenceProfileSummaries": items})

    for fn in (
        create_provisioned_model_throughput,
        list_provisioned_model_throughputs,
        create_model_import_job,
        list_imported_models,
        get_imported_model,
        create_inference_profile,
        list_inference_profiles,
    ):
        _add_method(BedrockResponse, fn)


def _patch_bedrock_agents() -> None:
    """moto 5.2.x's Agents for Bedrock drops CreateAgent's ``guardrailConfiguration`` (GetAgent and
    ListAgents never report a guardrail) and lacks agent aliases (Create/ListAgentAliases; every
    real agent also has the test alias TSTALIASID), action groups (Create/Get/ListAgentActionGroups)
    and knowledge base data sources (Create/Get/ListDataSources). Store the guardrail on the agent
    and add the three record kinds; an alias created without a routing configuration snapshots the
    draft as the agent's next version (see ``_patch_bedrock_agent_versions``)."""
    from moto.bedrockagent.exceptions import ResourceNotFoundException
    from moto.bedrockagent.models import Agent
    from moto.bedrockagent.responses import AgentsforBedrockResponse

    def build_create(original: Callable[[Any], str]) -> Callable[[Any], str]:
        def create_agent(self: Any) -> str:
            import json

            result = original(self)
            guardrail = self._get_param("guardrailConfiguration")
            if guardrail:
                agent_id = json.loads(result)["agent"]["agentId"]
                agent = self.bedrockagent_backend.get_agent(agent_id)
                agent.guardrail_configuration = guardrail
                result = json.dumps({"agent": agent.to_dict()})
            return result

        return create_agent

    def build_to_dict(original: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
        def to_dict(self: Any) -> dict[str, Any]:
            out = original(self)
            if getattr(self, "guardrail_configuration", None):
                out["guardrailConfiguration"] = self.guardrail_configuration
            return out

        return to_dict

    def build_summary(original: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
        def dict_summary(self: Any) -> dict[str, Any]:
            out = original(self)
            if getattr(self, "guardrail_configuration", None):
                out["guardrailConfiguration"] = self.guardrail_configuration
            return out

        return dict_summary

    _wraps_once(AgentsforBedrockResponse, "create_agent", build_create)
    _wraps_once(Agent, "to_dict", build_to_dict)
    _wraps_once(Agent, "dict_summary", build_summary)

    def _agent(self: Any) -> Any:
        return self.bedrockagent_backend.get_agent(self._get_param("agentId"))

    def create_agent_alias(self: Any) -> Any:
        agent = _agent(self)
        name = self._get_param("agentAliasName")
        alias_id = _bedrock_id(agent.agent_id, "alias", name).upper()
        now = utcnow()
        record = {
            "agentAliasId": alias_id,
            "agentAliasName": name,
            "agentAliasArn": f"{agent.agent_arn.replace(':agent/', ':agent-alias/')}/{alias_id}",
            "agentId": agent.agent_id,
            # Without one, the draft becomes the next numbered version (GetAgentVersion:
            # _patch_bedrock_agent_versions), as in Bedrock.
            "routingConfiguration": self._get_param("routingConfiguration")
            or [{"agentVersion": _snapshot_agent_version(self.bedrockagent_backend, agent)}],
            "agentAliasStatus": "PREPARED",
            "createdAt": now,
            "updatedAt": now,
        }
        _store(self.bedrockagent_backend, "_mlguard_aliases").setdefault(agent.agent_id, {})[alias_id] = (
            record
        )
        return ActionResult({"agentAlias": record})

    def list_agent_aliases(self: Any) -> Any:
        agent = _agent(self)
        test = {
            "agentAliasId": "TSTALIASID",
            "agentAliasName": "AgentTestAlias",
            "routingConfiguration": [{"agentVersion": "DRAFT"}],
            "agentAliasStatus": "PREPARED",
            "createdAt": utcnow(),
            "updatedAt": utcnow(),
        }
        created = _store(self.bedrockagent_backend, "_mlguard_aliases").get(agent.agent_id, {})
        keys = (
            "agentAliasId",
            "agentAliasName",
            "routingConfiguration",
            "agentAliasStatus",
            "createdAt",
            "updatedAt",
        )
        return ActionResult(
            {"agentAliasSummaries": [test, *({k: a[k] for k in keys} for a in created.values())]}
        )

    def _groups(self: Any) -> dict[str, dict[str, Any]]:
        agent = _agent(self)
        found: dict[str, dict[str, Any]] = _store(
            self.bedrockagent_backend, "_mlguard_action_groups"
        ).setdefault(agent.agent_id, {})
        return found

    def create_agent_action_group(self: Any) -> Any:
        agent = _agent(self)
        name = self._get_param("actionGroupName")
        gid = _bedrock_id(agent.agent_id, "action-group", name).upper()
        record: dict[str, Any] = {
            "agentId": agent.agent_id,
            "agentVersion": "DRAFT",
            "actionGroupId": gid,
            "actionGroupName": name,
            "actionGroupState": self._get_param("actionGroupState") or "ENABLED",
            "createdAt": utcnow(),
            "updatedAt": utcnow(),
        }
        for key in (
            "description",
            "parentActionGroupSignature",
            "actionGroupExecutor",
            "apiSchema",
            "functionSchema",
        ):
            if self._get_param(key) is not None:
                record["parentActionSignature" if key == "parentActionGroupSignature" else key] = (
                    self._get_param(key)
                )
        _groups(self)[gid] = record
        return ActionResult({"agentActionGroup": record})

    def get_agent_action_group(self: Any) -> Any:
        found = _groups(self).get(self._get_param("actionGroupId"))
        if found is None:
            raise ResourceNotFoundException(f"Action group {self._get_param('actionGroupId')} not found")
        return ActionResult({"agentActionGroup": found})

    def list_agent_action_groups(self: Any) -> Any:
        keys = ("actionGroupId", "actionGroupName", "actionGroupState", "updatedAt")
        return ActionResult(
            {"actionGroupSummaries": [{k: g[k] for k in keys} for g in _groups(self).values()]}
        )

    def _sources(self: Any) -> dict[str, dict[str, Any]]:
        kb = self.bedrockagent_backend.get_knowledge_base(self._get_param("knowledgeBaseId"))
        found: dict[str, dict[str, Any]] = _store(
            self.bedrockagent_backend, "_mlguard_data_sources"
        ).setdefault(kb.knowledge_base_id, {})
        return found

    def create_data_source(self: Any) -> Any:
        sources = _sources(self)
        kb = self._get_param("knowledgeBaseId")
        name = self._get_param("name")
        sid = _bedrock_id(kb, "data-source", name).upper()
        now = utcnow()
        record: dict[str, Any] = {
            "knowledgeBaseId": kb,
            "dataSourceId": sid,
            "name": name,
            "status": "AVAILABLE",
            "dataSourceConfiguration": self._get_param("dataSourceConfiguration"),
            "dataDeletionPolicy": self._get_param("dataDeletionPolicy") or "DELETE",
            "createdAt": now,
            "updatedAt": now,
        }
        for key in ("description", "serverSideEncryptionConfiguration", "vectorIngestionConfiguration"):
            if self._get_param(key) is not None:
                record[key] = self._get_param(key)
        sources[sid] = record
        return ActionResult({"dataSource": record})

    def get_data_source(self: Any) -> Any:
        found = _sources(self).get(self._get_param("dataSourceId"))
        if found is None:
            raise ResourceNotFoundException(f"Data source {self._get_param('dataSourceId')} not found")
        return ActionResult({"dataSource": found})

    def list_data_sources(self: Any) -> Any:
        keys = ("knowledgeBaseId", "dataSourceId", "name", "status", "updatedAt")
        return ActionResult(
            {"dataSourceSummaries": [{k: s[k] for k in keys} for s in _sources(self).values()]}
        )

    for fn in (
        create_agent_alias,
        list_agent_aliases,
        create_agent_action_group,
        get_agent_action_group,
        list_agent_action_groups,
        create_data_source,
        get_data_source,
        list_data_sources,
    ):
        _add_method(AgentsforBedrockResponse, fn)


# --------------------------------------------------------------------------- IAM key age


def age_estate(account_id: str, regions: list[str], days: int = 45) -> None:
    """A seeding helper for what no AWS API can do: make a freshly seeded estate look lived-in.

    SageMaker stamps endpoints with their creation time and EC2 stamps a stop with its time, both
    "now"; an estate seeded a second ago has no endpoint old enough to be judged idle and no GPU
    instance stopped long enough to be judged forgotten. This moves, in moto's in-process backends
    of ``account_id``, every endpoint's and Bedrock provisioned throughput's creation time and
    every stopped instance's stop time ``days`` into the past.
    """
    from moto.bedrock.models import bedrock_backends
    from moto.ec2.models import ec2_backends
    from moto.sagemaker.models import sagemaker_backends

    then = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    for region in regions:
        for throughput in _store(bedrock_backends[account_id][region], "_mlguard_provisioned").values():
            throughput["creationTime"] = throughput["lastModifiedTime"] = then
        for endpoint in sagemaker_backends[account_id][region].endpoints.values():
            endpoint.creation_time = endpoint.last_modified_time = then
        for instance in ec2_backends[account_id][region].all_instances():
            if instance.state == "stopped":
                instance._reason = f"User initiated ({then.strftime('%Y-%m-%d %H:%M:%S UTC')})"


def backdate_access_key(account_id: str) -> Callable[[str, str, datetime], None]:
    """A seeding helper for what no AWS API can do: make an IAM access key look old.

    CreateAccessKey always stamps "now", so an estate seeded through the API has no stale keys
    and key-age policies could not be shown failing. The returned callable
    ``(user_name, access_key_id, create_date)`` rewrites the key's creation date, and marks it as
    last used the day after it was created, in moto's IAM backend of ``account_id`` (the
    in-process one, which a ``ThreadedMotoServer`` in this process serves too).
    """
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    def backdate(user_name: str, access_key_id: str, create_date: datetime) -> None:
        naive = create_date.astimezone(UTC).replace(tzinfo=None)
        user = iam_backends[account_id]["global"].get_user(user_name)
        for key in user.access_keys:
            if key.access_key_id == access_key_id:
                key.create_date = naive
                key.last_used = AccessKeyLastUsed(
                    timestamp=naive + timedelta(days=1), service="s3", region="us-east-1"
                )
                return
        raise KeyError(f"no access key {access_key_id} for IAM user {user_name}")

    return backdate


def add_aws_managed_policies(account_id: str, names: Iterable[str]) -> None:
    """A seeding helper: make some AWS-managed IAM policies exist in moto's account.

    Every real account has the ~1,300 AWS-managed policies (``arn:aws:iam::aws:policy/...``) and
    no API creates them. moto has them only with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``, which
    loads all of them and makes every IAM read of the account several times slower. This adds just
    the named ones, from moto's own copy of their documents, to the in-process IAM backend.
    """
    import json

    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends

    data = json.loads(aws_managed_policies_data)
    backend = iam_backends[account_id]["global"]
    for name in names:
        if name not in data:
            raise KeyError(f"moto has no copy of the AWS-managed policy {name}")
        policy = AWSManagedPolicy.from_data(name, account_id, backend.region_name, data[name])
        if policy.arn not in backend.managed_policies:
            backend.aws_managed_policies.append(policy)
            backend.managed_policies[policy.arn] = policy


def _patch_bedrock_prompts_and_batch_jobs() -> None:
    """moto 5.2.x lacks Bedrock Prompt management (Create/Get/ListPrompts) and batch inference
    (Create/Get/ListModelInvocationJobs). Store the prompt's draft (variants, customer key) and
    each job as submitted (input/output S3 config with its KMS key, VPC config), status Submitted."""
    from moto.bedrock.exceptions import ResourceNotFoundException as BedrockNotFound
    from moto.bedrock.responses import BedrockResponse
    from moto.bedrockagent.exceptions import ResourceNotFoundException
    from moto.bedrockagent.responses import AgentsforBedrockResponse

    def _prompts(self: Any) -> dict[str, dict[str, Any]]:
        return _store(self.bedrockagent_backend, "_mlguard_prompts")

    def create_prompt(self: Any) -> Any:
        backend = self.bedrockagent_backend
        name = self._get_param("name")
        pid = _bedrock_id(backend.account_id, backend.region_name, "prompt", name).upper()
        now = utcnow()
        record: dict[str, Any] = {
            "name": name,
            "id": pid,
            "arn": f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:prompt/{pid}",
            "version": "DRAFT",
            "createdAt": now,
            "updatedAt": now,
        }
        for key in ("description", "customerEncryptionKeyArn", "defaultVariant", "variants"):
            if self._get_param(key) is not None:
                record[key] = self._get_param(key)
        _prompts(self)[pid] = record
        return ActionResult(record)

    def get_prompt(self: Any) -> Any:
        ident = str(self._get_param("promptIdentifier"))
        found = _prompts(self).get(ident.rsplit("/", 1)[-1])
        if found is None:
            raise ResourceNotFoundException(f"Prompt {ident} not found")
        return ActionResult(found)

    def list_prompts(self: Any) -> Any:
        keys = ("name", "description", "id", "arn", "version", "createdAt", "updatedAt")
        return ActionResult(
            {"promptSummaries": [{k: p[k] for k in keys if k in p} for p in _prompts(self).values()]}
        )

    for fn in (create_prompt, get_prompt, list_prompts):
        _add_method(AgentsforBedrockResponse, fn)

    def _jobs(self: Any) -> dict[str, dict[str, Any]]:
        return _store(self.bedrock_backend, "_mlguard_invocation_jobs")

    def create_model_invocation_job(self: Any) -> Any:
        backend = self.bedrock_backend
        name = self._get_param("jobName")
        jid = _bedrock_id(backend.account_id, backend.region_name, "batch", name)
        now = utcnow()
        arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:model-invocation-job/{jid}"
        record: dict[str, Any] = {
            "jobArn": arn,
            "jobName": name,
            "status": "Submitted",
            "submitTime": now,
            "lastModifiedTime": now,
        }
        for key in (
            "modelId",
            "roleArn",
            "inputDataConfig",
            "outputDataConfig",
            "vpcConfig",
            "timeoutDurationInHours",
            "modelInvocationType",
        ):
            if self._get_param(key) is not None:
                record[key] = self._get_param(key)
        _jobs(self)[jid] = record
        return ActionResult({"jobArn": record["jobArn"]})

    def get_model_invocation_job(self: Any) -> Any:
        ident = str(self._get_param("jobIdentifier"))
        found = _jobs(self).get(ident.rsplit("/", 1)[-1])
        if found is None:
            raise BedrockNotFound(f"Model invocation job {ident} not found")
        return ActionResult(found)

    def list_model_invocation_jobs(self: Any) -> Any:
        status = self._get_param("statusEquals")
        jobs = [j for j in _jobs(self).values() if not status or j["status"] == status]
        return ActionResult({"invocationJobSummaries": jobs})

    for fn in (create_model_invocation_job, get_model_invocation_job, list_model_invocation_jobs):
        _add_method(BedrockResponse, fn)


def _patch_bedrock_ingestion_jobs() -> None:
    """moto 5.2.x lacks knowledge base ingestion jobs (StartIngestionJob, ListIngestionJobs). Store
    each started job per data source; it completes at once (status COMPLETE, startedAt = updatedAt =
    now: nothing is ingested), and ListIngestionJobs applies the STATUS filter and the STARTED_AT
    order the collector asks for."""
    from moto.bedrockagent.exceptions import ResourceNotFoundException
    from moto.bedrockagent.responses import AgentsforBedrockResponse

    def _jobs(self: Any) -> dict[str, dict[str, Any]]:
        kb = str(self._get_param("knowledgeBaseId"))
        source = str(self._get_param("dataSourceId"))
        sources = _store(self.bedrockagent_backend, "_mlguard_data_sources").get(kb, {})
        if source not in sources:
            raise ResourceNotFoundException(f"Data source {source} not found in knowledge base {kb}")
        found: dict[str, dict[str, Any]] = _store(
            self.bedrockagent_backend, "_mlguard_ingestion_jobs"
        ).setdefault(f"{kb}/{source}", {})
        return found

    def start_ingestion_job(self: Any) -> Any:
        jobs = _jobs(self)
        now = utcnow()
        job_id = _bedrock_id(str(self._get_param("dataSourceId")), "ingestion", str(len(jobs))).upper()
        record: dict[str, Any] = {
            "knowledgeBaseId": self._get_param("knowledgeBaseId"),
            "dataSourceId": self._get_param("dataSourceId"),
            "ingestionJobId": job_id,
            "status": "COMPLETE",
            "startedAt": now,
            "updatedAt": now,
        }
        jobs[job_id] = record
        return ActionResult({"ingestionJob": record})

    def list_ingestion_jobs(self: Any) -> Any:
        jobs = list(_jobs(self).values())
        for f in self._get_param("filters") or []:
            if f.get("attribute") == "STATUS":
                jobs = [j for j in jobs if j["status"] in f.get("values", [])]
        order = (self._get_param("sortBy") or {}).get("order")
        jobs.sort(key=lambda j: j["startedAt"], reverse=order == "DESCENDING")
        limit = self._get_param("maxResults")
        return ActionResult({"ingestionJobSummaries": jobs[: int(limit)] if limit else jobs})

    for fn in (start_ingestion_job, list_ingestion_jobs):
        _add_method(AgentsforBedrockResponse, fn)


def _agent_versions(backend: Any, agent_id: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = _store(backend, "_mlguard_agent_versions").setdefault(agent_id, {})
    return found


def _snapshot_agent_version(backend: Any, agent: Any) -> str:
    """Save the agent's working draft as its next numbered version (what Bedrock does when an
    alias is created without a routing configuration); returns the version number."""
    import copy

    versions = _agent_versions(backend, agent.agent_id)
    number = str(len(versions) + 1)
    snapshot = {k: v for k, v in agent.to_dict().items() if k not in ("agentVersion", "agentStatus")}
    versions[number] = {**copy.deepcopy(snapshot), "version": number, "agentStatus": "PREPARED"}
    return number


def _patch_bedrock_agent_versions() -> None:
    """moto 5.2.x has no agent versions: GetAgentVersion and UpdateAgent are not implemented, and
    an alias routes to a version that does not exist. As in Bedrock, CreateAgentAlias without a
    routing configuration now snapshots the working draft (its guardrail configuration,
    instruction, model, role, key, idle TTL) as the next numbered version and routes to it;
    GetAgentVersion returns the snapshot. UpdateAgent changes the draft only (guardrail
    configuration, instruction, description, idle TTL), never an existing version."""
    from moto.bedrockagent.exceptions import ResourceNotFoundException
    from moto.bedrockagent.responses import AgentsforBedrockResponse

    def get_agent_version(self: Any) -> Any:
        agent_id = str(self._get_param("agentId"))
        self.bedrockagent_backend.get_agent(agent_id)
        found = _agent_versions(self.bedrockagent_backend, agent_id).get(str(self._get_param("agentVersion")))
        if found is None:
            raise ResourceNotFoundException(
                f"Agent {agent_id} has no version {self._get_param('agentVersion')}"
            )
        return ActionResult({"agentVersion": found})

    def update_agent(self: Any) -> Any:
        agent = self.bedrockagent_backend.get_agent(self._get_param("agentId"))
        for param, attr in (
            ("guardrailConfiguration", "guardrail_configuration"),
            ("instruction", "instruction"),
            ("description", "description"),
            ("idleSessionTTLInSeconds", "idle_session_ttl_in_seconds"),
        ):
            if self._get_param(param) is not None:
                setattr(agent, attr, self._get_param(param))
        agent.agent_status = "NOT_PREPARED"
        return ActionResult({"agent": agent.to_dict()})

    for fn in (get_agent_version, update_agent):
        _add_method(AgentsforBedrockResponse, fn)


def _patch_bedrock_flows() -> None:
    """moto 5.2.x lacks Bedrock Flows (CreateFlow, GetFlow, ListFlows). Store each flow's working
    draft as created (definition with its nodes, execution role, customer key), status NotPrepared."""
    from moto.bedrockagent.exceptions import ResourceNotFoundException
    from moto.bedrockagent.responses import AgentsforBedrockResponse

    def _flows(self: Any) -> dict[str, dict[str, Any]]:
        return _store(self.bedrockagent_backend, "_mlguard_flows")

    def create_flow(self: Any) -> Any:
        backend = self.bedrockagent_backend
        name = self._get_param("name")
        fid = _bedrock_id(backend.account_id, backend.region_name, "flow", name).upper()
        now = utcnow()
        record: dict[str, Any] = {
            "name": name,
            "id": fid,
            "arn": f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:flow/{fid}",
            "status": "NotPrepared",
            "version": "DRAFT",
            "executionRoleArn": self._get_param("executionRoleArn"),
            "createdAt": now,
            "updatedAt": now,
        }
        for key in ("description", "customerEncryptionKeyArn", "definition"):
            if self._get_param(key) is not None:
                record[key] = self._get_param(key)
        _flows(self)[fid] = record
        return ActionResult(record)

    def get_flow(self: Any) -> Any:
        ident = str(self._get_param("flowIdentifier"))
        found = _flows(self).get(ident.rsplit("/", 1)[-1])
        if found is None:
            raise ResourceNotFoundException(f"Flow {ident} not found")
        return ActionResult(found)

    def list_flows(self: Any) -> Any:
        keys = ("name", "description", "id", "arn", "status", "createdAt", "updatedAt", "version")
        return ActionResult(
            {"flowSummaries": [{k: f[k] for k in keys if k in f} for f in _flows(self).values()]}
        )

    for fn in (create_flow, get_flow, list_flows):
        _add_method(AgentsforBedrockResponse, fn)


# --------------------------------------------------------------------------- IAM


def _patch_iam_service_specific_credentials() -> None:
    """moto 5.2.x has no IAM service-specific credentials (CreateServiceSpecificCredential,
    ListServiceSpecificCredentials), which hold Amazon Bedrock long-term API keys. Store them per
    user with ServiceName, status and the expiry CredentialAgeDays sets; the secret is never kept."""
    from moto.iam.exceptions import NoSuchEntity
    from moto.iam.responses import IamResponse

    def _creds(self: Any) -> dict[str, dict[str, Any]]:
        return _store(self.backend, "_mlguard_service_credentials")

    def create_service_specific_credential(self: Any) -> Any:
        user = self.backend.get_user(self._get_param("UserName"))
        service = str(self._get_param("ServiceName"))
        now = utcnow()
        cred_id = f"ACCA{len(_creds(self)) + 1:016d}"
        record: dict[str, Any] = {
            "UserName": user.name,
            "Status": "Active",
            "ServiceUserName": f"{user.name}-at-{self.backend.account_id}",
            "CreateDate": now,
            "ServiceSpecificCredentialId": cred_id,
            "ServiceName": service,
        }
        age = self._get_param("CredentialAgeDays")
        if age is not None:
            record["ExpirationDate"] = now + timedelta(days=int(age))
        _creds(self)[cred_id] = record
        return ActionResult({"ServiceSpecificCredential": {**record, "ServicePassword": "not-a-real-secret"}})

    def list_service_specific_credentials(self: Any) -> Any:
        name = self._get_param("UserName")
        if name:
            self.backend.get_user(name)
        service = self._get_param("ServiceName")
        found = [
            c
            for c in _creds(self).values()
            if (not name or c["UserName"] == name) and (not service or c["ServiceName"] == service)
        ]
        return ActionResult({"ServiceSpecificCredentials": found})

    def update_service_specific_credential(self: Any) -> Any:
        found = _creds(self).get(str(self._get_param("ServiceSpecificCredentialId")))
        if found is None:
            raise NoSuchEntity("The service-specific credential cannot be found.")
        found["Status"] = self._get_param("Status")
        return EmptyResult()

    for fn in (
        create_service_specific_credential,
        list_service_specific_credentials,
        update_service_specific_credential,
    ):
        _add_method(IamResponse, fn)


_PATCHES: tuple[Callable[[], None], ...] = (
    _patch_gpu_instance_types,
    _patch_model_network_isolation,
    _patch_notebook_platform_and_imds,
    _patch_processing_resources,
    _patch_user_profiles,
    _patch_spaces,
    _patch_feature_groups,
    _patch_monitoring_schedules,
    _patch_studio_images,
    _patch_inference_experiments,
    _patch_tags_for_added_records,
    _patch_emr_region_on_custom_endpoint,
    _patch_ec2_p3_instance_types,
    _patch_emr_block_public_access_off,
    _patch_emr_termination_and_scaling_policies,
    _patch_agentcore_tools,
    _patch_bedrock_guardrails,
    _patch_bedrock_models_and_throughput,
    _patch_bedrock_agents,
    _patch_iam_service_specific_credentials,
    _patch_bedrock_prompts_and_batch_jobs,
    _patch_bedrock_ingestion_jobs,
    _patch_bedrock_flows,
    _patch_bedrock_agent_versions,
)


def gaps() -> dict[str, str]:
    """Name and first docstring line of every patch, for documentation and the demo banner."""
    return {p.__name__.removeprefix("_patch_"): (p.__doc__ or "").strip().splitlines()[0] for p in _PATCHES}


def apply() -> list[str]:
    """Apply every patch once (idempotent, thread-safe); returns the names of the applied patches.

    Raises :class:`~mlguard.errors.ToolMissingError` if the installed moto is not 5.2.x, the
    series these patches were written against and checked on.
    """
    version = str(getattr(moto, "__version__", ""))
    if not version.startswith(SUPPORTED_MOTO):
        raise ToolMissingError(
            f"mlguard's moto extension supports moto {SUPPORTED_MOTO}x, found {version or 'unknown'}: "
            "pip install 'mlguard[demo]'"
        )
    with _lock:
        if not _applied:
            for patch in _PATCHES:
                patch()
                _applied.append(patch.__name__.removeprefix("_patch_"))
        return list(_applied)
