"""A PyTorch IterableDataset that renders training samples on the fly (docs/python.md).

    from glyph.data import GlyphDataset
    ds = GlyphDataset(["shard-0.jsonl", "books/"], task="ocr", seed=0, style=StyleSampler(seed=0))
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
    for sample in loader:               # glyph.data.Sample
        sample.pixels                   # list of uint8 tensors (C, H, W), one per page image
        sample.target                   # the text the model should produce
        sample.layout                   # glyph.Layout of the rendered text (char <-> box map)

Texts: .txt files (one document each; a folder stands for its .txt and .jsonl files, sorted) and
.jsonl files (one {"text": ...} per line, the key set by text_key). Only the offsets of the
documents are read up front; each worker reads the documents it renders.

The three pretraining tasks of the Glyph paper:
  "ocr"          a stretch of the document rendered; target: that text (as laid out).
  "interleaved"  a span of the stretch rendered; context: the text with the span replaced by
                 one IMAGE_TOKEN per page; target: the whole stretch.
  "generation"   the beginning of the stretch rendered; target: the text that follows it.

Determinism: sample i (document i mod the document count, its stretch and span, and its style)
depends on (seed, i) only, so it is the same in any worker of any DataLoader; workers take
indices i = worker, worker + workers, ... of range(length).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

import glyph
from glyph.style import StyleSampler

TASKS = ("ocr", "interleaved", "generation")
IMAGE_TOKEN = "<|image|>"


@dataclass
class Sample:
    index: int
    task: str
    pixels: List[torch.Tensor]  # uint8 (C, H, W) per page
    target: str
    layout: glyph.Layout
    context: str = ""  # interleaved: the text around the rendered span
    config: Dict[str, Any] = field(default_factory=dict)


def collate(samples: Sequence[Sample]) -> Dict[str, list]:
    """For DataLoader(batch_size=B, collate_fn=collate): the fields of B samples as lists (pages
    differ in size, so they are not stacked)."""
    return {name: [getattr(s, name) for s in samples]
            for name in ("index", "task", "pixels", "target", "layout", "context", "config")}


def _document_index(paths: Sequence[Union[str, os.PathLike]], text_key: str
                    ) -> List[Tuple[str, int]]:
    """(file, byte offset of the JSONL line, or -1 for a whole .txt file) of every document."""
    files: List[str] = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            files += sorted(os.path.join(p, n) for n in os.listdir(p)
                            if n.endswith((".txt", ".jsonl")))
        elif os.path.exists(p):
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such text shard")
    index: List[Tuple[str, int]] = []
    for f in files:
        if f.endswith(".jsonl"):
            offset = 0
            with open(f, "rb") as stream:
                for line in stream:
                    if line.strip():
                        index.append((f, offset))
                    offset += len(line)
        else:
            index.append((f, -1))
    if not index:
        raise ValueError("no documents in " + ", ".join(os.fspath(p) for p in paths))
    return index


def _read_document(entry: Tuple[str, int], text_key: str) -> str:
    path, offset = entry
    if offset < 0:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    with open(path, "rb") as f:
        f.seek(offset)
        line = f.readline()
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON at byte {offset}: {e}") from None
    if not isinstance(record, dict) or not isinstance(record.get(text_key), str):
        raise ValueError(f"{path}: the line at byte {offset} has no string \"{text_key}\"")
    return record[text_key]


def page_tensor(page: np.ndarray) -> torch.Tensor:
    """A page array as a uint8 (C, H, W) tensor sharing its memory."""
    t = torch.from_numpy(page)
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)


class GlyphDataset(IterableDataset):
    """Rendered samples of text shards; see the module's documentation.

    task: "ocr", "interleaved", "generation", or a list of them (one drawn per sample).
    style: a StyleSampler, a style spec dict, or None for one fixed config (`config`: a preset,
      path, dict; "en" by default).
    chars: [low, high] characters of the stretch of a document each sample takes.
    span: [low, high] fraction of the stretch rendered by "interleaved" and "generation".
    length: samples per pass (default: the number of documents).
    """

    def __init__(self, shards: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]],
                 task: Union[str, Sequence[str]] = "ocr", seed: int = 0,
                 style: Union[None, StyleSampler, Dict[str, Any]] = None,
                 config: Any = "en", chars: Tuple[int, int] = (1000, 4000),
                 span: Tuple[float, float] = (0.2, 0.6), length: Optional[int] = None,
                 text_key: str = "text", renderer_cache: int = 8):
        super().__init__()
        if isinstance(shards, (str, os.PathLike)):
            shards = [shards]
        self.tasks = [task] if isinstance(task, str) else list(task)
        for t in self.tasks:
            if t not in TASKS:
                raise ValueError(f"task: unknown \"{t}\" (known: {', '.join(TASKS)})")
        if not 0 < chars[0] <= chars[1]:
            raise ValueError(f"chars: must be [low, high] with 0 < low <= high, not {chars}")
        if not 0 < span[0] <= span[1] < 1:
            raise ValueError(f"span: must be [low, high] within (0, 1), not {span}")
        self.seed = int(seed)
        if self.seed < 0:
            raise ValueError(f"seed: must be 0 or more, not {seed}")
        self.style = StyleSampler(style, seed) if isinstance(style, dict) else style
        self.config = config
        self.chars = chars
        self.span = span
        self.text_key = text_key
        self.documents = _document_index(shards, text_key)
        self.length = len(self.documents) if length is None else int(length)
        self.renderer_cache = renderer_cache
        self._renderers: Dict[str, glyph.Renderer] = {}

    def __getstate__(self) -> Dict[str, Any]:
        # Renderers stay in their process (a worker started by spawn builds its own).
        state = dict(self.__dict__)
        state["_renderers"] = {}
        return state

    def __len__(self) -> int:
        return self.length

    def _renderer(self, config: Any) -> glyph.Renderer:
        key = json.dumps(config, sort_keys=True)
        renderer = self._renderers.get(key)
        if renderer is None:
            if len(self._renderers) >= self.renderer_cache:
                self._renderers.pop(next(iter(self._renderers)))
            renderer = self._renderers[key] = glyph.Renderer(config, threads=1)
        return renderer

    def sample(self, index: int) -> Sample:
        """Sample `index`, the same wherever it is computed."""
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, self.seed >> 32, int(index), 7])
        task = self.tasks[int(rng.integers(len(self.tasks)))]
        document = _read_document(self.documents[index % len(self.documents)], self.text_key)
        size = int(rng.integers(self.chars[0], self.chars[1] + 1))
        start = int(rng.integers(0, max(1, len(document) - size) + 1))
        stretch = document[start:start + size]
        config = self.style.sample(index) if self.style is not None else self.config
        renderer = self._renderer(config)
        fraction = float(rng.uniform(*self.span))
        context = ""
        if task == "ocr":
            pages, layout = renderer.render_with_layout(stretch)
            target = layout.text
        elif task == "interleaved":
            length = max(1, int(len(stretch) * fraction))
            a = int(rng.integers(0, len(stretch) - length + 1)) if len(stretch) > length else 0
            pages, layout = renderer.render_with_layout(stretch[a:a + length])
            context = stretch[:a] + IMAGE_TOKEN * len(pages) + stretch[a + length:]
            target = stretch
        else:  # generation
            cut = max(1, int(len(stretch) * fraction))
            pages, layout = renderer.render_with_layout(stretch[:cut])
            target = stretch[cut:]
        return Sample(index=int(index), task=task, pixels=[page_tensor(p) for p in pages],
                      target=target, layout=layout, context=context,
                      config=config if isinstance(config, dict) else {"config": str(config)})

    def __iter__(self) -> Iterator[Sample]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for index in range(worker, self.length, workers):
            yield self.sample(index)
