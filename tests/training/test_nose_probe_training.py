"""Training the nose probe: how its threshold is chosen, and the command's refusals."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from stack.cli import app
from training.nose_probe import MASKED_COST, Probe, fit_probe, pick_threshold


def wrong(masked: int, scene: int = 0, frames: int = 1000) -> Counter[str]:
    return Counter(
        {"crops mask": masked, "crops mask (frames)": frames, "scene mask": scene, "scene mask (frames)": 0}
    )


def test_the_threshold_is_the_lowest_that_costs_at_most_one_masked_frame_in_the_allowance():
    allowed = 1000 // MASKED_COST
    table = {0.99: wrong(10), 0.98: wrong(10 + allowed), 0.97: wrong(11 + allowed), 0.9: wrong(10)}
    # 0.9 costs nothing here: the rule reads the table, not an assumption that lower costs more.
    assert pick_threshold(table, wrong(10)) == 0.9
    del table[0.9]
    assert pick_threshold(table, wrong(10)) == 0.98
    assert pick_threshold({0.99: wrong(10, scene=allowed + 1)}, wrong(10)) is None


def test_the_fitted_probe_separates_and_serves_the_same_probabilities():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8))
    y = (x[:, 0] + 0.3 * rng.normal(size=400) > 1.0).astype(np.float32)
    probe: Probe = fit_probe(x, y, weight_decay=1e-3)
    chances = probe(x)
    assert chances[y > 0].mean() > 0.8
    assert chances[y == 0].mean() < 0.3
    served = probe.served(0.9, training={}, metrics={})
    np.testing.assert_allclose(served.probabilities(x), chances, rtol=1e-5, atol=1e-6)


def test_train_nose_probe_without_the_data_says_what_is_missing(tmp_path: Path):
    result = CliRunner().invoke(app, ["train-nose-probe", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no crops/train and scenes/dev" in result.output
