"""The signer API: one POST route, proxy integration v2, CORS, throttled, logged, JWT when configured."""

from __future__ import annotations

from tests.conftest import plan_for, stack_config
from tests.infra.helpers import (
    API,
    AUTHORIZER,
    DEV_ORIGINS,
    FUNCTION,
    INTEGRATION,
    LOG_GROUP,
    PERMISSION,
    ROUTE,
    STAGE,
)
from tools.plan import Plan


def test_api_is_an_http_api_named_as_in_the_seed(dev_plan: Plan) -> None:
    api = dev_plan.one(API).inputs
    assert api["name"] == "lux-video-api"
    assert api["protocolType"] == "HTTP"


def test_the_post_routes_proxy_to_the_signer_with_payload_v2(dev_plan: Plan) -> None:
    routes = {r.inputs["routeKey"]: r.inputs for r in dev_plan.of_type(ROUTE)}
    integration = dev_plan.one(INTEGRATION)
    assert set(routes) == {"POST /", "POST /healthcheck"}
    assert all(route["target"] == f"integrations/{integration.id}" for route in routes.values())
    assert integration.inputs["integrationType"] == "AWS_PROXY"
    assert integration.inputs["payloadFormatVersion"] == "2.0"
    assert integration.inputs["integrationUri"].endswith(":function:lux-sign-uploads/invocations")


def test_cors_allows_post_and_options_with_content_type_and_authorization(
    dev_plan: Plan, secured_plan: Plan
) -> None:
    cors = dev_plan.one(API).inputs["corsConfiguration"]
    assert sorted(cors["allowMethods"]) == ["OPTIONS", "POST"]
    assert sorted(cors["allowHeaders"]) == ["authorization", "content-type"]
    assert cors["allowOrigins"] == list(DEV_ORIGINS)
    assert secured_plan.one(API).inputs["corsConfiguration"]["allowOrigins"] == [
        "https://app.example.com",
        "http://localhost:8080",
    ]


def test_default_stage_auto_deploys_throttles_and_logs_json(dev_plan: Plan, secured_plan: Plan) -> None:
    stage = dev_plan.one(STAGE).inputs
    assert stage["name"] == "$default"
    assert stage["autoDeploy"] is True
    assert stage["defaultRouteSettings"]["throttlingRateLimit"] == 50
    assert stage["defaultRouteSettings"]["throttlingBurstLimit"] == 100
    access_logs = dev_plan.one(LOG_GROUP, "api-access-logs").inputs
    assert stage["accessLogSettings"]["destinationArn"].endswith(f":log-group:{access_logs['name']}")
    assert access_logs["retentionInDays"] == 30
    log_format = stage["accessLogSettings"]["format"]
    assert isinstance(log_format, str) and log_format.startswith("{")
    assert '"status": "$context.status"' in log_format
    secured = secured_plan.one(STAGE).inputs["defaultRouteSettings"]
    assert (secured["throttlingRateLimit"], secured["throttlingBurstLimit"]) == (10, 20)


def test_only_this_api_may_invoke_the_signer_and_only_on_its_two_routes(dev_plan: Plan) -> None:
    api = dev_plan.one(API)
    permissions = {p.name: p.inputs for p in dev_plan.of_type(PERMISSION)}
    assert set(permissions) == {"api-invoke", "api-invoke-healthcheck"}
    for permission in permissions.values():
        assert permission["principal"] == "apigateway.amazonaws.com"
        assert permission["action"] == "lambda:InvokeFunction"
        assert permission["function"] == dev_plan.one(FUNCTION, "signer").inputs["name"]
    execution = f"arn:aws:execute-api:us-west-2:123456789012:{api.id}"
    assert permissions["api-invoke"]["sourceArn"] == f"{execution}/*/POST/"
    assert permissions["api-invoke-healthcheck"]["sourceArn"] == f"{execution}/*/POST/healthcheck"


def test_the_health_check_route_is_iam_authorized_and_goes_with_the_check(dev_plan: Plan) -> None:
    route = dev_plan.one(ROUTE, "api-healthcheck-route").inputs
    assert route["routeKey"] == "POST /healthcheck" and route["authorizationType"] == "AWS_IAM"
    without = plan_for("dev", stack_config("dev", healthCheckEnabled="false"))
    assert [r.inputs["routeKey"] for r in without.of_type(ROUTE)] == ["POST /"]
    assert [p.name for p in without.of_type(PERMISSION)] == ["api-invoke"]


def test_route_is_open_without_jwt_config(dev_plan: Plan) -> None:
    assert dev_plan.of_type(AUTHORIZER) == []
    assert dev_plan.one(ROUTE, "api-route").inputs["authorizationType"] == "NONE"


def test_jwt_authorizer_protects_the_route_when_configured(secured_plan: Plan) -> None:
    authorizer = secured_plan.one(AUTHORIZER)
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {
        "issuer": "https://auth.example.com/",
        "audiences": ["lux-mobile"],
    }
    route = secured_plan.one(ROUTE, "api-route").inputs
    assert route["authorizationType"] == "JWT"
    assert route["authorizerId"] == authorizer.id
