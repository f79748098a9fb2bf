"""The CrossGuard validators, run as the pack's server would run them, without the CLI: every
recorded resource of both stacks passes, and each deliberately broken input is caught."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import (
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import rules, validators
from tests.conftest import plan_for
from tests.infra import helpers as h
from tools.plan import Plan, RecordedResource

STACKS = ("dev", "prod")


def policy_options() -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        additional_secret_outputs=[],
        custom_timeouts=None,  # type: ignore[arg-type]
    )


def resource_violations(resource: RecordedResource, props: dict[str, Any] | None = None) -> list[str]:
    """Every resource validator on one resource, collecting what it reports."""
    reported: list[str] = []
    args = ResourceValidationArgs(
        resource_type=resource.type,
        props=resource.inputs if props is None else props,
        urn=resource.urn,
        name=resource.name,
        opts=None,  # type: ignore[arg-type]
        provider=None,
    )
    for name, validate in validators.RESOURCE_VALIDATORS.items():
        validate(args, lambda message, urn, name=name: reported.append(f"{name}: {message}"))
    return reported


def stack_violations(resources: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    reported: list[str] = []
    policy_resources = [
        PolicyResource(
            resource_type=type_,
            props=props,
            urn=urn,
            name=urn.rsplit("::", 1)[-1],
            opts=policy_options(),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for urn, type_, props in resources
    ]
    args = StackValidationArgs(resources=policy_resources)
    for name, validate in validators.STACK_VALIDATORS.items():
        validate(args, lambda message, urn, name=name: reported.append(f"{name}: {message}"))
    return reported


def stack_of(plan: Plan) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.urn, r.type, copy.deepcopy(r.inputs)) for r in plan.resources if r.custom]


def test_the_pack_registers_every_rule_once() -> None:
    built = validators.policies()
    names = [p.name for p in built]
    assert len(names) == len(set(names))
    assert set(names) == set(rules.RESOURCE_RULES) | set(rules.STACK_RULES)
    assert sum(isinstance(p, ResourceValidationPolicy) for p in built) == len(rules.RESOURCE_RULES)
    assert sum(isinstance(p, StackValidationPolicy) for p in built) == len(rules.STACK_RULES)


@pytest.mark.parametrize("stack", STACKS)
def test_every_recorded_resource_of_the_stack_passes(stack: str) -> None:
    plan = plan_for(stack)
    for resource in plan.resources:
        if resource.custom:
            assert resource_violations(resource) == [], f"{resource.type} {resource.name}"
    assert stack_violations(stack_of(plan)) == []


def _break(type_: str, mutate: Callable[[dict[str, Any]], None]) -> list[str]:
    # The media bucket's / signer's resource where the monitoring stack adds a second of the type.
    candidates = plan_for("prod").of_type(type_)
    resource = next((r for r in candidates if r.name.startswith(("media", "signer"))), candidates[0])
    props = copy.deepcopy(resource.inputs)
    mutate(props)
    return resource_violations(resource, props)


def _set_policy(field: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(props: dict[str, Any]) -> None:
        document = json.loads(props[field])
        change(document)
        props[field] = json.dumps(document)

    return mutate


def _public_read(document: dict[str, Any]) -> None:
    document["Statement"].append(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    )


def _no_tls_deny(document: dict[str, Any]) -> None:
    document["Statement"] = [s for s in document["Statement"] if s.get("Effect") != "Deny"]


def _legacy_oai(props: dict[str, Any]) -> None:
    origin = props["origins"][0]
    del origin["originAccessControlId"]
    origin["s3OriginConfig"] = {"originAccessIdentity": "origin-access-identity/cloudfront/E123"}


def _allow_all(props: dict[str, Any]) -> None:
    props["defaultCacheBehavior"]["viewerProtocolPolicy"] = "allow-all"


def _no_retention(props: dict[str, Any]) -> None:
    props.pop("retentionInDays")


@pytest.mark.parametrize(
    ("type_", "mutate", "rule"),
    [
        (h.PUBLIC_ACCESS_BLOCK, lambda p: p.update(blockPublicPolicy=False), "bucket-blocks-public-access"),
        (h.PUBLIC_ACCESS_BLOCK, lambda p: p.pop("restrictPublicBuckets"), "bucket-blocks-public-access"),
        (h.BUCKET_POLICY, _set_policy("policy", _public_read), "bucket-policy-private-tls-only"),
        (h.BUCKET_POLICY, _set_policy("policy", _no_tls_deny), "bucket-policy-private-tls-only"),
        (h.DISTRIBUTION, _legacy_oai, "cdn-s3-origins-use-oac"),
        (h.DISTRIBUTION, lambda p: p["origins"][0].pop("originAccessControlId"), "cdn-s3-origins-use-oac"),
        (h.DISTRIBUTION, _allow_all, "cdn-viewers-https"),
        (
            h.DISTRIBUTION,
            lambda p: p["orderedCacheBehaviors"][0].update(viewerProtocolPolicy="allow-all"),
            "cdn-viewers-https",
        ),
        (h.FUNCTION, lambda p: p.update(runtime="python3.9"), "lambda-supported-python"),
        (h.FUNCTION, lambda p: p.update(runtime="nodejs20.x"), "lambda-supported-python"),
    ],
)
def test_each_broken_resource_is_caught(
    type_: str, mutate: Callable[[dict[str, Any]], None], rule: str
) -> None:
    violations = _break(type_, mutate)
    assert violations and all(v.startswith(f"{rule}: ") for v in violations), violations


def test_a_log_group_without_retention_is_caught() -> None:
    for group in plan_for("prod").of_type(h.LOG_GROUP):
        props = copy.deepcopy(group.inputs)
        _no_retention(props)
        assert resource_violations(group, props) == [
            f"log-groups-have-retention: log group {props['name']} keeps logs forever: set retentionInDays"
        ]


def _signer_stack(change: Callable[[list[tuple[str, str, dict[str, Any]]]], None]) -> list[str]:
    resources = stack_of(plan_for("prod"))
    change(resources)
    return stack_violations(resources)


def _signer_policy(resources: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    (props,) = [p for urn, t, p in resources if t == h.ROLE_POLICY and "UploadSigner" in urn]
    return props


def _edit_signer_document(change: Callable[[dict[str, Any]], None]) -> Callable[[list], None]:
    def apply(resources: list[tuple[str, str, dict[str, Any]]]) -> None:
        props = _signer_policy(resources)
        document = json.loads(props["policy"])
        change(document)
        props["policy"] = json.dumps(document)

    return apply


def _signer_role_name(resources: list[tuple[str, str, dict[str, Any]]]) -> str:
    (name,) = [p["name"] for urn, t, p in resources if t == h.ROLE and "UploadSigner" in urn]
    return name


def _attach_admin(resources: list[tuple[str, str, dict[str, Any]]]) -> None:
    resources.append(
        (
            "urn:pulumi:prod::lux-video::aws:iam/rolePolicyAttachment:RolePolicyAttachment::admin",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {
                "role": _signer_role_name(resources),
                "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
            },
        )
    )


def _managed_on_role(resources: list[tuple[str, str, dict[str, Any]]]) -> None:
    (props,) = [p for urn, t, p in resources if t == h.ROLE and "UploadSigner" in urn]
    props["managedPolicyArns"] = ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]


def _other_prefix(resources: list[tuple[str, str, dict[str, Any]]]) -> None:
    (props,) = [p for urn, t, p in resources if t == h.FUNCTION and "UploadSigner" in urn]
    props["environment"]["variables"]["PREFIX"] = "other/"


def _drop_bucket(resources: list[tuple[str, str, dict[str, Any]]]) -> None:
    resources[:] = [r for r in resources if r[1] != h.BUCKET]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            _edit_signer_document(
                lambda d: d["Statement"][0].update(Resource="arn:aws:s3:::lux-video-prod-5c3e9a41/*")
            ),
            "PutObject outside",
        ),
        (
            _edit_signer_document(
                lambda d: d["Statement"][0].update(Action=["s3:PutObject", "s3:GetObject"])
            ),
            "allows",
        ),
        (
            _edit_signer_document(
                lambda d: d["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
            ),
            "allows",
        ),
        (_attach_admin, "grants the signer role more"),
        (_managed_on_role, "managed policies"),
        (_other_prefix, "PutObject outside"),  # the policy no longer matches the function's prefix
        (_drop_bucket, "expected one media bucket"),
    ],
)
def test_each_widened_signer_grant_is_caught(change: Callable[[list], None], fragment: str) -> None:
    violations = _signer_stack(change)
    assert violations and all(v.startswith("signer-role-least-privilege: ") for v in violations)
    assert any(fragment in v for v in violations), violations


def test_the_signer_document_statements_are_what_the_rule_expects() -> None:
    """Guards the broken inputs above: statement 0 is the PutObject grant."""
    document = json.loads(_signer_policy(stack_of(plan_for("prod")))["policy"])
    assert document["Statement"][0]["Action"] in ("s3:PutObject", ["s3:PutObject"])


def test_within_reads_the_component_from_the_urn() -> None:
    urn = "urn:pulumi:dev::lux-video::lux:signer:UploadSigner$aws:iam/role:Role::signer-role"
    assert rules.within(urn, rules.UPLOAD_SIGNER_COMPONENT)
    assert not rules.within(urn, rules.MEDIA_BUCKET_COMPONENT)
    assert not rules.within(
        "urn:pulumi:dev::lux-video::lux:signer:UploadSigner::signer", "lux:signer:UploadSigner"
    )
