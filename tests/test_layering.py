"""The package's layers go one way: a module imports only from its own layer or below, never
from a higher one (not even inside a function), and no modules import each other in a
circle. The layer order is declared once, here, as the design document's table gives it.

Every ``import`` and ``from ... import`` statement of every module under ``src/deltanet`` is
read with ``ast`` (inside functions, classes and ``if TYPE_CHECKING:`` blocks too); relative
imports are resolved, and ``from . import x`` counts as importing the module ``x`` when
there is one.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
ROOT = "deltanet"

#: The layers of the design document's table (0 = lowest), by module or package; a module
#: not named takes the layer of its nearest package that is. ``__main__`` modules are
#: entry points, above everything. The package root exposes every public name (loaded on
#: first use): only the top layer may import it.
LAYERS: dict[str, int] = {
    "deltanet._validation": 0,     # one error template, argument checks
    "deltanet._memory": 0,         # aligned buffers
    "deltanet._safe_files": 0,     # bounded reading of archives (sizes, dtypes, JSON)
    "deltanet._archive": 0,        # the safe archive format of model files and checkpoints
    "deltanet.activations": 1,
    "deltanet.losses": 1,
    "deltanet.init": 1,
    "deltanet.network": 2,
    "deltanet._plan": 2,           # the network's plan compiler
    "deltanet._depths": 2,         # the depth of every neuron, for the plan compiler
    "deltanet._arcs": 2,           # arc checks and the lecture-number weight index
    "deltanet._initialize": 2,     # initial weights drawn for a plan
    "deltanet.propagation": 3,
    "deltanet.batchnorm": 3,
    "deltanet.dropout": 3,
    "deltanet.trace": 3,           # the Trace of a pass, by lecture numbers
    "deltanet._inputs": 3,         # inputs, targets and sample weights checked for a pass
    "deltanet.regularization": 3,
    "deltanet.optimizers": 3,
    "deltanet._optimizer_state": 3,
    "deltanet._transforms": 3,
    "deltanet.schedules": 3,
    "deltanet.engines": 4,
    "deltanet.kernels": 4,         # the compiled engine
    "deltanet.training": 5,
    "deltanet.checkpoint": 5,      # the old name of deltanet.training.checkpoints
    "deltanet.perceptron": 5,      # the lecture's perceptron training rule
    "deltanet.data": 5,
    "deltanet.io": 6,
    "deltanet.export": 6,
    "deltanet.diagnostics": 6,
    "deltanet.explain": 6,
    "deltanet.estimators": 7,
    "deltanet.search": 7,
    "deltanet.cli": 8,
    "deltanet.playground": 8,
}
TOP = max(LAYERS.values())  # the package root: the public names, for the command line
ENTRY = TOP + 1  # __main__ modules

def module_sources(src: Path = SRC, root: str = ROOT) -> dict[str, str]:
    """``{module name: source}`` for every ``.py`` file of the package ``root`` in ``src``."""
    out = {}
    for path in sorted((src / root).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path.read_text(encoding="utf-8")
    return out


def _is_package(name: str, sources: dict[str, str]) -> bool:
    return any(other.startswith(name + ".") for other in sources)


def imports(name: str, source: str, sources: dict[str, str], root: str = ROOT) -> set[str]:
    """The modules of the package that ``name`` imports, wherever the statement stands."""
    found = set()
    package = name if _is_package(name, sources) else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in sources else stem
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in sources and "." in target:
                target = target.rpartition(".")[0]  # `import a.b.c` names a.b.c (or a.b)
            if target in sources and (target == root or target.startswith(root + ".")):
                found.add(target)
    found.discard(name)
    return found


def layer_of(name: str, layers: dict[str, int], root: str = ROOT) -> int:
    if name.endswith(".__main__"):
        return ENTRY
    if name == root:
        return TOP
    probe = name
    while probe:
        if probe in layers:
            return layers[probe]
        probe = probe.rpartition(".")[0]
    raise AssertionError(f"module {name} has no layer: add it (or its package) to LAYERS")


def graph(sources: dict[str, str], root: str = ROOT) -> dict[str, set[str]]:
    return {name: imports(name, src, sources, root) for name, src in sources.items()}


def upward_imports(sources: dict[str, str], layers: dict[str, int],
                   root: str = ROOT) -> list[tuple[str, str]]:
    """Every ``(importer, imported)`` where the imported module sits in a higher layer."""
    edges = graph(sources, root)
    return sorted((a, b) for a, targets in edges.items() for b in targets
                  if layer_of(b, layers, root) > layer_of(a, layers, root))


def circles(sources: dict[str, str], root: str = ROOT) -> list[list[str]]:
    """The groups of modules that import each other in a circle (Tarjan's strongly
    connected components of more than one module)."""
    edges = graph(sources, root)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


# ------------------------------------------------------------------ the package itself


def test_every_module_has_a_layer():
    for name in module_sources():
        layer_of(name, LAYERS)


def test_no_module_imports_from_a_higher_layer():
    found = upward_imports(module_sources(), LAYERS)
    assert found == [], "\n".join(
        f"{a} (layer {layer_of(a, LAYERS)}) imports {b} (layer {layer_of(b, LAYERS)})"
        for a, b in found)


def test_no_modules_import_each_other_in_a_circle():
    assert circles(module_sources()) == []


# ------------------------------------------------------------------ the checker


def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, str]:
    for rel, text in files.items():
        path = tmp_path / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return module_sources(tmp_path, "pkg")


SYNTHETIC_LAYERS = {"pkg.low": 0, "pkg.mid": 1, "pkg.high": 2}


def test_the_checker_finds_an_upward_import_inside_a_function(tmp_path):
    sources = _package(tmp_path, {
        "__init__.py": "",
        "low.py": "def f():\n    from .high import g\n    return g\n",
        "mid.py": "from . import low\n",
        "high.py": "from .mid import low\ng = 1\n",
    })
    assert upward_imports(sources, SYNTHETIC_LAYERS, "pkg") == [("pkg.low", "pkg.high")]


def test_the_checker_reads_every_import_form(tmp_path):
    sources = _package(tmp_path, {
        "__init__.py": "",
        "low.py": "",
        "mid/__init__.py": "from .. import high\n",                   # from .. import module
        "mid/a.py": "import pkg.high.deep\n",                          # absolute, dotted
        "mid/b.py": "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from ..high.deep import x\n",  # typing-only
        "mid/c.py": "class C:\n    def m(self):\n        from pkg import high\n",
        "high/__init__.py": "",
        "high/deep.py": "from ..low import *\nx = 1\n",
    })
    assert upward_imports(sources, SYNTHETIC_LAYERS, "pkg") == [
        ("pkg.mid", "pkg.high"), ("pkg.mid.a", "pkg.high.deep"),
        ("pkg.mid.b", "pkg.high.deep"), ("pkg.mid.c", "pkg.high")]


def test_the_checker_finds_a_circle_hidden_in_a_function(tmp_path):
    sources = _package(tmp_path, {
        "__init__.py": "",
        "low.py": "",
        "mid.py": "from . import high\n",
        "high.py": "def f():\n    from . import mid\n",
    })
    assert circles(sources, "pkg") == [["pkg.high", "pkg.mid"]]
    assert upward_imports(sources, SYNTHETIC_LAYERS, "pkg") == [("pkg.mid", "pkg.high")]


def test_the_checker_passes_a_package_that_keeps_its_layers(tmp_path):
    sources = _package(tmp_path, {
        "__init__.py": "", "low.py": "", "mid.py": "from .low import *\n",
        "high.py": "import pkg.mid\nfrom . import low\n",
    })
    assert upward_imports(sources, SYNTHETIC_LAYERS, "pkg") == []
    assert circles(sources, "pkg") == []


def test_adding_an_upward_import_to_the_real_package_fails():
    # the package as it is, plus one import from a low module of the highest layer
    sources = module_sources()
    sources["deltanet.optimizers"] += "\n\ndef _report():\n    from .cli import main\n"
    assert ("deltanet.optimizers", "deltanet.cli") in upward_imports(sources, LAYERS)
