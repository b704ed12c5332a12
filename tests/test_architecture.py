"""The shape docs/architecture.md describes, read from the imports (module level and lazy alike): no
import circles; the library imports neither the app nor the command line's module; the converter
does not import the colorizer; exactly one module both reads an input and writes an output (the
one pipeline every front end takes); app.py is a layout that imports nothing from convert/."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGES = ("colorizer", "appkit", "colorkit", "convert")
# What reads an input file's content, and what writes an output file, in the library.
INPUT_READERS = {"read_input_file", "decode_image", "decode_photo", "read_image", "open_input", "transcode"}
OUTPUT_WRITERS = {"atomic_writer", "write_atomically"}  # (video.transcode writes into a stream it is given)


def modules() -> dict[str, Path]:
    found = {"app": REPO_ROOT / "app.py"}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name imported from it or None) for every import statement in the file."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for module, imported in imports(path):
            for candidate in (f"{module}.{imported}", module):
                if candidate in known and candidate != name:
                    targets.add(candidate)
                    break
        edges[name] = targets
    return edges


def test_no_import_circles():
    edges, state, path = graph(), {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for target in edges[node]:
            assert state.get(target) != "open", f"import circle: {' -> '.join([*path[path.index(target) :], target])}"
            if target not in state:
                visit(target)
        state[node] = "done"
        path.pop()

    for node in edges:
        if node not in state:
            visit(node)


def test_layers_import_only_downwards():
    edges = graph()
    for name, targets in edges.items():
        if name.startswith("colorizer") and name != "colorizer.__main__":
            assert not {t for t in targets if t.startswith("appkit") or t in ("app", "colorizer.cli")}, name
        if name.startswith("convert"):
            assert not {t for t in targets if t.startswith("colorizer")}, name
        if name.startswith("colorkit"):
            assert not {t for t in targets if not t.startswith("colorkit")}, name
    assert not {t for t in edges["app"] if t.startswith("convert")}, "app.py imports the converter"


def test_exactly_one_module_reads_an_input_and_writes_an_output():
    both = []
    for name, path in modules().items():
        names = {imported for _, imported in imports(path)}
        if name.startswith("colorizer") and names & INPUT_READERS and names & OUTPUT_WRITERS:
            both.append(name)
    assert both == ["colorizer.pipeline"]


def test_app_py_is_a_thin_layout():
    assert len((REPO_ROOT / "app.py").read_text().splitlines()) <= 300
