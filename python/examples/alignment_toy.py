#!/usr/bin/python3
"""A toy run of the span alignment loss on CPU (docs/python.md): a page is rendered, its words are
the spans, a one-layer patch encoder gives the visual features and a character-embedding bag the
text features; a few Adam steps pull each word's patches towards its own text.

    PYTHONPATH=build/python python3 python/examples/alignment_toy.py [--steps 40]

Prints the loss before and after; it falls from about ln(spans) to well under it in a few seconds.
"""
import argparse
import re

import torch
import torch.nn.functional as F
from torch import nn

import glyph
from glyph.align import SpanAlignmentLoss, patch_grid, span_patches

TEXT = ("Glyph renders long text into compact page images that a vision language model reads. "
        "Each word below is a span whose patches should match its own characters. "
        "Alignment pairs visual features with text embeddings through the layout map.")
PATCH = 14


class PatchEncoder(nn.Module):
    """Cuts a gray page into PATCH x PATCH squares and maps each to a feature vector."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.Conv2d(1, dim, kernel_size=PATCH, stride=PATCH)

    def forward(self, page: torch.Tensor) -> torch.Tensor:  # (H, W) uint8
        rows, columns = patch_grid(page.shape[0], page.shape[1], PATCH)
        x = 1.0 - page.float() / 255.0
        x = F.pad(x, (0, columns * PATCH - page.shape[1], 0, rows * PATCH - page.shape[0]))
        features = self.conv(x[None, None])[0]  # (dim, rows, columns)
        return features.flatten(1).t()  # (rows * columns, dim), row-major


class CharacterBag(nn.Module):
    """The mean of learned embeddings of a span's characters."""

    def __init__(self, dim: int):
        super().__init__()
        self.embedding = nn.EmbeddingBag(512, dim, mode="mean")

    def forward(self, texts):
        ids = [torch.tensor([ord(c) % 512 for c in t]) for t in texts]
        offsets = torch.tensor([0] + [len(i) for i in ids[:-1]]).cumsum(0)
        return self.embedding(torch.cat(ids), offsets)


def setup(seed: int = 0):
    torch.manual_seed(seed)
    renderer = glyph.Renderer({"page-size": "360,200", "dpi": 72, "margin-x": 8, "margin-y": 8,
                               "font-size": 12, "line-height": 15, "alignment": "LEFT"})
    pages, layout = renderer.render_with_layout(TEXT)
    spans = [m.span() for m in re.finditer(r"\w{3,}", layout.text)][:24]
    patches = span_patches(layout, spans, PATCH)
    words = [layout.text[a:b] for a, b in spans]
    pixels = [torch.from_numpy(p) for p in pages]
    visual, text = PatchEncoder(32), CharacterBag(32)
    loss_fn = SpanAlignmentLoss(32, 32, dim=64)
    return pixels, patches, words, visual, text, loss_fn


def train(steps: int = 40, seed: int = 0):
    pixels, patches, words, visual, text, loss_fn = setup(seed)
    parameters = [*visual.parameters(), *text.parameters(), *loss_fn.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    losses = []
    for _ in range(steps):
        loss = loss_fn([visual(p) for p in pixels], patches, text(words))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return words, losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    words, losses = train(args.steps)
    print(f"{len(words)} spans; loss {losses[0]:.3f} -> {losses[-1]:.3f} after {args.steps} steps")
