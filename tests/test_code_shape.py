"""The package stays in small units a reader can take in: no file in ``src/deltanet`` over
400 lines and no function over 60 lines, compiled kernels excepted (a Numba kernel is one
loop that must not call back into Python, so it cannot always be split).

Lengths are read with ``ast``: a function runs from its ``def`` (decorators excluded) to its
last line, less its docstring (documentation, such as the parameters of ``train()``, is no
code to take in); a function nested in another counts within it and on its own. A compiled
kernel is a function decorated with Numba's ``njit``/``jit`` (also as ``numba.njit(...)``),
deltanet's ``kernel(...)`` (``kernels._elementwise.kernel``: ``njit`` with the project's
options) or ``intrinsic``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "deltanet"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
COMPILERS = {"njit", "jit", "kernel", "intrinsic"}

def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def is_compiled(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_decorator_name(d) in COMPILERS for d in fn.decorator_list)


def _docstring_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        return first.end_lineno - first.lineno + 1
    return 0


def function_lengths(source: str) -> dict[str, int]:
    """``{qualified name: lines}`` of every function that is no compiled kernel."""
    out = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                if not is_compiled(child):
                    out[name] = child.end_lineno - child.lineno + 1 - _docstring_lines(child)
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return out


def too_long(src: Path = SRC) -> dict[str, int]:
    """Every file over ``MAX_FILE_LINES`` lines and every function over
    ``MAX_FUNCTION_LINES`` (``"path:function"``), with its length."""
    found = {}
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_FILE_LINES:
            found[rel] = lines
        for name, length in function_lengths(text).items():
            if length > MAX_FUNCTION_LINES:
                found[f"{rel}:{name}"] = length
    return found


def test_no_file_or_function_is_too_long():
    assert too_long() == {}


def test_the_checker_measures_functions_and_exempts_kernels():
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    source = (f"import numba\n\ndef long():\n    \"\"\"Two lines\n    of docs.\"\"\"\n{body}\n\n"
              f"@numba.njit(cache=True)\ndef compiled():\n{body}\n\n"
              f"@kernel(inline='always')\ndef inlined():\n{body}\n\n"
              f"class C:\n    def method(self):\n        def inner():\n            return 1\n"
              f"        return inner\n")
    lengths = function_lengths(source)
    assert lengths == {"long": 61, "C.method": 4, "C.method.inner": 2}


def test_the_checker_finds_a_long_file_and_a_long_function(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "big.py").write_text("x = 1\n" * 401)
    body = "\n".join("    pass" for _ in range(61))
    (tmp_path / "pkg" / "fn.py").write_text(f"def f():\n{body}\n")
    (tmp_path / "ok.py").write_text("x = 1\n" * 400)
    assert too_long(tmp_path) == {"pkg/big.py": 401, "pkg/fn.py:f": 62}
