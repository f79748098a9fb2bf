"""Where the stack's access logs go and how to query them: a log bucket, a Glue table over the
CloudFront standard logs, an Athena workgroup and two ready queries.

It is its own component, built before the CDN and after the media bucket: the distribution's
logging config and the media bucket's access logging both need the log bucket to exist first,
while the alarms (``infra/monitoring.py``) need the distribution, function and API.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.buckets import private_bucket_baseline
from infra.config import LogsConfig
from lambda_src.sign_uploads import media

# CloudFront standard (legacy) log fields, in file order, with Athena types (AWS's documented table).
CLOUDFRONT_LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("date", "date"),
    ("time", "string"),
    ("x_edge_location", "string"),
    ("sc_bytes", "bigint"),
    ("c_ip", "string"),
    ("cs_method", "string"),
    ("cs_host", "string"),
    ("cs_uri_stem", "string"),
    ("sc_status", "int"),
    ("cs_referer", "string"),
    ("cs_user_agent", "string"),
    ("cs_uri_query", "string"),
    ("cs_cookie", "string"),
    ("x_edge_result_type", "string"),
    ("x_edge_request_id", "string"),
    ("x_host_header", "string"),
    ("cs_protocol", "string"),
    ("cs_bytes", "bigint"),
    ("time_taken", "float"),
    ("x_forwarded_for", "string"),
    ("ssl_protocol", "string"),
    ("ssl_cipher", "string"),
    ("x_edge_response_result_type", "string"),
    ("cs_protocol_version", "string"),
    ("fle_status", "string"),
    ("fle_encrypted_fields", "int"),
    ("c_port", "int"),
    ("time_to_first_byte", "float"),
    ("x_edge_detailed_result_type", "string"),
    ("sc_content_type", "string"),
    ("sc_content_len", "bigint"),
    ("sc_range_start", "bigint"),
    ("sc_range_end", "bigint"),
)
CLOUDFRONT_TABLE = "cloudfront_logs"
# Athena stops a query after this many bytes: a runaway query over months of logs costs cents.
BYTES_SCANNED_CUTOFF = 10 * 1024**3

# The two ready queries (docs/operations.md shows them). {table} is the fully qualified, quoted table name.
CACHE_HIT_RATIO_QUERY = """\
-- Cache-hit ratio over the last day, per hour (edge result Hit or RefreshHit).
SELECT date_trunc('hour', from_iso8601_timestamp(concat(cast("date" AS varchar), 'T', "time", 'Z'))) AS hour,
       count(*) AS requests,
       round(100.0 * count_if(x_edge_result_type IN ('Hit', 'RefreshHit')) / count(*), 2) AS cache_hit_pct
FROM {table}
WHERE "date" >= current_date - INTERVAL '1' DAY
GROUP BY 1
ORDER BY 1"""

SEGMENT_ERROR_RATE_QUERY = """\
-- Segment and rendition error rate by path over the last day (4xx/5xx served to players).
SELECT cs_uri_stem AS path,
       count(*) AS requests,
       count_if(sc_status >= 400) AS errors,
       round(100.0 * count_if(sc_status >= 400) / count(*), 2) AS error_pct
FROM {table}
WHERE "date" >= current_date - INTERVAL '1' DAY
  AND regexp_like(cs_uri_stem, '{segment_path_regex}')
GROUP BY cs_uri_stem
HAVING count_if(sc_status >= 400) > 0
ORDER BY errors DESC
LIMIT 100"""

# Derived from the media contract: the paths the CDN serves with the segment cache policy.
SEGMENT_PATH_REGEX = r"\.(" + "|".join(re.escape(ext[1:]) for ext in media.SEGMENT_PATH_EXTENSIONS) + ")$"

NAMED_QUERIES = {"cache-hit-ratio": CACHE_HIT_RATIO_QUERY, "segment-error-rate": SEGMENT_ERROR_RATE_QUERY}


def glue_database_name(name_prefix: str) -> str:
    """Glue/Athena names: lower case letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", f"{name_prefix}_logs".lower())


def qualified_table(database: str) -> str:
    return f'"{database}"."{CLOUDFRONT_TABLE}"'


def named_query(sql: str, database: str) -> str:
    """A query of NAMED_QUERIES with the table and the derived path patterns filled in."""
    return sql.format(table=qualified_table(database), segment_path_regex=SEGMENT_PATH_REGEX)


@dataclass(frozen=True)
class LogArchiveArgs:
    config: LogsConfig
    # The media bucket, the only bucket whose access logs may be delivered here.
    source_bucket_arn: pulumi.Input[str]


class LogArchive(pulumi.ComponentResource):
    """Owns the log bucket (private, SSE-S3, ACLs only for CloudFront's log delivery, expiring),
    its policy (S3 server access logs, TLS only), the Glue database and CloudFront log table,
    the Athena workgroup and its named queries."""

    def __init__(self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:logs:LogArchive", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config

        self.bucket = aws.s3.Bucket(name, bucket=config.log_bucket_name, force_destroy=False, opts=child)
        # CloudFront standard logs are delivered through an ACL grant (awslogsdelivery) that
        # CloudFront adds to the bucket itself; that needs ACLs enabled. BucketOwnerPreferred keeps
        # every delivered object owned by this account. Nothing else here uses ACLs.
        baseline = private_bucket_baseline(name, self.bucket, "BucketOwnerPreferred", child)
        self.public_access_block = baseline.public_access_block
        self.ownership = baseline.ownership
        self.encryption = baseline.encryption
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=policies.log_bucket_lifecycle_rules(config.retention_days),
            opts=child,
        )
        account_id = aws.get_caller_identity_output().account_id
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, args.source_bucket_arn, account_id).apply(
                lambda v: json.dumps(policies.log_bucket_policy(v[0], v[1], v[2]))
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )

        database = glue_database_name(config.name_prefix)
        self.database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=database,
            description=f"{config.name_prefix} access logs (Athena)",
            opts=child,
        )
        self.cloudfront_table = aws.glue.CatalogTable(
            f"{name}-cloudfront",
            name=CLOUDFRONT_TABLE,
            database_name=self.database.name,
            description="CloudFront standard logs of the media distribution",
            table_type="EXTERNAL_TABLE",
            parameters={"EXTERNAL": "TRUE", "skip.header.line.count": "2"},
            storage_descriptor={
                "location": self.bucket.bucket.apply(
                    lambda bucket: f"s3://{bucket}/{policies.CLOUDFRONT_LOG_PREFIX}"
                ),
                "input_format": "org.apache.hadoop.mapred.TextInputFormat",
                "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "ser_de_info": {
                    "serialization_library": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                    "parameters": {"field.delim": "\t", "serialization.format": "\t"},
                },
                "columns": [{"name": column, "type": type_} for column, type_ in CLOUDFRONT_LOG_COLUMNS],
            },
            opts=child,
        )
        self.workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=f"{config.name_prefix}-logs",
            description="Queries over the stack's access logs; results expire with the logs",
            force_destroy=True,  # only query results live in it
            configuration={
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": BYTES_SCANNED_CUTOFF,
                "result_configuration": {
                    "output_location": self.bucket.bucket.apply(
                        lambda bucket: f"s3://{bucket}/{policies.ATHENA_RESULTS_PREFIX}"
                    ),
                    "encryption_configuration": {"encryption_option": "SSE_S3"},
                },
            },
            opts=child,
        )
        self.named_queries = [
            aws.athena.NamedQuery(
                f"{name}-{query_name}",
                name=f"{config.name_prefix}-{query_name}",
                database=self.database.name,
                workgroup=self.workgroup.name,
                query=named_query(sql, database),
                opts=child,
            )
            for query_name, sql in NAMED_QUERIES.items()
        ]

        self.bucket_name = self.bucket.bucket
        # For CloudFront's logging config: resolves only once ACLs are enabled (the ownership
        # controls exist), so the distribution is never pointed at a bucket that refuses the grant.
        self.cloudfront_log_target = pulumi.Output.all(
            self.bucket.bucket_domain_name, self.ownership.id
        ).apply(lambda values: values[0])
        self.register_outputs(
            {
                "logBucketName": self.bucket.bucket,
                "database": self.database.name,
                "workgroup": self.workgroup.name,
            }
        )
