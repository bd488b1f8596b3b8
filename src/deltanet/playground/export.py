"""``deltanet playground --export DIR``: the playground as a static site.

The page's ES modules are joined into one classic script, ``playground.js`` (browsers refuse
module scripts from ``file://``), in the order of their imports: each module becomes a
function whose exports are an object, and each ``import`` reads that object. The page then
answers its API in the browser with its own engine (``static/local-api.js``, chosen by
``window.DELTANET_STATIC``), so the folder works opened from disk or from any static host,
and requests nothing outside its own files.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
ENTRY = "app.js"
COPIED = ("style.css", "favicon.svg")
_IMPORT = re.compile(r'^import\s+(.+?)\s+from\s+"\./([\w.-]+\.js)";\s*$', re.M | re.S)
_EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:const|let|function\*?|class)\s+([A-Za-z_$][\w$]*)",
                     re.M)


def _imports(source: str) -> list[tuple[str, str]]:
    """``(what, module)`` of each ``import what from "./module.js"``."""
    return [(m.group(1), m.group(2)) for m in _IMPORT.finditer(source)]


def _order(entry: str) -> list[str]:
    """Modules in an order where each comes after those it imports."""
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in path:
            raise ValueError(f"the page's modules import each other in a circle: {path}")
        for _, dep in _imports((STATIC / name).read_text(encoding="utf-8")):
            visit(dep, (*path, name))
        done.append(name)

    visit(entry, ())
    return done


def _binding(what: str, module: str) -> str:
    source = f'__modules["{module}"]'
    if what.startswith("* as "):
        return f"const {what[5:].strip()} = {source};"
    names = [part.strip() for part in what.strip("{} \n").split(",") if part.strip()]
    pairs = [name.replace(" as ", ": ") for name in names]
    return f"const {{ {', '.join(pairs)} }} = {source};"


def _wrap(name: str) -> str:
    source = (STATIC / name).read_text(encoding="utf-8")
    exported = _EXPORT.findall(source)
    body = _IMPORT.sub(lambda m: _binding(m.group(1), m.group(2)), source)
    body = re.sub(r"^export\s+", "", body, flags=re.M)
    return (f'__modules["{name}"] = (() => {{\n{body}\nreturn {{ {", ".join(exported)} }};\n'
            "})();\n")


def bundle() -> str:
    """The page's modules as one classic script."""
    parts = [_wrap(name) for name in _order(ENTRY)]
    return "\"use strict\";\nconst __modules = {};\n" + "\n".join(parts)


def page() -> str:
    """``index.html`` for the static site: relative paths, the bundled script."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    html = html.replace('href="/static/', 'href="')
    script = '<script type="module" src="/static/app.js"></script>'
    if script not in html:
        raise ValueError("static/index.html no longer loads /static/app.js as a module; "
                         "update deltanet.playground.export")
    return html.replace(script, f"<script>window.DELTANET_STATIC = true;\n"
                                f"window.DELTANET_MODEL_FORMAT = {json.dumps(_model_format())};"
                                "</script>\n"
                                '<script defer src="playground.js"></script>')


def _model_format() -> dict:
    """What the page needs to write a table model file that ``deltanet predict`` reads."""
    from .. import __version__
    from ..cli.model_file import KIND, VERSION
    from ..data.tables import FORMAT_VERSION

    return {"kind": KIND, "version": VERSION, "deltanet_version": __version__,
            "table_version": FORMAT_VERSION}


def export(folder: str | Path) -> Path:
    """Write the static site into ``folder`` (created if needed); returns its index.html."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{str(out)!r} is a file; give a folder for the static site")
    out.mkdir(parents=True, exist_ok=True)
    (out / "playground.js").write_text(bundle(), encoding="utf-8")
    for name in COPIED:
        shutil.copyfile(STATIC / name, out / name)
    index = out / "index.html"
    index.write_text(page(), encoding="utf-8")
    return index
