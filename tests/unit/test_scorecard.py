"""The scorecard collects saved scores into method x check cells with pass/fail."""

import pandas as pd
import pytest

from saliency_sanity.figures.scorecard import RANK_THRESHOLD, scorecard_table


def rank_csv(path, values):
    rows = [{"step": 0, "layer": "original", "method": m, "metric": "spearman", "variant": "abs",
             "mean": 1.0, "std": 0.0} for m in values]  # fmt: skip
    for method, per_step in values.items():
        for step, v in enumerate(per_step, start=1):
            base = {"step": step, "layer": f"l{step}", "method": method, "metric": "spearman"}
            rows.append({**base, "variant": "abs", "mean": v, "std": 0.1})
            rows.append({**base, "variant": "signed", "mean": -9.0, "std": 0.0})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_cells_and_pass_rules(tmp_path):
    cascading = rank_csv(
        tmp_path / "c.csv", {"gradient": [0.6, 0.1], "guided_backprop": [0.9, 0.8]}
    )
    independent = rank_csv(tmp_path / "i.csv", {"gradient": [0.2, 0.7]})
    entries = [{"claims": [
        {"id": "kindermans2017.invariance.cat.gradient", "measured": 1e-7},
        {"id": "kindermans2017.invariance.cat.integrated_gradients_zero", "measured": 0.4},
        {"id": "gupta2019.cgi_mass_random_labels", "measured": 0.02},
        {"id": "samek2020.lrp0_minus_gi", "measured": 0.0},
    ]}]  # fmt: skip
    table = scorecard_table({"cascading": cascading, "independent": independent}, None,
                            entries, "cnn").set_index(["method", "check"])  # fmt: skip
    # cascading: the last step; independent: the largest single-layer value
    assert table.loc[("gradient", "cascading randomisation"), "score"] == 0.1
    assert table.loc[("gradient", "cascading randomisation"), "passes"]
    assert not table.loc[("guided_backprop", "cascading randomisation"), "passes"]
    assert table.loc[("gradient", "independent randomisation"), "score"] == 0.7
    assert not table.loc[("gradient", "independent randomisation"), "passes"]
    assert table.loc[("gradient", "cat shift"), "passes"]
    assert not table.loc[("integrated_gradients", "cat shift"), "passes"]
    assert table.loc[("competitive_gradient_input", "data randomisation"), "passes"]
    assert len(table) == 6  # the samek2020 claim is not a scorecard check
    assert (table["threshold"].xs("cascading randomisation", level=1) == RANK_THRESHOLD).all()


def test_two_scores_for_one_cell_are_refused(tmp_path):
    cascading = rank_csv(tmp_path / "c.csv", {"gradient": [0.1]})
    entries = [{"claims": [{"id": "kindermans2017.invariance.cat.gradient", "measured": 0.0}]}] * 2
    with pytest.raises(ValueError, match="two scores for one cell"):
        scorecard_table({"cascading": cascading}, None, entries, "cnn")
