"""The stack's mandatory security rules, as pure functions over a resource's properties.

Each rule takes ``(resource_type, props)`` with props in the engine's camelCase form (what
``pulumi preview`` sends a policy pack, and what ``build/plan-<stack>.json`` records) and returns
a list of violation messages (empty: compliant). Nothing here imports pulumi or pulumi_policy, so
the rules are unit-tested directly against the recorded plans and deliberately broken inputs, and
the CrossGuard pack (``policy/__main__.py``) only wraps them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policy import rules_edge, rules_jobs, rules_monitoring, rules_transcoding

Props = Mapping[str, Any]

SUPPORTED_PYTHON_RUNTIMES = frozenset({"python3.12", "python3.13", "python3.14"})
SIGNER_LOG_ACTIONS = frozenset({"logs:CreateLogStream", "logs:PutLogEvents"})
# Listing and aborting multipart uploads (create, parts and completion are s3:PutObject).
SIGNER_MULTIPART_ACTIONS = frozenset({"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"})


def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return json.loads(value)
    return dict(value or {})


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def bucket_blocks_public_access(resource_type: str, props: Props) -> list[str]:
    if resource_type != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        return []
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return [f"public access block: {flag} must be true" for flag in flags if props.get(flag) is not True]


def _is_public_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in _as_list(principal.get("AWS"))
    return False


# Services that write logs into a bucket: the confused-deputy guard binds each to its source.
LOG_DELIVERY_SERVICES = ("delivery.logs.amazonaws.com", "logging.s3.amazonaws.com")


def bucket_policy_is_private_and_tls_only(resource_type: str, props: Props) -> list[str]:
    if resource_type != "aws:s3/bucketPolicy:BucketPolicy":
        return []
    document = _document(props.get("policy"))
    violations = []
    for statement in _statements(document):
        if statement.get("Effect") == "Allow" and _is_public_principal(statement.get("Principal")):
            violations.append(
                f"bucket policy statement {statement.get('Sid', '?')} allows a public principal"
            )
        principal = statement.get("Principal")
        if (
            statement.get("Effect") == "Allow"
            and isinstance(principal, Mapping)
            and principal.get("Service") == "cloudfront.amazonaws.com"
        ):
            source = (statement.get("Condition") or {}).get("StringEquals", {}).get("AWS:SourceArn")
            if not source or "*" in str(source):
                violations.append("CloudFront read must be bound to one distribution with AWS:SourceArn")
        if (
            statement.get("Effect") == "Allow"
            and isinstance(principal, Mapping)
            and principal.get("Service") in LOG_DELIVERY_SERVICES
        ):
            condition = statement.get("Condition") or {}
            arns = {**condition.get("ArnLike", {}), **condition.get("ArnEquals", {})}
            if not condition.get("StringEquals", {}).get("aws:SourceAccount") or not arns.get(
                "aws:SourceArn"
            ):
                violations.append(
                    f"log delivery statement {statement.get('Sid', '?')} must be bound to the account "
                    "(aws:SourceAccount) and the source (aws:SourceArn)"
                )
    tls_denied = any(
        statement.get("Effect") == "Deny"
        and _is_public_principal(statement.get("Principal"))
        and "s3:*" in _as_list(statement.get("Action"))
        and str((statement.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport")).lower()
        == "false"
        and any(r.endswith("/*") for r in _as_list(statement.get("Resource")))
        and any(not r.endswith("/*") for r in _as_list(statement.get("Resource")))
        for statement in _statements(document)
    )
    if not tls_denied:
        violations.append(
            "bucket policy must deny s3:* on the bucket and its objects when aws:SecureTransport is false"
        )
    return violations


def _behaviors(props: Props) -> list[Mapping[str, Any]]:
    return [props.get("defaultCacheBehavior") or {}, *(props.get("orderedCacheBehaviors") or [])]


def cdn_uses_oac_for_s3(resource_type: str, props: Props) -> list[str]:
    if resource_type != "aws:cloudfront/distribution:Distribution":
        return []
    violations = []
    for origin in props.get("origins") or []:
        domain = str(origin.get("domainName", ""))
        is_s3 = ".s3." in domain or domain.endswith(".s3.amazonaws.com")
        identity = (origin.get("s3OriginConfig") or {}).get("originAccessIdentity")
        if identity:
            violations.append(
                f"origin {origin.get('originId')} uses a legacy origin access identity; use OAC"
            )
        if is_s3 and not origin.get("originAccessControlId"):
            violations.append(f"S3 origin {origin.get('originId')} has no origin access control")
        if ".s3-website" in domain:
            violations.append(f"origin {origin.get('originId')} is a public S3 website endpoint")
    return violations


def cdn_redirects_viewers_to_https(resource_type: str, props: Props) -> list[str]:
    if resource_type != "aws:cloudfront/distribution:Distribution":
        return []
    return [
        f"cache behavior {b.get('pathPattern', 'default')} lets viewers use plain HTTP"
        for b in _behaviors(props)
        if b.get("viewerProtocolPolicy") not in ("redirect-to-https", "https-only")
    ]


def cache_keys_have_no_cookies_or_query_strings(resource_type: str, props: Props) -> list[str]:
    if resource_type != "aws:cloudfront/cachePolicy:CachePolicy":
        return []
    parameters = props.get("parametersInCacheKeyAndForwardedToOrigin") or {}
    violations = []
    if (parameters.get("cookiesConfig") or {}).get("cookieBehavior") != "none":
        violations.append(f"cache policy {props.get('name')} puts cookies in the cache key")
    if (parameters.get("queryStringsConfig") or {}).get("queryStringBehavior") != "none":
        violations.append(f"cache policy {props.get('name')} puts query strings in the cache key")
    return violations


def lambda_trust_is_lambda_only(resource_type: str, props: Props) -> list[str]:
    if resource_type != "aws:iam/role:Role":
        return []
    document = _document(props.get("assumeRolePolicy"))
    violations = []
    for statement in _statements(document):
        principal = statement.get("Principal") or {}
        services = _as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if statement.get("Effect") != "Allow":
            continue
        if _is_public_principal(principal) or (
            isinstance(principal, Mapping) and set(principal) - {"Service"}
        ):
            violations.append("role trust policy admits a non-service principal")
        for service in services:
            if service not in ALLOWED_TRUSTED_SERVICES:
                violations.append(f"role trust policy admits {service}")
        if _as_list(statement.get("Action")) != ["sts:AssumeRole"]:
            violations.append("role trust policy allows more than sts:AssumeRole")
    return violations


# events: the jobs webhook's rule invokes its API destination with a role; MediaConvert runs jobs.
ALLOWED_TRUSTED_SERVICES = frozenset(
    {
        "lambda.amazonaws.com",
        "scheduler.amazonaws.com",
        "events.amazonaws.com",
        rules_transcoding.MEDIACONVERT,
    }
)


@dataclass(frozen=True)
class SignerScope:
    """Where the signer may write: ``arn:aws:s3:::<bucket>/<prefix>*`` (and the job table it
    records jobs in, when the stack has one: ``jobs_table`` is its name)."""

    bucket: str
    prefix: str
    jobs_table: str | None = None

    @property
    def object_arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.prefix}*"


_LOG_STREAM_ARN = re.compile(r"^arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:/aws/lambda/[A-Za-z0-9_-]+:\*$")
_ONE_TABLE_ARN = re.compile(r"^arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/([A-Za-z0-9_.-]{3,255})$")
SIGNER_JOB_ACTIONS = frozenset({"dynamodb:PutItem", "dynamodb:GetItem"})
# One named secret (Secrets Manager appends -?????? to the name in the ARN): never a wildcard name.
_ONE_SECRET_ARN = re.compile(r"^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-\?{6}$")


def signer_permissions_are_least_privilege(policy_document: Any, scope: SignerScope) -> list[str]:
    """The signer's inline policy: s3:PutObject on the upload prefix, writes to its own log group,
    its subject key, and PutItem/GetItem on the one job table (never its indexes, never Update,
    Query or Delete)."""
    violations = []
    for statement in _statements(_document(policy_document)):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            violations.append("signer policy uses NotAction/NotResource")
            continue
        actions = set(_as_list(statement.get("Action")))
        resources = _as_list(statement.get("Resource"))
        if actions == {"s3:PutObject"}:
            wrong = [r for r in resources if r != scope.object_arn]
            if wrong:
                violations.append(f"signer may PutObject outside {scope.object_arn}: {wrong}")
        elif actions == SIGNER_MULTIPART_ACTIONS:
            wrong = [r for r in resources if r != scope.object_arn]
            if wrong:
                violations.append(f"signer may manage multipart uploads outside {scope.object_arn}: {wrong}")
        elif actions and actions <= SIGNER_LOG_ACTIONS:
            wrong = [r for r in resources if not _LOG_STREAM_ARN.match(str(r))]
            if wrong:
                violations.append(f"signer log writes are not scoped to its own log group: {wrong}")
        elif actions and actions <= SIGNER_JOB_ACTIONS:
            tables = [_ONE_TABLE_ARN.match(str(r)) for r in resources]
            if (
                not resources
                or not all(tables)
                or (
                    scope.jobs_table is not None and any(t and t.group(1) != scope.jobs_table for t in tables)
                )
            ):
                violations.append(f"signer may record jobs beyond the one job table: {resources}")
        elif actions == {"secretsmanager:GetSecretValue"}:
            # The key its subject folders are keyed with (JWT stacks): exactly one named secret.
            if len(resources) != 1 or not _ONE_SECRET_ARN.match(str(resources[0])):
                violations.append(f"signer may read secrets beyond its one subject key: {resources}")
        else:
            violations.append(
                f"signer policy allows {sorted(actions)}: only s3:PutObject, listing and aborting multipart "
                "uploads, log writes, its subject key and recording jobs"
            )
        if statement.get("Condition") is None and "*" in resources:
            violations.append("signer policy grants on Resource '*'")
    return violations


def log_groups_have_retention(resource_type: str, props: Props) -> list[str]:
    if resource_type != "aws:cloudwatch/logGroup:LogGroup":
        return []
    if not props.get("retentionInDays"):
        return [f"log group {props.get('name')} keeps logs forever: set retentionInDays"]
    return []


def lambdas_use_supported_python(resource_type: str, props: Props) -> list[str]:
    if resource_type != "aws:lambda/function:Function":
        return []
    runtime = props.get("runtime")
    if runtime not in SUPPORTED_PYTHON_RUNTIMES:
        return [
            f"function {props.get('name')} runs {runtime!r}; supported: {sorted(SUPPORTED_PYTHON_RUNTIMES)}"
        ]
    return []


ResourceRule = Callable[[str, Props], list[str]]

RESOURCE_RULES: dict[str, tuple[str, ResourceRule]] = {
    "bucket-blocks-public-access": (
        "The media and log buckets block all public access.",
        bucket_blocks_public_access,
    ),
    "bucket-policy-private-tls-only": (
        "Bucket policies grant no public principal, bind CloudFront to one distribution and deny non-TLS requests.",
        bucket_policy_is_private_and_tls_only,
    ),
    "cdn-s3-origins-use-oac": (
        "Every CloudFront origin to S3 uses Origin Access Control.",
        cdn_uses_oac_for_s3,
    ),
    "cdn-viewers-https": ("Every cache behavior redirects viewers to HTTPS.", cdn_redirects_viewers_to_https),
    "cache-key-no-cookies-or-query": (
        "No cache policy puts cookies or query strings in the cache key.",
        cache_keys_have_no_cookies_or_query_strings,
    ),
    "lambda-trust-service-only": (
        "Roles are assumable only by their AWS service.",
        lambda_trust_is_lambda_only,
    ),
    "log-groups-have-retention": ("Every log group has a retention period.", log_groups_have_retention),
    "lambda-supported-python": (
        "Every Lambda runs a supported Python runtime.",
        lambdas_use_supported_python,
    ),
}


def check_resources(resources: Iterable[tuple[str, Props]]) -> list[str]:
    """Every violation of every per-resource rule, prefixed with the rule's name."""
    return [
        f"{rule_name}: {message}"
        for resource_type, props in resources
        for rule_name, (_, rule) in RESOURCE_RULES.items()
        for message in rule(resource_type, props)
    ]


RESOURCE_RULES.update(
    {
        **rules_monitoring.RESOURCE_RULES,
        **rules_edge.RESOURCE_RULES,
        **rules_jobs.RESOURCE_RULES,
        **rules_transcoding.RESOURCE_RULES,
    }
)
# Re-exported: the rules' one public module.
bucket_acls_disabled = rules_monitoring.bucket_acls_disabled
alarms_notify_on_alarm_and_ok = rules_monitoring.alarms_notify_on_alarm_and_ok
topics_use_a_key_cloudwatch_can_use = rules_monitoring.topics_use_a_key_cloudwatch_can_use


# --- Stack-level rule: the signer's role, scoped by the media bucket and the upload prefix -------

MEDIA_BUCKET_COMPONENT = "lux:storage:MediaBucket"
UPLOAD_SIGNER_COMPONENT = "lux:signer:UploadSigner"
JOBS_COMPONENT = "lux:jobs:JobTracking"
_ROLE_GRANTS = frozenset(
    {
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive",
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
        "aws:iam/policyAttachment:PolicyAttachment",
    }
)


@dataclass(frozen=True)
class StackResource:
    """A resource as a stack-level rule sees it: URN (its type chain names its components), type, props."""

    urn: str
    type: str
    props: Props


def within(urn: str, component_type: str) -> bool:
    """The resource is (a descendant of) a component of ``component_type``, read from its URN:
    ``urn:pulumi:<stack>::<project>::<parent types joined by $>$<type>::<name>``."""
    parts = urn.split("::")
    return len(parts) >= 4 and component_type in parts[2].split("$")[:-1]


def _grant_targets(props: Props) -> list[Any]:
    return [props.get("role"), *_as_list(props.get("roles"))]


def signer_role_is_least_privilege(resources: Iterable[StackResource]) -> list[str]:
    """The signer role allows nothing but ``s3:PutObject`` under the media bucket's upload prefix and
    writes to its own log group: its inline policy is checked against the scope found in the stack
    (the MediaBucket's bucket name, the signer function's ``PREFIX``), and nothing else may grant
    the role anything (no managed policies, attachments or other inline policies)."""
    resources = list(resources)
    signer = [r for r in resources if within(r.urn, UPLOAD_SIGNER_COMPONENT)]
    roles = [r for r in signer if r.type == "aws:iam/role:Role"]
    policies = [r for r in signer if r.type == "aws:iam/rolePolicy:RolePolicy"]
    if not roles and not policies:
        return []
    violations: list[str] = []

    buckets = [
        r.props.get("bucket")
        for r in resources
        if r.type == "aws:s3/bucket:Bucket" and within(r.urn, MEDIA_BUCKET_COMPONENT)
    ]
    prefixes = {
        ((r.props.get("environment") or {}).get("variables") or {}).get("PREFIX")
        for r in signer
        if r.type == "aws:lambda/function:Function"
    }
    if len(buckets) != 1 or not isinstance(buckets[0], str):
        violations.append(f"signer scope: expected one media bucket with a name, found {buckets}")
    if len(prefixes) != 1 or not isinstance(next(iter(prefixes)), str):
        violations.append(f"signer scope: expected one signer function with a PREFIX, found {prefixes}")
    if violations:
        return violations
    tables = [
        r.props.get("name") for r in resources if r.type == rules_jobs.TABLE and within(r.urn, JOBS_COMPONENT)
    ]
    scope = SignerScope(
        bucket=str(buckets[0]),
        prefix=str(next(iter(prefixes))),
        # Without a job table in the stack the signer may record jobs nowhere.
        jobs_table=str(tables[0]) if len(tables) == 1 else "(no job table in the stack)",
    )

    for policy in policies:
        violations += signer_permissions_are_least_privilege(policy.props.get("policy"), scope)

    role_refs: set[str] = set()
    for role in roles:
        role_refs.update(str(v) for v in (role.props.get("name"), role.props.get("arn")) if v)
        if role.props.get("managedPolicyArns"):
            violations.append(f"signer role has managed policies {role.props['managedPolicyArns']}")
        if any(p.get("policy") for p in role.props.get("inlinePolicies") or []):
            violations.append("signer role has inline policies declared on the role itself")
    own = {p.urn for p in policies}
    for resource in resources:
        targets = {str(t) for t in _grant_targets(resource.props) if t}
        if resource.type in _ROLE_GRANTS and resource.urn not in own and role_refs & targets:
            violations.append(
                f"{resource.type} {resource.urn.rsplit('::', 1)[-1]} grants the signer role more"
            )
    return violations


STACK_RULES: dict[str, tuple[str, Callable[[Iterable[StackResource]], list[str]]]] = {
    "signer-role-least-privilege": (
        "The signer role allows only s3:PutObject under the upload prefix of the media bucket, its log writes, "
        "its subject key and PutItem/GetItem on the job table.",
        signer_role_is_least_privilege,
    ),
}
STACK_RULES.update(rules_transcoding.STACK_RULES)
