"""Where the stack's access logs go and how to query them: a log bucket, a Glue table over the
CloudFront standard logs (v2), an Athena workgroup and two ready queries.

It is its own component, built before the CDN and after the media bucket: the media bucket's
access logging needs the log bucket and its policy first. Once the distribution exists,
:meth:`LogArchive.deliver_cloudfront_logs` adds CloudFront's log delivery (us-east-1), while the
alarms (``infra/monitoring/``) need the distribution, function and API.

CloudFront standard logging v2 delivers through CloudWatch Logs vended log delivery: a delivery
source (the distribution, log type ACCESS_LOGS), a delivery destination (this bucket under
``cloudfront-v2/``) and a delivery joining them. The bucket admits the delivery service through
its policy, so it needs no ACLs (BucketOwnerEnforced), unlike the legacy ``logging_config``.
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

# The CloudFront standard log fields the delivery writes, in file order: (v2 record field name,
# Glue column, Athena type). The order and types are those of the legacy standard log (AWS's
# documented Athena table), less cs(Cookie): v2 has no includeCookies switch, a field is logged
# exactly when it is selected, so cookies stay out of the logs by not selecting the field (the
# legacy files carried "-" there). The record fields and the table's columns are both derived
# from this one list, so they cannot drift apart.
CLOUDFRONT_LOG_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("date", "date", "date"),
    ("time", "time", "string"),
    ("x-edge-location", "x_edge_location", "string"),
    ("sc-bytes", "sc_bytes", "bigint"),
    ("c-ip", "c_ip", "string"),
    ("cs-method", "cs_method", "string"),
    ("cs(Host)", "cs_host", "string"),
    ("cs-uri-stem", "cs_uri_stem", "string"),
    ("sc-status", "sc_status", "int"),
    ("cs(Referer)", "cs_referer", "string"),
    ("cs(User-Agent)", "cs_user_agent", "string"),
    ("cs-uri-query", "cs_uri_query", "string"),
    ("x-edge-result-type", "x_edge_result_type", "string"),
    ("x-edge-request-id", "x_edge_request_id", "string"),
    ("x-host-header", "x_host_header", "string"),
    ("cs-protocol", "cs_protocol", "string"),
    ("cs-bytes", "cs_bytes", "bigint"),
    ("time-taken", "time_taken", "float"),
    ("x-forwarded-for", "x_forwarded_for", "string"),
    ("ssl-protocol", "ssl_protocol", "string"),
    ("ssl-cipher", "ssl_cipher", "string"),
    ("x-edge-response-result-type", "x_edge_response_result_type", "string"),
    ("cs-protocol-version", "cs_protocol_version", "string"),
    ("fle-status", "fle_status", "string"),
    ("fle-encrypted-fields", "fle_encrypted_fields", "int"),
    ("c-port", "c_port", "int"),
    ("time-to-first-byte", "time_to_first_byte", "float"),
    ("x-edge-detailed-result-type", "x_edge_detailed_result_type", "string"),
    ("sc-content-type", "sc_content_type", "string"),
    ("sc-content-len", "sc_content_len", "bigint"),
    ("sc-range-start", "sc_range_start", "bigint"),
    ("sc-range-end", "sc_range_end", "bigint"),
)
# Never selected: cookies can carry sessions and personal data.
EXCLUDED_LOG_FIELDS = frozenset({"cs(Cookie)"})
CLOUDFRONT_RECORD_FIELDS: tuple[str, ...] = tuple(field for field, _, _ in CLOUDFRONT_LOG_FIELDS)
CLOUDFRONT_LOG_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (column, type_) for _, column, type_ in CLOUDFRONT_LOG_FIELDS
)
# The file format the table reads: W3C output (the "#Version" and "#Fields" header lines, skipped
# by skip.header.line.count 2, then one line per request) with tab-separated fields, as the legacy
# standard log files were. Not verified against a delivered v2 file here (no AWS account): see
# docs/operations.md, "Logs", for the check to run after the first delivery.
CLOUDFRONT_LOG_OUTPUT_FORMAT = "w3c"
CLOUDFRONT_LOG_FIELD_DELIMITER = "\t"
# Below the destination path AWS adds AWSLogs/<account-id>/CloudFront/ itself, then this suffix:
# one folder per distribution and hour. The table reads the whole prefix (Athena reads a
# location's sub-folders), so the exact layout below it does not matter to queries.
CLOUDFRONT_LOG_SUFFIX_PATH = "{DistributionId}/{yyyy}/{MM}/{dd}/{HH}"
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


def cloudfront_delivery_source_name(name_prefix: str) -> str:
    """Known before the distribution exists, so the bucket policy can name its exact ARN."""
    return f"{name_prefix}-cdn-access-logs"


class LogArchive(pulumi.ComponentResource):
    """Owns the log bucket (private, SSE-S3, ACLs disabled, expiring), its policy (S3 server
    access logs, CloudFront's log delivery, TLS only), the Glue database and CloudFront log table,
    the Athena workgroup and its named queries, and (:meth:`deliver_cloudfront_logs`) the
    us-east-1 log delivery from the distribution to the bucket."""

    def __init__(self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:logs:LogArchive", name, None, opts)
        self.name = name
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        self.config = config

        self.bucket = aws.s3.Bucket(name, bucket=config.log_bucket_name, force_destroy=False, opts=child)
        # ACLs disabled: every writer (S3 server access logging, CloudFront's log delivery) is
        # admitted by the bucket policy, and every object belongs to this account.
        baseline = private_bucket_baseline(name, self.bucket, "BucketOwnerEnforced", child)
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
        self.delivery_source_name = cloudfront_delivery_source_name(config.name_prefix)
        delivery_source_arn = account_id.apply(
            lambda account: policies.cloudfront_delivery_source_arn(account, self.delivery_source_name)
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(
                self.bucket.arn, args.source_bucket_arn, account_id, delivery_source_arn
            ).apply(lambda v: json.dumps(policies.log_bucket_policy(v[0], v[1], v[2], v[3]))),
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
            description="CloudFront standard logs (v2, W3C, tab-separated) of the media distribution",
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
        self.delivery_source: aws.cloudwatch.LogDeliverySource | None = None
        self.delivery_destination: aws.cloudwatch.LogDeliveryDestination | None = None
        self.delivery: aws.cloudwatch.LogDelivery | None = None
        self.register_outputs(
            {
                "logBucketName": self.bucket.bucket,
                "database": self.database.name,
                "workgroup": self.workgroup.name,
            }
        )

    def deliver_cloudfront_logs(self, distribution_arn: pulumi.Input[str]) -> aws.cloudwatch.LogDelivery:
        """CloudFront standard logging v2 of ``distribution_arn`` into this bucket under
        ``cloudfront-v2/``: delivery source, destination and delivery, all in us-east-1 (the only
        region CloudFront's log delivery can be configured in)."""
        config, name = self.config, self.name
        region = policies.CLOUDFRONT_LOG_DELIVERY_REGION
        if config.region == region:
            east = pulumi.ResourceOptions(parent=self)
        else:
            provider = aws.Provider(
                f"{name}-{region}",
                region=region,
                default_tags={"tags": dict(config.tags)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            east = pulumi.ResourceOptions(parent=self, provider=provider)
        self.delivery_source = aws.cloudwatch.LogDeliverySource(
            f"{name}-cdn-source",
            name=self.delivery_source_name,
            log_type="ACCESS_LOGS",
            resource_arn=distribution_arn,
            opts=east,
        )
        self.delivery_destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-cdn-destination",
            name=f"{config.name_prefix}-cdn-access-logs-s3",
            output_format=CLOUDFRONT_LOG_OUTPUT_FORMAT,
            delivery_destination_configuration={
                # A path after the bucket ARN: the delivery writes below it.
                "destination_resource_arn": self.bucket.arn.apply(
                    lambda arn: f"{arn}/{policies.CLOUDFRONT_LOG_PREFIX.rstrip('/')}"
                ),
            },
            opts=east,
        )
        # CreateDelivery checks that it may write: the bucket policy must be in place first.
        self.delivery = aws.cloudwatch.LogDelivery(
            f"{name}-cdn-delivery",
            delivery_source_name=self.delivery_source.name,
            delivery_destination_arn=self.delivery_destination.arn,
            record_fields=list(CLOUDFRONT_RECORD_FIELDS),
            field_delimiter=CLOUDFRONT_LOG_FIELD_DELIMITER,
            s3_delivery_configurations=[
                {"suffix_path": CLOUDFRONT_LOG_SUFFIX_PATH, "enable_hive_compatible_path": False}
            ],
            opts=pulumi.ResourceOptions.merge(
                east, pulumi.ResourceOptions(depends_on=[self.policy, self.ownership])
            ),
        )
        return self.delivery
