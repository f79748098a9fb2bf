"""The signer's HTTP API: POST / and the multipart routes (/s3/...) to the signer,
GET/DELETE /jobs/{jobId} to the jobs function, throttled, access-logged, optionally JWT."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import ApiConfig
from lambda_src.sign_uploads import jobs_handler

ROUTE_KEY = "POST /"
HEALTH_CHECK_ROUTE_KEY = "POST /healthcheck"
# Route key -> the suffix of its route's and its permission's resource names.
JOB_ROUTES = {jobs_handler.STATUS_ROUTE: "jobs-status", jobs_handler.DELETE_ROUTE: "jobs-delete"}
HEALTH_CHECK_JOB_ROUTES = {
    jobs_handler.HEALTH_CHECK_STATUS_ROUTE: "healthcheck-jobs-status",
    jobs_handler.HEALTH_CHECK_DELETE_ROUTE: "healthcheck-jobs-delete",
}


@dataclass(frozen=True)
class SignerApiArgs:
    config: ApiConfig
    function_name: pulumi.Input[str]
    function_invoke_arn: pulumi.Input[str]
    # The jobs function (infra/jobs.py), behind GET/DELETE /jobs/{jobId} (None: no job routes).
    jobs_function_name: pulumi.Input[str] | None = None
    jobs_function_invoke_arn: pulumi.Input[str] | None = None


# HTTP APIs give up on an integration after 30 s.
JOBS_INTEGRATION_TIMEOUT_MS = 29_000


def multipart_route_name(route_key: str) -> str:
    """A route's resource name: ``POST /s3/multipart/{uploadId}/complete`` -> ``s3-post-multipart-id-complete``."""
    method, path = route_key.split(" ", 1)
    words = [
        ("id" if p == "{uploadId}" else "part" if p == "{partNumber}" else p)
        for p in path.strip("/").split("/")
    ]
    return "-".join(["s3", method.lower(), *words[1:]])


class SignerApi(pulumi.ComponentResource):
    """Owns the HTTP API, its integration, route, optional JWT authorizer, the `$default` stage,
    the access log group and the permission that lets only this API invoke the signer."""

    def __init__(self, name: str, args: SignerApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:api:SignerApi", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        self.api = aws.apigatewayv2.Api(
            name,
            name=config.api_name,
            protocol_type="HTTP",
            description="Issues pre-signed upload URLs for the mobile app",
            cors_configuration=policies.api_cors(config.cors_allowed_origins),
            opts=pulumi.ResourceOptions(parent=self, import_=config.adopt.get("api")),
        )
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{config.api_name}",
            retention_in_days=config.log_retention_days,
            opts=child,
        )
        self.integration = aws.apigatewayv2.Integration(
            f"{name}-signer",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=args.function_invoke_arn,
            integration_method="POST",
            payload_format_version="2.0",
            timeout_milliseconds=10_000,
            opts=child,
        )

        self.authorizer: aws.apigatewayv2.Authorizer | None = None
        auth: dict[str, pulumi.Input[str]] = {"authorization_type": "NONE"}
        if config.jwt_issuer is not None:
            self.authorizer = aws.apigatewayv2.Authorizer(
                f"{name}-jwt",
                api_id=self.api.id,
                name="jwt",
                authorizer_type="JWT",
                identity_sources=["$request.header.Authorization"],
                jwt_configuration={"issuer": config.jwt_issuer, "audiences": list(config.jwt_audience)},
                opts=child,
            )
            auth = {"authorization_type": "JWT", "authorizer_id": self.authorizer.id}

        self.route = aws.apigatewayv2.Route(
            f"{name}-route",
            api_id=self.api.id,
            route_key=ROUTE_KEY,
            target=self.integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
            **auth,
            opts=child,
        )
        # The synthetic check's own route: IAM-authorized (SigV4 with its role), same integration;
        # the signer accepts healthcheck- jobIds only here and only from that role.
        self.health_check_route: aws.apigatewayv2.Route | None = None
        routes: list[pulumi.Resource] = [self.route]
        if config.health_check_route:
            self.health_check_route = aws.apigatewayv2.Route(
                f"{name}-healthcheck-route",
                api_id=self.api.id,
                route_key=HEALTH_CHECK_ROUTE_KEY,
                target=self.integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
                authorization_type="AWS_IAM",
                opts=child,
            )
            routes.append(self.health_check_route)
        # The multipart routes (Uppy's S3 protocol, signRequest, the part plan): same integration
        # and authorizer as POST /.
        self.multipart_routes = [
            aws.apigatewayv2.Route(
                f"{name}-{multipart_route_name(route_key)}",
                api_id=self.api.id,
                route_key=route_key,
                target=self.integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
                **auth,
                opts=child,
            )
            for route_key in policies.MULTIPART_ROUTE_KEYS
        ]
        routes.extend(self.multipart_routes)
        self.job_routes: dict[str, aws.apigatewayv2.Route] = {}
        if args.jobs_function_name is not None and args.jobs_function_invoke_arn is not None:
            self._job_routes(name, config, args.jobs_function_name, args.jobs_function_invoke_arn, auth)
            routes.extend(self.job_routes.values())
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings={
                "destinationArn": self.access_logs.arn,
                "format": json.dumps(policies.api_access_log_format(), sort_keys=True),
            },
            default_route_settings={
                "throttlingRateLimit": config.throttle_rate_per_second,
                "throttlingBurstLimit": config.throttle_burst,
                "detailedMetricsEnabled": True,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )
        self.invoke_permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="apigateway.amazonaws.com",
            # This API, any stage, only the POST / route.
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/POST/"),
            opts=child,
        )
        if self.health_check_route is not None:
            aws.lambda_.Permission(
                f"{name}-invoke-healthcheck",
                action="lambda:InvokeFunction",
                function=args.function_name,
                principal="apigateway.amazonaws.com",
                source_arn=self.api.execution_arn.apply(policies.health_check_route_arn),
                opts=child,
            )

        self.multipart_invoke_permission = aws.lambda_.Permission(
            f"{name}-invoke-multipart",
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(policies.multipart_routes_arn),
            opts=child,
        )

        self.endpoint = self.api.api_endpoint.apply(lambda url: f"{url.rstrip('/')}/")
        self.jobs_endpoint = self.endpoint.apply(lambda url: f"{url}jobs/")
        self.register_outputs({"apiId": self.api.id, "endpoint": self.endpoint, "stage": self.stage.name})

    def _job_routes(
        self,
        name: str,
        config: ApiConfig,
        function_name: pulumi.Input[str],
        invoke_arn: pulumi.Input[str],
        auth: dict[str, pulumi.Input[str]],
    ) -> None:
        """GET/DELETE /jobs/{jobId} with the authorization of POST /, and (with the health check)
        their IAM-authorized /healthcheck twins, on one integration; each route has its own
        invoke permission, scoped to that route."""
        child = pulumi.ResourceOptions(parent=self)
        self.jobs_integration = aws.apigatewayv2.Integration(
            f"{name}-jobs",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=invoke_arn,
            integration_method="POST",
            payload_format_version="2.0",
            timeout_milliseconds=JOBS_INTEGRATION_TIMEOUT_MS,
            opts=child,
        )
        target = self.jobs_integration.id.apply(lambda integration_id: f"integrations/{integration_id}")
        routes = {key: (suffix, auth) for key, suffix in JOB_ROUTES.items()}
        if config.health_check_route:
            iam: dict[str, pulumi.Input[str]] = {"authorization_type": "AWS_IAM"}
            routes.update({key: (suffix, iam) for key, suffix in HEALTH_CHECK_JOB_ROUTES.items()})
        for route_key, (suffix, authorization) in routes.items():
            self.job_routes[route_key] = aws.apigatewayv2.Route(
                f"{name}-{suffix}",
                api_id=self.api.id,
                route_key=route_key,
                target=target,
                **authorization,
                opts=child,
            )
            aws.lambda_.Permission(
                f"{name}-invoke-{suffix}",
                action="lambda:InvokeFunction",
                function=function_name,
                principal="apigateway.amazonaws.com",
                source_arn=self.api.execution_arn.apply(
                    lambda arn, key=route_key: policies.route_source_arn(arn, key)
                ),
                opts=child,
            )
