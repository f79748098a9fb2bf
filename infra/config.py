"""The one place stack configuration is read and validated.

Every key is parsed from its raw string form (how the Pulumi engine hands config to the program)
into a frozen :class:`StackConfig`. A bad value fails here, before any resource is declared, with
a :class:`ConfigError` that names the key, so ``pulumi preview`` tells the reviewer what to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lambda_src.sign_uploads import config as signer_limits

PROJECT = "lux-video"
REPO_ROOT = Path(__file__).resolve().parent.parent

# Values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
# The signer's limits, defined where the function reads them.
MAX_SINGLE_PUT_BYTES = signer_limits.S3_SINGLE_PUT_LIMIT_BYTES

# No dots: a dotted name breaks TLS on the virtual-hosted URLs the signer issues.
_BUCKET_NAME = re.compile(r"^(?!xn--)(?!sthree-)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_ORIGIN = re.compile(r"^https?://(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$")
_REGION = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,56}$")  # leaves room for the "-role" suffix (64 max)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
_CLOUDFRONT_ID = re.compile(r"^E[A-Z0-9]+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_API_ID = re.compile(r"^[a-z0-9]{10}$")

# `adopt` keys: the logical resources that may be brought under management from an existing AWS
# resource (Pulumi's import option), and what each existing ID looks like.
ADOPT_KEYS: dict[str, tuple[re.Pattern[str], str]] = {
    "bucket": (_BUCKET_NAME, "an S3 bucket name"),
    "signerRole": (_ROLE_NAME, "an IAM role name (not an ARN)"),
    "signerFunction": (_FUNCTION_NAME, "a Lambda function name (not an ARN)"),
    "api": (_API_ID, "an HTTP API ID (10 lower-case letters/digits, e.g. a1b2c3d4e5)"),
    "distribution": (_CLOUDFRONT_ID, "a CloudFront distribution ID (E + upper-case letters/digits)"),
    "originAccessControl": (_CLOUDFRONT_ID, "an origin access control ID (E + upper-case letters/digits)"),
    "manifestCachePolicy": (_UUID, "a cache policy ID (a lower-case UUID)"),
    "segmentCachePolicy": (_UUID, "a cache policy ID (a lower-case UUID)"),
    "responseHeadersPolicy": (_UUID, "a response headers policy ID (a lower-case UUID)"),
}
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_TRUE, _FALSE = frozenset({"true", "yes", "1"}), frozenset({"false", "no", "0"})


class ConfigError(ValueError):
    """A stack config value is missing or invalid; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = f"{PROJECT}:{key}" if ":" not in key else key
        self.problem = problem
        super().__init__(f"config {self.key}: {problem}")


@dataclass(frozen=True)
class StackConfig:
    """Typed, validated stack configuration. Defaults are stated once, in :data:`DEFAULTS`."""

    stack: str
    region: str
    bucket_name: str
    prefix: str
    expiration_days: int
    cors_allowed_origins: tuple[str, ...]
    price_class: str
    log_retention_days: int
    url_ttl_seconds: int
    max_files: int
    max_file_bytes: int
    throttle_rate_per_second: float
    throttle_burst: int
    signer_function_name: str
    api_name: str
    jwt_issuer: str | None
    jwt_audience: tuple[str, ...]
    log_bucket_name: str
    alarm_email: str | None
    cdn_additional_metrics: bool
    health_check_enabled: bool
    health_check_token_secret_name: str | None
    default_tags: tuple[tuple[str, str], ...] = ()
    # `adopt`: logical resource (an ADOPT_KEYS key) -> ID of the existing resource to import.
    adopt: tuple[tuple[str, str], ...] = ()

    def adopted(self, keys: tuple[str, ...]) -> dict[str, str]:
        """The import IDs among ``keys`` (a component's adoptable resources), for its args."""
        return {key: resource_id for key, resource_id in self.adopt if key in keys}

    @property
    def tags(self) -> dict[str, str]:
        """The tags every AWS resource carries (the stack file's ``aws:defaultTags``); explicit
        providers must be given them, as they do not read the stack's ``aws:`` config."""
        return dict(self.default_tags)

    @property
    def auth_required(self) -> bool:
        """The signer route is protected by a JWT authorizer."""
        return self.jwt_issuer is not None

    @property
    def name_prefix(self) -> str:
        """Prefix for account-unique names (cache policies, OAC) so stacks never collide."""
        return f"{PROJECT}-{self.stack}"


# Key -> default (None: required). Raw values are strings, as the engine passes them.
DEFAULTS: dict[str, Any] = {
    "bucketName": None,
    "prefix": signer_limits.DEFAULT_PREFIX,
    "expirationDays": 30,
    "corsAllowedOrigins": ["*"],
    "priceClass": "PriceClass_100",
    "logRetentionDays": 30,
    "urlTtlSeconds": signer_limits.DEFAULT_URL_TTL_SECONDS,
    "maxFiles": signer_limits.DEFAULT_MAX_FILES,
    "maxFileBytes": MAX_SINGLE_PUT_BYTES,
    "throttleRatePerSecond": 50,
    "throttleBurst": 100,
    "signerFunctionName": "lux-sign-uploads",
    "apiName": "lux-video-api",
    "jwtIssuer": None,
    "jwtAudience": None,
    "adopt": None,
    # Monitoring (infra/logs.py, infra/monitoring.py). logBucketName None: "<bucketName>-logs".
    "logBucketName": None,
    "alarmEmail": None,
    "cdnAdditionalMetrics": False,
    "healthCheckEnabled": True,
    "healthCheckTokenSecretName": None,
}


def _int(raw: Mapping[str, str], key: str, low: int, high: int) -> int:
    value = raw.get(key)
    if value is None:
        return int(DEFAULTS[key])
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(key, f"must be an integer, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(key, f"must be between {low} and {high}, got {number}")
    return number


def _float(raw: Mapping[str, str], key: str, low: float, high: float) -> float:
    value = raw.get(key)
    if value is None:
        return float(DEFAULTS[key])
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigError(key, f"must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(key, f"must be between {low} and {high}, got {number}")
    return number


def _bool(raw: Mapping[str, str], key: str) -> bool:
    value = raw.get(key)
    if value is None:
        return bool(DEFAULTS[key])
    text = str(value).strip().lower()
    if text not in _TRUE | _FALSE:
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return text in _TRUE


def _string_list(raw: Mapping[str, str], key: str) -> list[str] | None:
    value = raw.get(key)
    if value is None:
        default = DEFAULTS[key]
        return None if default is None else list(default)
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        raise ConfigError(key, f"must be a list of strings (JSON or YAML list), got {value!r}") from None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ConfigError(key, f"must be a list of strings, got {value!r}")
    return items


def _origins(raw: Mapping[str, str]) -> tuple[str, ...]:
    key = "corsAllowedOrigins"
    origins = _string_list(raw, key) or []
    if not origins:
        raise ConfigError(key, 'must list at least one origin (use ["*"] to allow any)')
    if "*" in origins and len(origins) > 1:
        raise ConfigError(key, "'*' allows every origin and cannot be combined with others")
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ConfigError(
                key,
                f"{origin!r} is not an origin: expected scheme://host[:port] with no path or trailing slash",
            )
    if len(set(origins)) != len(origins):
        raise ConfigError(key, "lists an origin twice")
    return tuple(origins)


def _jwt(raw: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    issuer = raw.get("jwtIssuer") or None
    audience = _string_list(raw, "jwtAudience")
    if issuer is None and audience:
        raise ConfigError("jwtIssuer", "is required when jwtAudience is set")
    if issuer is None:
        return None, ()
    if not issuer.startswith("https://") or any(c.isspace() for c in issuer):
        raise ConfigError("jwtIssuer", f"must be an https:// issuer URL, got {issuer!r}")
    if not audience or not all(a.strip() for a in audience):
        raise ConfigError("jwtAudience", "must list at least one non-empty audience when jwtIssuer is set")
    return issuer, tuple(audience)


def _monitoring(raw: Mapping[str, str], bucket_name: str, auth_required: bool) -> dict[str, Any]:
    log_bucket_name = raw.get("logBucketName") or f"{bucket_name}-logs"
    if not _BUCKET_NAME.match(log_bucket_name) or log_bucket_name == bucket_name:
        raise ConfigError(
            "logBucketName",
            f"{log_bucket_name!r} is not a valid S3 bucket name distinct from bucketName"
            + ("" if raw.get("logBucketName") else " (derived from bucketName: set logBucketName)"),
        )
    alarm_email = raw.get("alarmEmail") or None
    if alarm_email is not None and not _EMAIL.match(alarm_email):
        raise ConfigError("alarmEmail", f"{alarm_email!r} is not an email address")
    health_check_enabled = _bool(raw, "healthCheckEnabled")
    secret_name = raw.get("healthCheckTokenSecretName") or None
    if secret_name is not None and not _SECRET_NAME.match(secret_name):
        raise ConfigError(
            "healthCheckTokenSecretName", f"{secret_name!r} is not a Secrets Manager secret name"
        )
    if health_check_enabled and auth_required and secret_name is None:
        raise ConfigError(
            "healthCheckTokenSecretName",
            "is required when jwtIssuer is set and healthCheckEnabled is true: the synthetic check "
            "reads its bearer token from this Secrets Manager secret (or set healthCheckEnabled false)",
        )
    return {
        "log_bucket_name": log_bucket_name,
        "alarm_email": alarm_email,
        "cdn_additional_metrics": _bool(raw, "cdnAdditionalMetrics"),
        "health_check_enabled": health_check_enabled,
        "health_check_token_secret_name": secret_name if auth_required else None,
    }


def _default_tags(value: Any, stack: str) -> tuple[tuple[str, str], ...]:
    key = "aws:defaultTags"
    tags = (value or {}).get("tags") if isinstance(value, Mapping) else None
    if not isinstance(tags, Mapping) or not all(isinstance(v, str) for v in tags.values()):
        raise ConfigError(
            key, "must be {tags: {project: lux-video, stack: <stack>, ...}} so every resource is tagged"
        )
    if tags.get("project") != PROJECT:
        raise ConfigError(key, f"tags.project must be {PROJECT!r}, got {tags.get('project')!r}")
    if tags.get("stack") != stack:
        raise ConfigError(key, f"tags.stack must be the stack name {stack!r}, got {tags.get('stack')!r}")
    return tuple(sorted((str(k), str(v)) for k, v in tags.items()))


def _adopt(raw: Mapping[str, str], *, bucket_name: str, function_name: str) -> tuple[tuple[str, str], ...]:
    """`adopt` (a YAML object, arriving as a JSON string): logical resource -> existing resource ID.

    IDs are checked for shape, and where the program declares the resource's name, for equality
    with it: importing a resource under a different name than the program declares would be a
    replacement, which is exactly what adoption must never do.
    """
    key = "adopt"
    value = raw.get(key)
    if value is None:
        return ()
    try:
        mapping = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        raise ConfigError(key, f"must be a mapping of resource -> existing ID, got {value!r}") from None
    if mapping is None:
        return ()
    if not isinstance(mapping, Mapping):
        raise ConfigError(key, f"must be a mapping of resource -> existing ID, got {value!r}")
    for name, resource_id in sorted(mapping.items()):
        if name not in ADOPT_KEYS:
            raise ConfigError(f"{key}.{name}", f"is not adoptable (adoptable: {', '.join(ADOPT_KEYS)})")
        pattern, shape = ADOPT_KEYS[name]
        if not isinstance(resource_id, str) or not resource_id.strip():
            raise ConfigError(f"{key}.{name}", f"must be a non-empty string ({shape}), got {resource_id!r}")
        if not pattern.match(resource_id):
            raise ConfigError(f"{key}.{name}", f"{resource_id!r} is not {shape}")
    expected = {
        "bucket": ("bucketName", bucket_name),
        "signerFunction": ("signerFunctionName", function_name),
        "signerRole": ("signerFunctionName", f"{function_name}-role"),
    }
    for name, (source_key, wanted) in expected.items():
        if name in mapping and mapping[name] != wanted:
            raise ConfigError(
                f"{key}.{name}",
                f"{mapping[name]!r} must be {wanted!r}, the name the program declares from {source_key}"
                " (importing under another name would replace the resource)",
            )
    return tuple(sorted((str(k), str(v)) for k, v in mapping.items()))


def parse(raw: Mapping[str, str], *, stack: str, region: str | None, default_tags: Any = None) -> StackConfig:
    """Validate raw project config (keys without the ``lux-video:`` namespace) into a StackConfig.

    ``default_tags`` is the stack's ``aws:defaultTags`` object (``{"tags": {...}}``).
    """
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ConfigError(unknown[0], f"is not a known key (known: {', '.join(sorted(DEFAULTS))})")

    if not region:
        raise ConfigError("aws:region", "is required (e.g. `pulumi config set aws:region us-west-2`)")
    if not _REGION.match(region):
        raise ConfigError("aws:region", f"{region!r} is not an AWS region name")

    bucket_name = raw.get("bucketName")
    if not bucket_name:
        raise ConfigError("bucketName", "is required (the media bucket's globally unique name)")
    if not _BUCKET_NAME.match(bucket_name):
        raise ConfigError(
            "bucketName", f"{bucket_name!r} is not a valid S3 bucket name (3-63 of a-z, 0-9, '-'; no dots)"
        )

    prefix = raw.get("prefix", DEFAULTS["prefix"])
    if not signer_limits.valid_prefix(prefix):
        raise ConfigError(
            "prefix",
            f"{prefix!r} must be 1-8 [A-Za-z0-9_-] segments, each ending in '/', "
            f"at most {signer_limits.PREFIX_MAX_CHARS} characters, e.g. 'videos/'",
        )

    price_class = raw.get("priceClass", DEFAULTS["priceClass"])
    if price_class not in PRICE_CLASSES:
        raise ConfigError("priceClass", f"{price_class!r} is not one of {', '.join(PRICE_CLASSES)}")

    log_retention_days = _int(raw, "logRetentionDays", 1, 3653)
    if log_retention_days not in LOG_RETENTION_DAYS:
        raise ConfigError(
            "logRetentionDays",
            f"{log_retention_days} is not a CloudWatch retention value ({', '.join(map(str, sorted(LOG_RETENTION_DAYS)))})",
        )

    function_name = raw.get("signerFunctionName", DEFAULTS["signerFunctionName"])
    if not _FUNCTION_NAME.match(function_name):
        raise ConfigError("signerFunctionName", f"{function_name!r} must be 1-56 of [A-Za-z0-9_-]")
    api_name = raw.get("apiName", DEFAULTS["apiName"])
    if not _NAME.match(api_name):
        raise ConfigError("apiName", f"{api_name!r} must be 1-128 of [A-Za-z0-9_.-]")

    jwt_issuer, jwt_audience = _jwt(raw)
    return StackConfig(
        stack=stack,
        region=region,
        bucket_name=bucket_name,
        prefix=prefix,
        expiration_days=_int(raw, "expirationDays", 1, 3650),
        cors_allowed_origins=_origins(raw),
        price_class=price_class,
        log_retention_days=log_retention_days,
        url_ttl_seconds=_int(
            raw, "urlTtlSeconds", signer_limits.MIN_URL_TTL_SECONDS, signer_limits.MAX_URL_TTL_SECONDS
        ),
        max_files=_int(raw, "maxFiles", 1, signer_limits.MAX_FILES_LIMIT),
        max_file_bytes=_int(raw, "maxFileBytes", 1, MAX_SINGLE_PUT_BYTES),
        throttle_rate_per_second=_float(raw, "throttleRatePerSecond", 1, 10_000),
        throttle_burst=_int(raw, "throttleBurst", 1, 5_000),
        signer_function_name=function_name,
        api_name=api_name,
        jwt_issuer=jwt_issuer,
        jwt_audience=jwt_audience,
        **_monitoring(raw, bucket_name, auth_required=jwt_issuer is not None),
        default_tags=_default_tags(default_tags, stack),
        adopt=_adopt(raw, bucket_name=bucket_name, function_name=function_name),
    )


def load() -> StackConfig:
    """Read the current stack's config from the Pulumi engine (or its mocks) and validate it."""
    import pulumi

    project_config = pulumi.Config(PROJECT)
    raw = {key: value for key in DEFAULTS if (value := project_config.get(key)) is not None}
    # Keys set in the stack file but unknown to the program are a typo worth failing on.
    for full_key in _configured_keys():
        namespace, _, key = full_key.partition(":")
        if namespace == PROJECT and key not in DEFAULTS:
            raise ConfigError(key, f"is not a known key (known: {', '.join(sorted(DEFAULTS))})")
    aws_config = pulumi.Config("aws")
    try:
        default_tags = aws_config.get_object("defaultTags")
    except Exception:
        raise ConfigError("aws:defaultTags", "must be a YAML/JSON object") from None
    return parse(raw, stack=pulumi.get_stack(), region=aws_config.get("region"), default_tags=default_tags)


def _configured_keys() -> list[str]:
    from pulumi.runtime import config as runtime_config

    return [*runtime_config.get_config_env(), *runtime_config.CONFIG.get()]


# --- stack files: how the CLI would hand config to the program, for tools and the local stack ------


def stack_file_config(stack: str) -> dict[str, Any]:
    """The ``config:`` map of ``Pulumi.<stack>.yaml`` (keys fully qualified, values as in YAML)."""
    path = REPO_ROOT / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ConfigError(
            "stack", f"no stack file {path.name} (stacks: {', '.join(available_stacks()) or 'none'})"
        )
    document = yaml.safe_load(path.read_text()) or {}
    return dict(document.get("config") or {})


def available_stacks() -> list[str]:
    return sorted(
        p.name[len("Pulumi.") : -len(".yaml")]
        for p in REPO_ROOT.glob("Pulumi.*.yaml")
        if p.name != "Pulumi.yaml"
    )


def engine_config(values: Mapping[str, Any]) -> dict[str, str]:
    """Config as the engine hands it to a program: every value a string, objects JSON-encoded."""
    return {
        key: value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        for key, value in values.items()
    }


def from_stack_file(stack: str, *, region: str | None = None) -> StackConfig:
    """Validate ``Pulumi.<stack>.yaml`` without the engine (the local stack; ``region`` overrides)."""
    raw = engine_config(stack_file_config(stack))
    namespace = f"{PROJECT}:"
    return parse(
        {key[len(namespace) :]: value for key, value in raw.items() if key.startswith(namespace)},
        stack=stack,
        region=region or raw.get("aws:region"),
        default_tags=json.loads(raw.get("aws:defaultTags", "null")),
    )
