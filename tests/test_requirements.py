"""requirements.txt carries every library the application imports.

`bin/demo` and the production image install requirements.txt alone; the tests run in a virtualenv
that also has requirements-dev.txt, whose tools bring libraries of their own. A library the
application imports but only a test tool pulls in passes every test and breaks `bin/demo` on a
fresh machine (it happened: the WeCom and DingTalk channels import ``requests``). So the test works
out what requirements.txt installs (its pins and, through the installed distributions' metadata,
everything they depend on) and checks every import of the application against it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "core", "organizations", "indicators", "appraisal", "payroll")


def _requirements(path: Path) -> Iterator[Requirement]:
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            yield Requirement(line)


def _installed_by(path: Path) -> set[str]:
    """The distributions that installing ``path`` brings: its own and their dependencies, with the
    extras asked for (``celery[redis]``) and the environment markers of this interpreter."""
    wanted = [(requirement, frozenset(requirement.extras)) for requirement in _requirements(path)]
    found: set[str] = set()
    while wanted:
        requirement, extras = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in found and not extras:
            continue
        found.add(name)
        for text in metadata.distribution(name).requires or ():
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
                wanted.append((dependency, frozenset(dependency.extras)))
    return found


def _imported_libraries() -> dict[str, Path]:
    """Each top-level module the application imports that is neither the standard library nor one
    of its own packages, with a file that imports it."""
    own = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()}
    imported: dict[str, Path] = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in own:
                        imported.setdefault(top, path)
    return imported


def test_it_declares_every_library_the_application_imports_in_the_runtime_requirements() -> None:
    installed = _installed_by(ROOT / "requirements.txt")
    providers = metadata.packages_distributions()
    undeclared = {
        module: str(path.relative_to(ROOT))
        for module, path in _imported_libraries().items()
        if not {canonicalize_name(dist) for dist in providers.get(module, [])} & installed
    }
    assert undeclared == {}


def test_it_finds_a_library_that_only_a_test_tool_brings() -> None:
    # The check above must be able to fail: pytest is installed here, but not by requirements.txt.
    installed = _installed_by(ROOT / "requirements.txt")
    assert "pytest" not in installed
    assert {"django", "celery", "kombu", "redis", "requests"} <= installed
