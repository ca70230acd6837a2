"""The layering of docs/architecture.md, checked on the source: who may import whom, no circles, small modules."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every assistant module this file imports, at the top, in a function or for type checking only."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("assistant")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base.startswith("assistant"):
                found.add(base)
                found |= {f"{base}.{alias.name}" for alias in node.names}
    known = {module_name(p) for p in MODULES}
    return {name for name in found if name in known}


GRAPH = {module_name(path): imports(path) for path in MODULES}
# The base layer: plain helpers every layer may use, which import nothing of the assistant but each other.
BASE = {"assistant.backoff", "assistant.config", "assistant.crashpoints", "assistant.errors", "assistant.files",
        "assistant.humanize", "assistant.logs", "assistant.text", "assistant.torch_threads"}


@pytest.mark.parametrize("front_end", ["assistant.tui", "assistant.telegram"])
def test_front_ends_talk_to_the_conversation_layer_only(front_end):
    forbidden = ("assistant.retrieval", "assistant.skills", "assistant.llm", "assistant.training")
    reached = {(module, target) for module, targets in GRAPH.items() if module.startswith(front_end)
               for target in targets if target.startswith(forbidden)}
    assert not reached


@pytest.mark.parametrize("lower, upper", [
    ("assistant.skills", ("assistant.conversation", "assistant.runtime", "assistant.tui", "assistant.telegram", "assistant.cli")),
    ("assistant.llm", ("assistant.skills", "assistant.conversation", "assistant.retrieval", "assistant.runtime")),
    ("assistant.retrieval", ("assistant.skills", "assistant.conversation", "assistant.llm", "assistant.runtime")),
    ("assistant.reply", ("assistant.skills", "assistant.conversation")),
    ("assistant.conversation", ("assistant.runtime", "assistant.tui", "assistant.telegram", "assistant.cli")),
])
def test_lower_layers_do_not_point_up(lower, upper):
    reached = {(module, target) for module, targets in GRAPH.items() if module.startswith(lower)
               for target in targets if target.startswith(upper)}
    assert not reached


def test_the_base_layer_imports_only_itself():
    assert BASE <= set(GRAPH)
    reached = {(module, target) for module in BASE for target in GRAPH[module] if target not in BASE}
    assert not reached


def test_mypy_checks_every_module_with_no_exceptions():
    mypy = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert mypy["files"] == ["assistant"]
    assert not mypy.get("overrides"), "a [[tool.mypy.overrides]] table: type the module instead of exempting it"
    assert not mypy.get("ignore_errors")


def test_no_import_circles():
    # A package's __init__ handing on its modules' names is no circle.
    graph = {module: {t for t in targets if not module.startswith(t + ".")} for module, targets in GRAPH.items()}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        for target in graph.get(module, ()):
            visit(target, path + [module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_no_module_is_over_500_lines():
    long = {module_name(path): n for path in MODULES if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long
