"""The AWS provider as the offline plan plays it: inputs echoed back as state, plus the computed
attributes the program reads (IDs, ARNs, domain names), derived from resource names only so two
runs are byte-identical. An attribute not computed here resolves as unknown in the plan."""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"


class MockInvokeError(RuntimeError):
    """The program called an invoke the mocks do not answer."""


def _short_hash(*parts: str, length: int = 13) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _uuid_like(*parts: str) -> str:
    h = _short_hash(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class RecordingMocks(pulumi.runtime.Mocks):
    """Plays the AWS provider: echoes inputs back as state and fills in the computed attributes
    (IDs, ARNs, domain names) the program reads, deterministically from the resource's name."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.provider_regions: dict[str, str] = {}  # explicit provider name -> its region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if not args.custom:
            return None, inputs
        typ, name = args.typ, args.name
        if typ.startswith("pulumi:providers:"):
            self.provider_regions[name] = str(inputs.get("region") or self.region)
        # A provider reference is "<urn>::<id>" and a urn ends "::<name>".
        provider_name = args.provider.rsplit("::", 2)[-2] if args.provider else None
        region = self.provider_regions.get(provider_name or "", self.region)
        resource_id = args.resource_id or f"{name}-{_short_hash(typ, name, length=8)}"
        state: dict[str, Any] = {**inputs, "arn": f"arn:aws:mock:{region}:{ACCOUNT_ID}:{name}"}

        if typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or name
            resource_id = bucket
            state.update(
                arn=f"arn:aws:s3:::{bucket}",
                bucket=bucket,
                bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com",
                bucketDomainName=f"{bucket}.s3.amazonaws.com",
                region=region,
            )
        elif typ == "aws:cloudfront/distribution:Distribution":
            resource_id = args.resource_id or "E" + _short_hash(typ, name).upper()
            state.update(
                arn=f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{resource_id}",
                domainName=f"d{_short_hash(name, length=12)}.cloudfront.net",
                hostedZoneId="Z2FDTNDATAQYW2",
            )
        elif typ in (
            "aws:cloudfront/cachePolicy:CachePolicy",
            "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
            "aws:cloudfront/originAccessControl:OriginAccessControl",
        ):
            resource_id = args.resource_id or str(_uuid_like(typ, name))
        elif typ == "aws:iam/role:Role":
            role_name = inputs.get("name") or name
            resource_id = role_name
            state.update(arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}", name=role_name)
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            group = inputs.get("name") or name
            resource_id = group
            state.update(arn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}", name=group)
        elif typ == "aws:lambda/function:Function":
            fn = inputs.get("name") or name
            resource_id = fn
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{fn}"
            state.update(
                arn=arn,
                name=fn,
                invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
                qualifiedArn=f"{arn}:$LATEST",
            )
        elif typ == "aws:apigatewayv2/api:Api":
            api_id = args.resource_id or _short_hash(typ, name, length=10)
            resource_id = api_id
            state.update(
                apiEndpoint=f"https://{api_id}.execute-api.{region}.amazonaws.com",
                executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{api_id}",
                arn=f"arn:aws:apigateway:{region}::/apis/{api_id}",
            )
        elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            alarm = inputs.get("name") or name
            state.update(arn=f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{alarm}")
            resource_id = alarm
        elif typ == "aws:cloudwatch/dashboard:Dashboard":
            resource_id = inputs.get("dashboardName") or name
            state.update(dashboardArn=f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{resource_id}")
        elif typ == "aws:glue/catalogDatabase:CatalogDatabase":
            resource_id = f"{ACCOUNT_ID}:{inputs.get('name') or name}"
            state.update(name=inputs.get("name") or name, catalogId=ACCOUNT_ID)
        elif typ == "aws:athena/workgroup:Workgroup":
            resource_id = inputs.get("name") or name
            state.update(arn=f"arn:aws:athena:{region}:{ACCOUNT_ID}:workgroup/{resource_id}")
        elif typ == "aws:scheduler/schedule:Schedule":
            resource_id = f"default/{inputs.get('name') or name}"
            state.update(arn=f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/{resource_id}")
        elif typ == "aws:acm/certificate:Certificate":
            domain = str(inputs.get("domainName") or name)
            state.update(
                arn=f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{_uuid_like(typ, name)}",
                domainValidationOptions=[
                    {
                        "domainName": domain,
                        "resourceRecordName": f"_{_short_hash(domain, length=32)}.{domain}.",
                        "resourceRecordType": "CNAME",
                        "resourceRecordValue": f"_{_short_hash(name, length=32)}.acm-validations.aws.",
                    }
                ],
            )
        elif typ == "aws:route53/record:Record":
            state.update(fqdn=str(inputs.get("name") or name).rstrip("."))
        elif typ == "aws:wafv2/webAcl:WebAcl":
            resource_id = _uuid_like(typ, name)
            state.update(
                arn=f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:global/webacl/{inputs.get('name')}/{resource_id}"
            )
        elif typ in (
            "aws:cloudwatch/logDeliverySource:LogDeliverySource",
            "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
        ):
            kind = "delivery-source" if typ.endswith("Source") else "delivery-destination"
            delivery_name = inputs.get("name") or name
            resource_id = delivery_name
            state.update(name=delivery_name, arn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:{kind}:{delivery_name}")
        elif typ == "aws:cloudwatch/logDelivery:LogDelivery":
            resource_id = args.resource_id or _short_hash(typ, name, length=16)
            state.update(arn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:delivery:{resource_id}")
        elif typ == "aws:dynamodb/table:Table":
            table = inputs.get("name") or name
            resource_id = table
            state.update(arn=f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table}", name=table)
        elif typ == "aws:cloudwatch/eventBus:EventBus":
            bus = inputs.get("name") or name
            resource_id = bus
            state.update(arn=f"arn:aws:events:{region}:{ACCOUNT_ID}:event-bus/{bus}", name=bus)
        elif typ == "aws:cloudwatch/eventRule:EventRule":
            rule = inputs.get("name") or name
            bus = inputs.get("eventBusName")
            resource_id = f"{bus}|{rule}" if bus else rule
            path = f"{bus}/{rule}" if bus and bus != "default" else rule
            state.update(arn=f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{path}", name=rule)
        elif typ == "aws:sqs/queue:Queue":
            queue = inputs.get("name") or name
            url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{queue}"
            resource_id = url
            state.update(arn=f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{queue}", url=url, name=queue)
        elif typ in (
            "aws:cloudwatch/eventConnection:EventConnection",
            "aws:cloudwatch/eventApiDestination:EventApiDestination",
        ):
            kind = "connection" if typ.endswith("Connection") else "api-destination"
            resource_id = inputs.get("name") or name
            state.update(
                arn=f"arn:aws:events:{region}:{ACCOUNT_ID}:{kind}/{resource_id}/{_uuid_like(typ, name)}"
            )
        elif typ == "aws:sns/topic:Topic":
            topic = inputs.get("name") or name
            state.update(arn=f"arn:aws:sns:{region}:{ACCOUNT_ID}:{topic}", name=topic)
            resource_id = state["arn"]
        elif typ == "aws:mediaconvert/queue:Queue":
            queue = inputs.get("name") or name
            state.update(arn=f"arn:aws:mediaconvert:{region}:{ACCOUNT_ID}:queues/{queue}", name=queue)
            resource_id = queue
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/mock",
                "userId": "mock",
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, []
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            # Never a real value: the plan shows where the secret comes from, not what it is.
            secret_id = str(args.args.get("secretId"))
            return {"secretId": secret_id, "secretString": f"<value of secret {secret_id}>"}, []
        raise MockInvokeError(
            f"the plan has no mock for the invoke {args.token}; add one to RecordingMocks.call"
        )
