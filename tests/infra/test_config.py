"""Stack config: defaults stated once, every bad value fails naming its key."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import DEFAULTS, MAX_SINGLE_PUT_BYTES, ConfigError, StackConfig, parse
from tests.conftest import stack_config
from tools.plan import run

TAGS = {"tags": {"project": "lux-video", "stack": "dev"}}


def parse_dev(**raw: Any) -> StackConfig:
    values = {"bucketName": "lux-video-dev-262a61d7", **raw}
    return parse(
        {k: v for k, v in values.items() if v is not None}, stack="dev", region="us-west-2", default_tags=TAGS
    )


def test_defaults_apply_when_keys_are_unset() -> None:
    config = parse_dev()
    assert config.prefix == "videos/"
    assert config.storage.expiration_days == 30
    assert config.cors_allowed_origins == ("*",)
    assert config.cdn.price_class == "PriceClass_100"
    assert config.logs.retention_days == config.signer.log_retention_days == 30
    assert config.signer.url_ttl_seconds == 900
    assert config.signer.max_files == 1000
    assert config.max_file_bytes == MAX_SINGLE_PUT_BYTES == 5 * 1024**3
    assert config.signer.function_name == "lux-sign-uploads"
    assert config.api.api_name == "lux-video-api"
    assert config.auth_required is False
    assert config.tags == {"project": "lux-video", "stack": "dev"}


def test_config_is_frozen() -> None:
    config = parse_dev()
    with pytest.raises(AttributeError):
        config.prefix = "other/"  # type: ignore[misc]


def test_lists_arrive_as_json_strings_like_the_engine_sends_them() -> None:
    config = parse_dev(corsAllowedOrigins='["https://app.example.com", "http://localhost:3000"]')
    assert config.cors_allowed_origins == ("https://app.example.com", "http://localhost:3000")


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"expirationDays": "-1"}, "lux-video:expirationDays", "between 1 and"),
        ({"expirationDays": "thirty"}, "lux-video:expirationDays", "must be an integer"),
        ({"logRetentionDays": "-5"}, "lux-video:logRetentionDays", "between"),
        ({"logRetentionDays": "31"}, "lux-video:logRetentionDays", "not a CloudWatch retention value"),
        ({"priceClass": "PriceClass_Cheap"}, "lux-video:priceClass", "not one of"),
        (
            {"corsAllowedOrigins": '["https://app.example.com/"]'},
            "lux-video:corsAllowedOrigins",
            "not an origin",
        ),
        ({"corsAllowedOrigins": '["app.example.com"]'}, "lux-video:corsAllowedOrigins", "not an origin"),
        (
            {"corsAllowedOrigins": '["https://a.example.com/path"]'},
            "lux-video:corsAllowedOrigins",
            "not an origin",
        ),
        (
            {"corsAllowedOrigins": '["*", "https://a.example.com"]'},
            "lux-video:corsAllowedOrigins",
            "cannot be combined",
        ),
        ({"corsAllowedOrigins": "[]"}, "lux-video:corsAllowedOrigins", "at least one origin"),
        ({"corsAllowedOrigins": "https://a.example.com"}, "lux-video:corsAllowedOrigins", "list of strings"),
        ({"jwtIssuer": "https://auth.example.com/"}, "lux-video:jwtAudience", "at least one"),
        ({"jwtAudience": '["lux-mobile"]'}, "lux-video:jwtIssuer", "required when jwtAudience"),
        (
            {"jwtIssuer": "http://auth.example.com/", "jwtAudience": '["a"]'},
            "lux-video:jwtIssuer",
            "https://",
        ),
        ({"prefix": "/videos/"}, "lux-video:prefix", "segments"),
        ({"prefix": "videos"}, "lux-video:prefix", "segments"),
        ({"prefix": "../videos/"}, "lux-video:prefix", "segments"),
        ({"bucketName": "Lux_Video"}, "lux-video:bucketName", "not a valid S3 bucket name"),
        ({"bucketName": None}, "lux-video:bucketName", "is required"),
        ({"bucketName": "lux.video.dev"}, "lux-video:bucketName", "no dots"),
        ({"urlTtlSeconds": "7200"}, "lux-video:urlTtlSeconds", "between 60 and 3600"),
        ({"maxFileBytes": str(6 * 1024**3)}, "lux-video:maxFileBytes", "between 1 and"),
        ({"throttleBurst": "0"}, "lux-video:throttleBurst", "between 1 and"),
        ({"signerFunctionName": "lux sign"}, "lux-video:signerFunctionName", "must be"),
        ({"bucketname": "typo"}, "lux-video:bucketname", "not a known key"),
    ],
)
def test_bad_values_fail_naming_the_key(raw: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dev(**raw)
    assert caught.value.key == key
    assert key in str(caught.value)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("region", "tags", "key"),
    [
        (None, TAGS, "aws:region"),
        ("us-west", TAGS, "aws:region"),
        ("us-west-2", None, "aws:defaultTags"),
        ("us-west-2", {"tags": {"project": "lux-video", "stack": "prod"}}, "aws:defaultTags"),
        ("us-west-2", {"tags": {"stack": "dev"}}, "aws:defaultTags"),
    ],
)
def test_aws_settings_are_validated_too(region: str | None, tags: Any, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"bucketName": "lux-video-dev-262a61d7"}, stack="dev", region=region, default_tags=tags)
    assert caught.value.key == key


def test_every_documented_key_has_a_default_entry() -> None:
    doc = (__import__("pathlib").Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    missing = [key for key in DEFAULTS if f"`{key}`" not in doc]
    assert not missing, f"config keys missing from docs/configuration.md's table: {missing}"


def test_the_program_fails_on_bad_config_naming_the_key() -> None:
    with pytest.raises(Exception) as caught:
        run("dev", stack_config("dev", expirationDays="-3"))
    assert "lux-video:expirationDays" in str(caught.value)


def test_the_program_rejects_unknown_keys_in_the_stack_file() -> None:
    with pytest.raises(Exception) as caught:
        run("dev", stack_config("dev", expirationDay="3"))
    assert "lux-video:expirationDay" in str(caught.value)


def test_plan_of_unknown_stack_says_which_stacks_exist() -> None:
    with pytest.raises(ConfigError, match=r"Pulumi\.nope\.yaml"):
        run("nope")


def test_max_files_is_bounded_by_what_fits_lambdas_response() -> None:
    """maxFiles above MAX_FILES_LIMIT (the most files whose worst-case answer fits Lambda's 6 MB
    response, derived in lambda_src/sign_uploads/config.py) is a config error naming the key."""
    from lambda_src.sign_uploads.config import MAX_FILES_LIMIT

    assert parse_dev(maxFiles="1000").signer.max_files == 1000
    assert parse_dev(maxFiles=str(MAX_FILES_LIMIT)).signer.max_files == MAX_FILES_LIMIT
    for too_many in (str(MAX_FILES_LIMIT + 1), "10000"):
        with pytest.raises(ConfigError) as caught:
            parse_dev(maxFiles=too_many)
        assert caught.value.key == "lux-video:maxFiles" and str(MAX_FILES_LIMIT) in str(caught.value)
