"""What every bucket of the stack shares: public access blocked, ownership set, encrypted at rest.

Declared once here so the media bucket and the log bucket can never drift apart on the basics;
each caller picks its object ownership (both use BucketOwnerEnforced: no ACLs; the policy pack's
``bucket_acls_disabled`` holds every bucket to it).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies


@dataclass(frozen=True)
class BucketBaseline:
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership: aws.s3.BucketOwnershipControls
    encryption: aws.s3.BucketServerSideEncryptionConfiguration


def private_bucket_baseline(
    name: str, bucket: aws.s3.Bucket, object_ownership: str, opts: pulumi.ResourceOptions
) -> BucketBaseline:
    """``<name>-public-access-block``, ``<name>-ownership``, ``<name>-encryption`` for ``bucket``."""
    return BucketBaseline(
        public_access_block=aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block", bucket=bucket.id, **policies.PUBLIC_ACCESS_BLOCK, opts=opts
        ),
        ownership=aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": object_ownership}, opts=opts
        ),
        # SSE-S3 with bucket keys: no key policy has to admit the log delivery services.
        encryption=aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                    "bucket_key_enabled": True,
                }
            ],
            opts=opts,
        ),
    )
