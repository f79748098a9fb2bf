"""The stack's architecture, wired from validated config:
bucket -> log archive -> CDN -> (bucket grants the CDN, CDN logs delivered) -> jobs (bucket events
to EventBridge) -> signer -> API -> health check -> monitoring.

Each component receives its slice of the config and the outputs of the components before it;
nothing else is passed around. The stack outputs are declared once, here.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra import signer as signer_module
from infra import storage
from infra import transcoding as transcoding_module
from infra.api import SignerApi, SignerApiArgs
from infra.cdn import Cdn, CdnArgs
from infra.config import StackConfig
from infra.edge import EdgeProtection, EdgeProtectionArgs, point_domain
from infra.health_check import NAME as HEALTH_CHECK_NAME
from infra.health_check import HealthCheck, HealthCheckArgs
from infra.jobs import JobTracking, JobTrackingArgs, jobs_alarm_targets
from infra.logs import LogArchive, LogArchiveArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.monitoring.alarms import AlarmTargets
from infra.signer import UploadSigner, UploadSignerArgs


def build(config: StackConfig) -> dict[str, pulumi.Input[Any]]:
    """Declare every component and return the stack outputs (the app's cdn_config.json is
    generated from them: their names are a contract)."""
    media = storage.MediaBucket("media", config.storage)
    logs = LogArchive("logs", LogArchiveArgs(config.logs, source_bucket_arn=media.bucket.arn))
    storage.log_access(media, logs.bucket.id, depends_on=[logs.policy])
    edge = (
        EdgeProtection("edge", EdgeProtectionArgs(config.edge, config.tags)) if config.edge.enabled else None
    )
    cdn = Cdn(
        "cdn",
        CdnArgs(
            config.cdn,
            bucket_regional_domain_name=media.bucket.bucket_regional_domain_name,
            web_acl_arn=edge.web_acl_arn if edge else None,
            domain=config.edge.domain,
            viewer_certificate=edge.viewer_certificate() if edge else {"cloudfrontDefaultCertificate": True},
        ),
    )
    storage.grant_cdn_read(media, cdn.distribution.arn)
    logs.deliver_cloudfront_logs(cdn.distribution.arn)
    if edge is not None:
        point_domain(edge, config.edge, cdn.distribution)

    jobs = JobTracking(
        "jobs",
        JobTrackingArgs(
            config.jobs,
            signer=config.signer,
            bucket_name=media.bucket.bucket,
            bucket_arn=media.bucket.arn,
            public_base_url=cdn.base_url,
            distribution_id=cdn.distribution.id,
            distribution_arn=cdn.distribution.arn,
            cancels_transcodes=config.transcoding is not None,
        ),
    )
    storage.send_events(media)

    signer = UploadSigner(
        "signer",
        UploadSignerArgs(
            config.signer,
            bucket_name=media.bucket.bucket,
            bucket_arn=media.bucket.arn,
            public_base_url=cdn.base_url,
            region=config.region,
            jobs_table_name=jobs.table.name,
            jobs_table_arn=jobs.table.arn,
            job_retention_days=config.jobs.job_retention_days,
        ),
    )
    api = SignerApi(
        "api",
        SignerApiArgs(
            config.api,
            function_name=signer.function.name,
            function_invoke_arn=signer.function.invoke_arn,
            jobs_function_name=jobs.function.name,
            jobs_function_invoke_arn=jobs.function.invoke_arn,
        ),
    )
    if config.health_check is not None:
        HealthCheck(
            HEALTH_CHECK_NAME,
            HealthCheckArgs(
                config.health_check,
                signer_endpoint=api.endpoint,
                cdn_base_url=cdn.base_url,
                api_execution_arn=api.api.execution_arn,
            ),
        )
    transcoder = transcoding_module.declare(
        config.transcoding, bucket_name=media.bucket.bucket, bucket_arn=media.bucket.arn,
        public_base_url=cdn.base_url, jobs_table_name=jobs.table.name, jobs_table_arn=jobs.table.arn,
        event_bus_name=jobs.bus.name, event_bus_arn=jobs.bus.arn,
    )  # fmt: skip
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            config.monitoring,
            targets=AlarmTargets(
                stack=config.stack,
                name_prefix=config.name_prefix,
                region=config.region,
                signer_function_name=config.signer.function_name,
                signer_timeout_seconds=signer_module.TIMEOUT_SECONDS,
                api_id=api.api.id,
                distribution_id=cdn.distribution.id,
                waf_web_acl_name=edge.web_acl_name if edge else None,
                health_check_function_name=None
                if config.health_check is None
                else config.health_check.function_name,
                jobs=jobs_alarm_targets(config.jobs),
                transcoding_function_name=None if transcoder is None else transcoder.function_name,
            ),
            signer_log_group_name=signer.log_group.name,
        ),
    )
    if transcoder is not None:
        transcoder.budget(monitoring.topic_arn)

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
        "jobsTableName": jobs.table.name,
        "eventBusName": jobs.bus.name,
        "jobsEndpoint": api.jobs_endpoint,
    }
    if transcoder is not None:
        # Only with cloud transcoding: the app then uploads a raw source.<ext> (docs/transcoding.md).
        outputs["transcoding"] = True
    return outputs
