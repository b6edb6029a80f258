"""The documentation cannot drift from the code.

* ``docs/cli.md`` equals a fresh generation from the typer app;
* every command, argument and option has help text;
* the README walkthrough and the CLI reference only use commands and options that exist;
* ``docs/methods.md`` links only files that exist;
* every ```python block of README.md runs verbatim, in order (``-m slow``);
* the README's pictures were made from the current map and report code
  (``docs/img/screenshots.json``, written by ``scripts/screenshot_docs.py``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"
METHODS_MD = ROOT / "docs" / "methods.md"
README = ROOT / "README.md"
WALKTHROUGH_MARKER = "<!-- section: walkthrough -->"


def _load_script(name: str) -> ModuleType:
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


gen = _load_script("gen_cli_docs")
shots = _load_script("screenshot_docs")


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


def test_walkthrough_pictures_exist_and_are_small() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", _walkthrough())
    assert {"docs/img/map.png", "docs/img/report.png"} <= set(images), (
        "the walkthrough shows the demo's map and report"
    )
    for image in images:
        path = ROOT / image
        assert path.exists(), image
        assert path.stat().st_size < 350_000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- the README's pictures


def test_readme_pictures_are_current() -> None:
    reasons = shots.stale_reasons()
    assert not reasons, (
        "docs/img/map.png and report.png were made from other inputs ("
        + "; ".join(reasons)
        + "): run `make docs` and commit docs/img/"
    )


def _fake_root(root: Path) -> None:
    """A repository-like tree holding every input of the pictures, and the pictures."""
    for name in shots.INPUTS:
        path = root / name
        if name.endswith(".py"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# {name}\n", encoding="utf-8")
        else:
            path.mkdir(parents=True, exist_ok=True)
            (path / "a.txt").write_text("a\n", encoding="utf-8")
    img = root / "docs" / "img"
    img.mkdir(parents=True)
    images = {}
    for picture in shots.SHOTS:
        (img / picture).write_bytes(b"\x89PNG\r\n\x1a\n" + picture.encode())
        images[picture] = hashlib.sha256((img / picture).read_bytes()).hexdigest()
    stamp = {"inputs": shots.input_hashes(root), "images": images}
    (img / shots.STAMP_NAME).write_text(json.dumps(stamp), encoding="utf-8")


def test_stale_pictures_are_flagged(tmp_path: Path) -> None:
    _fake_root(tmp_path)
    assert shots.stale_reasons(tmp_path) == []
    # the map code changes
    (tmp_path / "src/netplan/maps.py").write_text("# changed\n", encoding="utf-8")
    assert shots.stale_reasons(tmp_path) == [
        "src/netplan/maps.py changed since the pictures were made"
    ]
    _fake_root(tmp_path / "b")
    # a template is added, a picture is replaced by hand
    (tmp_path / "b/src/netplan/templates/new.html.j2").write_text("x", encoding="utf-8")
    (tmp_path / "b/docs/img/report.png").write_bytes(b"other")
    reasons = shots.stale_reasons(tmp_path / "b")
    assert len(reasons) == 2
    assert "src/netplan/templates/new.html.j2 changed" in reasons[0]
    assert "docs/img/report.png is not the picture" in reasons[1]
    # no stamp at all
    (tmp_path / "b/docs/img" / shots.STAMP_NAME).unlink()
    assert shots.stale_reasons(tmp_path / "b") == ["docs/img/screenshots.json is missing"]


def test_check_mode_of_the_screenshot_script(capsys: pytest.CaptureFixture[str]) -> None:
    current = not shots.stale_reasons()
    assert shots.main(["--check"]) == (0 if current else 1)
    assert ("make docs" in capsys.readouterr().out) is not current


def test_screenshots_are_skipped_without_chromium(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p.name: p.read_bytes() for p in (ROOT / "docs" / "img").iterdir()}
    assert shots.main(["--force", "--chromium", str(tmp_path / "no-chromium")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("screenshots skipped: headless Chromium not found")
    assert {p.name: p.read_bytes() for p in (ROOT / "docs" / "img").iterdir()} == before


def test_current_pictures_are_not_retaken(capsys: pytest.CaptureFixture[str]) -> None:
    if shots.stale_reasons():
        pytest.skip("the pictures are stale (test_readme_pictures_are_current says so)")
    assert shots.main(["--chromium", "/nonexistent"]) == 0
    assert capsys.readouterr().out.startswith("docs/img pictures are current")


def test_the_screenshot_command_is_an_argument_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No shell: the page path goes to Chromium as one argument (a file URI)."""
    seen: list[object] = []

    def fake_run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(args)
        assert "shell" not in kwargs
        target = next(a for a in args if a.startswith("--screenshot="))
        Path(target.split("=", 1)[1]).write_bytes(b"png")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(shots.subprocess, "run", fake_run)
    page = tmp_path / "a page; rm -rf ~.html"
    page.write_text("<p>x</p>", encoding="utf-8")
    shots.screenshot("/usr/bin/chromium", page, tmp_path / "x.png", 800, 600)
    (args,) = seen
    assert isinstance(args, list)
    assert args[-1] == page.resolve().as_uri()
    assert "--window-size=800,600" in args
    assert (tmp_path / "x.png").read_bytes() == b"png"


# --------------------------------------------------------------------------- README code runs

SNIPPET_NOT_RUN = re.compile(r"^<!-- snippet: not run: (?P<why>.+?) -->$")


@dataclass(frozen=True)
class Snippet:
    line: int
    code: str
    not_run: str | None


def _python_snippets(text: str) -> list[Snippet]:
    """The ```python blocks of ``text`` in order, with the reason a block is not run."""
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = SNIPPET_NOT_RUN.match(before.strip())
        line = text.count("\n", 0, match.start()) + 2
        found.append(Snippet(line, match.group(1), marker.group("why") if marker else None))
    return found


def test_python_snippets_are_found() -> None:
    text = (
        "a\n```python\nx = 1\n```\n<!-- snippet: not run: needs a cluster -->\n```python\ny\n```\n"
    )
    assert _python_snippets(text) == [
        Snippet(3, "x = 1\n", None),
        Snippet(7, "y\n", "needs a cluster"),
    ]


def test_readme_snippets_compile_and_run_unless_said_why() -> None:
    snippets = _python_snippets(README.read_text(encoding="utf-8"))
    for snippet in snippets:
        compile(snippet.code, f"README.md:{snippet.line}", "exec")
    run = [s for s in snippets if s.not_run is None]
    assert len(run) >= 4, "the coverage, site-selection, roadmap and map/report snippets run"
    assert any("plan_from_points" in s.code for s in run)


@pytest.mark.slow
def test_readme_snippets_run_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every README ```python block not marked ``not run`` runs, in order, in one namespace.

    The cwd is a scratch folder whose ``data`` is the repository's, so the
    blocks' ``data/samples/...`` paths resolve and their ``out/...`` files land
    in ``tmp_path``. About three minutes (the roadmap's solves).
    """
    (tmp_path / "data").symlink_to(ROOT / "data", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    for snippet in _python_snippets(README.read_text(encoding="utf-8")):
        if snippet.not_run is None:
            exec(compile(snippet.code, f"README.md:{snippet.line}", "exec"), namespace)
    for path in ("out/coverage/summary.json", "out/plan/plan.csv", "out/map.html",
                 "out/report.html", "out/roadmap/by_year.csv"):  # fmt: skip
        assert (tmp_path / path).is_file(), path


def test_methods_sphere_error_figures_are_reproduced(capsys: pytest.CaptureFixture[str]) -> None:
    text = METHODS_MD.read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```\s*```text\n(.*?)```", text, flags=re.DOTALL)
    assert match is not None, "methods.md: the sphere-vs-ellipsoid code and its output"
    code, stated = match.groups()
    exec(compile(code, "docs/methods.md", "exec"), {"__name__": "methods_md"})
    assert capsys.readouterr().out == stated


# --------------------------------------------------------------------------- make lab


def test_make_lab_is_the_documented_way_to_the_notebooks() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert any(dep.startswith("jupyterlab") for dep in extras["lab"])
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("$(LAB_STAMP): ") : makefile.index("\nsamples:")]
    assert "pip install --quiet -e '.[dev,lab]'" in recipe
    assert "-m ipykernel install --user --name netplan" in recipe
    assert "$(BIN)/jupyter lab notebooks/" in recipe
    development = README.read_text(encoding="utf-8").split("\n## Development", 1)[1]
    assert "`make lab`" in development and "netplan[lab]" in development
