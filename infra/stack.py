"""The stack's architecture, wired from validated config:
bucket -> log archive -> CDN -> signer -> API -> monitoring."""

from __future__ import annotations

from typing import Any

import pulumi

from infra import api as api_module
from infra import cdn as cdn_module
from infra import signer as signer_module
from infra import storage as storage_module
from infra.api import SignerApi, SignerApiArgs
from infra.cdn import Cdn, CdnArgs
from infra.config import StackConfig
from infra.logs import LogArchive, LogArchiveArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.signer import UploadSigner, UploadSignerArgs
from infra.storage import MediaBucket, MediaBucketArgs

# The stack outputs (the app's cdn_config.json is generated from them); names are a contract.
OUTPUT_NAMES = (
    "bucketName",
    "region",
    "distributionId",
    "cdnDomainName",
    "cdnBaseUrl",
    "signerEndpoint",
    "signerFunctionName",
    "uploadPrefix",
    "authRequired",
    "maxFileBytes",
    "alarmTopicArn",
    "dashboardName",
    "logBucketName",
)


def build(config: StackConfig) -> dict[str, pulumi.Input[Any]]:
    """Declare every component and return the stack outputs."""
    media = MediaBucket(
        "media",
        MediaBucketArgs(
            bucket_name=config.bucket_name,
            prefix=config.prefix,
            expiration_days=config.expiration_days,
            cors_allowed_origins=config.cors_allowed_origins,
            adopt=config.adopted(storage_module.ADOPTABLE),
            expire_health_check_probes=config.health_check_enabled,
        ),
    )
    logs = LogArchive(
        "logs",
        LogArchiveArgs(
            name_prefix=config.name_prefix,
            log_bucket_name=config.log_bucket_name,
            retention_days=config.log_retention_days,
            source_bucket_arn=media.bucket.arn,
        ),
    )
    media.log_access_to(logs.bucket.id, depends_on=[logs.policy])
    cdn = Cdn(
        "cdn",
        CdnArgs(
            name_prefix=config.name_prefix,
            bucket_regional_domain_name=media.bucket.bucket_regional_domain_name,
            price_class=config.price_class,
            cors_allowed_origins=config.cors_allowed_origins,
            adopt=config.adopted(cdn_module.ADOPTABLE),
            log_bucket_domain_name=logs.cloudfront_log_target,
            additional_metrics=config.cdn_additional_metrics,
        ),
    )
    media.grant_cdn_read(cdn.distribution.arn)

    signer = UploadSigner(
        "signer",
        UploadSignerArgs(
            function_name=config.signer_function_name,
            bucket_name=media.bucket.bucket,
            bucket_arn=media.bucket.arn,
            prefix=config.prefix,
            public_base_url=cdn.base_url,
            url_ttl_seconds=config.url_ttl_seconds,
            max_files=config.max_files,
            max_file_bytes=config.max_file_bytes,
            auth_required=config.auth_required,
            log_retention_days=config.log_retention_days,
            adopt=config.adopted(signer_module.ADOPTABLE),
        ),
    )
    api = SignerApi(
        "api",
        SignerApiArgs(
            api_name=config.api_name,
            function_name=signer.function.name,
            function_invoke_arn=signer.function.invoke_arn,
            cors_allowed_origins=config.cors_allowed_origins,
            throttle_rate_per_second=config.throttle_rate_per_second,
            throttle_burst=config.throttle_burst,
            log_retention_days=config.log_retention_days,
            jwt_issuer=config.jwt_issuer,
            jwt_audience=config.jwt_audience,
            adopt=config.adopted(api_module.ADOPTABLE),
        ),
    )

    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            name_prefix=config.name_prefix,
            stack=config.stack,
            region=config.region,
            tags=config.tags,
            alarm_email=config.alarm_email,
            signer_function_name=config.signer_function_name,
            signer_log_group_name=signer.log_group.name,
            api_id=api.api.id,
            signer_endpoint=api.endpoint,
            distribution_id=cdn.distribution.id,
            cdn_base_url=cdn.base_url,
            bucket_name=media.bucket.bucket,
            bucket_arn=media.bucket.arn,
            prefix=config.prefix,
            log_retention_days=config.log_retention_days,
            cors_allowed_origins=config.cors_allowed_origins,
            health_check_enabled=config.health_check_enabled,
            token_secret_name=config.health_check_token_secret_name,
        ),
    )

    outputs: dict[str, pulumi.Input[Any]] = {
        "bucketName": media.bucket.bucket,
        "region": config.region,
        "distributionId": cdn.distribution.id,
        "cdnDomainName": cdn.domain_name,
        "cdnBaseUrl": cdn.base_url,
        "signerEndpoint": api.endpoint,
        "signerFunctionName": signer.function.name,
        "uploadPrefix": config.prefix,
        "authRequired": config.auth_required,
        "maxFileBytes": config.max_file_bytes,
        "alarmTopicArn": monitoring.topic_arn,
        "dashboardName": monitoring.dashboard_name,
        "logBucketName": logs.bucket_name,
    }
    assert tuple(outputs) == OUTPUT_NAMES
    return outputs
