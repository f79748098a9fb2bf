"""The stack as a whole: outputs, component structure, cross-component wiring, tags, and a deterministic
offline plan."""

from __future__ import annotations

import json

from infra import config as infra_config
from infra.config import PROJECT, parse
from policy import rules
from tests.conftest import SECURED_OVERRIDES, stack_config
from tests.infra import helpers as h
from tests.infra.helpers import OUTPUT_NAMES, document, statement
from tools import plan as planning
from tools.plan import Plan


def test_outputs_are_exactly_the_documented_names(dev_plan: Plan) -> None:
    assert tuple(sorted(dev_plan.outputs)) == tuple(sorted(OUTPUT_NAMES))
    outputs = dev_plan.outputs
    assert outputs["bucketName"] == "lux-video-dev-262a61d7"
    assert outputs["region"] == "us-west-2"
    assert outputs["cdnBaseUrl"] == f"https://{outputs['cdnDomainName']}"
    assert outputs["signerEndpoint"].startswith("https://") and outputs["signerEndpoint"].endswith(
        ".execute-api.us-west-2.amazonaws.com/"
    )
    assert outputs["signerFunctionName"] == "lux-sign-uploads"
    assert outputs["uploadPrefix"] == "videos/"
    assert outputs["distributionId"].startswith("E")


def test_every_aws_resource_is_a_child_of_a_component(dev_plan: Plan) -> None:
    components = {r.urn: r for r in dev_plan.resources if not r.custom}
    assert {r.type for r in components.values()} == {
        "lux:storage:MediaBucket",
        "lux:cdn:Cdn",
        "lux:signer:UploadSigner",
        "lux:api:SignerApi",
        "lux:logs:LogArchive",
        "lux:monitoring:Monitoring",
        "lux:healthcheck:HealthCheck",
        "lux:jobs:JobTracking",
    }
    for resource in dev_plan.resources:
        if resource.custom:
            assert resource.parent in components, f"{resource.type} {resource.name} has no component parent"


def test_child_names_derive_from_the_component_name(dev_plan: Plan) -> None:
    for resource in dev_plan.resources:
        if resource.custom and resource.parent:
            component_name = resource.parent.rsplit("::", 1)[1]
            assert resource.name == component_name or resource.name.startswith(f"{component_name}-")


def test_every_stack_file_tags_resources_with_project_and_stack() -> None:
    for stack in infra_config.available_stacks():
        config = infra_config.stack_file_config(stack)
        tags = config["aws:defaultTags"]["tags"]
        assert tags["project"] == PROJECT and tags["stack"] == stack
        # parse() enforces it, so a stack file that drops the tags cannot plan.
        raw = {
            k.split(":", 1)[1]: v
            for k, v in infra_config.engine_config(config).items()
            if k.startswith(f"{PROJECT}:")
        }
        assert (
            parse(raw, stack=stack, region=config["aws:region"], default_tags=config["aws:defaultTags"]).tags
            == tags
        )


def test_the_dev_plan_passes_every_security_rule(dev_plan: Plan, secured_plan: Plan) -> None:
    for plan in (dev_plan, secured_plan):
        assert rules.check_resources((r.type, r.inputs) for r in plan.resources if r.custom) == []


def test_secured_config_really_changes_the_plan(dev_plan: Plan, secured_plan: Plan) -> None:
    assert dev_plan.to_text() != secured_plan.to_text()
    # the JWT authorizer; with monitoring: the two alarm e-mail subscriptions and CloudFront's
    # additional metrics (SECURED_OVERRIDES in tests/conftest.py turns them on)
    assert len(secured_plan.resources) == len(dev_plan.resources) + 1 + 3
    assert secured_plan.outputs["uploadPrefix"] == SECURED_OVERRIDES["prefix"]


def test_two_plan_runs_are_byte_identical(dev_plan: Plan) -> None:
    # dev_plan is a run of its own (cached for the session): one more run is the second.
    second = planning.run("dev")
    assert second is not dev_plan
    assert second.to_text() == dev_plan.to_text()


def test_plan_renders_policy_documents_as_objects(dev_plan: Plan) -> None:
    text = dev_plan.to_text()
    document = json.loads(text)
    (policy,) = [
        r
        for r in document["resources"]
        if r["type"] == "aws:s3/bucketPolicy:BucketPolicy" and r["name"] == "media-policy"
    ]
    assert isinstance(policy["inputs"]["policy"], dict)
    assert policy["inputs"]["policy"]["Statement"][1]["Sid"] == "DenyInsecureTransport"
    assert "04da6b54" not in text  # no unknown placeholders


def test_plan_command_writes_the_file(tmp_path) -> None:
    out = tmp_path / "plan.json"
    assert planning.main(["--stack", "dev", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["outputs"]["bucketName"] == "lux-video-dev-262a61d7"


def test_plan_command_reports_bad_config_in_one_line(tmp_path, capsys, monkeypatch) -> None:
    bad = stack_config("dev", priceClass="Cheap")
    monkeypatch.setattr(planning, "stack_file_config", lambda stack: bad)
    assert planning.main(["--stack", "dev", "--out", str(tmp_path / "p.json")]) == 1
    err = capsys.readouterr().err
    assert "lux-video:priceClass" in err and "Traceback" not in err


# Cross-component wiring: each needs the whole stack, because what it checks is that one component
# receives another's real output (the component tests give those inputs as literals).


def test_the_bucket_policy_names_the_stacks_own_distribution(dev_plan: Plan) -> None:
    policy = document(dev_plan.one(h.BUCKET_POLICY, "media-policy"), "policy")
    read = statement(policy, "AllowCloudFrontOacRead")
    distribution = dev_plan.one(h.DISTRIBUTION, "cdn")
    assert distribution.id == dev_plan.outputs["distributionId"]
    assert read["Condition"] == {
        "StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::123456789012:distribution/{distribution.id}"}
    }


def test_the_cdn_reads_the_stacks_own_media_bucket(dev_plan: Plan) -> None:
    (origin,) = dev_plan.one(h.DISTRIBUTION, "cdn").inputs["origins"]
    bucket = dev_plan.one(h.BUCKET, "media").inputs["bucket"]
    assert origin["domainName"] == f"{bucket}.s3.us-west-2.amazonaws.com"
    assert origin["originAccessControlId"] == dev_plan.one(h.OAC, "cdn-oac").id


def test_the_api_invokes_and_may_invoke_only_the_stacks_own_signer(dev_plan: Plan) -> None:
    function = dev_plan.one(h.FUNCTION, "signer")
    invoke_arn = (
        "arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:us-west-2:123456789012:function:{function.inputs['name']}/invocations"
    )
    assert dev_plan.one(h.INTEGRATION, "api-signer").inputs["integrationUri"] == invoke_arn
    permissions = [
        p for p in dev_plan.of_type(h.PERMISSION) if p.inputs["function"] == function.inputs["name"]
    ]
    assert {p.name for p in permissions} == {"api-invoke", "api-invoke-healthcheck", "api-invoke-multipart"}
    assert {p.inputs["principal"] for p in permissions} == {"apigateway.amazonaws.com"}


def test_the_signer_signs_for_the_stacks_own_bucket_and_cdn(dev_plan: Plan) -> None:
    env = dev_plan.one(h.FUNCTION, "signer").inputs["environment"]["variables"]
    assert env["BUCKET"] == dev_plan.outputs["bucketName"] == dev_plan.one(h.BUCKET, "media").inputs["bucket"]
    assert env["PUBLIC_BASE_URL"] == dev_plan.outputs["cdnBaseUrl"]
    put = statement(
        document(dev_plan.one(h.ROLE_POLICY, "signer-permissions"), "policy"), "PutUploadsUnderPrefix"
    )
    assert (
        put["Resource"]
        == f"arn:aws:s3:::{dev_plan.outputs['bucketName']}/{dev_plan.outputs['uploadPrefix']}*"
    )


def test_every_log_group_of_the_stack_has_retention(dev_plan: Plan, secured_plan: Plan) -> None:
    # Whole stack: the groups come from every component (signer, API, health check, monitoring).
    for plan in (dev_plan, secured_plan):
        groups = plan.of_type(h.LOG_GROUP)
        assert len(groups) > 2
        for group in groups:
            assert rules.log_groups_have_retention(h.LOG_GROUP, group.inputs) == [], group.name


def test_plan_shows_which_resources_use_an_explicit_provider(dev_plan: Plan) -> None:
    document = json.loads(dev_plan.to_text())
    east = {
        r["name"] for r in document["resources"] if r.get("provider", "").endswith("::monitoring-us-east-1")
    }
    assert {"monitoring-cdn-5xx-rate", "monitoring-cdn-4xx-rate", "monitoring-alarms-us-east-1"} <= east
    assert all("signer" not in name for name in east)
