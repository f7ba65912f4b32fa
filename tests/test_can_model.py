import numpy as np
import pytest

from kexue_repro.can.model import (
    alternate_normalize,
    stratified_reference,
    topk_uncertainty,
    unconfident_rows,
)
from kexue_repro.can.reference import post_loop


def random_predictions(n: int, m: int, seed: int, temperature: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, m)) * temperature
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True), rng.dirichlet(np.ones(m))


@pytest.mark.parametrize("n, m", [(300, 4), (600, 15), (400, 119)])
@pytest.mark.parametrize("alpha, iterations", [(1, 1), (1, 3), (0.5, 2), (2, 1), (2, 4)])
def test_per_sample_mode_equals_the_posts_loop(n, m, alpha, iterations):
    probs, prior = random_predictions(n, m, seed=n + m)
    expected = post_loop(probs.copy(), prior, k=3, threshold=0.9, alpha=alpha, iters=iterations)
    result = alternate_normalize(probs, prior, k=3, tau=0.9, alpha=alpha, iterations=iterations)
    assert result.unconfident.any() and (~result.unconfident).any()
    np.testing.assert_allclose(result.probs, expected, rtol=0, atol=1e-12)


def test_blocks_of_rows_give_the_same_result_as_one_block(monkeypatch):
    probs, prior = random_predictions(3000, 15, seed=1)
    whole = alternate_normalize(probs, prior, iterations=2).probs
    monkeypatch.setattr("kexue_repro.can.model.BLOCK", 7)
    np.testing.assert_allclose(alternate_normalize(probs, prior, iterations=2).probs, whole, atol=1e-14)


def test_confident_rows_are_untouched_and_rows_stay_distributions():
    probs, prior = random_predictions(500, 15, seed=2)
    result = alternate_normalize(probs, prior, iterations=2)
    np.testing.assert_array_equal(result.probs[~result.unconfident], probs[~result.unconfident])
    np.testing.assert_allclose(result.probs.sum(axis=1), 1.0, atol=1e-12)
    assert not np.allclose(result.probs[result.unconfident], probs[result.unconfident])


def test_batch_mode_with_one_unconfident_row_is_the_per_sample_correction():
    probs, prior = random_predictions(400, 10, seed=3)
    unconfident = np.flatnonzero(unconfident_rows(probs, 3, 0.9))
    keep = np.concatenate([np.flatnonzero(~unconfident_rows(probs, 3, 0.9)), unconfident[:1]])
    single = probs[np.sort(keep)]
    per_sample = alternate_normalize(single, prior, mode="per_sample", iterations=3).probs
    batch = alternate_normalize(single, prior, mode="batch", iterations=3).probs
    np.testing.assert_allclose(batch, per_sample, atol=1e-12)


def test_batch_mode_differs_from_per_sample_with_many_unconfident_rows():
    probs, prior = random_predictions(400, 10, seed=4)
    per_sample = alternate_normalize(probs, prior, mode="per_sample").probs
    batch = alternate_normalize(probs, prior, mode="batch").probs
    assert np.abs(batch - per_sample).max() > 1e-6


def test_uncertainty_of_uniform_and_one_hot_rows():
    rows = np.array([[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(topk_uncertainty(rows, 3), [1.0, 0.0], atol=1e-12)


def test_any_k_rule_flags_every_row_the_topk_rule_flags():
    probs, _ = random_predictions(1000, 8, seed=5)
    topk = unconfident_rows(probs, 3, 0.9, "topk")
    any_k = unconfident_rows(probs, 3, 0.9, "any_k")
    assert np.all(any_k[topk]) and any_k.sum() > topk.sum()


def test_stratified_reference_is_bounded_and_follows_the_predicted_classes():
    probs, _ = random_predictions(20000, 10, seed=6, temperature=4.0)
    confident = np.flatnonzero(~unconfident_rows(probs, 3, 0.9))
    chosen = stratified_reference(confident, probs, seed=0)
    assert len(chosen) == 1000 and len(set(chosen)) == 1000 and set(chosen) <= set(confident)
    share = np.bincount(probs[chosen].argmax(1), minlength=10) / len(chosen)
    expected = np.bincount(probs[confident].argmax(1), minlength=10) / len(confident)
    np.testing.assert_allclose(share, expected, atol=0.01)
    np.testing.assert_array_equal(chosen, stratified_reference(confident, probs, seed=0))


def test_bad_inputs_name_the_problem():
    probs, prior = random_predictions(50, 4, seed=7)
    with pytest.raises(ValueError, match="disagree on the classes"):
        alternate_normalize(probs, prior[:3])
    with pytest.raises(ValueError, match="k=5"):
        alternate_normalize(probs, prior, k=5)
    with pytest.raises(ValueError, match="mode 'loop'"):
        alternate_normalize(probs, prior, mode="loop")


@pytest.mark.parametrize("m, alpha, iterations", [(15, 5, 5), (119, 3, 5), (119, 5, 5)])
def test_per_sample_mode_stays_finite_and_equal_to_the_loop_far_out(m, alpha, iterations):
    """alpha^iterations in the hundreds: the factorised sums overflow unless rows are kept normalised and the
    rows that still overflow are redone as the loop does (the sweep's grid reaches these settings)."""
    rng = np.random.default_rng(m)
    labels = rng.integers(m, size=600)
    concentration = np.full((600, m), 0.3)
    concentration[np.arange(600), labels] += 2.0
    probs = np.stack([rng.dirichlet(c) for c in concentration])
    prior = rng.dirichlet(np.full(m, 2.0))
    expected = post_loop(probs.copy(), prior, alpha=alpha, iters=iterations)
    result = alternate_normalize(probs, prior, alpha=alpha, iterations=iterations).probs
    assert np.isfinite(expected).all() and np.isfinite(result).all()
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-12)
