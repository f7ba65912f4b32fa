"""The tests behind the verdicts, against scipy and statsmodels computed another way on fixed inputs."""

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

from kexue_repro.common import inference
from kexue_repro.common.claims import Claim, ledger_rows

ALPHA = 0.05
A = np.array([84.1, 85.0, 84.6, 83.9, 85.3])
B = np.array([83.7, 84.1, 84.9, 83.2, 84.4])


def test_paired_difference_is_scipys_paired_t_test_and_its_interval():
    judged = inference.mean_difference(A - B, ALPHA)
    reference = stats.ttest_rel(A, B)
    assert judged.p_value == pytest.approx(reference.pvalue, rel=1e-12)
    assert judged.interval == pytest.approx(tuple(reference.confidence_interval(0.95)), rel=1e-12)
    assert judged.verdict(ALPHA) == ("reproduced" if reference.pvalue < ALPHA else "inconclusive")
    assert inference.mean_difference(A - B, ALPHA, claimed="less").verdict(0.5) == "not reproduced"


def test_equivalence_is_statsmodels_tost_and_beyond_the_margin_is_not_reproduced():
    judged = inference.equivalence(A - B, 1.5, ALPHA)
    assert judged.p_value == pytest.approx(ttost_paired(A, B, -1.5, 1.5)[0], rel=1e-12)
    assert judged.verdict(ALPHA) == "reproduced" and judged.significant == "reproduced"
    assert inference.equivalence(A - B, 0.6, ALPHA).verdict(ALPHA) == "inconclusive"  # mean 0.52: too near
    beyond = inference.equivalence(A - B + 3, 1.0, ALPHA)
    one_sided = stats.ttest_1samp(A - B + 3, 1.0, alternative="greater").pvalue
    assert beyond.p_value == pytest.approx(one_sided) and beyond.verdict(ALPHA) == "not reproduced"


def test_holm_matches_the_step_down_by_hand_and_decides_the_ledger():
    assert inference.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    claims = [
        Claim("s", f"c{i}", "claim", "st", "m", 0.0, "crit", "smoke", "ev", section="§1",
              judgement=inference.Judgement("t", p, "reproduced", "inconclusive", to_decide="more seeds"))
        for i, p in enumerate([0.01, 0.04, 0.03])
    ] + [Claim("s", "k", "check", "st", "m", 0.0, "crit", "smoke", "ev", verdict="reproduced",
               no_p_reason="an identity")]  # fmt: skip
    rows = ledger_rows(claims, ALPHA)
    assert [r["verdict_unadjusted"] for r in rows[:3]] == ["reproduced"] * 3
    assert [r["verdict"] for r in rows] == ["reproduced", "inconclusive", "inconclusive", "reproduced"]
    assert rows[1]["p_adjusted"] == pytest.approx(0.06) and rows[3]["p_adjusted"] is None
    assert rows[1]["to_decide"].startswith("reproduced before the Holm adjustment")
    cost = Claim("s", "cost", "claim", "st", "m", 0.0, "crit", "smoke", "ev", section="§1", family="cost",
                 judgement=inference.Judgement("t", 0.001, "reproduced", "inconclusive"))  # fmt: skip
    with_cost = ledger_rows([*claims, cost], ALPHA)
    assert [r["p_adjusted"] for r in with_cost[:3]] == [r["p_adjusted"] for r in rows[:3]]  # its own family
    assert with_cost[4]["p_adjusted"] == pytest.approx(0.001) and with_cost[4]["holm_family"] == "cost"


def test_power_figures_are_statsmodels_solve_power():
    differences = np.array([0.3, -0.4, 0.9, 0.1, 0.6])
    judged = inference.mean_difference(differences, ALPHA)
    effect = differences.mean() / differences.std(ddof=1)
    assert judged.needed_n == math.ceil(TTestPower().solve_power(effect, alpha=ALPHA, power=0.8))
    detectable = TTestPower().solve_power(nobs=5, alpha=ALPHA, power=0.8) * differences.std(ddof=1)
    assert judged.detectable_effect == pytest.approx(detectable, rel=1e-4)
    assert f"~{judged.needed_n} seeds" in judged.to_decide


def test_paired_predictions_pool_discordant_pairs_over_seeds_as_an_exact_binomial_test():
    rng = np.random.default_rng(0)
    a = [rng.random(200) < 0.8 for _ in range(3)]
    b = [rng.random(200) < 0.7 for _ in range(3)]
    only_a = sum(int((x & ~y).sum()) for x, y in zip(a, b))
    only_b = sum(int((~x & y).sum()) for x, y in zip(a, b))
    judged = inference.paired_predictions(a, b, ALPHA)
    assert judged.p_value == pytest.approx(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue, rel=1e-9)
    assert judged.estimate == pytest.approx((only_a - only_b) / 600)
    assert judged.interval[0] < judged.estimate < judged.interval[1]
    assert judged.verdict(ALPHA) == "reproduced"


def test_stratified_proportions_is_statsmodels_cochran_mantel_haenszel():
    tables = [(80, 100, 20, 40), (70, 90, 30, 50), (0, 0, 5, 10)]  # the last stratum has no first group
    judged = inference.stratified_proportions(tables, ALPHA)
    reference = StratifiedTable(
        [np.array([[a, b - a], [c, d - c]], float) for a, b, c, d in tables[:2]]
    ).test_null_odds(correction=False)
    assert judged.p_value == pytest.approx(reference.pvalue) and judged.verdict(ALPHA) == "reproduced"
    assert judged.estimate == pytest.approx(150 / 190 - 50 / 90)
    assert judged.interval[0] < judged.estimate < judged.interval[1]
    flipped = inference.stratified_proportions([(c, d, a, b) for a, b, c, d in tables], ALPHA)
    assert flipped.verdict(ALPHA) == "not reproduced"
    assert inference.stratified_proportions([(0, 0, 5, 10)], ALPHA).verdict(ALPHA) == "inconclusive"


def test_anchor_is_judged_by_the_single_run_prediction_interval_of_ols():
    single, mean_of_5 = (
        inference.prediction_interval(A, ALPHA),
        inference.prediction_interval(A, ALPHA, runs=5),
    )
    ratio = (mean_of_5[1] - mean_of_5[0]) / (single[1] - single[0])
    assert ratio == pytest.approx(math.sqrt((1 / 5 + 1 / 5) / (1 + 1 / 5)))  # n = 5 seeds here
    frame = sm.OLS(A, np.ones_like(A)).fit().get_prediction(np.ones((1, 1))).summary_frame(alpha=ALPHA)
    interval = inference.prediction_interval(A, ALPHA)
    assert interval == pytest.approx((frame["obs_ci_lower"][0], frame["obs_ci_upper"][0]), rel=1e-12)
    assert inference.anchor_single_run(A, 84.0, ALPHA).verdict(ALPHA) == "reproduced"
    assert inference.anchor_single_run(A, interval[1] + 0.01, ALPHA).verdict(ALPHA) == "not reproduced"
    assert inference.single_run_beyond_noise(A - B, 3.0, ALPHA).verdict(ALPHA) == "reproduced"
    assert inference.single_run_beyond_noise(A - B, 0.5, ALPHA).verdict(ALPHA) == "inconclusive"


def test_an_anchor_that_is_a_mean_of_runs_is_judged_against_the_interval_for_such_a_mean():
    values, anchor = [17.2, 18.9, 18.1, 17.6], 19.6
    judged = inference.anchor_single_run(values, anchor, ALPHA, runs=5)
    n, mean, sd = 4, np.mean(values), np.std(values, ddof=1)
    scale = sd * math.sqrt(1 / n + 1 / 5)
    assert judged.p_value == pytest.approx(2 * stats.t.sf(abs(anchor - mean) / scale, n - 1))
    half = stats.t.ppf(0.975, n - 1) * scale
    assert judged.interval == pytest.approx((mean - half, mean + half))
    assert judged.verdict(ALPHA) == "not reproduced"  # outside the interval for a 5-run mean
    assert inference.anchor_single_run(values, anchor, ALPHA).verdict(ALPHA) == "reproduced"


def test_too_few_seeds_say_so_and_what_would_decide():
    judged = inference.mean_difference([1.0], ALPHA)
    assert judged.p_value is None and judged.verdict(ALPHA) == "inconclusive"
    assert "at least 2 seeds" in judged.to_decide
