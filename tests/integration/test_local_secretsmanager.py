"""The local cloud's Secrets Manager behaves like AWS where a rotation depends on it.

Each test asserts what AWS does, over real HTTP to the session's moto server, and says
what plain moto 5.2.5 did instead (see localcloud/moto_fidelity.py).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from localcloud.driver import Invoke, LambdaContext, RotationDriver

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from localcloud.cloud import LocalCloud

pytestmark = pytest.mark.integration

OLD, NEW = json.dumps({"password": "old-password"}), json.dumps({"password": "new-password"})


def new_secret(client: SecretsManagerClient) -> tuple[str, str]:
    """A secret with one value; its ARN and the AWSCURRENT version id."""
    created = client.create_secret(Name=f"local-sm/{uuid.uuid4()}", SecretString=OLD)
    return created["ARN"], created["VersionId"]


def stages(client: SecretsManagerClient, arn: str) -> dict[str, list[str]]:
    """The labelled versions and their labels, sorted so that comparisons are exact."""
    described = client.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    return {version: sorted(labels) for version, labels in described.items() if labels}


def rotate(client: SecretsManagerClient, cloud: LocalCloud, arn: str) -> str:
    """RotateSecret with the stand-in function; the new AWSPENDING version's id."""
    response = client.rotate_secret(
        SecretId=arn,
        ClientRequestToken=str(uuid.uuid4()),
        RotationLambdaARN=cloud.function_arn("uredis"),
        RotationRules={"AutomaticallyAfterDays": 30},
    )
    return response["VersionId"]


def finish_by_hand(client: SecretsManagerClient, arn: str, token: str, old: str) -> None:
    """createSecret and finishSecret of a rotation function, as AWS's templates do them."""
    client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString=NEW, VersionStages=["AWSPENDING"]
    )
    client.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=old
    )


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# -- 1. RotateSecret while a rotation is in flight --------------------------------------------


def test_rotate_secret_is_refused_while_a_rotation_is_unfinished(cloud: LocalCloud) -> None:
    client = cloud.sm.secrets_manager()
    arn, old = new_secret(client)
    first = rotate(client, cloud, arn)

    with pytest.raises(ClientError) as refused:
        rotate(client, cloud, arn)

    # Plain moto accepted the call and moved AWSPENDING to a second empty version, so the
    # first rotation's token was no longer AWSPENDING.
    assert error_code(refused) == "InvalidRequestException"
    assert "previous rotation isn't complete" in str(refused.value)
    assert stages(client, arn) == {old: ["AWSCURRENT"], first: ["AWSPENDING"]}


def test_rotate_secret_starts_anew_when_awspending_sits_on_awscurrent(
    cloud: LocalCloud,
) -> None:
    client = cloud.sm.secrets_manager()
    arn, old = new_secret(client)
    first = rotate(client, cloud, arn)
    finish_by_hand(client, arn, first, old)
    # What finishSecret leaves (without the rotation service's clean-up).
    assert stages(client, arn) == {first: ["AWSCURRENT", "AWSPENDING"], old: ["AWSPREVIOUS"]}

    second = rotate(client, cloud, arn)

    # Plain moto refused: "Previous rotation request is still in progress".
    assert second != first
    assert stages(client, arn) == {
        first: ["AWSCURRENT"],
        second: ["AWSPENDING"],
        old: ["AWSPREVIOUS"],
    }
    # The value without a label is AWSCURRENT's (plain moto answered with the empty stub).
    assert client.get_secret_value(SecretId=arn)["VersionId"] == first


# -- 2. The rotation service removes AWSPENDING once finishSecret returns ----------------------


def scripted_function(client: SecretsManagerClient, fail: set[str] | None = None) -> Invoke:
    """A minimal rotation function: createSecret and finishSecret as AWS's templates do
    them; it raises in the steps named in ``fail``."""

    def invoke(event: dict[str, Any], _context: LambdaContext) -> dict[str, str]:
        arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        if fail and step in fail:
            raise RuntimeError(f"{step} failed")
        if step == "createSecret":
            try:
                client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            except client.exceptions.ResourceNotFoundException:
                client.put_secret_value(
                    SecretId=arn,
                    ClientRequestToken=token,
                    SecretString=NEW,
                    VersionStages=["AWSPENDING"],
                )
        if step == "finishSecret":
            labelled = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
            (current,) = [v for v, labels in labelled.items() if "AWSCURRENT" in labels]
            if current != token:
                client.update_secret_version_stage(
                    SecretId=arn,
                    VersionStage="AWSCURRENT",
                    MoveToVersionId=token,
                    RemoveFromVersionId=current,
                )
        return {"Outcome": "ok"}

    return invoke


def test_a_finished_rotation_leaves_awspending_with_awscurrent_and_the_next_starts(
    cloud: LocalCloud,
) -> None:
    client = cloud.sm.secrets_manager()
    arn, old = new_secret(client)
    driver = RotationDriver(client, scripted_function(client), cloud.function_arn("uredis"))

    first = driver.rotate(arn)
    second = driver.rotate(arn)  # started by RotateSecret, not by a clean-up

    # AWSPENDING stays on the version finishSecret made AWSCURRENT, as on AWS (nothing
    # removes it), and RotateSecret starts a new rotation from there.
    assert first.succeeded
    assert second.succeeded
    assert second.token != first.token
    labels = {v: sorted(s) for v, s in stages(client, arn).items()}
    assert labels == {second.token: ["AWSCURRENT", "AWSPENDING"], first.token: ["AWSPREVIOUS"]}
    assert old not in stages(client, arn)


def test_an_unfinished_rotation_is_continued_with_its_token(cloud: LocalCloud) -> None:
    client = cloud.sm.secrets_manager()
    arn, old = new_secret(client)
    function_arn = cloud.function_arn("uredis")
    failing = RotationDriver(
        client, scripted_function(client, fail={"setSecret"}), function_arn, max_attempts=2
    )
    failed = failing.rotate(arn)
    assert not failed.succeeded
    assert stages(client, arn) == {old: ["AWSCURRENT"], failed.token: ["AWSPENDING"]}

    # RotateSecret is refused ("That rotation will be continued"): the same token again.
    retried = RotationDriver(client, scripted_function(client), function_arn).rotate(arn)

    assert retried.succeeded
    assert retried.token == failed.token
    labels = {v: sorted(s) for v, s in stages(client, arn).items()}
    assert labels == {failed.token: ["AWSCURRENT", "AWSPENDING"], old: ["AWSPREVIOUS"]}


# -- 3. PutSecretValue ------------------------------------------------------------------------


def test_put_to_awscurrent_during_a_rotation_moves_awscurrent_and_awsprevious(
    cloud: LocalCloud,
) -> None:
    client = cloud.sm.secrets_manager()
    arn, old = new_secret(client)
    pending = rotate(client, cloud, arn)

    put = client.put_secret_value(SecretId=arn, SecretString=NEW, VersionStages=["AWSCURRENT"])

    # Plain moto demoted the empty AWSPENDING stub to AWSPREVIOUS (it took the stub for the
    # current version) and left AWSCURRENT on the old version too: two AWSCURRENT versions.
    new = put["VersionId"]
    assert put["VersionStages"] == ["AWSCURRENT"]
    assert stages(client, arn) == {
        new: ["AWSCURRENT"],
        old: ["AWSPREVIOUS"],
        pending: ["AWSPENDING"],
    }
    assert client.get_secret_value(SecretId=arn)["SecretString"] == NEW
    current = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    assert current["VersionId"] == new


def test_put_again_with_the_same_token_and_value_changes_nothing(cloud: LocalCloud) -> None:
    client = cloud.sm.secrets_manager()
    arn, old = new_secret(client)
    token = rotate(client, cloud, arn)
    finish_by_hand(client, arn, token, old)
    before = stages(client, arn)

    # createSecret re-run by a retry after finishSecret: the same token, the same value.
    again = client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString=NEW, VersionStages=["AWSPENDING"]
    )

    # Plain moto rewrote the version's labels to ["AWSPENDING"]: no version was AWSCURRENT.
    assert again["VersionId"] == token
    assert before == {token: ["AWSCURRENT", "AWSPENDING"], old: ["AWSPREVIOUS"]}
    assert stages(client, arn) == before


def test_put_again_with_the_same_token_and_another_value_is_refused(cloud: LocalCloud) -> None:
    client = cloud.sm.secrets_manager()
    arn, old = new_secret(client)
    token = rotate(client, cloud, arn)
    client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString=NEW, VersionStages=["AWSPENDING"]
    )

    with pytest.raises(ClientError) as refused:
        client.put_secret_value(
            SecretId=arn,
            ClientRequestToken=token,
            SecretString=json.dumps({"password": "another-password"}),
            VersionStages=["AWSPENDING"],
        )

    # Plain moto overwrote the value of a version labelled AWSPENDING without a word.
    assert error_code(refused) == "ResourceExistsException"
    pending = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    assert pending["SecretString"] == NEW
    assert stages(client, arn) == {old: ["AWSCURRENT"], token: ["AWSPENDING"]}


def test_list_secret_version_ids_gives_each_version_its_creation_time(cloud: LocalCloud) -> None:
    """AWS: CreatedDate is when the version was created (``status`` ages AWSPENDING by
    it). moto gave the time of the ListSecretVersionIds call to every version."""
    client = cloud.sm.secrets_manager()
    arn, first = new_secret(client)
    time.sleep(1.1)  # moto keeps whole seconds
    second = client.put_secret_value(SecretId=arn, SecretString=NEW)["VersionId"]
    created = {
        v["VersionId"]: v["CreatedDate"]
        for v in client.list_secret_version_ids(SecretId=arn)["Versions"]
    }
    assert created[first] < created[second]
