"""The alignment signal between a rendered span and its text (docs/python.md).

A vision-language model that reads rendered pages should give the patches where a span of text is
drawn features close to the embeddings of that span's text. The layout map says where each span
is: spans (character ranges) -> boxes (glyph.Layout.span_boxes) -> the indices of the patches
the boxes cover on the model's patch grid (span_patches). SpanAlignmentLoss pools the visual
features of those patches and the text embeddings of the span, projects both into one space and
applies a symmetric InfoNCE loss over the spans of a batch (each span's visual side must pick its
own text among the others', and the other way round).

    patches = span_patches(layout, spans, patch_size=14, page_shapes=[p.shape[-2:] for p in px])
    loss = SpanAlignmentLoss(visual_dim, text_dim)(page_features, patches, span_text_features)

page_features[p] is (rows * columns, visual_dim), row-major over the patch grid of page p (the
page image cut into patch_size squares; a partial last row or column counts as a patch). The toy
example python/examples/alignment_toy.py trains it on CPU.

Limits: a span is paired with the patches of its boxes' whole line height; text embeddings are
pooled per span by the caller (a mean over the span's tokens, say), since tokenizers differ.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

import glyph


def patch_grid(height: int, width: int, patch_size: int) -> Tuple[int, int]:
    """(rows, columns) of the patch grid of a height x width image."""
    return math.ceil(height / patch_size), math.ceil(width / patch_size)


def box_patches(box, height: int, width: int, patch_size: int) -> torch.Tensor:
    """Row-major indices of the patches a pixel box [x0, y0, x1, y1] overlaps."""
    rows, columns = patch_grid(height, width, patch_size)
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        return torch.empty(0, dtype=torch.long)
    c0, c1 = int(x0 // patch_size), min(columns - 1, int(math.ceil(x1 / patch_size)) - 1)
    r0, r1 = int(y0 // patch_size), min(rows - 1, int(math.ceil(y1 / patch_size)) - 1)
    r = torch.arange(r0, r1 + 1).unsqueeze(1)
    c = torch.arange(c0, c1 + 1).unsqueeze(0)
    return (r * columns + c).reshape(-1)


def span_patches(layout: glyph.Layout, spans: Sequence[Tuple[int, int]], patch_size: int
                 ) -> List[List[Tuple[int, torch.Tensor]]]:
    """For each span [start, end) of layout.text, its (page, patch indices) on every page it is
    drawn on, from the boxes of its characters."""
    out = []
    for start, end in spans:
        by_page = {}
        for page, box in layout.span_boxes(start, end):
            width, height = (int(v) for v in layout.page_sizes[page])
            found = box_patches(box, height, width, patch_size)
            by_page.setdefault(page, []).append(found)
        out.append([(page, torch.unique(torch.cat(parts))) for page, parts in sorted(by_page.items())])
    return out


class SpanAlignmentLoss(nn.Module):
    """Symmetric InfoNCE between the pooled visual features of each span's patches and its text
    features, both projected to `dim` and L2-normalized; a learned temperature."""

    def __init__(self, visual_dim: int, text_dim: int, dim: int = 128, temperature: float = 0.07):
        super().__init__()
        self.visual_projection = nn.Linear(visual_dim, dim)
        self.text_projection = nn.Linear(text_dim, dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))

    def pool_visual(self, page_features: Sequence[torch.Tensor],
                    patches: Sequence[Sequence[Tuple[int, torch.Tensor]]]) -> torch.Tensor:
        """(spans, visual_dim): the mean feature over every patch of each span."""
        pooled = []
        for i, parts in enumerate(patches):
            chosen = [page_features[page][index] for page, index in parts if len(index)]
            if not chosen:
                raise ValueError(f"span {i} covers no patch (an empty span, or one not drawn)")
            pooled.append(torch.cat(chosen).mean(dim=0))
        return torch.stack(pooled)

    def forward(self, page_features: Sequence[torch.Tensor],
                patches: Sequence[Sequence[Tuple[int, torch.Tensor]]],
                text_features: torch.Tensor) -> torch.Tensor:
        if len(patches) != len(text_features):
            raise ValueError(f"{len(patches)} spans of patches but {len(text_features)} text "
                             "features")
        if len(patches) < 2:
            raise ValueError("the contrastive loss needs at least 2 spans in a batch")
        visual = F.normalize(self.visual_projection(self.pool_visual(page_features, patches)),
                             dim=-1)
        text = F.normalize(self.text_projection(text_features), dim=-1)
        logits = self.log_scale.exp().clamp(max=100) * visual @ text.t()
        labels = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
