"""The one place stack configuration is read and validated.

Every key is parsed from its raw string form (how the Pulumi engine hands config to the program)
into a frozen :class:`StackConfig` made of one slice per component: each component receives its
slice and nothing else. A bad value fails here, before any resource is declared, with a
:class:`ConfigError` that names the key, so ``pulumi preview`` tells the reviewer what to fix.

A component's ``adopt`` keys (existing AWS resources to import instead of create) are declared
once, in its slice's ``ADOPTABLE``; the signer's limits come from the function's own config module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from infra.config import adoption
from infra.config import values as v
from infra.config.slices import (
    ADOPT_KEYS,
    ApiConfig,
    CdnConfig,
    EdgeConfig,
    HealthCheckConfig,
    JobsConfig,
    LogsConfig,
    MonitoringConfig,
    SignerConfig,
    StackConfig,
    StorageConfig,
)
from infra.config.transcoding import DEFAULTS as TRANSCODING_DEFAULTS
from infra.config.transcoding import TranscodingConfig, transcoding_config
from infra.config.values import PROJECT, ConfigError
from lambda_src.sign_uploads import config as signer_limits

__all__ = [
    "ADOPT_KEYS",
    "ANY_ORIGIN_PROBE",
    "DEFAULTS",
    "MAX_SINGLE_PUT_BYTES",
    "PROJECT",
    "ApiConfig",
    "CdnConfig",
    "ConfigError",
    "EdgeConfig",
    "HealthCheckConfig",
    "JobsConfig",
    "LogsConfig",
    "MonitoringConfig",
    "SignerConfig",
    "StackConfig",
    "StorageConfig",
    "TranscodingConfig",
    "available_stacks",
    "engine_config",
    "from_stack_file",
    "load",
    "parse",
    "stack_file_config",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_SINGLE_PUT_BYTES = signer_limits.S3_SINGLE_PUT_LIMIT_BYTES


# Key -> default (None: required or unset). Raw values are strings, as the engine passes them.
DEFAULTS: dict[str, Any] = {
    "bucketName": None,
    "prefix": signer_limits.DEFAULT_PREFIX,
    "expirationDays": 30,
    # Bucket versioning: an overwritten or deleted object can be restored for noncurrentVersionDays.
    "versioning": False,
    "noncurrentVersionDays": 30,
    "corsAllowedOrigins": ["*"],
    "priceClass": "PriceClass_100",
    "logRetentionDays": 30,
    "urlTtlSeconds": signer_limits.DEFAULT_URL_TTL_SECONDS,
    "maxFiles": signer_limits.DEFAULT_MAX_FILES,
    "maxFileBytes": MAX_SINGLE_PUT_BYTES,
    "maxMultipartFileBytes": signer_limits.DEFAULT_MAX_MULTIPART_FILE_BYTES,
    "throttleRatePerSecond": 50,
    "throttleBurst": 100,
    "signerFunctionName": "lux-sign-uploads",
    "apiName": "lux-video-api",
    "jwtIssuer": None,
    "jwtAudience": None,
    "adopt": None,
    # What adopting the bucket may create anew anyway: ["distribution", "api"] (an acknowledgement).
    "adoptAllowNew": None,
    # Monitoring. logBucketName None: "<bucketName>-logs".
    "logBucketName": None,
    "alarmEmail": None,
    "cdnAdditionalMetrics": False,
    # The locked-down edge (infra/edge.py): AWS WAF with a per-IP limit (requests per 5 minutes),
    # and a custom domain with its own certificate (+ its Route 53 hosted zone, if managed here).
    "waf": False,
    "wafRateLimit": 2000,
    "cdnDomain": None,
    "cdnHostedZoneId": None,
    "healthCheckEnabled": True,
    # The key the signer's subject folders are HMACs under (a Secrets Manager secret you create:
    # docs/configuration.md); required when jwtIssuer is set.
    "subjectKeySecretName": None,
    # The jobs webhook (infra/jobs.py): an https URL EventBridge POSTs every job event to, with the
    # value of this Secrets Manager secret in its token header. Both or neither.
    "webhookUrl": None,
    "webhookSecretName": None,
    # Cloud transcoding on MediaConvert (infra/config/transcoding.py, docs/transcoding.md).
    **TRANSCODING_DEFAULTS,
}


# Keys earlier versions read, and why they are gone.
RETIRED_KEYS = {
    "healthCheckTokenSecretName": "the health check now signs its call with its IAM role on the API's "
    "POST /healthcheck route, so it needs no bearer token",
}


def parse(raw: Mapping[str, str], *, stack: str, region: str | None, default_tags: Any = None) -> StackConfig:
    """Validate raw project config (keys without the ``lux-video:`` namespace) into a StackConfig.

    ``default_tags`` is the stack's ``aws:defaultTags`` object (``{"tags": {...}}``).
    """
    for key, why in RETIRED_KEYS.items():
        if key in raw:
            raise ConfigError(key, f"is no longer used: {why} (remove it from the stack file)")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ConfigError(unknown[0], f"is not a known key (known: {', '.join(sorted(DEFAULTS))})")
    if not region:
        raise ConfigError("aws:region", "is required (e.g. `pulumi config set aws:region us-west-2`)")
    if not v.REGION.match(region):
        raise ConfigError("aws:region", f"{region!r} is not an AWS region name")

    bucket_name = raw.get("bucketName")
    if not bucket_name:
        raise ConfigError("bucketName", "is required (the media bucket's globally unique name)")
    if not v.BUCKET_NAME.match(bucket_name):
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
    if price_class not in v.PRICE_CLASSES:
        raise ConfigError("priceClass", f"{price_class!r} is not one of {', '.join(v.PRICE_CLASSES)}")
    retention = v.integer(raw, "logRetentionDays", DEFAULTS["logRetentionDays"], 1, 3653)
    if retention not in v.LOG_RETENTION_DAYS:
        raise ConfigError(
            "logRetentionDays",
            f"{retention} is not a CloudWatch retention value ({', '.join(map(str, sorted(v.LOG_RETENTION_DAYS)))})",
        )
    function_name = raw.get("signerFunctionName", DEFAULTS["signerFunctionName"])
    if not v.FUNCTION_NAME.match(function_name):
        raise ConfigError("signerFunctionName", f"{function_name!r} must be 1-56 of [A-Za-z0-9_-]")
    api_name = raw.get("apiName", DEFAULTS["apiName"])
    if not v.NAME.match(api_name):
        raise ConfigError("apiName", f"{api_name!r} must be 1-128 of [A-Za-z0-9_.-]")

    origins = v.origins(raw, "corsAllowedOrigins", DEFAULTS["corsAllowedOrigins"])
    jwt_issuer, jwt_audience = _jwt(raw)
    auth_required = jwt_issuer is not None
    adopt = adoption.adopt(raw, bucket_name=bucket_name, function_name=function_name)
    name_prefix = f"{PROJECT}-{stack}"
    health_check = _health_check(raw, stack, region, prefix, retention, origins)
    expiration_days = v.integer(raw, "expirationDays", DEFAULTS["expirationDays"], 1, 3650)

    def adopted(slice_: Any) -> dict[str, str]:
        return {key: resource_id for key, resource_id in adopt.items() if key in slice_.ADOPTABLE}

    return StackConfig(
        stack=stack,
        region=region,
        default_tags=v.default_tags(default_tags, stack),
        storage=StorageConfig(
            bucket_name=bucket_name,
            prefix=prefix,
            expiration_days=expiration_days,
            cors_allowed_origins=origins,
            expire_health_check_probes=health_check is not None,
            noncurrent_version_days=(
                v.integer(raw, "noncurrentVersionDays", DEFAULTS["noncurrentVersionDays"], 1, 30)
                if v.boolean(raw, "versioning", DEFAULTS["versioning"])
                else None
            ),
            adopt=adopted(StorageConfig),
        ),
        edge=_edge(raw, name_prefix),
        logs=LogsConfig(
            name_prefix=name_prefix,
            log_bucket_name=_log_bucket_name(raw, bucket_name),
            retention_days=retention,
            region=region,
            tags=dict(v.default_tags(default_tags, stack)),
        ),
        cdn=CdnConfig(
            name_prefix=name_prefix,
            price_class=price_class,
            cors_allowed_origins=origins,
            additional_metrics=v.boolean(raw, "cdnAdditionalMetrics", DEFAULTS["cdnAdditionalMetrics"]),
            adopt=adopted(CdnConfig),
        ),
        signer=SignerConfig(
            function_name=function_name,
            prefix=prefix,
            url_ttl_seconds=v.integer(
                raw,
                "urlTtlSeconds",
                DEFAULTS["urlTtlSeconds"],
                signer_limits.MIN_URL_TTL_SECONDS,
                signer_limits.MAX_URL_TTL_SECONDS,
            ),
            max_files=v.integer(raw, "maxFiles", DEFAULTS["maxFiles"], 1, signer_limits.MAX_FILES_LIMIT),
            max_file_bytes=v.integer(raw, "maxFileBytes", DEFAULTS["maxFileBytes"], 1, MAX_SINGLE_PUT_BYTES),
            max_multipart_file_bytes=v.integer(
                raw,
                "maxMultipartFileBytes",
                DEFAULTS["maxMultipartFileBytes"],
                1,
                signer_limits.S3_OBJECT_LIMIT_BYTES,
            ),
            auth_required=auth_required,
            log_retention_days=retention,
            subject_key_secret_name=_subject_key_secret(raw, auth_required),
            # The health check signs on its own IAM route; the signer accepts its assumed role only.
            health_check_role_name=None if health_check is None else health_check.role_name,
            adopt=adopted(SignerConfig),
        ),
        api=ApiConfig(
            api_name=api_name,
            cors_allowed_origins=origins,
            throttle_rate_per_second=v.number(
                raw, "throttleRatePerSecond", DEFAULTS["throttleRatePerSecond"], 1, 10_000
            ),
            throttle_burst=v.integer(raw, "throttleBurst", DEFAULTS["throttleBurst"], 1, 5_000),
            log_retention_days=retention,
            jwt_issuer=jwt_issuer,
            jwt_audience=jwt_audience,
            health_check_route=health_check is not None,
            adopt=adopted(ApiConfig),
        ),
        monitoring=MonitoringConfig(
            name_prefix=name_prefix,
            stack=stack,
            region=region,
            tags=dict(v.default_tags(default_tags, stack)),
            alarm_email=v.matching(raw, "alarmEmail", None, v.EMAIL, "is not an email address"),
        ),
        health_check=health_check,
        jobs=JobsConfig(
            name_prefix=name_prefix,
            region=region,
            prefix=prefix,
            job_retention_days=expiration_days + 1,
            log_retention_days=retention,
            **_webhook(raw),
        ),
        transcoding=transcoding_config(
            raw,
            name_prefix=name_prefix,
            stack=stack,
            region=region,
            prefix=prefix,
            retention=retention,
            tags=dict(v.default_tags(default_tags, stack)),
        ),
    )


def _jwt(raw: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    issuer = raw.get("jwtIssuer") or None
    audience = v.string_list(raw, "jwtAudience", DEFAULTS["jwtAudience"])
    if issuer is None and audience:
        raise ConfigError("jwtIssuer", "is required when jwtAudience is set")
    if issuer is None:
        return None, ()
    if not issuer.startswith("https://") or any(c.isspace() for c in issuer):
        raise ConfigError("jwtIssuer", f"must be an https:// issuer URL, got {issuer!r}")
    if not audience or not all(a.strip() for a in audience):
        raise ConfigError("jwtAudience", "must list at least one non-empty audience when jwtIssuer is set")
    return issuer, tuple(audience)


_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{4,31}$")


def _edge(raw: Mapping[str, str], name_prefix: str) -> EdgeConfig:
    domain = v.matching(
        raw, "cdnDomain", None, _DOMAIN, "is not a lower-case DNS name such as media.example.com"
    )
    zone = v.matching(
        raw, "cdnHostedZoneId", None, _HOSTED_ZONE_ID, "is not a Route 53 hosted zone ID (Z...)"
    )
    if zone is not None and domain is None:
        raise ConfigError(
            "cdnHostedZoneId", "is set but cdnDomain is not: the zone holds the custom domain's records"
        )
    waf = v.boolean(raw, "waf", DEFAULTS["waf"])
    # AWS WAF's rate-based rules accept 10 to 2,000,000,000 requests per 5 minutes.
    limit = v.integer(raw, "wafRateLimit", DEFAULTS["wafRateLimit"], 10, 2_000_000_000)
    return EdgeConfig(
        name_prefix=name_prefix, waf_rate_limit=limit if waf else None, domain=domain, hosted_zone_id=zone
    )


def _log_bucket_name(raw: Mapping[str, str], bucket_name: str) -> str:
    log_bucket_name = raw.get("logBucketName") or f"{bucket_name}-logs"
    if not v.BUCKET_NAME.match(log_bucket_name) or log_bucket_name == bucket_name:
        raise ConfigError(
            "logBucketName",
            f"{log_bucket_name!r} is not a valid S3 bucket name distinct from bucketName"
            + ("" if raw.get("logBucketName") else " (derived from bucketName: set logBucketName)"),
        )
    return log_bucket_name


# Probe Origin header when CORS allows any origin (any value works; this one can never be real).
ANY_ORIGIN_PROBE = "https://healthcheck.invalid"


def _health_check(
    raw: Mapping[str, str], stack: str, region: str, prefix: str, retention: int, origins: tuple[str, ...]
) -> HealthCheckConfig | None:
    if not v.boolean(raw, "healthCheckEnabled", DEFAULTS["healthCheckEnabled"]):
        return None
    return HealthCheckConfig(
        function_name=f"{PROJECT}-{stack}-healthcheck",
        stack=stack,
        region=region,
        prefix=prefix,
        log_retention_days=retention,
        check_origin=ANY_ORIGIN_PROBE if origins[0] == "*" else origins[0],
    )


def _webhook(raw: Mapping[str, str]) -> dict[str, str | None]:
    url = v.matching(raw, "webhookUrl", None, v.HTTPS_URL, "is not an https:// URL (host, optional path)")
    secret = v.matching(raw, "webhookSecretName", None, v.SECRET_NAME, "is not a Secrets Manager secret name")
    if (url is None) != (secret is None):
        key, other = (
            ("webhookSecretName", "webhookUrl") if url is not None else ("webhookUrl", "webhookSecretName")
        )
        raise ConfigError(
            key, f"is required when {other} is set: the webhook is sent with the secret's token"
        )
    return {"webhook_url": url, "webhook_secret_name": secret}


def _subject_key_secret(raw: Mapping[str, str], auth_required: bool) -> str | None:
    name = v.matching(
        raw, "subjectKeySecretName", None, v.SECRET_NAME, "is not a Secrets Manager secret name"
    )
    if auth_required and name is None:
        raise ConfigError(
            "subjectKeySecretName",
            "is required when jwtIssuer is set: subject folders are HMACs of the JWT subject under the key "
            "in this Secrets Manager secret (create it first: docs/configuration.md)",
        )
    return name if auth_required else None


def load() -> StackConfig:
    """Read the current stack's config from the Pulumi engine (or its mocks) and validate it."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    project_config = pulumi.Config(PROJECT)
    raw = {key: value for key in DEFAULTS if (value := project_config.get(key)) is not None}
    # Keys set in the stack file but unknown to the program are a typo worth failing on.
    for full_key in [*runtime_config.get_config_env(), *runtime_config.CONFIG.get()]:
        namespace, _, key = full_key.partition(":")
        if namespace == PROJECT and key not in DEFAULTS:
            raise ConfigError(key, f"is not a known key (known: {', '.join(sorted(DEFAULTS))})")
    aws_config = pulumi.Config("aws")
    try:
        default_tags = aws_config.get_object("defaultTags")
    except Exception:
        raise ConfigError("aws:defaultTags", "must be a YAML/JSON object") from None
    return parse(raw, stack=pulumi.get_stack(), region=aws_config.get("region"), default_tags=default_tags)


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
