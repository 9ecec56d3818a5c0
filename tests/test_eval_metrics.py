"""pass^k against hand-computed values and a brute-force count; summaries; bootstrap intervals."""

import itertools
from math import isclose

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rods_agents.leaderboard.metrics import BOOTSTRAP, bootstrap_intervals, pass_hat_k, summarize


def episodes_from(outcomes: dict[str, list[int]], domain_of=lambda task: "retail", progress=None) -> list[dict]:
    """Episode records with the given outcomes per task (progress 1 on success, else 0 or given)."""
    rows = []
    for task, results in outcomes.items():
        for trial, outcome in enumerate(results):
            p = 1.0 if outcome else (progress or {}).get(task, 0.0)
            rows.append({"task_id": task, "domain": domain_of(task), "trial": trial, "outcome": outcome,
                         "progress": p})
    return rows


def test_pass_hat_k_by_hand():
    assert pass_hat_k(4, 4, 4) == 1.0
    assert pass_hat_k(0, 4, 1) == 0.0
    assert pass_hat_k(2, 4, 1) == 0.5
    assert isclose(pass_hat_k(2, 4, 2), 1 / 6)        # 1 good pair out of C(4,2) = 6
    assert pass_hat_k(2, 4, 3) == 0.0                  # three successes needed, two exist
    assert isclose(pass_hat_k(3, 5, 2), 3 / 10)       # C(3,2)/C(5,2)


def test_pass_hat_k_rejects_impossible_arguments():
    for args in [(1, 4, 0), (1, 4, 5), (5, 4, 1), (-1, 4, 1)]:
        with pytest.raises(ValueError):
            pass_hat_k(*args)


def test_summary_pass_hat_k_by_hand():
    # Three tasks, four trials, 4, 2 and 0 successes:
    # pass^1 = (1 + 1/2 + 0)/3, pass^2 = (1 + 1/6 + 0)/3, pass^3 = pass^4 = (1 + 0 + 0)/3.
    summary = summarize(episodes_from({"a": [1, 1, 1, 1], "b": [1, 0, 1, 0], "c": [0, 0, 0, 0]}))
    expected = [1 / 2, 7 / 18, 1 / 3, 1 / 3]
    assert all(isclose(got, want) for got, want in zip(summary["pass_hat_k"], expected, strict=True))
    assert summary["tasks"] == 3 and summary["trials"] == 4 and summary["episodes"] == 12
    assert isclose(summary["outcome"], 0.5)


def test_summary_per_domain_by_hand():
    domain_of = {"r1": "retail", "r2": "retail", "t1": "travel"}.get
    summary = summarize(episodes_from({"r1": [1, 1, 1], "r2": [1, 0, 0], "t1": [0, 1, 1]}, domain_of,
                                      progress={"r2": 0.5, "t1": 0.25}))
    retail, travel = summary["domains"]["retail"], summary["domains"]["travel"]
    # retail: pass^1 = (1 + 1/3)/2, pass^2 = (1 + 0)/2, pass^3 = (1 + 0)/2
    assert [round(x, 12) for x in retail["pass_hat_k"]] == [round(x, 12) for x in [2 / 3, 1 / 2, 1 / 2]]
    # travel: 2 of 3: pass^1 = 2/3, pass^2 = C(2,2)/C(3,2) = 1/3, pass^3 = 0
    assert [round(x, 12) for x in travel["pass_hat_k"]] == [round(x, 12) for x in [2 / 3, 1 / 3, 0]]
    # progress: r1 1, r2 (1 + .5 + .5)/3, t1 (.25 + 1 + 1)/3
    assert isclose(retail["progress"], (1 + 2 / 3) / 2)
    assert isclose(travel["progress"], 0.75)
    assert isclose(summary["progress"], (1 + 2 / 3 + 0.75) / 3)
    assert retail["tasks"] == 2 and travel["tasks"] == 1


def test_summary_needs_equal_trials_and_some_episodes():
    with pytest.raises(ValueError, match="same number of trials"):
        summarize(episodes_from({"a": [1, 1], "b": [1]}))
    with pytest.raises(ValueError):
        summarize([])


def test_summary_does_not_depend_on_episode_order():
    rows = episodes_from({f"t{i}": [i % 2, (i // 2) % 2, 1] for i in range(12)})
    shuffled = [rows[i] for i in np.random.default_rng(3).permutation(len(rows))]
    assert summarize(rows) == summarize(shuffled)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=8), st.data())
def test_pass_hat_k_is_the_share_of_k_subsets_that_all_succeed(trials, data):
    k = data.draw(st.integers(1, len(trials)))
    subsets = list(itertools.combinations(trials, k))
    brute = sum(all(s) for s in subsets) / len(subsets)
    assert isclose(pass_hat_k(sum(trials), len(trials), k), brute)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 1), min_size=4, max_size=4), min_size=1, max_size=10))
def test_pass_hat_k_falls_with_k_and_starts_at_the_success_rate(table):
    summary = summarize(episodes_from({f"t{i}": row for i, row in enumerate(table)}))
    values = summary["pass_hat_k"]
    assert all(a >= b - 1e-12 for a, b in zip(values, values[1:]))
    assert isclose(values[0], sum(map(sum, table)) / (4 * len(table)), abs_tol=1e-12)
    for lo, hi in summary["pass_hat_k_ci95"]:
        assert 0 <= lo <= hi <= 1


def test_bootstrap_is_fixed_seeded_and_has_the_expected_width():
    rng = np.random.default_rng(7)
    scores = (rng.random((400, 1)) < 0.5).astype(float)    # 400 coin-flip tasks
    a, b = bootstrap_intervals(scores, "all"), bootstrap_intervals(scores, "all")
    assert np.array_equal(a, b)
    lo, hi = a[0]
    mean = scores.mean()
    assert lo < mean < hi
    # Normal approximation: 2 * 1.96 * sqrt(p(1-p)/n) = 0.098 for p = 0.5, n = 400.
    assert 0.08 < hi - lo < 0.12
    assert not np.array_equal(a, bootstrap_intervals(scores, "retail"))   # each scope its own stream


def test_bootstrap_of_constant_scores_is_a_point():
    intervals = bootstrap_intervals(np.ones((30, 3)), "all")
    assert np.array_equal(intervals, np.ones((3, 2)))
    assert BOOTSTRAP == {"resamples": 1000, "seed": 0, "confidence": 0.95}
