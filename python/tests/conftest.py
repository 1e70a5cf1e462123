"""Shared fixtures of the Python tests: the built `glyph` program and small texts.

CTest runs these with PYTHONPATH=<build>/python, GLYPH_BINARY=<build>/glyph and GLYPH_SOURCE_DIR
(python/CMakeLists.txt); run by hand from the tree, the defaults are build/ of this checkout."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("GLYPH_SOURCE_DIR",
                                         pathlib.Path(__file__).resolve().parents[2]))
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(SOURCE_DIR / "build" / "python"))

SHARED_DIR = SOURCE_DIR.parent / "shared"

ENGLISH = (
    "The English name \"Normans\" comes from the French words Normans/Normanz, plural of "
    "Normant, modern French normand.\nIt is borrowed from Old Low Franconian Nortmann "
    "\"Northman\" or directly from Old Norse.  Two  spaces   here.\n\n"
    "A list:\n- first item\n- second item\twith a tab\n") * 30
CHINESE = ("诺曼人是10和11世纪时期给予法国诺曼底地区名字的人民。他们是北欧海盗的后裔，"
           "来自丹麦、冰岛和挪威。\n第二段：混排 English words 与数字 2026。\n") * 100


@pytest.fixture(scope="session")
def glyph_binary():
    path = pathlib.Path(os.environ.get("GLYPH_BINARY", SOURCE_DIR / "build" / "glyph"))
    if not path.exists():
        pytest.fail(f"{path} is missing: build the project first (cmake --build build)")
    return str(path)


@pytest.fixture(scope="session")
def run_glyph(glyph_binary):
    """Runs `glyph ARGS...`; returns the completed process (stdout, stderr as text)."""
    def run(*args, check=True, input=None):
        return subprocess.run([glyph_binary, *map(str, args)], capture_output=True, text=True,
                              check=check, input=input)
    return run


@pytest.fixture(scope="session")
def render_cli(run_glyph, tmp_path_factory):
    """Renders a text with `glyph render` and returns (png file bytes per page, layout.json)."""
    def render(text, *config_args):
        folder = tmp_path_factory.mktemp("cli")
        source = folder / "input.txt"
        source.write_text(text, encoding="utf-8")
        out = folder / "pages"
        run_glyph("render", source, "-o", out, "-q", "--threads", "1", *config_args)
        layout = json.loads((out / "layout.json").read_text(encoding="utf-8"))
        pngs = [(out / f"page_{p['page']:03d}.png").read_bytes() for p in layout["pages"]]
        return pngs, layout
    return render
