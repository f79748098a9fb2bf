"""cdn_config.json: built from the recorded plans' outputs, validated, and every bad output named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import plan_for
from tools import cdn_config
from tools.cdn_config import CdnConfigError, build, validate

STACKS = ("dev", "prod")


def outputs(stack: str = "dev") -> dict[str, Any]:
    """The stack outputs as `pulumi stack output --json` would print them (JSON round trip)."""
    return json.loads(json.dumps(plan_for(stack).outputs))


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = cdn_config.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {*cdn_config.FROM_OUTPUTS, "environment"}


@pytest.mark.parametrize("stack", STACKS)
def test_each_stacks_outputs_make_a_valid_config(stack: str) -> None:
    config = build(outputs(stack), stack)
    validate(config)
    assert config["environment"] == stack
    assert config["cdnBaseUrl"] == outputs(stack)["cdnBaseUrl"]
    assert config["authRequired"] is (stack == "prod")
    assert isinstance(config["maxFileBytes"], int) and config["maxFileBytes"] > 0
    # The app calls GET <jobsEndpoint><jobId> on the signer's own API.
    assert config["jobsEndpoint"] == config["signerEndpoint"] + "jobs/"


def test_the_local_stacks_extra_processor_endpoint_is_allowed() -> None:
    config = {**build(outputs(), "local"), "processorEndpoint": "http://10.0.2.2:8000/"}
    config["signerEndpoint"] = "http://127.0.0.1:4000/"
    config["jobsEndpoint"] = "http://127.0.0.1:4000/jobs/"
    validate(config)


@pytest.mark.parametrize(
    "jobs_endpoint",
    [
        "https://api.example.com/jobs/",  # another host
        "http://127.0.0.1:4000/jobs/",  # another scheme and port
    ],
)
def test_a_jobs_endpoint_off_the_signers_host_is_named(jobs_endpoint: str) -> None:
    broken = {**outputs(), "jobsEndpoint": jobs_endpoint}
    with pytest.raises(CdnConfigError) as caught:
        build(broken, "dev")
    assert caught.value.key == "jobsEndpoint" and "signer's host" in str(caught.value)


@pytest.mark.parametrize("missing", sorted(cdn_config.FROM_OUTPUTS))
def test_each_missing_output_is_named(missing: str) -> None:
    broken = outputs()
    del broken[missing]
    with pytest.raises(CdnConfigError) as caught:
        build(broken, "dev")
    assert caught.value.key == missing and missing in str(caught.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("authRequired", "false"),
        ("authRequired", 0),
        ("maxFileBytes", "5368709120"),
        ("maxFileBytes", True),
        ("maxFileBytes", 0),
        ("maxFileBytes", 6 * 1024**3),
        ("signerEndpoint", "not a url"),
        ("signerEndpoint", "ftp://example.com/"),
        ("signerEndpoint", "http://api.example.com/"),  # plain http only on loopback/private hosts
        ("signerEndpoint", 42),
        ("jobsEndpoint", "ftp://example.com/jobs/"),
        ("jobsEndpoint", None),
        ("cdnBaseUrl", "d21wy4swosisq5.cloudfront.net"),
        ("uploadPrefix", "videos"),
        ("region", "us-west"),
    ],
)
def test_a_wrong_output_is_named(key: str, value: Any) -> None:
    broken = {**outputs(), key: value}
    with pytest.raises(CdnConfigError) as caught:
        build(broken, "dev")
    assert caught.value.key == key, str(caught.value)


def test_an_unknown_or_missing_field_is_named_by_validate() -> None:
    config = build(outputs(), "dev")
    with pytest.raises(CdnConfigError) as caught:
        validate({**config, "apiKey": "x"})
    assert caught.value.key == "apiKey"
    del config["environment"]
    with pytest.raises(CdnConfigError) as caught:
        validate(config)
    assert caught.value.key == "environment"


def test_cli_writes_the_file_from_saved_outputs(tmp_path: Path) -> None:
    saved = tmp_path / "saved-outputs.json"
    saved.write_text(json.dumps(outputs("prod")))
    out = tmp_path / "nested" / "cdn_config.json"
    assert cdn_config.main(["--stack", "prod", "--outputs", str(saved), "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    validate(written)
    assert written == build(outputs("prod"), "prod")


def test_cli_reports_a_bad_output_in_one_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({k: v for k, v in outputs().items() if k != "cdnBaseUrl"}))
    out = tmp_path / "cdn_config.json"
    assert cdn_config.main(["--stack", "dev", "--outputs", str(saved), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "cdnBaseUrl" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_without_pulumi_says_so(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(cdn_config.shutil, "which", lambda name: None)
    assert cdn_config.main(["--stack", "dev", "--out", str(tmp_path / "c.json")]) == 1
    assert "Pulumi CLI is not on PATH" in capsys.readouterr().err


def test_cli_reads_pulumi_stack_output_when_no_file_is_given(tmp_path: Path, monkeypatch) -> None:
    calls: list[list[str]] = []

    class Done:
        returncode = 0
        stdout = json.dumps(outputs())
        stderr = ""

    def fake_run(command: list[str], **_: Any) -> Done:
        calls.append(command)
        return Done()

    monkeypatch.setattr(cdn_config.shutil, "which", lambda name: "/usr/bin/pulumi")
    monkeypatch.setattr(cdn_config.subprocess, "run", fake_run)
    out = tmp_path / "c.json"
    assert cdn_config.main(["--stack", "dev", "--out", str(out)]) == 0
    assert calls == [["pulumi", "stack", "output", "--json", "--stack", "dev"]]
    assert json.loads(out.read_text())["environment"] == "dev"


def test_cli_rejects_outputs_that_are_not_an_object(tmp_path: Path, capsys) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text("[1, 2]")
    assert cdn_config.main(["--stack", "dev", "--outputs", str(saved), "--out", str(tmp_path / "c")]) == 1
    assert "outputs" in capsys.readouterr().err
