"""Every security and delivery decision of the stack, as plain data.

Pure functions of plain values (ARNs, origins, prefixes) returning dicts and lists. The Pulumi
components call them inside ``Output.apply``; the local stack serves by them; the tests and the
policy pack check them. One definition, many users: change a header here and the CDN, the local
CDN and the tests all follow. This module must not import pulumi.
"""

from __future__ import annotations

from typing import Any

from lambda_src.sign_uploads import media
from lambda_src.sign_uploads.keys import SUBJECT_NAMESPACE_PREFIX

IAM_VERSION = "2012-10-17"

# --- S3 ---------------------------------------------------------------------------------------

# Direct uploads: browsers PUT with the signed headers (Content-Length cannot be set by browsers;
# listed for clarity).
BUCKET_CORS_UPLOAD_METHODS = ("PUT",)
BUCKET_CORS_UPLOAD_HEADERS = ("content-type", "content-length", "cache-control", "if-none-match")
# Reads through the CDN: CloudFront forwards the viewer's preflight to S3 (origin request policy
# below), so S3 must admit the headers players send.
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


def bucket_cors_rules(origins: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    """CORS on the media bucket: browsers may PUT with the signed headers, players may read with
    Range and conditional headers (preflights arrive through CloudFront), and read ETag."""
    return [
        {
            "id": "uploads",
            "allowedMethods": list(BUCKET_CORS_UPLOAD_METHODS),
            "allowedOrigins": list(origins),
            "allowedHeaders": list(BUCKET_CORS_UPLOAD_HEADERS),
            "exposeHeaders": list(EXPOSED_HEADERS),
            "maxAgeSeconds": CORS_MAX_AGE_SECONDS,
        },
        {
            "id": "reads",
            "allowedMethods": list(BUCKET_CORS_READ_METHODS),
            "allowedOrigins": list(origins),
            "allowedHeaders": [h.lower() for h in CDN_CORS_ALLOWED_HEADERS],
            "exposeHeaders": list(EXPOSED_HEADERS),
            "maxAgeSeconds": CORS_MAX_AGE_SECONDS,
        },
    ]


def bucket_lifecycle_rules(prefix: str, expiration_days: int) -> list[dict[str, Any]]:
    """Uploads expire after ``expiration_days``; abandoned multipart uploads never linger."""
    return [
        {
            "id": "expire-uploads",
            "status": "Enabled",
            "filter": {"prefix": prefix},
            "expiration": {"days": expiration_days},
        },
        {
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": ABORT_INCOMPLETE_MULTIPART_DAYS},
        },
    ]


def bucket_policy(bucket_arn: str, distribution_arn: str, prefix: str) -> dict[str, Any]:
    """Only this CloudFront distribution (through OAC) may read, and only under the prefix;
    no request of anyone's may travel without TLS."""
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "AllowCloudFrontOacRead",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{prefix}*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


# --- IAM for the signer -------------------------------------------------------------------------


def lambda_trust_policy() -> dict[str, Any]:
    """Only the Lambda service may assume the signer's role."""
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "LambdaAssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def signer_permissions(bucket_arn: str, prefix: str, log_group_arn: str) -> dict[str, Any]:
    """The signer's credentials sign the URLs, so they bound what a URL can do: PutObject under
    the prefix, nothing else on S3; plus writing to its own log group."""
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "PutUploadsUnderPrefix",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{prefix}*",
            },
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:*",
            },
        ],
    }


# --- CloudFront -------------------------------------------------------------------------------

CDN_CORS_METHODS = ("GET", "HEAD", "OPTIONS")
# Players send Range and conditional requests; nothing else is needed to read media.
CDN_CORS_ALLOWED_HEADERS = ("Range", "If-None-Match", "If-Modified-Since")
CDN_EXPOSED_HEADERS = ("ETag", "Content-Length", "Content-Range", "Accept-Ranges")
CDN_CORS_MAX_AGE_SECONDS = 86_400


def cdn_cors(origins: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The response headers policy's CORS block. Applied at the edge, overriding the origin, and
    served identically by the local CDN."""
    return {
        "accessControlAllowCredentials": False,
        "accessControlAllowHeaders": {"items": list(CDN_CORS_ALLOWED_HEADERS)},
        "accessControlAllowMethods": {"items": list(CDN_CORS_METHODS)},
        "accessControlAllowOrigins": {"items": list(origins)},
        "accessControlExposeHeaders": {"items": list(CDN_EXPOSED_HEADERS)},
        "accessControlMaxAgeSec": CDN_CORS_MAX_AGE_SECONDS,
        "originOverride": True,
    }


# CloudFront forwards no viewer header to S3 by default, so a preflight would reach S3 without the
# Origin and Access-Control-Request-* headers S3 needs to answer it. These (and only these) are
# forwarded; none is part of the cache key.
CDN_ORIGIN_REQUEST_HEADERS = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")


def cdn_origin_request_parameters() -> dict[str, Any]:
    """The origin request policy: CORS headers to S3, no cookies, no query strings."""
    return {
        "cookiesConfig": {"cookieBehavior": "none"},
        "headersConfig": {
            "headerBehavior": "whitelist",
            "headers": {"items": list(CDN_ORIGIN_REQUEST_HEADERS)},
        },
        "queryStringsConfig": {"queryStringBehavior": "none"},
    }


def cdn_security_headers() -> dict[str, Any]:
    """Security headers on every media response (media is never framed or sniffed)."""
    return {
        "contentTypeOptions": {"override": True},
        "strictTransportSecurity": {
            "accessControlMaxAgeSec": 63_072_000,
            "includeSubdomains": True,
            "override": True,
        },
        "referrerPolicy": {"referrerPolicy": "strict-origin-when-cross-origin", "override": True},
    }


def cache_policy_ttls() -> dict[str, dict[str, int]]:
    """TTL bounds per cache policy, derived from the Cache-Control the signer stores objects with.

    Manifests: the edge honours the object's few-seconds max-age and never holds one longer than
    twice that, so a re-uploaded job is visible within seconds. Segments and renditions are
    immutable per job: cached for a year, at least a day even if an object lacks Cache-Control.
    """
    return {
        "manifests": {
            "minTtl": 0,
            "defaultTtl": media.MANIFEST_MAX_AGE_SECONDS,
            "maxTtl": 2 * media.MANIFEST_MAX_AGE_SECONDS,
        },
        "segments": {
            "minTtl": 86_400,
            "defaultTtl": media.IMMUTABLE_MAX_AGE_SECONDS,
            "maxTtl": media.IMMUTABLE_MAX_AGE_SECONDS,
        },
    }


def cache_key_parameters() -> dict[str, Any]:
    """No cookies, query strings or headers in any cache key; compressed variants cached apart."""
    return {
        "cookiesConfig": {"cookieBehavior": "none"},
        "headersConfig": {"headerBehavior": "none"},
        "queryStringsConfig": {"queryStringBehavior": "none"},
        "enableAcceptEncodingGzip": True,
        "enableAcceptEncodingBrotli": True,
    }


def manifest_path_patterns() -> list[str]:
    return [f"*{ext}" for ext in sorted(media.MANIFEST_EXTENSIONS)]


def segment_path_patterns() -> list[str]:
    return [f"*{ext}" for ext in media.SEGMENT_PATH_EXTENSIONS]


# --- API Gateway --------------------------------------------------------------------------------

API_CORS_METHODS = ("POST", "OPTIONS")
API_CORS_HEADERS = ("content-type", "authorization")


def api_cors(origins: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {
        "allowMethods": list(API_CORS_METHODS),
        "allowHeaders": list(API_CORS_HEADERS),
        "allowOrigins": list(origins),
        "maxAge": CORS_MAX_AGE_SECONDS,
    }


def api_access_log_format() -> dict[str, str]:
    """One JSON line per request in the API's access log (no headers, no bodies, no tokens)."""
    return {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationLatencyMs": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    }


# --- Monitoring: log bucket, synthetic health check, alarms --------------------------------------

# Where each log source writes in the log bucket (the Glue table reads CLOUDFRONT_LOG_PREFIX).
CLOUDFRONT_LOG_PREFIX = "cloudfront/"
S3_ACCESS_LOG_PREFIX = "s3-access/"
ATHENA_RESULTS_PREFIX = "athena-results/"

# The synthetic check signs jobs whose ids start with this reserved prefix; its role may delete only
# those objects, and a lifecycle rule expires any it failed to delete.
HEALTH_CHECK_JOB_PREFIX = "healthcheck-"
# The one file each run uploads (lambda_src/health_check/handler.py PROBE_PATH; a test holds them equal).
HEALTH_CHECK_PROBE_PATH = "probe.m3u8"
HEALTH_CHECK_LEFTOVER_DAYS = 1

# The signer logs one JSON line per request with the HTTP status it answered; a failed signing is
# one it answered with a 5xx. CloudWatch Logs JSON filter syntax.
FAILED_SIGNING_FILTER_PATTERN = "{ $.status >= 500 }"


def failed_signing(log_line: dict[str, Any]) -> bool:
    """What FAILED_SIGNING_FILTER_PATTERN means, in Python (tests hold the two together)."""
    status = log_line.get("status")
    return isinstance(status, int | float) and not isinstance(status, bool) and status >= 500


def health_check_lifecycle_rule(prefix: str) -> dict[str, Any]:
    """Probe objects the check could not delete expire after a day. S3 lifecycle filters match a
    key prefix only, so this covers the anonymous key layout ``<prefix>healthcheck-*``; with JWT
    the signer inserts ``sub.<hash>/`` first and leftovers fall to the uploads' own expiration."""
    return {
        "id": "expire-health-check-probes",
        "status": "Enabled",
        "filter": {"prefix": f"{prefix}{HEALTH_CHECK_JOB_PREFIX}"},
        "expiration": {"days": HEALTH_CHECK_LEFTOVER_DAYS},
    }


def probe_object_arns(bucket_arn: str, prefix: str) -> list[str]:
    """The probe object in both key layouts: ``<prefix>healthcheck-<run>/probe.m3u8`` (no JWT) and
    ``<prefix>sub.<hash>/healthcheck-<run>/probe.m3u8`` (JWT). IAM's ``*`` crosses '/', so the JWT
    pattern would also match a user's own ``.../healthcheck-*/probe.m3u8`` inside a job folder; the
    handler only ever deletes the key the signer returned for its own job, and DeleteObject cannot
    create or read anything."""
    return [
        f"{bucket_arn}/{prefix}{HEALTH_CHECK_JOB_PREFIX}*/{HEALTH_CHECK_PROBE_PATH}",
        f"{bucket_arn}/{prefix}{SUBJECT_NAMESPACE_PREFIX}*/{HEALTH_CHECK_JOB_PREFIX}*/{HEALTH_CHECK_PROBE_PATH}",
    ]


def log_bucket_lifecycle_rules(retention_days: int) -> list[dict[str, Any]]:
    """Every log and query result expires after the log retention; no upload lingers."""
    return [
        {
            "id": "expire-logs",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "expiration": {"days": retention_days},
        },
        {
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": ABORT_INCOMPLETE_MULTIPART_DAYS},
        },
    ]


def log_bucket_policy(log_bucket_arn: str, source_bucket_arn: str, account_id: str) -> dict[str, Any]:
    """S3 server access logging of the media bucket may write under s3-access/ (bound to that
    bucket and this account); nothing travels without TLS. CloudFront standard logs arrive through
    the bucket ACL grant CloudFront adds itself (legacy log delivery), not through this policy."""
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "AllowS3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{log_bucket_arn}/{S3_ACCESS_LOG_PREFIX}*",
                "Condition": {
                    "ArnLike": {"aws:SourceArn": source_bucket_arn},
                    "StringEquals": {"aws:SourceAccount": account_id},
                },
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [log_bucket_arn, f"{log_bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def secret_arn_pattern(region: str, account_id: str, secret_name: str) -> str:
    """Secrets Manager appends '-' and six random characters to a secret's name in its ARN."""
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:{secret_name}-??????"


def health_check_permissions(
    bucket_arn: str, prefix: str, log_group_arn: str, token_secret_arn: str | None
) -> dict[str, Any]:
    """The synthetic check uploads through the signer's URLs (no S3 write of its own); it may
    delete only probe objects, write its own logs (its metrics travel in them as EMF, so no
    cloudwatch:PutMetricData), and read its token secret when the signer requires a JWT."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DeleteOwnProbes",
            "Effect": "Allow",
            "Action": "s3:DeleteObject",
            "Resource": probe_object_arns(bucket_arn, prefix),
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
    ]
    if token_secret_arn is not None:
        statements.append(
            {
                "Sid": "ReadOwnToken",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": token_secret_arn,
            }
        )
    return {"Version": IAM_VERSION, "Statement": statements}


def scheduler_trust_policy(account_id: str) -> dict[str, Any]:
    """Only EventBridge Scheduler, acting for this account's schedules, may assume the role."""
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "SchedulerAssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def scheduler_permissions(function_arn: str) -> dict[str, Any]:
    """The schedule may invoke the health check function and nothing else."""
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "InvokeHealthCheck",
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": [function_arn, f"{function_arn}:*"],
            }
        ],
    }


# --- Alarm topics ---------------------------------------------------------------------------------
# CloudWatch cannot use the AWS-managed key alias/aws/sns (its key policy cannot be changed to admit
# cloudwatch.amazonaws.com): an alarm topic encrypted with it silently drops every notification.
# Each alarm topic therefore has its own customer-managed key that admits CloudWatch.


def alarm_topic_key_policy(account_id: str) -> dict[str, Any]:
    """The alarm topic's KMS key: the account administers it (through IAM); CloudWatch alarms of
    this account may use it to publish encrypted notifications."""
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "AccountAdministersTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
        ],
    }


def alarm_topic_policy(topic_arn: str, account_id: str) -> dict[str, Any]:
    """Who may use an alarm topic: this account's CloudWatch alarms publish; the account manages
    subscriptions; nothing travels without TLS."""
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "AccountManagesTheTopic",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": [
                    "sns:GetTopicAttributes",
                    "sns:SetTopicAttributes",
                    "sns:Subscribe",
                    "sns:ListSubscriptionsByTopic",
                    "sns:Publish",
                ],
                "Resource": topic_arn,
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
