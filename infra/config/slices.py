"""The stack config's slices: one frozen dataclass per component, holding exactly what it needs.

A component's ``adopt`` keys (existing AWS resources to import instead of create) are declared
once, in its slice's ``ADOPTABLE``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from infra.config import values as v
from infra.config.values import PROJECT
from lambda_src.sign_uploads.config import DEFAULT_MAX_MULTIPART_FILE_BYTES as MAX_MULTIPART_DEFAULT

if TYPE_CHECKING:
    from infra.config.transcoding import TranscodingConfig


class AdoptKey(NamedTuple):
    """What an existing resource's ID looks like, and (where the program names the resource) the
    name it must have: importing under another name would replace the resource."""

    pattern: re.Pattern[str]
    shape: str


Adoption = Mapping[str, str]


def function_role_name(function_name: str) -> str:
    """Every Lambda's role is named after it (infra/lambda_function.py declares it so)."""
    return f"{function_name}-role"  # `adopt` key -> existing resource ID, for one component


# --- one slice per component --------------------------------------------------------------------


@dataclass(frozen=True)
class StorageConfig:
    """``infra/storage.py`` MediaBucket."""

    ADOPTABLE: ClassVar[dict[str, AdoptKey]] = {"bucket": AdoptKey(v.BUCKET_NAME, "an S3 bucket name")}
    bucket_name: str
    prefix: str
    expiration_days: int
    cors_allowed_origins: tuple[str, ...]
    # The synthetic check's probe objects (<prefix>healthcheck-*) expire after a day if left behind.
    expire_health_check_probes: bool = False
    # Object versioning: an overwrite or delete can be undone for this many days (None: off).
    noncurrent_version_days: int | None = None
    adopt: Adoption = field(default_factory=dict)


@dataclass(frozen=True)
class LogsConfig:
    """``infra/logs.py`` LogArchive."""

    name_prefix: str
    log_bucket_name: str
    retention_days: int
    # CloudFront's log delivery lives in us-east-1: an explicit provider there when the stack
    # runs elsewhere, carrying the stack's tags (explicit providers do not read aws: config).
    region: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class CdnConfig:
    """``infra/cdn.py`` Cdn."""

    ADOPTABLE: ClassVar[dict[str, AdoptKey]] = {
        "distribution": AdoptKey(
            v.CLOUDFRONT_ID, "a CloudFront distribution ID (E + upper-case letters/digits)"
        ),
        "originAccessControl": AdoptKey(
            v.CLOUDFRONT_ID, "an origin access control ID (E + upper-case letters/digits)"
        ),
        "manifestCachePolicy": AdoptKey(v.UUID, "a cache policy ID (a lower-case UUID)"),
        "segmentCachePolicy": AdoptKey(v.UUID, "a cache policy ID (a lower-case UUID)"),
        "responseHeadersPolicy": AdoptKey(v.UUID, "a response headers policy ID (a lower-case UUID)"),
    }
    name_prefix: str
    price_class: str
    cors_allowed_origins: tuple[str, ...]
    # CloudFront's additional metrics (cache-hit rate, origin latency, error rates by status): billed.
    additional_metrics: bool = False
    adopt: Adoption = field(default_factory=dict)


@dataclass(frozen=True)
class EdgeConfig:
    """``infra/edge.py`` EdgeProtection (declared only when one of its features is on)."""

    name_prefix: str
    # AWS WAF on the distribution: requests per IP per 5 minutes (None: no web ACL).
    waf_rate_limit: int | None = None
    # A custom domain for the CDN, with its own ACM certificate (None: CloudFront's domain).
    domain: str | None = None
    # The Route 53 hosted zone of ``domain``: validation and alias records made here (None: by hand).
    hosted_zone_id: str | None = None

    @property
    def enabled(self) -> bool:
        return self.waf_rate_limit is not None or self.domain is not None


@dataclass(frozen=True)
class SignerConfig:
    """``infra/signer.py`` UploadSigner."""

    ADOPTABLE: ClassVar[dict[str, AdoptKey]] = {
        "signerRole": AdoptKey(v.ROLE_NAME, "an IAM role name (not an ARN)"),
        "signerFunction": AdoptKey(v.FUNCTION_NAME, "a Lambda function name (not an ARN)"),
    }
    function_name: str
    prefix: str
    url_ttl_seconds: int
    max_files: int
    max_file_bytes: int
    auth_required: bool
    log_retention_days: int
    # With JWT: the Secrets Manager secret holding the key subject folders are HMACs under.
    subject_key_secret_name: str | None = None
    # The health check's role: the only caller accepted on POST /healthcheck (None: no health check).
    health_check_role_name: str | None = None
    adopt: Adoption = field(default_factory=dict)
    # The multipart routes' cap on a whole file (S3's object limit is 5 TiB).
    max_multipart_file_bytes: int = MAX_MULTIPART_DEFAULT


@dataclass(frozen=True)
class ApiConfig:
    """``infra/api.py`` SignerApi."""

    ADOPTABLE: ClassVar[dict[str, AdoptKey]] = {
        "api": AdoptKey(v.API_ID, "an HTTP API ID (10 lower-case letters/digits, e.g. a1b2c3d4e5)"),
    }
    api_name: str
    cors_allowed_origins: tuple[str, ...]
    throttle_rate_per_second: float
    throttle_burst: int
    log_retention_days: int
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    # POST /healthcheck, IAM-authorized, for the synthetic check (off when the check is disabled).
    health_check_route: bool = False
    adopt: Adoption = field(default_factory=dict)


@dataclass(frozen=True)
class HealthCheckConfig:
    """``infra/health_check.py`` HealthCheck (absent when ``healthCheckEnabled`` is false)."""

    function_name: str
    stack: str
    region: str
    prefix: str
    log_retention_days: int
    # The Origin the probe sends; any value works when CORS allows every origin.
    check_origin: str

    @property
    def role_name(self) -> str:
        return function_role_name(self.function_name)


@dataclass(frozen=True)
class JobsConfig:
    """``infra/jobs.py`` JobTracking: the job table, the custom bus, the jobs function and its
    rules, and the optional webhook. Names derive from the stack's name prefix."""

    name_prefix: str
    region: str
    prefix: str
    # DynamoDB deletes a job record this long after its last signing: the objects' expiry + 1 day.
    job_retention_days: int
    log_retention_days: int
    # The webhook (an EventBridge API destination) and the Secrets Manager secret whose value is
    # sent in its token header; both or neither.
    webhook_url: str | None = None
    webhook_secret_name: str | None = None

    @property
    def function_name(self) -> str:
        return f"{self.name_prefix}-jobs"

    @property
    def table_name(self) -> str:
        return f"{self.name_prefix}-jobs"

    @property
    def bus_name(self) -> str:
        return f"{self.name_prefix}-jobs"

    @property
    def role_name(self) -> str:
        return function_role_name(self.function_name)

    @property
    def webhook(self) -> bool:
        return self.webhook_url is not None


@dataclass(frozen=True)
class MonitoringConfig:
    """``infra/monitoring/`` Monitoring: alarm topics, alarms, dashboard."""

    name_prefix: str
    stack: str
    region: str
    tags: Mapping[str, str]
    alarm_email: str | None = None


COMPONENT_SLICES: tuple[Any, ...] = (StorageConfig, CdnConfig, SignerConfig, ApiConfig)
ADOPT_KEYS: dict[str, AdoptKey] = {k: a for s in COMPONENT_SLICES for k, a in s.ADOPTABLE.items()}


@dataclass(frozen=True)
class StackConfig:
    """Typed, validated stack configuration: the stack's identity and one slice per component."""

    stack: str
    region: str
    default_tags: tuple[tuple[str, str], ...]
    storage: StorageConfig
    logs: LogsConfig
    edge: EdgeConfig
    cdn: CdnConfig
    signer: SignerConfig
    api: ApiConfig
    monitoring: MonitoringConfig
    health_check: HealthCheckConfig | None
    jobs: JobsConfig
    # Cloud transcoding (infra/config/transcoding.py): None when the switch is off.
    transcoding: TranscodingConfig | None = None

    @property
    def tags(self) -> dict[str, str]:
        """The tags every AWS resource carries (the stack file's ``aws:defaultTags``); explicit
        providers must be given them, as they do not read the stack's ``aws:`` config."""
        return dict(self.default_tags)

    @property
    def name_prefix(self) -> str:
        """Prefix for account-unique names (cache policies, OAC) so stacks never collide."""
        return f"{PROJECT}-{self.stack}"

    # What the app's config and the local stack read, whichever component owns it.
    @property
    def bucket_name(self) -> str:
        return self.storage.bucket_name

    @property
    def prefix(self) -> str:
        return self.storage.prefix

    @property
    def cors_allowed_origins(self) -> tuple[str, ...]:
        return self.storage.cors_allowed_origins

    @property
    def auth_required(self) -> bool:
        """The signer route is protected by a JWT authorizer."""
        return self.signer.auth_required

    @property
    def max_file_bytes(self) -> int:
        return self.signer.max_file_bytes
