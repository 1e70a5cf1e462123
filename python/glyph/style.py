"""Seeded style randomization of rendering configs, as the Glyph paper does for continual
pretraining: every sample draws a font, a font size of 7-14 pt, a line height, a dpi of 45-300, a
page size, margins, an alignment, indents, paragraph spacing, a horizontal scale of 0.75-1.0, a
colour theme and a newline markup, so that the model sees many looks of the same text.

    sampler = StyleSampler(seed=7)                      # or StyleSampler({"dpi": [[72, 72, 1]]})
    config = sampler.sample(index)                      # a Glyph config dict for glyph.Renderer
    StyleSampler.from_json("style.json", seed=7)        # the spec as a JSON file

The same (seed, index) always gives the same config, in any process, whatever was sampled before
(each sample has its own generator, seeded with both numbers). The spec is JSON: every key of
DEFAULT_SPEC may be overridden; an unknown key or a value out of its allowed range raises
ValueError naming it.

Honest limits: fonts are the regular faces fontconfig lists (fc-list) on this machine, so the
same seed can give other fonts on a machine with other fonts installed; pass "fonts" as a list of
paths to pin them. Text in a script the drawn font lacks comes from the fallback chain.
"""
from __future__ import annotations

import copy
import json
import math
import os
import shutil
import subprocess
from typing import Any, Dict, List, Optional, Union

import numpy as np

# Fonts fontconfig lists that are not text faces.
_EXCLUDED_FAMILIES = ("Math", "Symbol", "Emoji", "Dingbat")

DEFAULT_SPEC: Dict[str, Any] = {
    # "installed": one regular face per family fontconfig lists; or a list of paths ("path#N").
    "fonts": "installed",
    "font_size": [7, 14],                # points, uniform
    "line_height_extra": [0.0, 4.0],     # line height = font size + this, points
    # dpi buckets [low, high, weight]: a bucket by weight, then an integer dpi in it.
    "dpi": [[45, 59, 0.1], [60, 71, 0.15], [72, 72, 0.25], [73, 119, 0.25], [120, 199, 0.15],
            [200, 300, 0.1]],
    # Named page sizes (points) by weight, and the weight of a random size in custom_page.
    "page_sizes": {"A4": [595, 842, 0.4], "Letter": [612, 792, 0.2], "A5": [420, 595, 0.15],
                   "B5": [499, 709, 0.1], "Legal": [612, 1008, 0.05]},
    "custom_page": {"weight": 0.1, "width": [300, 800], "height": [300, 1100]},
    "margin": [5, 40],                   # margin-x and margin-y, each uniform, points
    "alignment": {"LEFT": 0.4, "JUSTIFY": 0.4, "CENTER": 0.1, "RIGHT": 0.1},
    "indent_probability": 0.3,           # chance of each indent being non-zero
    "first_line_indent": [0, 30],
    "side_indent": [0, 20],              # left-indent and right-indent
    "spacing_probability": 0.3,
    "spacing": [0, 10],                  # space-before and space-after
    "horizontal_scale": [0.75, 1.0],
    # Colour themes by weight: text, page background, paragraph background.
    "themes": [
        {"name": "paper", "font": "#000000", "page": "#FFFFFF", "para": "#FFFFFF", "weight": 0.55},
        {"name": "sepia", "font": "#3B2F1E", "page": "#F4ECD8", "para": "#F4ECD8", "weight": 0.1},
        {"name": "dark", "font": "#E6E6E6", "page": "#1E1E1E", "para": "#1E1E1E", "weight": 0.1},
        {"name": "blue", "font": "#0B2A6F", "page": "#FFFFFF", "para": "#EEF3FB", "weight": 0.1},
        {"name": "gray", "font": "#333333", "page": "#EDEDED", "para": "#EDEDED", "weight": 0.1},
        {"name": "random", "weight": 0.05},  # a random dark text on a random light page
    ],
    "border_probability": 0.1,
    "border_width": [0.5, 2.0],
    # Newline markup by weight: a real line break, or newlines drawn inline as a marker.
    "newline_markup": {"<br/>": 0.7, "<font color=\"#FF0000\"> \\n </font>": 0.3},
    "auto_crop_probability": 0.5,        # auto-crop-width and auto-crop-last-page together
    "extra": {},                         # keys copied into every config as they are
}

_RANGES = {  # key: (lowest allowed, highest allowed) for [low, high] pairs
    "font_size": (1, 200), "line_height_extra": (0, 100), "margin": (0, 500),
    "first_line_indent": (0, 500), "side_indent": (0, 500), "spacing": (0, 500),
    "horizontal_scale": (0.01, 16), "border_width": (0, 50),
}


def installed_fonts() -> List[str]:
    """One regular face per font family installed ("path" or "path#N" for a collection), sorted;
    empty without fc-list."""
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return []
    out = subprocess.run([fc_list, "--format", "%{file}\t%{index}\t%{family[0]}\t%{style[0]}\n"],
                         capture_output=True, text=True, check=False).stdout
    by_family: Dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 4:
            continue
        path, index, family, style = parts
        if style not in ("Regular", "Book") or any(x in family for x in _EXCLUDED_FAMILIES):
            continue
        if not path.lower().endswith((".ttf", ".otf", ".ttc")):
            continue
        ref = f"{path}#{index}" if path.lower().endswith(".ttc") else path
        by_family.setdefault(family, ref)
    return sorted(set(by_family.values()))


def _check_pair(key: str, value: Any) -> None:
    ok = (isinstance(value, (list, tuple)) and len(value) == 2 and
          all(isinstance(v, (int, float)) for v in value) and value[0] <= value[1])
    low, high = _RANGES[key]
    if not ok or value[0] < low or value[1] > high:
        raise ValueError(f"style spec: \"{key}\" must be [low, high] within [{low}, {high}], "
                         f"not {json.dumps(value)}")


def _weights(key: str, values: List[float]) -> np.ndarray:
    w = np.asarray(values, dtype=float)
    if len(w) == 0 or (w < 0).any() or not w.sum() > 0:
        raise ValueError(f"style spec: \"{key}\" needs non-negative weights with a positive sum")
    return w / w.sum()


class StyleSampler:
    """Draws rendering configs from a spec (DEFAULT_SPEC with the given keys replaced)."""

    def __init__(self, spec: Optional[Dict[str, Any]] = None, seed: int = 0):
        self.seed = int(seed)
        if self.seed < 0:
            raise ValueError(f"seed: must be 0 or more, not {seed}")
        self.spec = copy.deepcopy(DEFAULT_SPEC)
        for key, value in (spec or {}).items():
            if key not in DEFAULT_SPEC:
                raise ValueError(f"style spec: unknown key \"{key}\" (known: "
                                 f"{', '.join(sorted(DEFAULT_SPEC))})")
            self.spec[key] = value
        self._validate()

    @classmethod
    def from_json(cls, source: Union[str, "os.PathLike[str]"], seed: int = 0) -> "StyleSampler":
        """A spec from a JSON file, or JSON text when `source` starts with "{"."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            with open(source, encoding="utf-8") as f:
                text = f.read()
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"style spec {source}: invalid JSON: {e}") from None
        if not isinstance(spec, dict):
            raise ValueError("style spec: must be a JSON object")
        return cls(spec, seed)

    def _validate(self) -> None:
        s = self.spec
        for key in _RANGES:
            _check_pair(key, s[key])
        fonts = s["fonts"]
        if fonts == "installed":
            self.fonts = installed_fonts()
        elif isinstance(fonts, list) and all(isinstance(f, str) for f in fonts):
            self.fonts = list(fonts)
        else:
            raise ValueError("style spec: \"fonts\" must be \"installed\" or a list of paths")
        if not self.fonts:
            raise ValueError("style spec: no fonts (fc-list found none; give \"fonts\" as paths)")
        for bucket in s["dpi"]:
            if (len(bucket) != 3 or not 0 < bucket[0] <= bucket[1] <= 2400):
                raise ValueError(f"style spec: \"dpi\" buckets are [low, high, weight] with "
                                 f"0 < low <= high <= 2400, not {json.dumps(bucket)}")
        self._dpi_weights = _weights("dpi", [b[2] for b in s["dpi"]])
        self._page_names = sorted(s["page_sizes"])
        custom = s["custom_page"]
        for side in ("width", "height"):
            value = custom.get(side)
            if (not isinstance(value, list) or len(value) != 2 or
                    not 100 <= value[0] <= value[1] <= 14400):
                raise ValueError(f"style spec: \"custom_page\" {side} must be [low, high] within "
                                 f"[100, 14400] points, not {json.dumps(value)}")
        self._page_weights = _weights(
            "page_sizes", [s["page_sizes"][n][2] for n in self._page_names] + [custom["weight"]])
        self._alignments = sorted(s["alignment"])
        self._alignment_weights = _weights("alignment", [s["alignment"][a] for a in self._alignments])
        self._theme_weights = _weights("themes", [t.get("weight", 1.0) for t in s["themes"]])
        self._newlines = sorted(s["newline_markup"])
        self._newline_weights = _weights("newline_markup",
                                         [s["newline_markup"][n] for n in self._newlines])
        for key in ("indent_probability", "spacing_probability", "border_probability",
                    "auto_crop_probability"):
            if not 0 <= s[key] <= 1:
                raise ValueError(f"style spec: \"{key}\" must be within [0, 1], not {s[key]}")

    def rng(self, index: int) -> np.random.Generator:
        """The generator of sample `index`: seeded with (seed, index) only."""
        return np.random.default_rng([self.seed & 0xFFFFFFFF, self.seed >> 32, int(index)])

    def sample(self, index: int) -> Dict[str, Any]:
        """The config of sample `index` (Glyph JSON keys)."""
        s, rng = self.spec, self.rng(index)

        def uniform(key: str, decimals: int = 1) -> float:
            low, high = s[key]
            return round(float(rng.uniform(low, high)), decimals)

        font_size = uniform("font_size")
        page = int(rng.choice(len(self._page_weights), p=self._page_weights))
        if page < len(self._page_names):
            width, height = s["page_sizes"][self._page_names[page]][:2]
        else:
            width = int(rng.integers(s["custom_page"]["width"][0], s["custom_page"]["width"][1] + 1))
            height = int(rng.integers(s["custom_page"]["height"][0],
                                      s["custom_page"]["height"][1] + 1))
        bucket = s["dpi"][int(rng.choice(len(self._dpi_weights), p=self._dpi_weights))]
        dpi = int(rng.integers(math.ceil(bucket[0]), math.floor(bucket[1]) + 1))
        # Margins leave at least half of each side to the text.
        margin_x = min(uniform("margin"), width / 4)
        margin_y = min(uniform("margin"), height / 4)
        theme = s["themes"][int(rng.choice(len(self._theme_weights), p=self._theme_weights))]
        if "font" in theme:
            font_color, page_color, para_color = theme["font"], theme["page"], theme["para"]
        else:
            dark = rng.integers(0, 90, size=3)
            light = rng.integers(200, 256, size=3)
            font_color = "#%02X%02X%02X" % tuple(int(v) for v in dark)
            page_color = para_color = "#%02X%02X%02X" % tuple(int(v) for v in light)

        config: Dict[str, Any] = {
            "page-size": f"{width},{height}",
            "dpi": dpi,
            "margin-x": margin_x,
            "margin-y": margin_y,
            "font-path": self.fonts[int(rng.integers(len(self.fonts)))],
            "font-size": font_size,
            "line-height": round(font_size + uniform("line_height_extra"), 1),
            "font-color": font_color,
            "page-bg-color": page_color,
            "para-bg-color": para_color,
            "para-border-color": para_color,
            "alignment": self._alignments[int(rng.choice(len(self._alignments),
                                                         p=self._alignment_weights))],
            "first-line-indent": 0.0, "left-indent": 0.0, "right-indent": 0.0,
            "space-before": 0.0, "space-after": 0.0,
            "border-width": 0.0, "border-padding": 0.0,
            "horizontal-scale": round(float(rng.uniform(*s["horizontal_scale"])), 3),
            "newline-markup": self._newlines[int(rng.choice(len(self._newlines),
                                                            p=self._newline_weights))],
        }
        for key, range_key in (("first-line-indent", "first_line_indent"),
                               ("left-indent", "side_indent"), ("right-indent", "side_indent")):
            if rng.random() < s["indent_probability"]:
                config[key] = uniform(range_key)
        for key in ("space-before", "space-after"):
            if rng.random() < s["spacing_probability"]:
                config[key] = uniform("spacing")
        if rng.random() < s["border_probability"]:
            config["border-width"] = uniform("border_width")
            config["border-padding"] = round(float(rng.uniform(0, 4)), 1)
            config["para-border-color"] = font_color
        crop = bool(rng.random() < s["auto_crop_probability"])
        config["auto-crop-width"] = crop
        config["auto-crop-last-page"] = crop
        config.update(copy.deepcopy(s["extra"]))
        return config

    __call__ = sample
