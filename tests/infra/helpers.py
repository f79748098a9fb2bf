"""Small readers over recorded plans."""

from __future__ import annotations

import copy
import json
from typing import Any

from infra.config import from_stack_file
from tools.plan import Plan, RecordedResource

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_CORS = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CACHE_POLICY = "aws:cloudfront/cachePolicy:CachePolicy"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
API = "aws:apigatewayv2/api:Api"
ROUTE = "aws:apigatewayv2/route:Route"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
STAGE = "aws:apigatewayv2/stage:Stage"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
TABLE = "aws:dynamodb/table:Table"
EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
CONNECTION = "aws:cloudwatch/eventConnection:EventConnection"
API_DESTINATION = "aws:cloudwatch/eventApiDestination:EventApiDestination"
BUCKET_NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"


def document(resource: RecordedResource, field: str) -> dict[str, Any]:
    """A policy document input, parsed (inputs hold them as JSON strings, as AWS receives them)."""
    value = resource.inputs[field]
    assert isinstance(value, str), f"{resource.name}.{field} should be a JSON string"
    return json.loads(value)


def statement(doc: dict[str, Any], sid: str) -> dict[str, Any]:
    matches = [s for s in doc["Statement"] if s.get("Sid") == sid]
    assert len(matches) == 1, f"expected one statement {sid}, got {doc['Statement']}"
    return matches[0]


def props(plan: Plan, type_: str, name: str | None = None) -> dict[str, Any]:
    """A deep copy of a resource's inputs, safe to break in a test."""
    return copy.deepcopy(plan.one(type_, name).inputs)


# The stack outputs the app's cdn_config.json and the docs promise (a contract: tests hold the
# program to it; the program declares them once, in infra/stack.py).
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
    "jobsTableName",
    "eventBusName",
    "jobsEndpoint",
)

# The dev stack's CORS origins as its stack file lists them: tests derive what they expect from it,
# so changing the origins is a change to Pulumi.dev.yaml alone.
DEV_ORIGINS: tuple[str, ...] = from_stack_file("dev").cors_allowed_origins
# An Origin a dev-stack browser may use, and what CORS answers it with.
DEV_PAGE_ORIGIN = "http://localhost:3000" if DEV_ORIGINS == ("*",) else DEV_ORIGINS[0]
DEV_ALLOW_ORIGIN = "*" if DEV_ORIGINS == ("*",) else DEV_PAGE_ORIGIN


# Monitoring, logs and health check resources (tests/infra/test_monitoring.py, test_logs.py, test_health_check.py).
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PROVIDER = "pulumi:providers:aws"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
SCHEDULE = "aws:scheduler/schedule:Schedule"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
GLUE_TABLE = "aws:glue/catalogTable:CatalogTable"
WORKGROUP = "aws:athena/workgroup:Workgroup"
NAMED_QUERY = "aws:athena/namedQuery:NamedQuery"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
MONITORING_SUBSCRIPTION = "aws:cloudfront/monitoringSubscription:MonitoringSubscription"
TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:lux-video-dev-alarms"
EAST_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:lux-video-dev-alarms-us-east-1"
DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
DELIVERY_DESTINATION = "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"


def alarm(plan: Plan, what: str) -> dict[str, Any]:
    return plan.one(ALARM, f"monitoring-{what}").inputs


def api_id(plan: Plan) -> str:
    return plan.outputs["signerEndpoint"].removeprefix("https://").split(".")[0]
