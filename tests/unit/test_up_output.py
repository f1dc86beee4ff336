"""What `redis-rotation up` prints for a person: what the quick start's step 5 needs."""

from __future__ import annotations

import pytest

from localcloud.cli import print_state

pytestmark = pytest.mark.unit


def test_up_names_each_functions_arn_for_rotate_secret(capsys: pytest.CaptureFixture[str]) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:redis-rotation-uredis"
    print_state(
        {
            "secretsManager": "http://127.0.0.1:1",
            "providerApis": {"uredis": "http://127.0.0.1:2"},
            "functions": {"uredis": arn},
            "secrets": {},
        }
    )
    lines = capsys.readouterr().out.splitlines()
    assert f"uredis function (rotate-secret --rotation-lambda-arn): {arn}" in lines
