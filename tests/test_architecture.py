"""The shape of the code base: floors, import cycles, module and function sizes.

The project is five floors, each importing only from itself and those below it::

    core ← organizations ← indicators ← appraisal ← payroll

(``config`` is the roof: settings, root URLs and Celery wiring may import any app; no app imports
it.) An import inside a function counts like one at the top of the module: hiding an arrow in a
function body does not make it point the right way, it only makes the cycle show up at run time.

Sizes: a module past 600 lines becomes a package, a function past 60 lines gets cut into steps
(migrations and tests excepted). The limits are the house style's; the test measures them so they
hold without anyone having to remember.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ("core", "organizations", "indicators", "appraisal", "payroll")
LEVEL = {app: level for level, app in enumerate(FLOORS)}
ROOF = "config"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def _source_files() -> Iterator[Path]:
    for app in (*FLOORS, ROOF):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(path): path for path in _source_files()}
TREES: dict[str, ast.Module] = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved against ``module``)."""
    if not node.level:
        return node.module or ""
    package = module.split(".")
    is_package = MODULES[module].name == "__init__.py"
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, node.module] if node.module else base)


def _project_module(name: str) -> str | None:
    """``name`` or its nearest enclosing package that is a module of the project, else None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """Every project module ``module`` imports, wherever the import statement stands.

    ``from package import name`` counts as an import of ``package.name`` when that is a module
    (``from appraisal import services``), else of the package itself.
    """
    found: set[str] = set()
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            project = _project_module(target)
            if project and project != module:
                found.add(project)
    return found


GRAPH: dict[str, set[str]] = {module: imports_of(module) for module in MODULES}


def _app(module: str) -> str:
    return module.split(".")[0]


def test_it_finds_the_project_modules() -> None:
    # The walk itself must see the code: an empty graph would pass every check below.
    assert {"core.numbers", "organizations.models", "payroll.engine"} <= set(MODULES)
    assert "organizations.tenancy" in GRAPH["payroll.models"]


def test_it_resolves_relative_and_function_level_imports() -> None:
    tree = ast.parse("def f():\n    from . import helpers\n    from .sub import thing\n")
    MODULES["payroll.example"] = ROOT / "payroll" / "example.py"
    MODULES["payroll.helpers"] = ROOT / "payroll" / "helpers.py"
    TREES["payroll.example"] = tree
    try:
        assert imports_of("payroll.example") == {"payroll.helpers", "payroll"}
    finally:
        for name in ("payroll.example", "payroll.helpers"):
            MODULES.pop(name)
        TREES.pop("payroll.example")


def test_it_has_no_import_from_a_floor_above() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _app(module) in LEVEL and (_app(target) == ROOF or LEVEL.get(_app(target), -1) > LEVEL[_app(module)])
    )
    assert upward == []


def _cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(GRAPH):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _package_init_edges(module: str, target: str) -> bool:
    """A package's ``__init__`` re-exporting its own submodules, which import siblings through the
    package, is one unit, not a cycle worth reporting: ``a/__init__`` ↔ ``a.x``."""
    return target.startswith(module + ".") or module.startswith(target + ".")


def test_it_has_no_import_cycle() -> None:
    # A package's __init__ importing its own submodules (to re-export them) is not a cycle of
    # design; drop those edges before looking for cycles.
    saved = {module: set(targets) for module, targets in GRAPH.items()}
    try:
        for module, targets in GRAPH.items():
            GRAPH[module] = {target for target in targets if not _package_init_edges(module, target)}
        assert _cycles() == []
    finally:
        GRAPH.update(saved)


def test_it_finds_a_cycle_when_there_is_one() -> None:
    saved = {module: set(targets) for module, targets in GRAPH.items()}
    try:
        GRAPH["core.numbers"] = GRAPH["core.numbers"] | {"core.translation"}
        GRAPH["core.translation"] = GRAPH["core.translation"] | {"core.numbers"}
        assert ["core.numbers", "core.translation"] in _cycles()
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_it_keeps_modules_short(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines"


def _long_functions(module: str) -> list[str]:
    long = []
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # From the first decorator or the def line to the last line of the body.
            start = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - start + 1
            if length > MAX_FUNCTION_LINES:
                long.append(f"{node.name} ({length} lines, line {node.lineno})")
    return long


@pytest.mark.parametrize("module", sorted(MODULES))
def test_it_keeps_functions_short(module: str) -> None:
    assert _long_functions(module) == []
