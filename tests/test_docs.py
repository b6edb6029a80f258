"""The documentation cannot drift from the code.

* ``docs/cli.md`` equals a fresh generation from the typer app;
* every command, argument and option has help text;
* the README walkthrough and the CLI reference only use commands and options that exist;
* ``docs/methods.md`` links only files that exist.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"
METHODS_MD = ROOT / "docs" / "methods.md"
README = ROOT / "README.md"
WALKTHROUGH_MARKER = "<!-- section: walkthrough -->"


def _load_generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_cli_docs.py"
    spec = importlib.util.spec_from_file_location("gen_cli_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_cli_docs", module)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def commands() -> list:
    return list(gen.walk(gen.root_command()))


def _options(doc) -> dict[str, object]:
    """Option strings of a command (``--out``, ``-o``, ``--no-x``) -> parameter."""
    found: dict[str, object] = {}
    for param in doc.command.get_params(doc.context):
        for name in [*param.opts, *getattr(param, "secondary_opts", [])]:
            if name.startswith("-"):
                found[name] = param
    return found


def test_cli_reference_is_current() -> None:
    fresh = gen.render()
    committed = CLI_MD.read_text(encoding="utf-8")
    assert committed == fresh, (
        "docs/cli.md is stale: run `python scripts/gen_cli_docs.py` and commit docs/cli.md"
    )


def test_generation_is_deterministic() -> None:
    assert gen.render() == gen.render()


def test_check_mode_flags_a_stale_file(tmp_path: Path) -> None:
    out = tmp_path / "cli.md"
    assert gen.main(["--out", str(out), "--check"]) == 1  # missing
    assert gen.main(["--out", str(out)]) == 0
    assert gen.main(["--out", str(out), "--check"]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("netplan", "netplam", 1), "utf-8")
    assert gen.main(["--out", str(out), "--check"]) == 1


def test_reference_lists_every_command_and_option(commands: list) -> None:
    text = CLI_MD.read_text(encoding="utf-8")
    assert len(commands) > 2
    for doc in commands:
        assert f"`{' '.join(doc.path)}`" in text
        for option in _options(doc):
            if option != "--help":
                assert option in text, f"{option} of {' '.join(doc.path)} missing"


def test_every_command_and_option_has_help(commands: list) -> None:
    missing = []
    for doc in commands:
        name = " ".join(doc.path)
        if not (doc.command.help or "").strip():
            missing.append(name)
        for param in doc.command.get_params(doc.context):
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{name} {param.name}")
    assert not missing, f"no help text: {missing}"


def test_every_command_has_an_example(commands: list) -> None:
    lacking = [" ".join(doc.path) for doc in commands if "Example:" not in (doc.command.help or "")]
    assert not lacking, f"no `Example:` in the docstring of {lacking}"


def test_help_paragraphs_escape_and_format() -> None:
    rendered = gen.help_paragraphs(
        "Write DIR/out.<fmt> and a|b, keep `a<b>`.\n\nExample: netplan x --a 1\n--b 2\n"
    )
    assert rendered[0] == r"Write DIR/out.&lt;fmt&gt; and a|b, keep `a<b>`."
    assert rendered[1] == "Example:\n\n```bash\nnetplan x --a 1 \\\n    --b 2\n```"
    assert gen._cell("a|b <c>") == r"a\|b &lt;c&gt;"


def _netplan_calls(markdown: str) -> list[list[str]]:
    """Every `netplan ...` command line inside the ```bash blocks of ``markdown``."""
    calls = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL):
        joined = re.sub(r"\\\n", " ", block)
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith(".venv/bin/"):
                line = line[len(".venv/bin/") :]
            if line.startswith("netplan "):
                calls.append(shlex.split(line))
    return calls


def _walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    assert WALKTHROUGH_MARKER in text
    start = text.index(WALKTHROUGH_MARKER)
    end = text.find("\n## ", text.index("\n## ", start) + 1)
    return text[start : end if end > 0 else len(text)]


def _check_calls(calls: list[list[str]], commands: list) -> list[str]:
    by_name = {doc.path[1:]: doc for doc in commands}
    root_options = _options(by_name[()])
    problems = []
    for call in calls:
        words = call[1:]
        while words and words[0] in root_options:
            words = words[1:]
        if not words:
            continue
        doc = by_name.get((words[0],))
        if doc is None:
            problems.append(f"unknown command in: {' '.join(call)}")
            continue
        options = _options(doc)
        for word in words[1:]:
            if word.startswith("-") and word.split("=")[0] not in options:
                problems.append(f"unknown option {word} in: {' '.join(call)}")
    return problems


def test_walkthrough_uses_real_commands_and_options(commands: list) -> None:
    calls = _netplan_calls(_walkthrough())
    assert len(calls) >= 4
    assert not _check_calls(calls, commands)


def test_examples_in_the_reference_use_real_options(commands: list) -> None:
    calls = _netplan_calls(CLI_MD.read_text(encoding="utf-8"))
    assert len(calls) >= len(commands) - 1
    assert not _check_calls(calls, commands)


def test_check_calls_flags_unknown_names(commands: list) -> None:
    problems = _check_calls([["netplan", "coverage", "--nope"], ["netplan", "teleport"]], commands)
    assert len(problems) == 2


def test_doc_links_point_at_files() -> None:
    for path in (METHODS_MD, CLI_MD):
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#]+)\)", text):
            if "://" in target:
                continue
            assert (path.parent / target).exists(), f"{path.name}: broken link {target}"


def test_walkthrough_picture_exists_and_is_small() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", _walkthrough())
    assert images, "the walkthrough shows the sample map"
    for image in images:
        path = ROOT / image
        assert path.exists(), image
        assert path.stat().st_size < 300_000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_methods_sphere_error_figures_are_reproduced(capsys: pytest.CaptureFixture[str]) -> None:
    text = METHODS_MD.read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```\s*```text\n(.*?)```", text, flags=re.DOTALL)
    assert match is not None, "methods.md: the sphere-vs-ellipsoid code and its output"
    code, stated = match.groups()
    exec(compile(code, "docs/methods.md", "exec"), {"__name__": "methods_md"})
    assert capsys.readouterr().out == stated
