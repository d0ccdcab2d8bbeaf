"""Principal and condition evaluation of IAM policy documents.

The ``AWS_DOCS`` cases are the example policies of the AWS documentation (S3 bucket policy
examples, IAM condition key examples, CloudFront OAC, confused-deputy prevention), reduced to the
statement that matters; the others are the ways a wildcard principal is *not* narrowed.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlguard.collect.aws.policydoc import (
    action_matches,
    cross_account_trust,
    identity_policy_facts,
    principal_account,
    public_statements,
    restricting_conditions,
    tls_only,
    trust_facts,
)

BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"


def _allow(principal: Any = "*", condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
    if principal is not None:
        statement["Principal"] = principal
    if condition is not None:
        statement["Condition"] = condition
    statement.update(extra)
    return {"Version": "2012-10-17", "Statement": [statement]}


# (case id, policy, public?)
AWS_DOCS: list[tuple[str, dict[str, Any], bool]] = [
    ("s3-anonymous-read", _allow(), True),
    ("s3-principal-aws-star", _allow({"AWS": "*"}), True),
    ("s3-cross-account-root", _allow({"AWS": "arn:aws:iam::111122223333:root"}), False),
    ("s3-cross-account-role", _allow({"AWS": ["arn:aws:iam::111122223333:role/JohnDoe"]}), False),
    (
        "s3-source-ip-allow",
        _allow(
            condition={
                "IpAddress": {"aws:SourceIp": "192.0.2.0/24"},
                "NotIpAddress": {"aws:SourceIp": "192.0.2.188/32"},
            }
        ),
        False,
    ),
    (
        "s3-source-ip-ipv6",
        _allow(condition={"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:DB8:1234:5678::/64"]}}),
        False,
    ),
    (
        "s3-deny-not-source-ip",
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [BUCKET, f"{BUCKET}/*"],
                    "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
                }
            ]
        },
        False,
    ),
    ("s3-vpce-allow", _allow(condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), False),
    ("s3-vpc-allow", _allow(condition={"StringEquals": {"aws:SourceVpc": "vpc-111bbb22"}}), False),
    (
        "s3-deny-not-vpce",
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [BUCKET, f"{BUCKET}/*"],
                    "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
                }
            ]
        },
        False,
    ),
    (
        "s3-principal-org-id",
        _allow(condition={"StringEquals": {"aws:PrincipalOrgID": "o-xxxxxxxxxxx"}}),
        False,
    ),
    (
        "s3-principal-org-paths",
        _allow(
            condition={
                "ForAnyValue:StringLike": {
                    "aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]
                }
            }
        ),
        False,
    ),
    (
        "s3-cloudfront-oac",
        _allow(
            {"Service": "cloudfront.amazonaws.com"},
            {
                "StringEquals": {
                    "AWS:SourceArn": "arn:aws:cloudfront::111122223333:distribution/EDFDVBD6EXAMPLE"
                }
            },
        ),
        False,
    ),
    (
        "s3-log-delivery-source-account",
        _allow(
            {"Service": "logging.s3.amazonaws.com"},
            {"StringEquals": {"aws:SourceAccount": "111122223333"}},
        ),
        False,
    ),
    (
        "s3-source-arn-bucket-like",
        _allow(condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::amzn-s3-demo-source-bucket"}}),
        False,
    ),
    (
        "s3-userid-role-any-session",
        _allow(condition={"StringLike": {"aws:userid": "AROAEXAMPLEID:*"}}),
        False,
    ),
    (
        "s3-principal-arn-role-path",
        _allow(condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/ml/*"}}),
        False,
    ),
]

NOT_NARROWED: list[tuple[str, dict[str, Any], bool]] = [
    ("source-ip-any-v4", _allow(condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
    ("source-ip-any-v6", _allow(condition={"IpAddress": {"aws:SourceIp": "::/0"}}), True),
    (
        "source-ip-one-wide",
        _allow(condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/1"]}}),
        True,
    ),
    ("source-ip-garbage", _allow(condition={"IpAddress": {"aws:SourceIp": "not-a-cidr"}}), True),
    ("principal-arn-star", _allow(condition={"StringLike": {"aws:PrincipalArn": "*"}}), True),
    (
        "principal-arn-any-account",
        _allow(condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ml"}}),
        True,
    ),
    ("source-account-star", _allow(condition={"StringLike": {"aws:SourceAccount": "*"}}), True),
    ("org-id-wildcard", _allow(condition={"StringLike": {"aws:PrincipalOrgID": "o-*"}}), True),
    ("vpce-wildcard", _allow(condition={"StringLike": {"aws:SourceVpce": "vpce-*"}}), True),
    ("source-arn-any-bucket", _allow(condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}), True),
    (
        "policy-variable",
        _allow(condition={"StringEquals": {"aws:PrincipalAccount": "${aws:PrincipalAccount}"}}),
        True,
    ),
    ("if-exists", _allow(condition={"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), True),
    (
        "for-all-values",
        _allow(condition={"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-xxxxxxxxxxx"}}),
        True,
    ),
    ("negated", _allow(condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), True),
    ("secure-transport", _allow(condition={"Bool": {"aws:SecureTransport": "true"}}), True),
    ("null-check", _allow(condition={"Null": {"aws:SourceVpce": "false"}}), True),
    ("userid-any-role", _allow(condition={"StringLike": {"aws:userid": "*:alice"}}), True),
    ("unrelated-key", _allow(condition={"StringEquals": {"s3:prefix": "home/"}}), True),
    ("resource-account", _allow(condition={"StringEquals": {"aws:ResourceAccount": "111122223333"}}), True),
    ("empty-values", _allow(condition={"StringEquals": {"aws:SourceAccount": []}}), True),
    ("not-principal", _allow(None, NotPrincipal={"AWS": "arn:aws:iam::111122223333:root"}), True),
    ("principal-list-with-star", _allow({"AWS": ["arn:aws:iam::111122223333:root", "*"]}), True),
    (
        "one-restriction-is-enough",
        _allow(
            condition={
                "IpAddress": {"aws:SourceIp": "0.0.0.0/0"},
                "StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"},
            }
        ),
        False,
    ),
    ("key-case", _allow(condition={"StringEquals": {"AWS:SOURCEACCOUNT": "111122223333"}}), False),
    ("deny-star", {"Statement": [{**_allow()["Statement"][0], "Effect": "Deny"}]}, False),
    ("no-statement", {"Version": "2012-10-17"}, False),
]


@pytest.mark.parametrize(
    ("policy", "public"),
    [(p, e) for _, p, e in AWS_DOCS + NOT_NARROWED],
    ids=[c for c, *_ in AWS_DOCS + NOT_NARROWED],
)
def test_public_statements(policy: dict[str, Any], public: bool) -> None:
    assert bool(public_statements(policy)) is public


def test_action_filter_with_wildcards_and_not_action() -> None:
    assert public_statements(_allow(), "s3:GetObject")
    assert not public_statements(_allow(), "s3:PutObject")
    wild = _allow(Action="s3:Get?bject")
    assert public_statements(wild, "s3:getobject")
    everything_but = {
        "Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": "s3:Delete*", "Resource": "*"}]
    }
    assert public_statements(everything_but, "s3:GetObject")
    assert not public_statements(everything_but, "s3:DeleteObject")


def test_lambda_function_url_auth_type_is_not_a_restriction() -> None:
    url = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "lambda:InvokeFunctionUrl",
                "Resource": "arn:aws:lambda:us-east-1:111122223333:function:fn",
                "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
            }
        ]
    }
    assert public_statements(url, "lambda:InvokeFunctionUrl")
    assert not public_statements(url, "lambda:InvokeFunction")


def test_restricting_conditions_names_what_narrows() -> None:
    statement = _allow(
        condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}, "StringEquals": {"aws:SourceVpce": "vpce-1"}}
    )["Statement"][0]
    assert restricting_conditions(statement) == ["StringEquals:aws:SourceVpce"]


SAGEMAKER = {"Service": "sagemaker.amazonaws.com"}


def _trust(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize(
    ("condition", "guarded"),
    [
        ({"StringEquals": {"aws:SourceAccount": "111122223333"}}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:us-east-1:111122223333:*"}}, True),
        ({"StringEquals": {"aws:SourceOrgID": "o-xxxxxxxxxxx"}}, True),
        ({"StringLike": {"aws:SourceAccount": "*"}}, False),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:*:*:*"}}, False),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}, False),
        ({"StringNotEquals": {"aws:SourceAccount": "444455556666"}}, False),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-xxxxxxxxxxx"}}, False),  # not about the deputy
        (None, False),
    ],
)
def test_confused_deputy_conditions(condition: dict[str, Any] | None, guarded: bool) -> None:
    assert trust_facts(_trust(SAGEMAKER, condition))["confused_deputy_conditions"] is guarded


@pytest.mark.parametrize(
    ("doc", "public"),
    [
        (_trust({"AWS": "*"}), True),
        (_trust({"AWS": "*"}, {"StringEquals": {"sts:ExternalId": "shared"}}), True),  # not an identity
        (_trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-xxxxxxxxxxx"}}), False),
        (_trust({"AWS": "arn:aws:iam::111122223333:root"}), False),
        (_trust(SAGEMAKER), False),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sts:*"}
                ]
            },
            True,
        ),
    ],
)
def test_trust_public(doc: dict[str, Any], public: bool) -> None:
    assert trust_facts(doc)["trust_public"] is public


OWN = "111122223333"
VENDOR = "arn:aws:iam::444455556666:root"
EXTERNAL_ID = {"StringEquals": {"sts:ExternalId": "a1b2c3"}}


@pytest.mark.parametrize(
    ("principal", "account"),
    [
        ("444455556666", "444455556666"),
        ("arn:aws:iam::444455556666:role/labeler", "444455556666"),
        ("arn:aws-us-gov:iam::444455556666:root", "444455556666"),
        ("*", "*"),
        ("AIDAEXAMPLEUNIQUEID", "*"),  # a unique id (deleted principal): read as any account
    ],
)
def test_principal_account(principal: str, account: str) -> None:
    assert principal_account(principal) == account


@pytest.mark.parametrize(
    ("doc", "others", "unguarded"),
    [
        (_trust({"AWS": VENDOR}), [VENDOR], [VENDOR]),
        (_trust({"AWS": VENDOR}, EXTERNAL_ID), [VENDOR], []),
        (_trust({"AWS": f"arn:aws:iam::{OWN}:role/ci"}), [], []),  # same account: no external ID needed
        (_trust({"Service": "sagemaker.amazonaws.com"}), [], []),
        (
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": VENDOR},
                        "Action": "sts:AssumeRole",
                        "Condition": EXTERNAL_ID,
                    },
                    {"Effect": "Allow", "Principal": {"AWS": "777788889999"}, "Action": "sts:AssumeRole"},
                ]
            },
            ["777788889999", VENDOR],
            ["777788889999"],  # one guarded statement does not cover the other
        ),
        (
            {"Statement": [{"Effect": "Deny", "Principal": {"AWS": VENDOR}, "Action": "sts:AssumeRole"}]},
            [],
            [],
        ),
    ],
)
def test_cross_account_trust(doc: dict[str, Any], others: list[str], unguarded: list[str]) -> None:
    facts = cross_account_trust(trust_facts(doc), OWN)
    assert (facts["cross_account_principals"], facts["cross_account_without_external_id"]) == (
        others,
        unguarded,
    )


@pytest.mark.parametrize(
    ("statement", "admin", "wildcards"),
    [
        ({"Action": "*", "Resource": "*"}, True, ["*"]),
        ({"Action": "*:*", "Resource": "*"}, True, ["*:*"]),
        ({"NotAction": "s3:DeleteBucket", "Resource": "*"}, True, ["NotAction"]),
        ({"NotAction": ["iam:*", "organizations:*"], "Resource": "*"}, False, ["NotAction"]),  # PowerUser
        ({"Action": "*", "NotResource": "arn:aws:s3:::audit/*"}, True, ["*"]),
        ({"Action": "*", "Resource": "arn:aws:s3:::data/*"}, False, ["*"]),
        ({"Action": ["s3:Get?bject", "s3:PutObject"], "Resource": "*"}, False, ["s3:Get?bject"]),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, False, []),
        ({"Action": "*", "Resource": "arn:*:*:*:*:*"}, True, ["*"]),
        ({"Action": "*", "Resource": "arn:aws:*"}, True, ["*"]),
        ({"Action": "*", "Resource": "arn:aws:*:*:*:*"}, True, ["*"]),
        ({"Action": "*", "Resource": "arn:aws:s3:*:*:*"}, False, ["*"]),
        ({"Action": "*", "Resource": "arn:aws:*:us-east-1:*:*"}, False, ["*"]),
    ],
)
def test_identity_policy_facts(statement: dict[str, Any], admin: bool, wildcards: list[str]) -> None:
    facts = identity_policy_facts({"Statement": [{"Effect": "Allow", **statement}]})
    assert (facts["allows_admin"], facts["wildcard_actions"]) == (admin, wildcards)


def test_admin_probes_combine_across_statements_on_every_resource() -> None:
    """iam:* + sts:* in one statement and s3:* in another, both on every resource, is admin; the
    same split with s3:* limited to one bucket is not."""
    iam = {"Effect": "Allow", "Action": ["iam:*", "sts:*"], "Resource": "*"}
    s3_all = {"Effect": "Allow", "Action": ["s3:*", "sagemaker:*"], "Resource": "arn:*:*:*:*:*"}
    s3_one = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::data/*"}
    assert identity_policy_facts({"Statement": [iam, s3_all]})["allows_admin"] is True
    assert identity_policy_facts({"Statement": [iam, s3_one]})["allows_admin"] is False


def test_tls_only_needs_a_deny_on_every_s3_action() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert tls_only({"Statement": [deny]})
    assert not tls_only({"Statement": [{**deny, "Action": "s3:GetObject"}]})
    assert not tls_only({"Statement": [{**deny, "Effect": "Allow"}]})


def test_malformed_documents_grant_nothing() -> None:
    assert public_statements({"Statement": "nonsense"}) == []
    assert public_statements({"Statement": [{"Effect": "Allow", "Principal": "*", "Condition": "x"}]})
    assert trust_facts(None)["confused_deputy_conditions"] is None


def _fenced_policy(deny: dict[str, Any], allow_action: Any = "s3:GetObject") -> dict[str, Any]:
    allow = {"Effect": "Allow", "Principal": "*", "Action": allow_action, "Resource": f"{BUCKET}/*"}
    base = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [BUCKET, f"{BUCKET}/*"]}
    return {"Statement": [allow, {**base, **deny}]}


NOT_VPCE = {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}
NOT_VPC = {"StringNotEqualsIfExists": {"aws:SourceVpc": "vpc-111bbb22"}}
NOT_ORG = {"StringNotEquals": {"aws:PrincipalOrgID": "o-xxxxxxxxxxx"}}
ONE_ACCOUNT = {"AWS": "arn:aws:iam::111122223333:root"}


@pytest.mark.parametrize(
    ("policy", "public"),
    [
        (_fenced_policy({"Condition": NOT_VPCE}), False),
        (_fenced_policy({"Condition": NOT_VPC}), False),
        (_fenced_policy({"Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}), False),
        (_fenced_policy({"Condition": NOT_ORG}), False),
        (_fenced_policy({"Condition": NOT_VPCE}, allow_action=["s3:GetObject", "s3:ListBucket"]), False),
        (_fenced_policy({"Condition": {"StringNotLike": {"aws:SourceVpce": "vpce-*"}}}), True),
        (_fenced_policy({"Condition": {"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}), True),
        (_fenced_policy({"Condition": {**NOT_VPCE, "Bool": {"aws:ViaAWSService": "false"}}}), True),
        (_fenced_policy({"Condition": NOT_VPCE, "Action": "s3:PutObject"}), True),
        (_fenced_policy({"Condition": NOT_VPCE, "Resource": f"{BUCKET}/private/*"}), True),
        (_fenced_policy({"Condition": NOT_VPCE, "Principal": ONE_ACCOUNT}), True),
        (_fenced_policy({"Condition": NOT_VPCE, "NotAction": "s3:GetObject"}), True),
        (_fenced_policy({}), False),  # an unconditional Deny for everyone: nobody is allowed
    ],
    ids=[
        "vpce",
        "vpc-if-exists",
        "source-ip",
        "org-id",
        "two-actions",
        "vpce-wildcard",
        "ip-world",
        "extra-condition",
        "other-action",
        "part-of-the-bucket",
        "one-principal",
        "not-action",
        "deny-all",
    ],
)
def test_deny_for_everyone_outside_a_fixed_set_narrows_a_public_allow(
    policy: dict[str, Any], public: bool
) -> None:
    assert bool(public_statements(policy)) is public


def test_private_api_gateway_example() -> None:
    """The API Gateway private API resource policy example: Allow everyone, Deny outside one VPC endpoint."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
                "Condition": {"StringNotEquals": {"aws:sourceVpce": "vpce-1a2b3c4d5e6f7g8h9"}},
            },
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
            },
        ],
    }
    assert public_statements(policy) == []
    assert public_statements({"Statement": policy["Statement"][1:]})


@pytest.mark.parametrize(
    ("pattern", "action", "match"),
    [
        ("s3:*", "s3:GetObject", True),
        ("S3:get*", "s3:GetObject", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get?bject", "s3:GetObjects", False),
        ("*", "anything:At-All", True),
        ("s3:*Object", "s3:GetObjectAcl", False),
        ("s3:*Object*", "s3:GetObjectAcl", True),
        ("s3:[a]*", "s3:a1", False),  # IAM has no character classes
        ("s3:Get*", "s3:*", False),  # a narrower pattern does not cover a wider one
    ],
)
def test_action_wildcards(pattern: str, action: str, match: bool) -> None:
    assert action_matches(pattern, action) is match


def test_a_crafted_wildcard_pattern_is_matched_in_bounded_time() -> None:
    pattern = "*a" * 200 + "b"
    assert action_matches(pattern[:500], "a" * 500) is False  # a backtracking regex never returns


@pytest.mark.parametrize(
    ("statements", "any_product", "denied"),
    [
        ([{"Effect": "Allow", "Action": "aws-marketplace:Subscribe", "Resource": "*"}], True, False),
        ([{"Effect": "Allow", "Action": "aws-marketplace:*", "Resource": "*"}], True, False),
        ([{"Effect": "Allow", "Action": "*", "Resource": "*"}], True, False),
        ([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}], True, False),
        # Fenced to named products: the documented least-privilege form.
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "aws-marketplace:Subscribe",
                    "Resource": "*",
                    "Condition": {"ForAnyValue:StringEquals": {"aws-marketplace:ProductId": ["prod-abc"]}},
                }
            ],
            False,
            False,
        ),
        # Another condition does not name the products (AmazonBedrockFullAccess: CalledViaLast).
        (
            [
                {
                    "Effect": "Allow",
                    "Action": ["aws-marketplace:Subscribe"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com"}},
                }
            ],
            True,
            False,
        ),
        ([{"Effect": "Allow", "Action": "aws-marketplace:ViewSubscriptions", "Resource": "*"}], False, False),
        ([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], False, False),
        (
            [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "aws-marketplace:Subscribe", "Resource": "*"},
            ],
            True,
            True,
        ),
    ],
)
def test_marketplace_subscribe_facts(
    statements: list[dict[str, Any]], any_product: bool, denied: bool
) -> None:
    facts = identity_policy_facts({"Statement": statements})
    assert facts["marketplace_subscribe_any_product"] is any_product
    assert facts["marketplace_subscribe_denied"] is denied


@pytest.mark.parametrize(
    ("condition", "ids"),
    [
        ({"StringEquals": {"sts:ExternalId": "acct-1"}}, ["acct-1"]),
        ({"StringEquals": {"STS:EXTERNALID": ["a", "b"]}}, ["a", "b"]),
        ({"StringEqualsIfExists": {"sts:ExternalId": "acct-1"}}, []),  # an absent ID satisfies it
        ({"StringLike": {"sts:ExternalId": "acct-*"}}, []),
        (None, []),
    ],
)
def test_trust_external_ids(condition: dict[str, Any] | None, ids: list[str]) -> None:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": VENDOR}, "Action": "sts:AssumeRole"}
    if condition is not None:
        statement["Condition"] = condition
    assert trust_facts({"Statement": [statement]})["trust_external_ids"] == ids
