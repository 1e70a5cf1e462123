"""glyph (the extension): pages equal to `glyph render` pixel for pixel, the layout arrays equal to
layout.json, tokens and visual tokens as the CLI counts them, errors as the library words them."""
import json
import threading
import time

import numpy as np
import pytest

import glyph
from conftest import CHINESE, ENGLISH, SOURCE_DIR

COLOR_CONFIG = {
    "page-size": "420,300", "dpi": 96, "margin-x": 12, "margin-y": 14,
    "font-path": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "font-size": 10,
    "line-height": 13, "font-color": "#1F3A7A", "page-bg-color": "#FAF3E0",
    "alignment": "JUSTIFY", "horizontal-scale": 0.8, "first-line-indent": 14,
    "auto-crop-last-page": True, "newline-markup": "<font color=\"#FF0000\"> \\n </font>",
}


def config_cases(tmp_path):
    color = tmp_path / "color.json"
    color.write_text(json.dumps(COLOR_CONFIG))
    return [
        ("en.json", ENGLISH, str(SOURCE_DIR / "configs" / "en.json"), ["-c", SOURCE_DIR / "configs" / "en.json"]),
        ("zh preset", CHINESE, "zh", ["--preset", "zh"]),
        ("colour, scale 0.8", ENGLISH, str(color), ["-c", color]),
    ]


def test_pages_and_layout_equal_glyph_render(render_cli, tmp_path):
    for name, text, config, cli_args in config_cases(tmp_path):
        pngs, layout_json = render_cli(text, *cli_args)
        pages, layout = glyph.Renderer(config).render_with_layout(text)
        assert len(pages) == len(pngs) >= 2, name
        for page, file_bytes in zip(pages, pngs):
            expected = glyph.decode_png(file_bytes)
            assert page.dtype == np.uint8
            assert page.shape == expected.shape, name
            assert np.array_equal(page, expected), name
            # The same encoder and options as the CLI: the very same file.
            assert glyph.png(page) == file_bytes, name
        assert layout.to_json() == {k: layout_json[k] for k in ("chars", "pages")}, name
        # Every character of the text is on one line, inside its page's image.
        assert (layout.char_line >= 0).all() and (layout.char_page >= 0).all()
        sizes = layout.page_sizes[layout.char_page]
        assert (layout.char_boxes[:, 2] <= sizes[:, 0] + 1e-3).all()
        assert (layout.char_boxes[:, 0] <= layout.char_boxes[:, 2]).all()


def test_colour_pages_are_rgb_and_gray_pages_two_dimensional(tmp_path):
    gray = glyph.Renderer("en").render("gray text")
    color = glyph.Renderer(COLOR_CONFIG).render("colour text")
    assert gray[0].ndim == 2
    assert color[0].ndim == 3 and color[0].shape[2] == 3
    assert tuple(color[0][0, 0]) == (0xFA, 0xF3, 0xE0)


def test_arrays_own_the_renderer_buffers_without_copy():
    page = glyph.Renderer("en").render(ENGLISH)[0]
    assert not page.flags.owndata  # a view of the PageImage, kept alive by a capsule
    assert page.base is not None
    assert page.flags.c_contiguous and page.flags.writeable
    page[0, 0] = 7  # ours to change
    assert page[0, 0] == 7


def test_layout_without_images_equals_layout_with_images():
    for config in ("en", COLOR_CONFIG, {"font-path": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"}):
        renderer = glyph.Renderer(config)
        _, with_images = renderer.render_with_layout(ENGLISH)
        alone = renderer.layout(ENGLISH)
        for field in ("page_sizes", "page_chars", "line_chars", "line_boxes", "char_boxes",
                      "char_line"):
            assert np.array_equal(getattr(with_images, field), getattr(alone, field)), field
        assert alone.text == renderer.prepare(ENGLISH)


def test_char_boxes_follow_the_text():
    layout = glyph.Renderer("en").layout("abc def")
    boxes = layout.char_boxes
    assert layout.text == "abc def"
    assert (np.diff(boxes[:, 0]) >= 0).all()  # left to right on one line
    assert boxes[1, 0] == pytest.approx(boxes[0, 2])  # each glyph starts where the last ends
    (page, box), = layout.span_boxes(4, 7)
    assert page == 0 and box[0] == pytest.approx(boxes[4, 0]) and box[2] == pytest.approx(boxes[6, 2])
    with pytest.raises(ValueError, match="outside the text"):
        layout.span_boxes(5, 100)


def test_errors_carry_the_library_message_and_code(run_glyph, tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(glyph.Error) as caught:
        glyph.Renderer(str(missing))
    assert caught.value.code == "not_found"
    cli = run_glyph("render", "-", "-c", missing, "-o", tmp_path / "out", input="x", check=False)
    assert cli.returncode != 0
    assert cli.stderr.strip() == f"error: {caught.value}"

    bad = tmp_path / "bad.json"
    bad.write_text('{"dpi": -3}')
    with pytest.raises(glyph.Error) as caught:
        glyph.Renderer(str(bad))
    assert caught.value.code == "invalid_config"
    cli = run_glyph("render", "-", "-c", bad, "-o", tmp_path / "out", input="x", check=False)
    assert cli.stderr.strip() == f"error: {caught.value}"

    with pytest.raises(glyph.Error, match="font") as caught:
        glyph.Renderer({"font-path": "/nonexistent/font.ttf"})
    assert caught.value.code == "not_found"
    with pytest.raises(glyph.Error, match="neither a preset \\(en, zh\\) nor a config file"):
        glyph.Renderer("fr")
    with pytest.raises(glyph.Error, match="expected a dict"):
        glyph.Renderer(42)
    with pytest.raises(glyph.Error, match="uint8"):
        glyph.png(np.zeros((4, 4), dtype=np.float32))
    with pytest.raises(glyph.Error, match="shape"):
        glyph.png(np.zeros((4, 4, 2), dtype=np.uint8))


def test_tokens_and_visual_tokens_match_the_cli(run_glyph, tmp_path):
    source = tmp_path / "t.txt"
    source.write_text(ENGLISH, encoding="utf-8")
    ids = glyph.tokens(ENGLISH)
    assert ids.dtype == np.uint32
    cli_ids = json.loads(run_glyph("tokenize", source, "--ids", "--no-special-tokens").stdout)
    assert cli_ids == ids.tolist()
    assert glyph.decode(ids) == ENGLISH

    counted = glyph.visual_tokens(595, 842, "qwen2.5-vl")
    cli = json.loads(run_glyph("vtokens", "595x842", "--model", "qwen2.5-vl", "--json").stdout)
    assert counted["tokens"] == cli["tokens"] > 0
    with pytest.raises(glyph.Error, match="unknown") as caught:
        glyph.visual_tokens(10, 10, "no-such-model")
    assert caught.value.code == "invalid_argument"


def test_png_round_trip():
    rng = np.random.default_rng(3)
    for shape in ((5, 7), (5, 7, 3)):
        array = rng.integers(0, 256, size=shape, dtype=np.uint8)
        assert np.array_equal(glyph.decode_png(glyph.png(array)), array)
    # A non-contiguous view is accepted (copied).
    array = rng.integers(0, 256, size=(6, 8), dtype=np.uint8)[:, ::2]
    assert np.array_equal(glyph.decode_png(glyph.png(array)), array)


def test_threads_share_a_renderer():
    renderer = glyph.Renderer("en")
    expected = [p.copy() for p in renderer.render(ENGLISH)]
    results = [None] * 4

    def work(i):
        results[i] = renderer.render(ENGLISH)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for pages in results:
        assert all(np.array_equal(a, b) for a, b in zip(pages, expected))


def test_the_gil_is_released_while_rendering():
    renderer = glyph.Renderer("en")
    text = ENGLISH * 6
    renderer.render(text)  # warm
    window = []

    def work():
        start = time.perf_counter()
        renderer.render(text)
        window.extend([start, time.perf_counter()])

    ticks = []
    thread = threading.Thread(target=work)
    thread.start()
    while thread.is_alive():
        ticks.append(time.perf_counter())
    thread.join()
    start, end = window
    inside = [start] + [t for t in ticks if start < t < end] + [end]
    # Python kept running in this thread during the render: no gap near the render's length
    # (holding the GIL, the render would leave one gap of all of it).
    assert max(b - a for a, b in zip(inside, inside[1:])) < 0.5 * (end - start)
