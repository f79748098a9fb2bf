"""The media bucket: private, encrypted, CORS for direct uploads, uploads expire.

Wiring steps come after the component, because they need what is built from it: the CDN's read
grant (the bucket policy names the distribution, which needs the bucket), access logging (the log
bucket's policy must admit S3's log delivery first) and the events S3 sends to EventBridge (for
the jobs). They are declared by the functions below, called from ``infra/stack.py``, as children of
the bucket component.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.buckets import private_bucket_baseline
from infra.config import StorageConfig


class MediaBucket(pulumi.ComponentResource):
    """Owns the S3 bucket and everything that is a property of it: public access block,
    ownership, encryption, CORS, lifecycle (and, by the wiring steps below, policy and logging)."""

    def __init__(self, name: str, config: StorageConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:storage:MediaBucket", name, None, opts)
        self.name = name
        self.prefix = config.prefix
        child = pulumi.ResourceOptions(parent=self)

        # protect: every video lives here; Pulumi refuses to delete or replace it in every stack.
        self.bucket = aws.s3.Bucket(
            name,
            bucket=config.bucket_name,
            force_destroy=False,
            opts=pulumi.ResourceOptions(parent=self, protect=True, import_=config.adopt.get("bucket")),
        )
        baseline = private_bucket_baseline(name, self.bucket, "BucketOwnerEnforced", child)
        self.public_access_block = baseline.public_access_block
        self.cors = aws.s3.BucketCorsConfiguration(
            f"{name}-cors",
            bucket=self.bucket.id,
            cors_rules=policies.bucket_cors_rules(config.cors_allowed_origins),
            opts=child,
        )
        rules = policies.bucket_lifecycle_rules(config.prefix, config.expiration_days)
        if config.expire_health_check_probes:
            rules.append(policies.health_check_lifecycle_rule(config.prefix))
        self.versioning: aws.s3.BucketVersioning | None = None
        if config.noncurrent_version_days is not None:
            self.versioning = aws.s3.BucketVersioning(
                f"{name}-versioning",
                bucket=self.bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=child,
            )
            rules.append(policies.noncurrent_versions_rule(config.noncurrent_version_days))
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=rules,
            # Rules on noncurrent versions need versioning on first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning] if self.versioning else []),
        )
        self.register_outputs(
            {"bucketName": self.bucket.bucket, "bucketArn": self.bucket.arn, "prefix": config.prefix}
        )


def log_access(
    media: MediaBucket, target_bucket: pulumi.Input[str], depends_on: list[pulumi.Resource]
) -> aws.s3.BucketLogging:
    """S3 server access logs of the media bucket go to ``target_bucket`` under ``s3-access/``
    (the target's bucket policy must admit logging.s3.amazonaws.com: ``depends_on`` it)."""
    return aws.s3.BucketLogging(
        f"{media.name}-access-logging",
        bucket=media.bucket.id,
        target_bucket=target_bucket,
        target_prefix=policies.S3_ACCESS_LOG_PREFIX,
        opts=pulumi.ResourceOptions(parent=media, depends_on=depends_on),
    )


def grant_cdn_read(media: MediaBucket, distribution_arn: pulumi.Input[str]) -> aws.s3.BucketPolicy:
    """The bucket policy: only this distribution (OAC) reads, only under the prefix, only TLS."""
    prefix = media.prefix
    return aws.s3.BucketPolicy(
        f"{media.name}-policy",
        bucket=media.bucket.id,
        policy=pulumi.Output.all(media.bucket.arn, distribution_arn).apply(
            lambda arns: json.dumps(policies.bucket_policy(arns[0], arns[1], prefix))
        ),
        opts=pulumi.ResourceOptions(parent=media, depends_on=[media.public_access_block]),
    )


def send_events(media: MediaBucket) -> aws.s3.BucketNotification:
    """Every event of the media bucket goes to EventBridge (default bus): the jobs rule picks the
    ``Object Created`` ones under the prefix (``infra/jobs.py``). The bucket's only notification
    configuration: S3 keeps one per bucket, so any other target belongs here too."""
    return aws.s3.BucketNotification(
        f"{media.name}-eventbridge",
        bucket=media.bucket.id,
        eventbridge=True,
        opts=pulumi.ResourceOptions(parent=media),
    )
