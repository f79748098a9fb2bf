"""The header signer used for GetSecretValue is byte-identical to botocore's ``SigV4Auth``.

moto does not verify signatures, so this differential test is what proves the signature: over
generated cases (regions incl. China, with and without a session token, endpoints with and without
a port or path, secret ids with every character Secrets Manager allows, clocks from 1970 to 2100),
the headers ``sigv4.signed_headers`` returns equal those botocore adds for the same request and
frozen clock.
"""

from __future__ import annotations

import datetime
import json
import random
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lambda_src.sign_uploads import sigv4, subject_key

REGIONS = ("us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1")
ENDPOINTS = (None, "http://127.0.0.1:4566", "http://localhost:80", "https://secrets.local.test:8443")
SECRET_ID_ALPHABET = "ABCxyz0189/_+=.@-:"
CASES = 500


def url_for(region: str, endpoint: str | None) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return (endpoint or f"https://secretsmanager.{region}.{suffix}") + "/"


def generated_cases(count: int = CASES, seed: int = 20261129) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        region = rng.choice(REGIONS)
        secret_id = "".join(rng.choices(SECRET_ID_ALPHABET, k=rng.randint(1, 80)))
        cases.append(
            {
                "url": url_for(region, rng.choice(ENDPOINTS) if rng.random() < 0.3 else None),
                "region": region,
                "access": rng.choice(["AKIATESTSIGNER000001", "ASIATEMPORARY0000002"]),
                "secret": rng.choice(["tmp/secret+key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
                "token": rng.choice([None, "IQoJb3JpZ2luX2VjE+/=session~token", "t" * 1500]),
                "body": json.dumps({"SecretId": secret_id}).encode(),
                "now": rng.randint(0, 4_102_444_800),
            }
        )
    return cases


def ours(case: dict[str, Any]) -> dict[str, str]:
    return sigv4.signed_headers(
        url=case["url"],
        headers={"Content-Type": subject_key.CONTENT_TYPE, "X-Amz-Target": subject_key.TARGET},
        body=case["body"],
        service="secretsmanager",
        region=case["region"],
        access_key=case["access"],
        secret_key=case["secret"],
        session_token=case["token"],
        now=case["now"],
    )


def botocores(case: dict[str, Any]) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=case["url"],
        data=case["body"],
        headers={"Content-Type": subject_key.CONTENT_TYPE, "X-Amz-Target": subject_key.TARGET},
    )
    frozen = datetime.datetime.fromtimestamp(case["now"], datetime.UTC).replace(tzinfo=None)
    credentials = Credentials(case["access"], case["secret"], case["token"])
    with mock.patch("botocore.auth.get_current_datetime", return_value=frozen):
        SigV4Auth(credentials, "secretsmanager", case["region"]).add_auth(request)
    return dict(request.headers.items())


def test_header_signer_is_byte_identical_to_botocore_sigv4auth() -> None:
    mismatches = [(case, ours(case), botocores(case)) for case in generated_cases()]
    mismatches = [m for m in mismatches if m[1] != m[2]]
    assert not mismatches, mismatches[:2]


def test_cases_cover_tokens_endpoints_and_china() -> None:
    cases = generated_cases()
    assert {c["token"] is None for c in cases} == {True, False}
    assert any(":4566/" in c["url"] for c in cases) and any(".amazonaws.com.cn/" in c["url"] for c in cases)


@pytest.mark.parametrize(
    "change",
    [
        {"body": b'{"SecretId": "another"}'},
        {"region": "us-east-2"},
        {"secret": "wrong"},
        {"now": 1},
        {"url": "https://secretsmanager.us-west-2.amazonaws.com/x"},
    ],
)
def test_a_changed_request_changes_the_signature(change: dict[str, Any]) -> None:
    """The differential test cannot pass vacuously: every signed input moves the Authorization."""
    case = {**generated_cases(1)[0], "url": "https://secretsmanager.us-west-2.amazonaws.com/"}
    assert ours(case)["Authorization"] != ours({**case, **change})["Authorization"]
    assert ours({**case, **change}) == botocores({**case, **change})
