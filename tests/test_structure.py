"""One concept, one place (issue 12 item 6): checks on the source tree that fail when a second copy appears."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "refcodec"


def _imports(path: Path) -> list[tuple[str, int]]:
    """(module, line) of every import in a file, at any depth (function-level ones included)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, node.lineno))
    return out


def test_entropy_does_not_import_the_model_package():
    """The dependency runs one way (model -> entropy): no import cycle hidden inside functions. measure.py is
    a command-line tool on top of the whole stack and may use the model registry."""
    offenders = [f"{p.name}:{line} {mod}" for p in sorted((PKG / "entropy").glob("*.py")) if p.name != "measure.py"
                 for mod, line in _imports(p) if mod.startswith("refcodec.model")]
    assert offenders == []


def test_model_file_imports_entropy_at_module_level():
    tree = ast.parse((PKG / "model" / "modelfile.py").read_text(encoding="utf-8"))
    nested = [n.module for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("refcodec.entropy")]
    assert nested == []


def test_crc_only_through_the_crc_module():
    """CRC-32 (spec §7.3) is computed in refcodec/bitstream/crc.py only; every other module calls it."""
    offenders = [str(p.relative_to(ROOT)) for p in PKG.rglob("*.py") if p.name != "crc.py"
                 for mod, _ in _imports(p) if mod == "zlib"]
    assert offenders == []


def test_no_varint_alias():
    offenders = [str(p.relative_to(ROOT)) for p in PKG.rglob("*.py") if p.name != "varint.py"
                 and ("def _uvarint" in p.read_text() or "def _varint" in p.read_text())]
    assert offenders == []


def test_split_functions_stay_short():
    """compare_stream and load_model were 116 and 90 lines; their parts are named functions now."""
    for path, name in ((PKG / "verify" / "core.py", "compare_stream"), (PKG / "model" / "modelfile.py", "load_model")):
        fn = next(n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef) and n.name == name)
        assert fn.end_lineno - fn.lineno + 1 <= 60, (name, fn.end_lineno - fn.lineno + 1)
