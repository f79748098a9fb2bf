"""The signer API: one POST route, proxy integration v2, CORS, throttled, logged, JWT when configured.

Built alone from the stack's API slice, in front of a literal signer function. That it invokes the
stack's own signer is a whole-stack test (tests/infra/test_stack.py).
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pytest

from infra.api import SignerApi, SignerApiArgs
from infra.config import ApiConfig
from infra.policies import MULTIPART_ROUTE_KEYS
from tests.conftest import DEV_CONFIG, SECURED_CONFIG, component_plan, stack_slices
from tests.infra.helpers import (
    API,
    AUTHORIZER,
    DEV_ORIGINS,
    INTEGRATION,
    LOG_GROUP,
    PERMISSION,
    ROUTE,
    STAGE,
)
from tools.plan import Plan

# What the upload signer hands the API in the stack.
FUNCTION_NAME = "lux-sign-uploads"
FUNCTION_ARN = f"arn:aws:lambda:us-west-2:123456789012:function:{FUNCTION_NAME}"
INVOKE_ARN = f"arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"


def signer_api(config: ApiConfig) -> Callable[[], dict[str, pulumi.Output[str]]]:
    def build() -> dict[str, pulumi.Output[str]]:
        api = SignerApi(
            "api", SignerApiArgs(config, function_name=FUNCTION_NAME, function_invoke_arn=INVOKE_ARN)
        )
        return {"endpoint": api.endpoint}

    return build


BUILD_DEV = signer_api(DEV_CONFIG.api)
BUILD_SECURED = signer_api(SECURED_CONFIG.api)
BUILD_WITHOUT_HEALTH_CHECK = signer_api(stack_slices("dev", healthCheckEnabled="false").api)


@pytest.fixture
def api_plan() -> Plan:
    """The dev stack's signer API alone."""
    return component_plan(BUILD_DEV)


@pytest.fixture
def secured_api_plan() -> Plan:
    """The signer API of the secured variant (tests/conftest.py SECURED_OVERRIDES) alone."""
    return component_plan(BUILD_SECURED)


def test_api_is_an_http_api_named_as_in_the_seed(api_plan: Plan) -> None:
    api = api_plan.one(API).inputs
    assert api["name"] == "lux-video-api"
    assert api["protocolType"] == "HTTP"


def test_the_post_routes_proxy_to_the_signer_with_payload_v2(api_plan: Plan) -> None:
    routes = {r.inputs["routeKey"]: r.inputs for r in api_plan.of_type(ROUTE)}
    integration = api_plan.one(INTEGRATION)
    assert set(routes) == {"POST /", "POST /healthcheck", *MULTIPART_ROUTE_KEYS}
    assert all(route["target"] == f"integrations/{integration.id}" for route in routes.values())
    assert integration.inputs["integrationType"] == "AWS_PROXY"
    assert integration.inputs["payloadFormatVersion"] == "2.0"
    assert integration.inputs["integrationUri"] == INVOKE_ARN


def test_cors_allows_post_get_delete_and_options_with_content_type_and_authorization(
    api_plan: Plan, secured_api_plan: Plan
) -> None:
    cors = api_plan.one(API).inputs["corsConfiguration"]
    # POST / signs; GET and DELETE /jobs/{jobId} (a browser app) need their preflights answered.
    assert sorted(cors["allowMethods"]) == ["DELETE", "GET", "OPTIONS", "POST"]
    assert sorted(cors["allowHeaders"]) == ["authorization", "content-type"]
    assert cors["allowOrigins"] == list(DEV_ORIGINS)
    assert secured_api_plan.one(API).inputs["corsConfiguration"]["allowOrigins"] == [
        "https://app.example.com",
        "http://localhost:8080",
    ]


def test_default_stage_auto_deploys_throttles_and_logs_json(api_plan: Plan, secured_api_plan: Plan) -> None:
    stage = api_plan.one(STAGE).inputs
    assert stage["name"] == "$default"
    assert stage["autoDeploy"] is True
    assert stage["defaultRouteSettings"]["throttlingRateLimit"] == 50
    assert stage["defaultRouteSettings"]["throttlingBurstLimit"] == 100
    access_logs = api_plan.one(LOG_GROUP, "api-access-logs").inputs
    assert stage["accessLogSettings"]["destinationArn"].endswith(f":log-group:{access_logs['name']}")
    assert access_logs["retentionInDays"] == 30
    log_format = stage["accessLogSettings"]["format"]
    assert isinstance(log_format, str) and log_format.startswith("{")
    assert '"status": "$context.status"' in log_format
    secured = secured_api_plan.one(STAGE).inputs["defaultRouteSettings"]
    assert (secured["throttlingRateLimit"], secured["throttlingBurstLimit"]) == (10, 20)


def test_only_this_api_may_invoke_the_signer_and_only_on_its_routes(api_plan: Plan) -> None:
    api = api_plan.one(API)
    permissions = {p.name: p.inputs for p in api_plan.of_type(PERMISSION)}
    assert set(permissions) == {"api-invoke", "api-invoke-healthcheck", "api-invoke-multipart"}
    for permission in permissions.values():
        assert permission["principal"] == "apigateway.amazonaws.com"
        assert permission["action"] == "lambda:InvokeFunction"
        assert permission["function"] == FUNCTION_NAME
    execution = f"arn:aws:execute-api:us-west-2:123456789012:{api.id}"
    assert permissions["api-invoke"]["sourceArn"] == f"{execution}/*/POST/"
    assert permissions["api-invoke-healthcheck"]["sourceArn"] == f"{execution}/*/POST/healthcheck"
    assert permissions["api-invoke-multipart"]["sourceArn"] == f"{execution}/*/*/s3/*"


def test_the_health_check_route_is_iam_authorized_and_goes_with_the_check(api_plan: Plan) -> None:
    route = api_plan.one(ROUTE, "api-healthcheck-route").inputs
    assert route["routeKey"] == "POST /healthcheck" and route["authorizationType"] == "AWS_IAM"
    without = component_plan(BUILD_WITHOUT_HEALTH_CHECK)
    assert sorted(r.inputs["routeKey"] for r in without.of_type(ROUTE)) == sorted(
        ["POST /", *MULTIPART_ROUTE_KEYS]
    )
    assert sorted(p.name for p in without.of_type(PERMISSION)) == ["api-invoke", "api-invoke-multipart"]


def test_route_is_open_without_jwt_config(api_plan: Plan) -> None:
    assert api_plan.of_type(AUTHORIZER) == []
    assert api_plan.one(ROUTE, "api-route").inputs["authorizationType"] == "NONE"


def test_jwt_authorizer_protects_the_route_when_configured(secured_api_plan: Plan) -> None:
    authorizer = secured_api_plan.one(AUTHORIZER)
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {
        "issuer": "https://auth.example.com/",
        "audiences": ["lux-mobile"],
    }
    route = secured_api_plan.one(ROUTE, "api-route").inputs
    assert route["authorizationType"] == "JWT"
    assert route["authorizerId"] == authorizer.id


def test_the_endpoint_is_the_apis_url_with_a_trailing_slash(api_plan: Plan) -> None:
    api = api_plan.one(API, "api")
    assert api_plan.outputs["endpoint"] == f"https://{api.id}.execute-api.us-west-2.amazonaws.com/"


# In the canonical mock style (assertions inside apply, under @pulumi.runtime.test): tests/conftest.py pulumi_mocks.


def test_signer_api_endpoint_ends_with_a_slash(pulumi_mocks) -> None:
    pulumi_mocks()

    @pulumi.runtime.test
    def check() -> pulumi.Output:
        api = SignerApi("a", SignerApiArgs(ApiConfig("lux-unit-api", ("*",), 5, 10, 7), "fn", "arn:invoke"))

        def verify(endpoint: str) -> None:
            assert endpoint.startswith("https://") and endpoint.endswith(".amazonaws.com/")

        return api.endpoint.apply(verify)

    check()


def test_the_multipart_routes_share_the_integration_and_the_authorizer_of_post(
    api_plan: Plan, secured_api_plan: Plan
) -> None:
    """Uppy's Companion S3 protocol, POST /s3/sign and the part plan: the same Lambda and the same
    JWT authorizer as POST / (open where POST / is open)."""
    for plan, authorization in ((api_plan, "NONE"), (secured_api_plan, "JWT")):
        routes = {r.inputs["routeKey"]: r.inputs for r in plan.of_type(ROUTE)}
        post = routes["POST /"]
        for key in MULTIPART_ROUTE_KEYS:
            assert routes[key]["authorizationType"] == authorization == post["authorizationType"]
            assert routes[key].get("authorizerId") == post.get("authorizerId")
            assert routes[key]["target"] == post["target"]
    assert any("plan" in key for key in MULTIPART_ROUTE_KEYS)
    assert {"GET", "POST", "DELETE"} == {key.split(" ")[0] for key in MULTIPART_ROUTE_KEYS}
