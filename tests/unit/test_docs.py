"""The docs are true: every link resolves, every name they quote exists, and every figure
they quote is the code's (the template's parameters, the settings' defaults)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rotation_cli.main import parser
from tests.support.cloudformation import sam_template
from tests.support.docs import DOCS, README, blocks, doc_texts, sections, words
from tests.support.tools import ROOT

pytestmark = pytest.mark.unit

_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")


def _prose(text: str) -> str:
    """The text without its code: a `# comment` in a shell block is no heading, and a
    `[x](y)` in code is no link."""
    return _INLINE_CODE.sub("", _FENCED.sub("", text))


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    """Every heading's anchor; a repeated heading gets GitHub's -1, -2 suffixes."""
    seen: dict[str, int] = {}
    anchors = set()
    for title in re.findall(r"^#+ (.+)$", _FENCED.sub("", text), flags=re.MULTILINE):
        anchor = _anchor(title)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(f"{anchor}-{count}" if count else anchor)
    return anchors


def test_the_anchor_rules_are_githubs() -> None:
    text = "# A title\n```sh\n# not a heading\n```\n## Tencent: API 2.0 or 3.0\n## A title\n"
    assert _anchors(text) == {"a-title", "tencent-api-20-or-30", "a-title-1"}


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_link_resolves(path: Path) -> None:
    text = _prose(path.read_text(encoding="utf-8"))
    for target in _LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.name}: {target} does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked.read_text(encoding="utf-8")), (
                f"{path.name}: {target}: no such heading"
            )


# A section named in words, not linked: "the README's Troubleshooting table",
# "README: Quick start", (README: "Metrics").
_README_MENTION = re.compile(
    r"README's ([A-Z][\w-]*(?: [A-Z][\w-]*)*) (?:table|section)"
    r"|README: \"([^\"]+)\""
    r"|README: ([A-Z][\w-]*(?: [a-z][\w-]*)*)"
)


def _mentioning_files() -> list[Path]:
    """Where a user or a maintainer reads a pointer to the README: the docs, the template's
    descriptions, samconfig.toml, and the shipped code's comments and messages."""
    files = [README, *DOCS, ROOT / "template.yaml", ROOT / "samconfig.toml"]
    for folder in ("layers", "rotation_cli", "localcloud", "clients"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


def test_every_readme_section_named_in_words_exists() -> None:
    titles = [
        t.strip().lower()
        for t in re.findall(r"^#+ (.+)$", _FENCED.sub("", README.read_text(encoding="utf-8")), re.M)
    ]
    missing = []
    for path in _mentioning_files():
        text = " ".join(path.read_text(encoding="utf-8").split())  # a mention may wrap
        for groups in _README_MENTION.findall(text):
            named = next(g for g in groups if g).lower()
            if not any(title.startswith(named) for title in titles):
                missing.append(f"{path.relative_to(ROOT)}: README has no section {named!r}")
    assert missing == []


def test_the_readme_is_short() -> None:
    """The README is for users; depth lives in docs/."""
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 220


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))


def test_every_make_target_the_docs_name_exists() -> None:
    targets = _make_targets()
    for path, text in doc_texts().items():
        for target in re.findall(r"`make ([a-z-]+)", text):
            assert target in targets, f"{path.name}: make {target}"


def test_every_redis_rotation_command_the_docs_show_parses() -> None:
    """Each `redis-rotation …` the docs quote is a command with options it takes."""
    seen = 0
    for path, text in doc_texts().items():
        for quoted in re.findall(r"(?:^|`|\n)(redis-rotation [^`\n]*)", text):
            quoted = quoted.split("  #")[0].strip()  # a shell comment after it
            if "[" in quoted:  # a synopsis of the options, not a command
                continue
            for placeholder in ("…", "<secret>", "<secret-id>"):
                quoted = quoted.replace(placeholder, "x")
            argv = words(quoted)[1:]
            argv = [a for a in argv if a not in ("COMMAND",)]
            assert _parses(argv), f"{path.name}: `{quoted}` does not parse"
            seen += 1
    assert seen >= 10


def _parses(argv: list[str]) -> bool:
    try:
        parser().parse_args(argv)
    except SystemExit as exit_:  # --help and --version exit 0
        return exit_.code == 0
    return True


def _parameter_rows() -> dict[str, tuple[str, str]]:
    """docs/deploy.md's parameter table: name -> (default, environment variable)."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    rows = {}
    for line in sections(text)["Parameters"].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (cells[1].strip("`"), cells[2].strip("`"))
    return rows


def test_the_parameter_table_is_the_templates() -> None:
    template = sam_template()
    parameters = template["Parameters"]
    rows = _parameter_rows()
    assert set(rows) == set(parameters), "every parameter, and only those, is documented"
    settings = list(template["Globals"]["Function"]["Environment"]["Variables"].items())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            settings += resource["Properties"]["Environment"]["Variables"].items()
    for name, (default, variable) in rows.items():
        expected = str(parameters[name].get("Default", ""))
        assert default == (expected or "empty"), f"{name}: the docs say {default}"
        if variable:
            assert (variable, {"Ref": name}) in settings, f"{name} sets {variable}"


def test_names_the_docs_quote_exist() -> None:
    """A CamelCase parameter or an UPPER_CASE setting in backticks is one the template has."""
    template = sam_template()
    known = set(template["Parameters"]) | set(template["Outputs"]) | set(template["Resources"])
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for folder in ("layers", "localcloud", "rotation_cli", "bench", "clients")
        for p in (ROOT / folder).rglob("*.py")
    )
    for path, text in doc_texts().items():
        for name in re.findall(r"`([A-Z][a-z]+(?:[A-Z][a-z0-9]+)+)`", text):
            if name.endswith(("Arn", "Endpoint", "Length", "Timeout", "Seconds", "Margin")):
                assert name in known, f"{path.name}: `{name}` is not in template.yaml"
        for name in re.findall(r"`([A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+)`", text):
            if not name.startswith(("AWS_", "POWERTOOLS_", "CAPABILITY_")):  # AWS's names
                assert f'"{name}"' in code or name in _template_text(), f"{path.name}: {name}"


def _template_text() -> str:
    return "\n".join(
        (ROOT / f).read_text(encoding="utf-8") for f in ("template.yaml", "samconfig.toml")
    )


def test_the_quick_start_deploys_with_the_committed_samconfig() -> None:
    """`sam deploy` as the quick start runs it: its options parse, samconfig.toml supplies the
    stack name and capability, and every overridden parameter is the template's."""
    from samcli.commands.deploy.command import cli  # type: ignore[import-untyped]

    (deploy,) = [
        c
        for b in blocks(README.read_text(encoding="utf-8"), "Quick start on AWS")
        for c in b.commands
        if c.startswith("sam deploy")
    ]
    argv = words(deploy)[2:]
    context = cli.make_context("deploy", ["--template-file", str(ROOT / "template.yaml"), *argv])
    assert context.params["stack_name"] == "redis-rotation"
    assert "CAPABILITY_IAM" in context.params["capabilities"]
    assert set(context.params["parameter_overrides"]) <= set(sam_template()["Parameters"])


def test_the_figures_the_guarantees_quote_are_the_tests() -> None:
    from tests.e2e import test_concurrency

    text = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    (quoted,) = re.findall(r"(\d+) rotations of different secrets", text)
    assert int(quoted) == test_concurrency.PARALLEL_SECRETS
