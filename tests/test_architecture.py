"""The layers of `gahr`, checked on its import graph (see docs/architecture.md).

Every import of every module under src/gahr counts, at module level or inside a function, as
parsed by `ast` (nothing is imported to build the graph). The rules:

- library packages (nets, data, oracles, sample, train, analysis) import no application code
  (report, workflows, commands, cli);
- analysis and sample never import train;
- nothing imports the command line back (`gahr.cli` is the top; it loads every command);
- there are no import cycles.

There are no exceptions: an import inside a module-level `__getattr__` (a lazy alias) is an
import like any other.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
LIBRARY = ("nets", "data", "oracles", "sample", "train", "analysis", "adapters")
APPLICATION = ("report", "workflows", "commands", "cli")
MAX_FUNCTION_LINES, MAX_FILE_LINES = 60, 400


def module_files() -> dict[str, Path]:
    """{dotted module name: file} of the gahr package; a package is its __init__.py."""
    out = {}
    for path in sorted((SRC / "gahr").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _targets(node, name: str, is_package: bool, known) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = name.split(".") if is_package else name.split(".")[:-1]
            package = package[:len(package) - node.level + 1]
            base = ".".join(package + ([node.module] if node.module else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                 for a in node.names]
    out = []
    for target in names:  # `from gahr.sample.schedule import X` -> gahr.sample.schedule
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.append(target)
    return out


def import_graph() -> dict[str, set[str]]:
    """{module: the gahr modules it imports}."""
    files = module_files()
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[name] = {target for node in ast.walk(tree)
                       if isinstance(node, ast.Import | ast.ImportFrom)
                       for target in _targets(node, name, path.name == "__init__.py", files)}
    # The CLI loads every command module by name (pkgutil), which ast cannot see.
    graph["gahr.cli"].update(m for m in files if m.startswith("gahr.commands."))
    return graph


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


GRAPH = import_graph()


def real_edges():
    """Every import edge but a module's import of its own parent package (implied by Python's
    import system, never a layering choice)."""
    for a, targets in GRAPH.items():
        for b in targets:
            if not a.startswith(b + "."):
                yield a, b


def test_the_graph_sees_function_level_imports():
    """The memorization workflow imports the report inside functions too: both kinds count."""
    assert "gahr.report" in GRAPH["gahr.workflows.experiment_report"]
    assert "gahr.nets" in GRAPH["gahr.config"]  # a function-level import in ModelConfig
    assert len(GRAPH) > 60 and all(m.startswith("gahr") for m in GRAPH)


def test_library_packages_import_no_application_code():
    wrong = sorted(f"{a} -> {b}" for a, b in real_edges()
                   if layer(a) in LIBRARY and layer(b) in APPLICATION)
    assert wrong == [], "library code imports the application layer:\n" + "\n".join(wrong)


def test_analysis_and_sample_never_import_train():
    wrong = sorted(f"{a} -> {b}" for a, b in real_edges()
                   if layer(a) in ("analysis", "sample") and layer(b) == "train")
    assert wrong == [], "\n".join(wrong)


def test_nothing_imports_the_command_line_back():
    back = sorted(a for a, b in real_edges() if b == "gahr.cli" and a != "gahr.__main__")
    assert back == []


def _cycles(edges) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert _cycles(real_edges()) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == [["a", "b", "c"]]
    assert _cycles([("a", "b"), ("b", "c")]) == []


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_small_files_and_functions():
    problems = []
    for path in module_files().values():
        text = path.read_text()
        if len(text.splitlines()) > MAX_FILE_LINES:
            problems.append(f"{path.name}: {len(text.splitlines())} lines")
        problems += [f"{path.name}: {fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"
                     for fn in _functions(ast.parse(text))
                     if fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES]
    assert problems == [], (f"files over {MAX_FILE_LINES} lines or functions over "
                            f"{MAX_FUNCTION_LINES}: {problems}")
