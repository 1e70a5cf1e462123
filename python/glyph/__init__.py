"""Glyph-cpp for Python: text rendered into page images as numpy arrays, for training pipelines.

    import glyph
    r = glyph.Renderer("en")                 # a preset, a config path, a dict or JSON text
    pages = r.render(text)                   # list of uint8 arrays, (H, W) gray or (H, W, 3) RGB
    pages, layout = r.render_with_layout(text)
    layout.char_boxes[i]                     # pixel box of character i on page layout.char_page[i]

The pixels are the renderer's own buffers (no copy, no PNG round trip) and are exactly the PNG
files `glyph render` writes with the same config; the GIL is released while rendering. Errors of
the library raise glyph.Error with the library's message and `code` ("invalid_config", ...).

Submodules: glyph.style (seeded style sampler), glyph.data (PyTorch IterableDataset),
glyph.align (span alignment loss), glyph.corpus (tar shards on a Dask cluster). See
docs/python.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple, Union

import numpy as np

from . import _glyph
from ._glyph import Error, decode_png, png, visual_models

__version__ = _glyph.__version__
__all__ = ["Renderer", "Layout", "Error", "tokens", "decode", "visual_tokens", "visual_models",
           "png", "decode_png"]

ConfigLike = Union[None, str, "os.PathLike[str]", dict]


@dataclass
class Layout:
    """The char <-> box map of a rendered text, as arrays (pixels of each page image, y down).

    text: the text exactly as laid out (after the text rules and the config's reflow); every
      offset below counts code points (Python str indices) of it.
    page_sizes (P, 2) int32: width, height of each page image.
    page_chars (P, 2) int64: [start, end) of the characters of each page.
    line_page (L,) int32, line_chars (L, 2) int64, line_boxes (L, 4) float64: each line's page,
      characters and box [x0, y0, x1, y1] (the boxes of layout.json, unrounded).
    char_page (N,) int32, char_line (N,) int32, char_boxes (N, 4) float32: each character's page,
      line and box: from its glyph's pen position to the next glyph's, the line's height; a
      character drawing nothing (a space at a break, a newline) has an empty box.
    """
    text: str
    page_sizes: np.ndarray
    page_chars: np.ndarray
    line_page: np.ndarray
    line_chars: np.ndarray
    line_boxes: np.ndarray
    char_page: np.ndarray
    char_line: np.ndarray
    char_boxes: np.ndarray

    @property
    def pages(self) -> int:
        return len(self.page_sizes)

    def line_text(self, line: int) -> str:
        start, end = self.line_chars[line]
        return self.text[start:end]

    def span_boxes(self, start: int, end: int) -> List[Tuple[int, np.ndarray]]:
        """Boxes covering characters [start, end): one (page, [x0, y0, x1, y1]) per line the span
        touches, the union of its characters' boxes on that line (empty boxes ignored unless the
        whole part is empty)."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is outside the text (0..{len(self.text)})")
        out = []
        lines = self.char_line[start:end]
        boxes = self.char_boxes[start:end]
        for line in np.unique(lines[lines >= 0]):
            mine = boxes[lines == line]
            drawn = mine[(mine[:, 2] > mine[:, 0])]
            use = drawn if len(drawn) else mine
            box = np.array([use[:, 0].min(), use[:, 1].min(), use[:, 2].max(), use[:, 3].max()],
                           dtype=np.float32)
            out.append((int(self.line_page[line]), box))
        return out

    def to_json(self) -> dict:
        """The layout as layout.json of `glyph render` has it (boxes rounded to 2 decimals)."""
        pages = []
        for p in range(self.pages):
            lines = []
            for line in np.nonzero(self.line_page == p)[0]:
                start, end = (int(v) for v in self.line_chars[line])
                lines.append({"text": self.text[start:end], "char_start": start, "char_end": end,
                              "bbox": [round(float(v), 2) for v in self.line_boxes[line]]})
            pages.append({"page": p + 1, "width": int(self.page_sizes[p, 0]),
                          "height": int(self.page_sizes[p, 1]),
                          "char_start": int(self.page_chars[p, 0]),
                          "char_end": int(self.page_chars[p, 1]), "lines": lines})
        return {"chars": len(self.text), "pages": pages}


class Renderer:
    """Renders text with one config; fonts are loaded once. Safe to share between threads.

    config: a preset name ("en", "zh"), a path to a Glyph JSON config, JSON text, a dict of
    config keys (as in the JSON file; relative font paths resolve against the current folder),
    or None for "en". threads: rasterizing threads per call (1 by default, the right choice in
    DataLoader workers; 0 = every core).
    """

    def __init__(self, config: ConfigLike = None, threads: int = 1):
        self._native = _glyph.Renderer(config, threads)

    @property
    def config(self) -> dict:
        """The config as loaded (every key, defaults filled in)."""
        import json
        return json.loads(self._native.config_json)

    @property
    def dpi(self) -> float:
        return self._native.dpi

    @property
    def page_size(self) -> Tuple[int, int]:
        """(width, height) of an uncropped page in pixels."""
        return self._native.page_width_px, self._native.page_height_px

    def prepare(self, text: str) -> str:
        """The text as it is laid out (text rules, the config's reflow)."""
        return self._native.prepare(text)

    def render(self, text: str) -> List[np.ndarray]:
        """Page images: uint8 arrays (H, W) for gray output, (H, W, 3) for colour."""
        return self._native._render(text, True)[0]

    def render_with_layout(self, text: str) -> Tuple[List[np.ndarray], Layout]:
        pages, arrays = self._native._render(text, True)
        return pages, Layout(**arrays)

    def layout(self, text: str) -> Layout:
        """The layout alone (pages are drawn only when a crop needs their pixels)."""
        return Layout(**self._native._render(text, False)[1])


def tokens(text: str, tokenizer: str = "", add_special_tokens: bool = False) -> np.ndarray:
    """Token ids (uint32) of `text` with a tokenizer.json (default: Qwen3's, as `glyph tokenize`)."""
    return _glyph.tokens(text, tokenizer, add_special_tokens)


def decode(ids: Sequence[int], tokenizer: str = "", skip_special: bool = False) -> str:
    return _glyph.decode([int(i) for i in ids], tokenizer, skip_special)


def visual_tokens(width: int, height: int, model: str = "glyph", **options: Any) -> dict:
    """Visual tokens a model spends on a width x height image (`glyph vtokens`): a dict with
    model, tokens, wrapper_tokens, resized_width, resized_height, grid_columns, grid_rows, views.
    Options: min_pixels, max_pixels, pan_and_scan, max_tiles."""
    return _glyph.visual_tokens(width, height, model, **options)
