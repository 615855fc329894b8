"""Every code block of README.md and docs/*.md runs, so the documentation cannot rot.

Each file's blocks run in order in one namespace, in a temporary folder (with `configs/`
linked in, so the examples can name the repository's configs):

- ```python blocks are executed;
- ```console, ```sh and ```bash blocks hold `neurodyn` commands (an optional `$ ` prompt, `#`
  comments), each run through `neurodyn.cli.main` and required to succeed;
- ```yaml blocks must load; one whose first line is `# file: NAME` is written to NAME, so the
  commands after it can use it; a run config (it has a `task`) is validated, and a sweep (it
  has a `grid`) expanded, which validates the config of every run;
- ```text blocks are not code (a folder tree, a formula).

A shell block that cannot run here (the set-up itself, paper-scale studies, a Ray cluster)
follows an HTML comment `<!-- not run: REASON -->` that says why; the test checks every such
block has a reason, and refuses any other fence language, so no block escapes unnoticed.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from neurodyn import cli, parse_config
from neurodyn.runs.sweep import expand_sweep

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(
    r"^(?:<!-- not run: (?P<reason>[^>]*?) -->\n)?```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
SHELL = {"console", "sh", "bash"}
KNOWN = {"python", "yaml", "text", *SHELL}
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _blocks(path: Path) -> list[re.Match[str]]:
    return list(FENCE.finditer(path.read_text()))


def _commands(body: str) -> list[list[str]]:
    commands = []
    for line in body.splitlines():
        line = line.removeprefix("$ ").strip()
        if not line or line.startswith("#"):
            continue
        argv = shlex.split(line, comments=True)
        assert argv[0] == "neurodyn", f"a run shell block holds only neurodyn commands: {line!r}"
        commands.append(argv[1:])
    return commands


def _run_yaml(body: str) -> None:
    data = yaml.safe_load(body)
    first = body.splitlines()[0]
    if first.startswith("# file: "):
        name = first.removeprefix("# file: ").strip()
        assert "/" not in name, f"a doc writes its files here, not into the repository: {name}"
        Path(name).write_text(body)
    if isinstance(data, dict) and "grid" in data:
        expand_sweep(data)
    elif isinstance(data, dict) and "task" in data:
        parse_config(data)


# A deprecated name used by a doc example fails here, so the docs move with a rename.
@pytest.mark.filterwarnings("error::DeprecationWarning:__docs__")
@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in _blocks(path):
        lang, body, reason = block["lang"], block["body"], block["reason"]
        where = f"{path.name}, block at line {path.read_text()[: block.start()].count(chr(10)) + 1}"
        assert lang in KNOWN, f"{where}: fence language {lang!r} is neither run nor known"
        if reason is not None:
            assert lang in SHELL and reason.strip(), f"{where}: only shell blocks skip, with a why"
            continue
        if lang == "python":
            exec(compile(body, where, "exec"), namespace)
        elif lang in SHELL:
            for argv in _commands(body):
                assert cli.main(argv) == 0, f"{where}: neurodyn {shlex.join(argv)} failed"
        elif lang == "yaml":
            _run_yaml(body)


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_in_the_repository(path: Path) -> None:
    for target in LINK.findall(path.read_text()):
        assert "://" not in target, f"{path.name} links outside the repository: {target}"
        assert (path.parent / target).resolve().is_relative_to(ROOT), f"{path.name}: {target}"
        assert (path.parent / target).exists(), f"{path.name} links to a missing file: {target}"


def test_every_fence_is_parsed() -> None:
    """The pattern above finds every block: one it missed would never run, and never fail."""
    for path in DOC_FILES:
        fences = path.read_text().count("\n```") // 2
        assert len(_blocks(path)) == fences, f"{path.name}: a fence the test does not parse"
