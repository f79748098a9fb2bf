"""S3: the media bucket's CORS, lifecycle and policy; the log bucket's lifecycle and policy."""

from __future__ import annotations

from typing import Any

from infra.policies.cdn import CDN_CORS_ALLOWED_HEADERS
from infra.policies.statements import (
    allow_service,
    bucket_and_objects,
    deny_insecure_transport,
    document,
    same_account,
)

# Direct uploads: browsers PUT with the signed headers (Content-Length cannot be set by browsers;
# listed for clarity); in Uppy's signRequest mode they also POST (create and complete a multipart
# upload, with Content-Type) and DELETE (abort) themselves; listing parts is a GET (reads rule).
BUCKET_CORS_UPLOAD_METHODS = ("PUT", "POST", "DELETE")
BUCKET_CORS_UPLOAD_HEADERS = (
    "content-type",
    "content-length",
    "cache-control",
    "content-encoding",
    "if-none-match",
)
# Reads through the CDN: CloudFront forwards the viewer's preflight to S3 (origin request policy),
# so S3 must admit the headers players send.
BUCKET_CORS_READ_METHODS = ("GET", "HEAD")
EXPOSED_HEADERS = ("ETag",)
CORS_MAX_AGE_SECONDS = 3600
ABORT_INCOMPLETE_MULTIPART_DAYS = 1
# Every bucket of the stack: no public ACL or policy may take effect, ever.
PUBLIC_ACCESS_BLOCK = {
    "block_public_acls": True,
    "block_public_policy": True,
    "ignore_public_acls": True,
    "restrict_public_buckets": True,
}
# Where each log source writes in the log bucket (the Glue table reads CLOUDFRONT_LOG_PREFIX).
# CloudFront standard logging v2 writes below its own prefix, apart from the legacy logs the
# stack used to receive under cloudfront/ (AWS recommends a separate path: the two layouts differ,
# and the table must never read both).
CLOUDFRONT_LOG_PREFIX = "cloudfront-v2/"
LEGACY_CLOUDFRONT_LOG_PREFIX = "cloudfront/"
# CloudFront's log delivery objects (delivery source, destination, delivery) exist only in us-east-1.
CLOUDFRONT_LOG_DELIVERY_REGION = "us-east-1"
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"
S3_ACCESS_LOG_PREFIX = "s3-access/"
ATHENA_RESULTS_PREFIX = "athena-results/"


def bucket_cors_rules(origins: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    """CORS on the media bucket: browsers may PUT with the signed headers, players may read with
    Range and conditional headers (preflights arrive through CloudFront), and read ETag."""

    def rule(rule_id: str, methods: tuple[str, ...], headers: list[str]) -> dict[str, Any]:
        return {
            "id": rule_id,
            "allowedMethods": list(methods),
            "allowedOrigins": list(origins),
            "allowedHeaders": headers,
            "exposeHeaders": list(EXPOSED_HEADERS),
            "maxAgeSeconds": CORS_MAX_AGE_SECONDS,
        }

    return [
        rule("uploads", BUCKET_CORS_UPLOAD_METHODS, list(BUCKET_CORS_UPLOAD_HEADERS)),
        rule("reads", BUCKET_CORS_READ_METHODS, [h.lower() for h in CDN_CORS_ALLOWED_HEADERS]),
    ]


def _expire(rule_id: str, prefix: str, days: int) -> dict[str, Any]:
    return {"id": rule_id, "status": "Enabled", "filter": {"prefix": prefix}, "expiration": {"days": days}}


def _abort_incomplete_multipart_uploads() -> dict[str, Any]:
    return {
        "id": "abort-incomplete-multipart-uploads",
        "status": "Enabled",
        "filter": {"prefix": ""},
        "abortIncompleteMultipartUpload": {"daysAfterInitiation": ABORT_INCOMPLETE_MULTIPART_DAYS},
    }


def bucket_lifecycle_rules(prefix: str, expiration_days: int) -> list[dict[str, Any]]:
    """Uploads expire after ``expiration_days``; abandoned multipart uploads never linger."""
    return [_expire("expire-uploads", prefix, expiration_days), _abort_incomplete_multipart_uploads()]


def noncurrent_versions_rule(days: int) -> dict[str, Any]:
    """With versioning: an overwritten or deleted object stays restorable for ``days``, then goes;
    delete markers left with no version behind them are cleaned up."""
    return {
        "id": "expire-noncurrent-versions",
        "status": "Enabled",
        "filter": {"prefix": ""},
        "expiration": {"expiredObjectDeleteMarker": True},
        "noncurrentVersionExpiration": {"noncurrentDays": days},
    }


def expire_after(rule_id: str, prefix: str, days: int) -> dict[str, Any]:
    """One more expiration rule (e.g. the health check's leftover probes)."""
    return _expire(rule_id, prefix, days)


def bucket_policy(bucket_arn: str, distribution_arn: str, prefix: str) -> dict[str, Any]:
    """Only this CloudFront distribution (through OAC) may read, and only under the prefix;
    no request of anyone's may travel without TLS."""
    return document(
        allow_service(
            "AllowCloudFrontOacRead",
            "cloudfront.amazonaws.com",
            "s3:GetObject",
            f"{bucket_arn}/{prefix}*",
            {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        ),
        deny_insecure_transport(bucket_and_objects(bucket_arn)),
    )


def log_bucket_lifecycle_rules(retention_days: int) -> list[dict[str, Any]]:
    """Every log and query result expires after the log retention; no upload lingers."""
    return [_expire("expire-logs", "", retention_days), _abort_incomplete_multipart_uploads()]


def cloudfront_delivery_source_arn(account_id: str, delivery_source_name: str) -> str:
    """The ARN CloudWatch Logs gives a delivery source (the log delivery service's aws:SourceArn)."""
    return (
        f"arn:aws:logs:{CLOUDFRONT_LOG_DELIVERY_REGION}:{account_id}:delivery-source:{delivery_source_name}"
    )


def log_bucket_policy(
    log_bucket_arn: str, source_bucket_arn: str, account_id: str, delivery_source_arn: str
) -> dict[str, Any]:
    """S3 server access logging of the media bucket may write under s3-access/ (bound to that
    bucket and this account); CloudFront standard logging v2 arrives through the CloudWatch Logs
    vended log delivery service, which may write under cloudfront-v2/ only for this account's one
    delivery source; nothing travels without TLS. No ACL grants anything on this bucket.

    The delivery statement follows AWS's documented policy for vended logs sent to S3: the service
    principal, ``aws:SourceAccount``, ``aws:SourceArn`` (here the exact delivery source, not
    ``delivery-source:*``) and ``s3:x-amz-acl = bucket-owner-full-control``, the one ACL a
    BucketOwnerEnforced bucket still accepts on a PUT."""
    return document(
        allow_service(
            "AllowS3ServerAccessLogs",
            "logging.s3.amazonaws.com",
            "s3:PutObject",
            f"{log_bucket_arn}/{S3_ACCESS_LOG_PREFIX}*",
            {"ArnLike": {"aws:SourceArn": source_bucket_arn}, **same_account(account_id)},
        ),
        allow_service(
            "AllowCloudFrontLogDelivery",
            LOG_DELIVERY_SERVICE,
            "s3:PutObject",
            f"{log_bucket_arn}/{CLOUDFRONT_LOG_PREFIX}*",
            {
                "StringEquals": {
                    "aws:SourceAccount": account_id,
                    "s3:x-amz-acl": "bucket-owner-full-control",
                },
                "ArnLike": {"aws:SourceArn": delivery_source_arn},
            },
        ),
        deny_insecure_transport(bucket_and_objects(log_bucket_arn)),
    )
