"""glyph.style: sampled configs stay inside the paper's ranges, load in the renderer, and depend
on (seed, index) alone."""
import json

import numpy as np
import pytest

import glyph
from glyph.style import DEFAULT_SPEC, StyleSampler, installed_fonts


def test_samples_stay_inside_their_ranges():
    sampler = StyleSampler(seed=11)
    fonts = set(installed_fonts())
    assert len(fonts) >= 3  # DejaVu Sans, Serif, Mono at least (scripts/setup.sh)
    seen = {"alignment": set(), "newline-markup": set(), "font-path": set(), "page-size": set()}
    dpis = []
    for i in range(400):
        c = sampler.sample(i)
        assert 7 <= c["font-size"] <= 14
        assert c["font-size"] <= c["line-height"] <= c["font-size"] + 4
        assert 45 <= c["dpi"] <= 300 and isinstance(c["dpi"], int)
        assert 0.75 <= c["horizontal-scale"] <= 1.0
        width, height = (int(v) for v in c["page-size"].split(","))
        assert 300 <= width <= 800 and 300 <= height <= 1100
        assert 0 <= c["margin-x"] <= min(40, width / 4) and 0 <= c["margin-y"] <= min(40, height / 4)
        assert 0 <= c["first-line-indent"] <= 30
        assert 0 <= c["left-indent"] <= 20 and 0 <= c["right-indent"] <= 20
        assert 0 <= c["space-before"] <= 10 and 0 <= c["space-after"] <= 10
        assert c["font-path"] in fonts
        for key in seen:
            seen[key].add(c[key])
        dpis.append(c["dpi"])
    # Every choice is reached, and the dpi spreads over its buckets.
    assert seen["alignment"] == {"LEFT", "JUSTIFY", "CENTER", "RIGHT"}
    assert len(seen["newline-markup"]) == 2
    assert len(seen["font-path"]) == len(fonts)
    assert len(seen["page-size"]) > 6
    assert min(dpis) < 60 and max(dpis) >= 200


def test_same_seed_and_index_give_the_same_config_in_any_order():
    a, b = StyleSampler(seed=5), StyleSampler(seed=5)
    forward = [a.sample(i) for i in range(30)]
    backward = [b.sample(i) for i in reversed(range(30))][::-1]
    assert forward == backward
    assert StyleSampler(seed=6).sample(3) != forward[3]
    assert len({json.dumps(c, sort_keys=True) for c in forward}) == 30


def test_sampled_configs_render():
    sampler = StyleSampler({"dpi": [[45, 100, 1]]}, seed=2)
    text = "Sampled style, line one.\nLine two is a little longer than the first one.\n" * 4
    for i in range(12):
        config = sampler.sample(i)
        pages = glyph.Renderer(config).render(text)
        assert pages and all(p.dtype == np.uint8 and p.size > 0 for p in pages)
        # The horizontal scale narrowed the page (a crop may narrow it more).
        width = int(config["page-size"].split(",")[0]) * config["dpi"] / 72
        assert pages[0].shape[1] <= round(width * config["horizontal-scale"]) + 1


def test_spec_from_json_overrides_and_rejects_bad_keys(tmp_path):
    spec = tmp_path / "style.json"
    spec.write_text(json.dumps({"font_size": [10, 10], "dpi": [[96, 96, 1]],
                                "fonts": ["/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"],
                                "extra": {"antialias": False}}))
    config = StyleSampler.from_json(spec, seed=1).sample(0)
    assert config["font-size"] == 10 and config["dpi"] == 96 and config["antialias"] is False
    assert config["font-path"].endswith("DejaVuSerif.ttf")
    with pytest.raises(ValueError, match="unknown key \"font_sise\""):
        StyleSampler({"font_sise": [7, 9]})
    with pytest.raises(ValueError, match="\"horizontal_scale\" must be"):
        StyleSampler({"horizontal_scale": [1.0, 0.5]})
    with pytest.raises(ValueError, match="\"dpi\" buckets"):
        StyleSampler({"dpi": [[0, 72, 1]]})
    with pytest.raises(ValueError, match="seed: must be 0 or more"):
        StyleSampler(seed=-1)
    with pytest.raises(ValueError, match="invalid JSON"):
        StyleSampler.from_json("{nope")
    assert set(DEFAULT_SPEC) >= {"fonts", "font_size", "dpi", "horizontal_scale", "themes"}
