"""glyph.align: spans map to the patches under their boxes; the loss's gradients reach both
encoders, and a CPU step on a toy batch lowers it."""
import importlib.util

import pytest
import torch

import glyph
from conftest import SOURCE_DIR
from glyph.align import SpanAlignmentLoss, box_patches, patch_grid, span_patches


def load_example():
    spec = importlib.util.spec_from_file_location(
        "alignment_toy", SOURCE_DIR / "python" / "examples" / "alignment_toy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spans_map_to_the_patches_under_their_boxes():
    assert patch_grid(30, 29, 14) == (3, 3)
    assert box_patches([0, 0, 14, 14], 30, 29, 14).tolist() == [0]
    assert sorted(box_patches([13, 13, 15, 15], 30, 29, 14).tolist()) == [0, 1, 3, 4]
    assert box_patches([5, 5, 5, 9], 30, 29, 14).numel() == 0  # empty box
    layout = glyph.Renderer("en").layout("alpha beta\ngamma")
    (first,), (second,) = span_patches(layout, [(0, 5), (11, 16)], 14)
    assert first[0] == 0 and second[0] == 0
    columns = patch_grid(*layout.page_sizes[0][::-1], 14)[1]
    # "gamma" is on the line below "alpha": its patches start at least as low.
    assert second[1].min() // columns >= first[1].min() // columns


def test_gradients_flow_and_a_step_lowers_the_loss():
    example = load_example()
    pixels, patches, words, visual, text, loss_fn = example.setup(seed=1)
    loss = loss_fn([visual(p) for p in pixels], patches, text(words))
    loss.backward()
    for module in (visual, text, loss_fn):
        for name, parameter in module.named_parameters():
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    optimizer = torch.optim.SGD([*visual.parameters(), *text.parameters(),
                                 *loss_fn.parameters()], lr=0.02)
    optimizer.step()
    with torch.no_grad():
        after = loss_fn([visual(p) for p in pixels], patches, text(words))
    assert after < loss

    words, losses = example.train(steps=15, seed=2)
    assert len(words) >= 8 and losses[-1] < 0.5 * losses[0]


def test_bad_batches_are_refused():
    loss_fn = SpanAlignmentLoss(4, 4)
    features = [torch.zeros(9, 4)]
    with pytest.raises(ValueError, match="2 spans"):
        loss_fn(features, [[(0, torch.tensor([1]))]], torch.zeros(1, 4))
    with pytest.raises(ValueError, match="text features"):
        loss_fn(features, [[(0, torch.tensor([1]))]] * 2, torch.zeros(3, 4))
    with pytest.raises(ValueError, match="covers no patch"):
        loss_fn(features, [[(0, torch.tensor([1]))], []], torch.zeros(2, 4))
