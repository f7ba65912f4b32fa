"""CAN on one run (counts against the post's loop) and the sweep's halves (tuning never sees the report half)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from can_fixtures import OFFICIAL, POST, TASK, apply_args, synthetic_task

from kexue_repro.can import data
from kexue_repro.can.apply import main
from kexue_repro.can.evaluate import Setting, bits, from_bits, named_settings, outcome
from kexue_repro.can.reference import post_loop
from kexue_repro.can.sweep import grid_settings, split_halves, sweep


def setting(name: str, values: dict) -> Setting:
    return named_settings({name: values}, "test")[name]


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    paths = synthetic_task(tmp_path_factory.mktemp("can"))
    loaded = data.read_task(*(paths["task"] / f for f in ("train.jsonl", "dev.jsonl", "meta.json")))
    runs = [
        (variant, seed, data.read_probabilities(paths["runs"] / variant / f"seed{seed}.npy", loaded, 1e-6))
        for variant in ("vanilla", "other")
        for seed in (0, 1, 2)
    ]
    return paths, loaded, runs


def test_apply_counts_add_up_and_match_the_posts_loop(task, tmp_path):
    paths, loaded, runs = task
    out = tmp_path / "apply.json"

    assert main(apply_args(paths, "vanilla", 1, out)) == 0
    record = json.loads(out.read_text())
    train = [json.loads(line)["label"] for line in (paths["task"] / "train.jsonl").read_text().splitlines()]
    np.testing.assert_allclose(record["prior"], np.bincount(train, minlength=6) / len(train), atol=1e-6)
    assert (
        record["task"] == TASK
        and record["num_classes"] == 6
        and set(record["settings"]) == {"post", "official"}
    )

    probs, labels = runs[1][2], loaded.labels
    expected = post_loop(probs.copy(), loaded.prior)  # k=3, tau=0.9, alpha=1, one iteration
    before, after = probs.argmax(1), expected.argmax(1)
    top = np.sort(probs, axis=1)[:, -3:]
    top /= top.sum(1, keepdims=True)
    unconfident = -(top * np.log(top)).sum(1) / np.log(3) >= 0.9
    post = record["settings"]["post"]
    assert post["accuracy_before"] == pytest.approx((before == labels).mean())
    assert post["accuracy_after"] == pytest.approx((after == labels).mean())
    assert post["n_unconfident"] == unconfident.sum() and post["n_confident"] + post["n_unconfident"] == len(
        labels
    )
    assert post["accuracy_confident"] == pytest.approx((before == labels)[~unconfident].mean())
    assert post["accuracy_unconfident"] == pytest.approx((before == labels)[unconfident].mean())
    assert post["n_changed"] == (before != after).sum() > 0
    assert post["wrong_to_right"] == ((before != labels) & (after == labels)).sum()
    assert post["right_to_wrong"] == ((before == labels) & (after != labels)).sum()
    for r in record["settings"].values():
        assert r["n_changed"] == r["wrong_to_right"] + r["right_to_wrong"] + r["wrong_to_wrong"]
        gain = (r["wrong_to_right"] - r["right_to_wrong"]) / r["n"]
        assert r["accuracy_after"] - r["accuracy_before"] == pytest.approx(gain)
    assert record["accuracy_trivial"] == pytest.approx((labels == np.argmax(loaded.prior)).mean())
    np.testing.assert_array_equal(from_bits(post["correct_before"]), before == labels)
    np.testing.assert_array_equal(from_bits(post["correct_after"]), after == labels)
    official = record["settings"]["official"]
    assert (
        official["n_unconfident"] >= post["n_unconfident"]
        and official["n_reference"] <= official["n_confident"]
    )


def test_two_classes_cap_k_at_two(tmp_path):
    paths = synthetic_task(tmp_path, classes=2)
    loaded = data.read_task(*(paths["task"] / f for f in ("train.jsonl", "dev.jsonl", "meta.json")))
    probs = data.read_probabilities(paths["runs"] / "vanilla" / "seed0.npy", loaded, 1e-6)
    result = outcome(probs, loaded.labels, loaded.prior, setting("post", POST), 0)
    expected = post_loop(probs.copy(), loaded.prior, k=2)
    assert result["k_used"] == 2
    assert result["accuracy_after"] == pytest.approx((expected.argmax(1) == loaded.labels).mean())


def test_halves_are_stratified_disjoint_and_fixed_by_the_seed():
    labels = np.random.default_rng(0).integers(0, 5, size=301)
    tune, report = split_halves(labels, seed=3)
    assert len(np.intersect1d(tune, report)) == 0 and len(tune) + len(report) == len(labels)
    assert abs(len(tune) - len(report)) <= 1
    assert np.all(
        np.abs(np.bincount(labels[tune], minlength=5) - np.bincount(labels[report], minlength=5)) <= 1
    )
    again = split_halves(labels, seed=3)
    np.testing.assert_array_equal(tune, again[0])
    assert not np.array_equal(tune, split_halves(labels, seed=4)[0])


def run_sweep(runs, labels, prior, halves):
    base = setting("post", POST)
    grid = grid_settings(base, [0.6, 0.8, 0.9], [0.5, 1.0, 3.0], [1, 3])
    return sweep(runs, labels, prior, base, grid, halves, reference_seed=0)


def test_sweep_choice_ignores_the_report_half(task):
    _, loaded, runs = task
    labels, prior = loaded.labels, loaded.prior
    halves = split_halves(labels, 0)
    original = run_sweep(runs, labels, prior, halves)
    tune, report = halves
    rng = np.random.default_rng(1)

    def perturbed(rows):
        new_labels = labels.copy()
        new_labels[rows] = rng.permutation(labels[rows])
        new_runs = []
        for variant, seed, probs in runs:
            p = probs.copy()
            p[rows] = rng.dirichlet(np.full(probs.shape[1], 0.3), size=len(rows))
            new_runs.append((variant, seed, p))
        return run_sweep(new_runs, new_labels, prior, halves)

    # The report half's probabilities (reference rows included) and labels replaced, the halves kept (they
    # are drawn once per task, stratified by label): same grid scores and choice.
    changed_report = perturbed(report)
    for variant, result in original["variants"].items():
        other = changed_report["variants"][variant]
        assert other["chosen"] == result["chosen"] and other["grid"] == result["grid"]
        assert [r["accuracy_before"] for r in other["runs"]] != [r["accuracy_before"] for r in result["runs"]]
    # Control: the same change to the tuning half moves the scores the choice is made on.
    changed_tune = perturbed(tune)
    assert any(changed_tune["variants"][v]["grid"] != r["grid"] for v, r in original["variants"].items())


def test_sweep_reports_the_chosen_setting_on_the_report_half(task):
    _, loaded, runs = task
    halves = split_halves(loaded.labels, 0)
    result = run_sweep(runs, loaded.labels, loaded.prior, halves)
    report = halves[1]
    assert result["split"]["n_report"] == len(report)
    for variant, chosen in result["variants"].items():
        best = max(g["tune_accuracy"] for g in chosen["grid"])
        first = next(g for g in chosen["grid"] if g["tune_accuracy"] == best)
        assert chosen["chosen"] == {k: first[k] for k in ("tau", "alpha", "iterations")}
        best_setting = Setting(
            "x", 3, first["tau"], first["alpha"], first["iterations"], "per_sample", "topk", "all"
        )
        for row, (v, seed, probs) in zip(chosen["runs"], [r for r in runs if r[0] == variant]):
            direct = outcome(probs[report], loaded.labels[report], loaded.prior, best_setting, 0)
            assert row["seed"] == seed and row["accuracy_tuned"] == direct["accuracy_after"]
            # per-example correctness on the report half, the unit of claim b
            assert (row["correct_before"], row["correct_tuned"]) == (
                direct["correct_before"],
                direct["correct_after"],
            )
            assert from_bits(row["correct_tuned"]).mean() == pytest.approx(row["accuracy_tuned"])


def test_a_setting_rejects_unknown_options_and_holds_floats():
    with pytest.raises(ValueError, match="'loop' is not one of"):
        setting("x", POST | {"mode": "loop"})
    with pytest.raises(ValueError, match="need integers k >= 2"):
        setting("x", POST | {"k": 3.5})
    with pytest.raises(ValueError, match="test.x: unknown setting 'beta'"):
        setting("x", POST | {"beta": 1.0})
    assert setting("x", OFFICIAL).confusion == "any_k"
    # YAML's alpha: 1 is alpha 1.0 in the records, as the command line's float() made it before.
    assert setting("x", POST | {"alpha": 1}).as_dict()["alpha"] == 1.0
    assert isinstance(setting("x", POST | {"alpha": 1}).alpha, float)


def test_correctness_travels_as_a_string_of_bits():
    mask = np.array([True, False, False, True, True])
    assert bits(mask) == "10011" and from_bits("10011").tolist() == mask.tolist()
    with pytest.raises(ValueError, match="not a string of 0s and 1s"):
        from_bits("10a1")
