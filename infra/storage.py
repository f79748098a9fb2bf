"""The media bucket: private, encrypted, CORS for direct uploads, uploads expire."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.buckets import private_bucket_baseline


@dataclass(frozen=True)
class MediaBucketArgs:
    bucket_name: str
    prefix: str
    expiration_days: int
    cors_allowed_origins: tuple[str, ...]
    # Existing resources to import instead of create, by `adopt` key (see ADOPTABLE).
    adopt: Mapping[str, str] = field(default_factory=dict)

    # The synthetic check's probe objects (<prefix>healthcheck-*) expire after a day if left behind.
    expire_health_check_probes: bool = False


# The `adopt` keys this component owns. The bucket's configuration resources (CORS, lifecycle,
# encryption, ...) need no import: creating them over a hand-built bucket just applies the config.
ADOPTABLE = ("bucket",)


class MediaBucket(pulumi.ComponentResource):
    """Owns the S3 bucket and everything that is a property of it: public access block,
    ownership, encryption, CORS, lifecycle, and (once the CDN exists) the bucket policy."""

    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy | None

    def __init__(self, name: str, args: MediaBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:storage:MediaBucket", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)

        # protect: every video lives here; Pulumi refuses to delete or replace it in every stack.
        self.bucket = aws.s3.Bucket(
            name,
            bucket=args.bucket_name,
            force_destroy=False,
            opts=pulumi.ResourceOptions(parent=self, protect=True, import_=args.adopt.get("bucket")),
        )
        baseline = private_bucket_baseline(name, self.bucket, "BucketOwnerEnforced", child)
        self.public_access_block = baseline.public_access_block
        self.ownership = baseline.ownership
        self.encryption = baseline.encryption
        self.cors = aws.s3.BucketCorsConfiguration(
            f"{name}-cors",
            bucket=self.bucket.id,
            cors_rules=policies.bucket_cors_rules(args.cors_allowed_origins),
            opts=child,
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                *policies.bucket_lifecycle_rules(args.prefix, args.expiration_days),
                *(
                    [policies.health_check_lifecycle_rule(args.prefix)]
                    if args.expire_health_check_probes
                    else []
                ),
            ],
            opts=child,
        )
        self.policy = None

        self.register_outputs(
            {"bucketName": self.bucket.bucket, "bucketArn": self.bucket.arn, "prefix": args.prefix}
        )

    def log_access_to(self, target_bucket: pulumi.Input[str], depends_on: list[pulumi.Resource]) -> None:
        """S3 server access logs of this bucket go to ``target_bucket`` under ``s3-access/``
        (the target's bucket policy must admit logging.s3.amazonaws.com: ``depends_on`` it)."""
        self.access_logging = aws.s3.BucketLogging(
            f"{self._name}-access-logging",
            bucket=self.bucket.id,
            target_bucket=target_bucket,
            target_prefix=policies.S3_ACCESS_LOG_PREFIX,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

    def grant_cdn_read(self, distribution_arn: pulumi.Input[str]) -> aws.s3.BucketPolicy:
        """Attach the bucket policy once the distribution's ARN is known (the CDN needs the bucket
        first, the policy needs the CDN: declaring it here keeps it a child of the bucket)."""
        document = pulumi.Output.all(self.bucket.arn, distribution_arn).apply(
            lambda arns: json.dumps(policies.bucket_policy(arns[0], arns[1], self._args.prefix))
        )
        self.policy = aws.s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=self.bucket.id,
            policy=document,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        return self.policy
