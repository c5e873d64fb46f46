"""Figures render to valid PNGs for shapes the tiny BERT run does not cover (T5's two stacks)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from autopeft.report.collect import Importance, placement_of
from autopeft.report.plots import heatmap_plot, importance_plot


class _T:
    def __init__(self, config: dict[str, object]) -> None:
        self.config = config


def _image(png: bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    assert png.startswith(b"\x89PNG")
    pixels: np.ndarray = mpimg.imread(io.BytesIO(png), format="png")
    return pixels


def test_heatmap_has_one_panel_per_stack(tiny_t5_dir: Path) -> None:
    from autopeft.model.graph import ModelGraph
    from autopeft.model.loading import skeleton

    graph = ModelGraph.from_model(skeleton(str(tiny_t5_dir)))
    p = placement_of([_T({"method": "lora", "lora.modules": "all_attention", "lora.r": 4}),  # type: ignore[list-item]
                      _T({"method": "ia3"})], graph)
    one = _image(heatmap_plot(p))
    only_encoder = placement_of([], graph)
    object.__setattr__(only_encoder, "stacks", {"encoder": 3})
    narrow = _image(heatmap_plot(only_encoder))
    assert one.shape[1] > narrow.shape[1]  # the decoder panel makes the figure wider
    assert one[..., :3].std() > 0.05


def test_importance_plot_lists_the_top_dimensions() -> None:
    imp = Importance(tuple(f"d{i}" for i in range(30)), np.linspace(0, 1, 30) / np.linspace(0, 1, 30).sum(),
                     0.5, 5, 40)
    short = _image(importance_plot(imp, top=5))
    tall = _image(importance_plot(imp, top=16))
    assert tall.shape[0] > short.shape[0]
