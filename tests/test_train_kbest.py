"""K-Best Search algorithm (train/kbest.py) with a cheap deterministic objective."""

from __future__ import annotations

import json

import numpy as np
import pytest

from train.kbest import (
    KBestSearch,
    SearchConfig,
    TrialOutcome,
    alternative_probabilities,
    early_stop_schedule,
    ranks,
)

SPACE = {"width": [6, 8, 10, 12], "block": ["Basic", "Bottleneck", "MBConv"], "levels": [1, 2]}


def score(config: dict, seed: int) -> float:
    """Higher for wider, MBConv, 2 levels; a little seeded noise so trials differ."""
    base = (
        0.6 + 0.02 * config["width"] + 0.05 * (config["block"] == "MBConv") + 0.03 * (config["levels"] == 2)
    )
    return float(min(1.0, base + np.random.default_rng(seed).uniform(-0.02, 0.02)))


def objective(config, seed, stop_rule) -> TrialOutcome:
    auc = score(config, seed)
    for epoch in (1, 2, 3):
        if stop_rule(epoch, auc):
            return TrialOutcome(auc=auc, epochs_run=epoch, abandoned_at=epoch)
    return TrialOutcome(auc=auc, epochs_run=4)


CFG = SearchConfig(k=3, epochs=4, keep_threshold=0.85, seed=7, max_trials=200)


def test_early_stop_schedule_published_and_scaled() -> None:
    assert early_stop_schedule(100) == {10 * (i + 1): pytest.approx(0.75 + 0.025 * i) for i in range(9)}
    assert early_stop_schedule(10) == {i + 1: pytest.approx(0.75 + 0.025 * i) for i in range(9)}
    # 4 epochs: checks at 0.4→1 (0.75), 0.8→1, 1.2→1, 1.6→2, 2→2, 2.4→2, 2.8→3, 3.2→3, 3.6→4 (dropped)
    assert early_stop_schedule(4) == {1: pytest.approx(0.8), 2: pytest.approx(0.875), 3: pytest.approx(0.925)}


def test_rank_softmax_probabilities() -> None:
    pop = [
        {"config": {"a": 1, "b": "x"}, "auc": 0.91},
        {"config": {"a": 2, "b": "x"}, "auc": 0.97},
        {"config": {"a": 1, "b": "y"}, "auc": 0.93},
    ]
    assert ranks(pop) == [1, 3, 2]
    probs = alternative_probabilities(pop, temperature=2.0)
    alts, p = probs["a"]
    # R(1) = 1 + 2 = 3, R(2) = 3 → equal
    assert alts == [1, 2] and np.allclose(p, [0.5, 0.5])
    alts, p = probs["b"]
    # R(x) = 1 + 3 = 4, R(y) = 2 → softmax([2, 1])
    e = np.exp([2.0, 1.0])
    assert alts == ["x", "y"] and np.allclose(p, e / e.sum())
    _, p1 = alternative_probabilities(pop, temperature=1.0)["b"]
    assert p1[0] > p[0]  # lower temperature sharpens towards the better-ranked alternative


def test_temperature_schedule_and_stop(tmp_path) -> None:
    """After the population fills, candidates never beat the worst → T 10, 7, 4, 1, then stop."""
    calls = {"n": 0}

    def obj(config, seed, stop_rule):
        calls["n"] += 1
        return TrialOutcome(auc=0.95 if calls["n"] <= 3 else 0.5, epochs_run=4)

    s = KBestSearch(tmp_path, SPACE, SearchConfig(k=3, epochs=4, keep_threshold=0.9, seed=1), obj)
    s.run()
    phase2 = [t for t in s.trials() if t["phase"] == 2]
    assert [t["temperature"] for t in phase2] == [10.0] * 3 + [7.0] * 3 + [4.0] * 3 + [1.0] * 2 + [1.0]
    assert len(phase2) == 12 and s.state["done"]


def test_search_improves_and_keeps_population(tmp_path) -> None:
    s = KBestSearch(tmp_path, SPACE, CFG, objective)
    summary = s.run()
    pop = s.population()
    assert len(pop) == 3 and summary["done"]
    assert all(m["auc"] >= 0.85 for m in pop)
    assert summary["best_auc"] == pytest.approx(
        max(t["auc"] for t in s.trials() if t["abandoned_at"] is None)
    )
    assert sum(b["trials"] for b in summary["auc_bins"]) + summary["abandoned"] == summary["trials"]
    assert pop[0]["config"]["width"] >= 10
    assert json.loads((tmp_path / "summary.json").read_text())["trials"] == summary["trials"]


def test_resume_equals_uninterrupted(tmp_path) -> None:
    full = KBestSearch(tmp_path / "a", SPACE, CFG, objective)
    full.run()
    part = KBestSearch(tmp_path / "b", SPACE, CFG, objective)
    part.run(stop_after=5)
    # simulate a crash mid-trial: a stray log line for a trial whose state was never saved
    with (tmp_path / "b" / "trials.jsonl").open("a") as fh:
        fh.write(json.dumps({"trial": 5, "phase": 1, "auc": 0.0, "abandoned_at": None}) + "\n")
    again = KBestSearch(tmp_path / "b", SPACE, CFG, objective)
    assert again.resume()
    again.run()
    strip = lambda ts: [{k: v for k, v in t.items() if k != "seconds"} for t in ts]  # noqa: E731
    assert strip(again.trials()) == strip(full.trials())
    assert again.population() == full.population()
