"""glyph.data.GlyphDataset: the same sample for the same (seed, index) in any DataLoader worker,
the three tasks' targets, pixel tensors of the rendered pages."""
import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import glyph
from conftest import CHINESE, ENGLISH
from glyph.data import IMAGE_TOKEN, GlyphDataset, collate

STYLE = {"dpi": [[45, 72, 1]], "page_sizes": {"A5": [420, 595, 1]},
         "custom_page": {"weight": 0, "width": [300, 400], "height": [300, 400]}}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    with open(folder / "part-0.jsonl", "w", encoding="utf-8") as f:
        for i in range(5):
            f.write(json.dumps({"text": f"Document {i}. " + ENGLISH[i * 50:]}) + "\n")
        f.write("\n")  # blank lines are skipped
        f.write(json.dumps({"text": CHINESE}) + "\n")
    books = folder / "books"
    books.mkdir()
    (books / "a.txt").write_text("Book a.\n" + ENGLISH, encoding="utf-8")
    (books / "b.txt").write_text("Book b.\n" + CHINESE, encoding="utf-8")
    return [folder / "part-0.jsonl", books]


def key(sample):
    return (sample.index, sample.task, sample.target, sample.context, sample.layout.text,
            json.dumps(sample.config, sort_keys=True),
            [p.numpy().tobytes() for p in sample.pixels])


def test_same_sample_for_same_seed_and_index_in_any_worker(shards):
    dataset = GlyphDataset(shards, task=["ocr", "interleaved", "generation"], seed=3,
                           style=STYLE, chars=(200, 700), length=10)
    assert len(dataset.documents) == 8 and len(dataset) == 10
    direct = {i: key(dataset.sample(i)) for i in reversed(range(10))}
    loader = DataLoader(dataset, batch_size=None, num_workers=2)
    from_workers = {}
    for sample in loader:
        assert sample.index not in from_workers  # every index once
        from_workers[sample.index] = key(sample)
    assert sorted(from_workers) == list(range(10))
    assert from_workers == direct
    # Another dataset object with the same seed: the same samples; another seed: others.
    again = GlyphDataset(shards, task=["ocr", "interleaved", "generation"], seed=3, style=STYLE,
                         chars=(200, 700), length=10)
    assert key(again.sample(4)) == direct[4]
    other = GlyphDataset(shards, task=["ocr", "interleaved", "generation"], seed=4, style=STYLE,
                         chars=(200, 700), length=10)
    assert key(other.sample(4)) != direct[4]
    assert {s[1] for s in direct.values()} == {"ocr", "interleaved", "generation"}


def test_spawned_workers_give_the_same_samples(shards):
    dataset = GlyphDataset(shards, seed=9, config="en", chars=(200, 400), length=4)
    direct = {i: key(dataset.sample(i)) for i in range(4)}  # renderers cached here
    loader = DataLoader(dataset, batch_size=None, num_workers=2, multiprocessing_context="spawn")
    assert {s.index: key(s) for s in loader} == direct


def test_tasks_targets_and_pixels(shards):
    for task in ("ocr", "interleaved", "generation"):
        dataset = GlyphDataset(shards, task=task, seed=1, config="en", chars=(300, 600))
        sample = dataset.sample(2)
        assert sample.task == task and sample.pixels
        for page, size in zip(sample.pixels, sample.layout.page_sizes):
            assert page.dtype == torch.uint8 and page.shape[0] in (1, 3)
            assert (page.shape[2], page.shape[1]) == tuple(size)
        # The tensors are the rendered pages.
        expected = glyph.Renderer("en").render(sample.layout.text)
        assert all(np.array_equal(p[0].numpy(), e) for p, e in zip(sample.pixels, expected))
        if task == "ocr":
            assert sample.target == sample.layout.text and 300 <= len(sample.target) <= 600
        elif task == "interleaved":
            before, after = sample.context.split(IMAGE_TOKEN * len(sample.pixels))
            assert sample.target.startswith(before) and sample.target.endswith(after)
            assert len(before) + len(after) < len(sample.target)
        else:
            assert sample.target and sample.layout.text.strip()
    batch = collate([dataset.sample(0), dataset.sample(1)])
    assert batch["index"] == [0, 1] and len(batch["pixels"]) == 2


def test_bad_arguments_are_named(shards, tmp_path):
    with pytest.raises(ValueError, match="unknown \"caption\""):
        GlyphDataset(shards, task="caption")
    with pytest.raises(FileNotFoundError, match="no such text shard"):
        GlyphDataset([tmp_path / "missing.jsonl"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "x"}\n')
    with pytest.raises(ValueError, match="no string \"text\""):
        GlyphDataset([bad]).sample(0)
