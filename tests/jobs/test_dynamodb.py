"""The stdlib DynamoDB client against boto3's: the same typed JSON, the same errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_src.sign_uploads import dynamodb
from lambda_src.sign_uploads.config import Credentials

# What a job record holds: strings, integers, booleans, null, nested maps and lists.
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(values)
def test_marshalling_matches_boto3(value: Any) -> None:
    assert dynamodb.marshal(value) == TypeSerializer().serialize(value)
    back = dynamodb.unmarshal(TypeSerializer().serialize(value))
    assert back == _ints(TypeDeserializer().deserialize(TypeSerializer().serialize(value)))


def _ints(value: Any) -> Any:
    """boto3 reads every number as Decimal; the record reads whole numbers as int."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def test_errors_name_dynamodb_type_and_hide_values(cloud: dict[str, Any]) -> None:
    import os

    table = dynamodb.Table(
        "lux-video-test-jobs",
        region=os.environ["AWS_REGION"],
        credentials=Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], None),
        endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"],
    )
    table.put({"pk": "secret-value"}, now=0)
    with pytest.raises(dynamodb.DynamoDBError) as caught:
        table.put({"pk": "secret-value"}, now=0, condition="attribute_not_exists(pk)")
    assert caught.value.condition_failed and "secret-value" not in str(caught.value)
    missing = dynamodb.Table("no-such-table", region=table.region, credentials=table.credentials,
                             endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"])  # fmt: skip
    with pytest.raises(dynamodb.DynamoDBError) as caught:
        missing.get({"pk": "x"}, now=0)
    assert caught.value.kind == "ResourceNotFoundException"


def test_an_unknown_type_is_refused_not_guessed_and_floats_keep_their_digits() -> None:
    with pytest.raises(TypeError):
        dynamodb.marshal(object())
    assert dynamodb.marshal(0.1) == {"N": "0.1"}  # boto3 refuses floats; the record stores costs
    assert dynamodb.unmarshal({"N": "0.1"}) == 0.1
