"""The package's layers: no import cycles, no imports hidden inside functions to dodge one,
the import-linter contracts of pyproject.toml kept, and no backend chosen by the plots."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import neurodyn

PACKAGE = Path(neurodyn.__file__).parent
REPO = PACKAGE.parent.parent

# The CLI imports each command's modules when the command runs, so `neurodyn --help` starts
# fast; nothing else may.
FUNCTION_IMPORTS_ALLOWED = {"cli.py"}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
) -> set[str]:
    """The modules of `modules` an import statement in `module` imports: for
    `from a import b`, `a.b` when that is a module, else `a` (a package's parents are
    imported first by Python anyway, so they are no edge)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules
    if node.level:  # relative: from the importing module's package
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    found = {f"{target}.{alias.name}" for alias in node.names} & modules
    if len(found) < len(node.names) and target in modules:
        found.add(target)  # some names are attributes of `target`
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_imports(root: Path, *, in_functions: bool = False) -> dict[str, set[str]]:
    """Module name -> the package's modules it imports when it is imported (module-level
    statements, `if TYPE_CHECKING:` blocks left out: they never run), and with
    `in_functions` those its functions import when they run."""
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        found: set[str] = set()
        pending: list[ast.stmt] = list(ast.parse(path.read_text(encoding="utf-8")).body)
        while pending:
            node = pending.pop()
            if isinstance(node, ast.If | ast.Try | ast.With):
                if isinstance(node, ast.If) and _is_type_checking(node):
                    pending.extend(node.orelse)
                    continue
                for block in ("body", "orelse", "finalbody", "handlers"):
                    pending.extend(getattr(node, block, []))
            elif (
                isinstance(node, ast.ExceptHandler)
                or (in_functions and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))
                or (in_functions and isinstance(node, ast.ClassDef))
            ):
                pending.extend(node.body)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                found |= _imported(node, module, path.name == "__init__.py", modules) - {module}
        graph[module] = found
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def function_level_imports(root: Path, package: str) -> list[str]:
    """`file:line` of every import of `package` inside a function or method body."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for func in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom):
                    names = ["." * node.level] if node.level else [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                if any(n == package or n.startswith((f"{package}.", ".")) for n in names):
                    found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return sorted(set(found))


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


# --- the checks on planted packages, so a pass below means something ----------------------


def test_a_planted_cycle_and_function_level_imports_are_found(tmp_path):
    root = _plant(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import x\n",
            "pkg/b.py": "import pkg.c\nx = 1\n",
            "pkg/c.py": "from . import a\n",
            "pkg/d.py": "def f():\n    from pkg import a\n",
            "pkg/f.py": "import pkg.d\n\nclass F:\n    def g(self):\n        import pkg.f\n",
            "pkg/g.py": "import pkg.h\n",
            "pkg/h.py": "def f():\n    import pkg.g\n",
            "pkg/e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d\n",
        },
    )
    graph = module_imports(root / "pkg")
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert graph["pkg.d"] == set() and graph["pkg.e"] == set()
    assert graph["pkg.f"] == {"pkg.d"}
    assert function_level_imports(root / "pkg", "pkg") == ["d.py:2", "f.py:5", "h.py:2"]
    # counting what functions import, h closes a second cycle with g
    graph = module_imports(root / "pkg", in_functions=True)
    assert graph["pkg.d"] == {"pkg.a"} and graph["pkg.f"] == {"pkg.d"}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"], ["pkg.g", "pkg.h"]]


def test_import_linter_fails_on_a_planted_upward_import(tmp_path):
    pytest.importorskip("importlinter")
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    root = _plant(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/high.py": "from low import base\n",
            "low/base.py": "",
            "setup.cfg": """
                [importlinter]
                root_package = low

                [importlinter:contract:layers]
                name = layers
                type = layers
                containers = low
                layers =
                    high
                    base
            """,
        },
    )
    env = {**os.environ, "PYTHONPATH": str(root)}

    def lint() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [lint_imports, "--no-cache"], cwd=root, env=env, capture_output=True, text=True
        )

    assert lint().returncode == 0
    (root / "low/base.py").write_text("import low.high\n")
    broken = lint()
    assert broken.returncode == 1
    assert "low.base -> low.high" in broken.stdout


# --- the package itself ------------------------------------------------------------------


def test_no_import_cycles_among_neurodyn_modules():
    graph = module_imports(PACKAGE, in_functions=True)
    cycles = find_cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_function_level_imports_of_neurodyn():
    found = [
        place
        for place in function_level_imports(PACKAGE, "neurodyn")
        if place.split(":")[0] not in FUNCTION_IMPORTS_ALLOWED
    ]
    assert not found, (
        "imports of neurodyn inside functions (move them to the top of the module; if that "
        "makes a cycle, the dependency points the wrong way): " + ", ".join(found)
    )


def test_the_import_linter_contracts_are_kept():
    pytest.importorskip("importlinter")
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_importing_neurodyn_leaves_the_matplotlib_backend_alone():
    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import neurodyn, neurodyn.plot, neurodyn.report, neurodyn.plot.compare, "
        "neurodyn.plot.sweep; print(matplotlib.get_backend())"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "svg"


def test_a_report_figure_renders_without_a_display_or_a_chosen_backend():
    code = (
        "import numpy as np\n"
        "from neurodyn.analysis.similarity import SimilarityMatrix, similarity_layout\n"
        "from neurodyn.plot import plot_comparison\n"
        "from neurodyn.report.blocks import figure_html\n"
        "m = SimilarityMatrix(np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0.0]]), 'd', 'distance',"
        " ['a:0', 'a:1', 'b:0'])\n"
        "print('data:image/png;base64' in figure_html(plot_comparison(m, similarity_layout(m)),"
        " 'x'))\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND"}
    }
    env["PYTHONPATH"] = str(PACKAGE.parent)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"
