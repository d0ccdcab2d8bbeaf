"""JSON Schemas of the policy and framework files, generated from the registered components.

The operator names come from the operator table and the resource types from the catalogue, so the
schema, the docs and the engine cannot drift apart (``mlguard schema policy`` prints it).
"""

from __future__ import annotations

from typing import Any

from mlguard.catalogue import resource_type_names
from mlguard.cost.spec import cost_schema
from mlguard.model import Category, Severity
from mlguard.policy.operators import OPERATORS

POLICY_ID_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
PARAM_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
COUNT_OPS = ("eq", "ne", "lt", "le", "gt", "ge")
SCOPE_FIELDS = ("account", "region", "workspace")


def _param_ref() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"param": {"type": "string", "pattern": PARAM_NAME_PATTERN}},
        "required": ["param"],
        "additionalProperties": False,
    }


def condition_schema() -> dict[str, Any]:
    """One object type for every condition form, so an unknown key or a wrong type is reported at
    the key itself; ``oneOf`` only decides which form the object is."""
    cond = {"$ref": "#/$defs/condition"}
    no_value_ops = sorted(name for name, op in OPERATORS.items() if not op.takes_value)
    quantifier = {
        "type": "string",
        "minLength": 1,
        "description": "Path to a list; `satisfy` is evaluated on each element ('@' is the element).",
    }
    return {
        "type": "object",
        "description": "A condition: a comparison (path/op/value), all/any/not, a quantifier "
        "(every/some/none + satisfy) or a join to related resources.",
        "properties": {
            "path": {
                "type": "string",
                "minLength": 1,
                "description": "JMESPath into the resource (data plus uid, name, account, region, "
                "workspace, tags).",
            },
            "op": {"enum": sorted(OPERATORS), "description": "Operator name."},
            "value": {"description": "Literal to compare with."},
            "param": {
                "type": "string",
                "pattern": PARAM_NAME_PATTERN,
                "description": "Compare with this policy parameter instead of a literal.",
            },
            "all": {"type": "array", "items": cond, "minItems": 1},
            "any": {"type": "array", "items": cond, "minItems": 1},
            "not": cond,
            "every": quantifier,
            "some": quantifier,
            "none": quantifier,
            "satisfy": cond,
            "if_empty": {
                "enum": ["pass", "fail"],
                "description": "Outcome of a quantifier over an empty list "
                "(default: every/none pass, some fails). An absent list is unknown unless if_missing.",
            },
            "if_missing": {
                "enum": ["pass", "fail"],
                "description": "Outcome when the value (or the quantified list) is absent: missing or "
                "null. Only where the platform's documented default makes absence meaningful; without "
                "it absence is unknown (ERROR). Never applies to a value that was not read, nor to "
                "exists/absent/empty/not_empty.",
            },
            "join": {"$ref": "#/$defs/join"},
            "description": {"type": "string", "description": "Why this condition exists."},
        },
        "additionalProperties": False,
        "oneOf": [
            {
                "required": ["path", "op"],
                "propertyNames": {"enum": ["path", "op", "value", "param", "if_missing", "description"]},
                "description": "Operators " + ", ".join(no_value_ops) + " take no value; every other "
                "operator takes exactly one of value or param (checked when the policy is compiled).",
            },
            *(
                {"required": [key], "propertyNames": {"enum": [key, "description"]}}
                for key in ("all", "any", "not", "join")
            ),
            *(
                {
                    "required": [key, "satisfy"],
                    "propertyNames": {"enum": [key, "satisfy", "if_empty", "if_missing", "description"]},
                }
                for key in ("every", "some", "none")
            ),
        ],
    }


def join_schema() -> dict[str, Any]:
    count_value = {"oneOf": [{"type": "integer", "minimum": 0}, _param_ref()]}
    return {
        "type": "object",
        "description": "Count related resources of another type that match this one.",
        "properties": {
            "resource": {"enum": resource_type_names(), "description": "Related resource type."},
            "on": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "related": {
                            "type": "string",
                            "minLength": 1,
                            "description": "Path in the related resource.",
                        },
                        "subject": {
                            "type": "string",
                            "minLength": 1,
                            "description": "Path in this resource (inside a quantifier: in the element).",
                        },
                        "subject_from": {
                            "enum": ["current", "resource"],
                            "description": "current (default): the element inside a quantifier, else the "
                            "resource; resource: always the resource being judged.",
                        },
                        "op": {
                            "enum": ["eq", "contains", "in"],
                            "description": "eq: values equal; contains: the related list holds the subject "
                            "value; in: the related value is in the subject list. Default eq.",
                        },
                        "required": {
                            "type": "boolean",
                            "description": "true: every key value of the subject must match a collected "
                            "related resource; a key that matches none (a resource the scan did not see) "
                            "makes the join unknown (ERROR), never a count of 0. Default false.",
                        },
                    },
                    "required": ["related", "subject"],
                    "additionalProperties": False,
                },
            },
            "filter": {
                "$ref": "#/$defs/condition",
                "description": "A filter on the related resources: only those it holds for are counted. "
                "(Top-level `where` is the policy's applicability.)",
            },
            "same": {
                "type": "array",
                "items": {"enum": list(SCOPE_FIELDS)},
                "uniqueItems": True,
                "description": "Scope fields that must be equal (default: account, workspace, and region "
                "when both resources have one).",
            },
            "count": {
                "type": "object",
                "properties": dict.fromkeys(COUNT_OPS, count_value),
                "additionalProperties": False,
                "minProperties": 1,
                "maxProperties": 1,
                "description": "How many related resources must match (default ge: 1).",
            },
        },
        "required": ["resource", "on"],
        "additionalProperties": False,
        # Before 0.2 a join's filter was spelt `where`, like the policy's applicability.
        "x-renamed": {
            "where": "a join's filter on its related resources is now `filter:` (top-level `where:` "
            "stays the policy's applicability); rename this key to `filter`"
        },
    }


def parameter_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "type": {"enum": ["integer", "number", "string", "boolean", "array"]},
            "default": {},
            "description": {"type": "string"},
            "items": {
                "enum": ["integer", "number", "string", "boolean"],
                "description": "Item type of an array.",
            },
        },
        "required": ["type", "default", "description"],
        "additionalProperties": False,
    }


def policy_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mlguard.dev/schemas/policy.json",
        "title": "mlguard policy",
        "description": "One declarative policy. The id is the file name without .yaml.",
        "type": "object",
        "properties": {
            "id": {
                "type": "string",
                "pattern": POLICY_ID_PATTERN,
                "description": "Must equal the file name.",
            },
            "title": {"type": "string", "minLength": 5, "maxLength": 200},
            "description": {"type": "string", "minLength": 10},
            "severity": {"enum": [s.value for s in Severity]},
            "category": {"enum": [c.value for c in Category]},
            "resource": {"enum": resource_type_names(), "description": "Resource type the policy judges."},
            "where": {"$ref": "#/$defs/condition", "description": "Applicability; false -> SKIP."},
            "assert": {"$ref": "#/$defs/condition", "description": "What must hold; false -> FAIL."},
            "parameters": {
                "type": "object",
                "propertyNames": {"pattern": PARAM_NAME_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/parameter"},
            },
            "remediation": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "minLength": 10},
                    "cli": {"type": "string"},
                    "terraform": {"type": "string"},
                    "console": {"type": "string"},
                },
                "required": ["text"],
                "additionalProperties": False,
            },
            "references": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "enabled": {"type": "boolean", "default": True},
            "cost": {"$ref": "#/$defs/cost"},
        },
        "required": ["title", "description", "severity", "category", "resource", "assert", "remediation"],
        "additionalProperties": False,
        "$defs": {
            "condition": condition_schema(),
            "join": join_schema(),
            "parameter": parameter_schema(),
            "cost": cost_schema(),
        },
    }


def framework_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mlguard.dev/schemas/framework.json",
        "title": "mlguard compliance framework",
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.-]*$"},
            "name": {"type": "string", "minLength": 3},
            "version": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "description": {"type": "string"},
            "requirements": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "minLength": 1},
                        "title": {"type": "string", "minLength": 3},
                        "description": {"type": "string"},
                        "policies": {
                            "type": "array",
                            "items": {"type": "string", "minLength": 1},
                            "uniqueItems": True,
                            "description": "Policy ids (or IaC check ids) that evidence the requirement; "
                            "empty: not covered.",
                        },
                    },
                    "required": ["id", "title", "policies"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["id", "name", "requirements"],
        "additionalProperties": False,
    }
