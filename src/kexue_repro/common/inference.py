"""The tests behind the verdicts: each returns a Judgement that decides a claim from a p-value.

A Judgement names its test and its unit (seeds, examples, repeated timings), carries the raw p-value, the
verdict a significant p-value gives and the verdict otherwise, and what would decide the claim if it ends
inconclusive (the sample size that would resolve it at the observed effect and spread, and the smallest
effect the present design detects). ``common.claims.write_claims`` adjusts the p-values of a study's claims
by Holm and decides each claim from its adjusted p-value. Every p-value, interval and power figure comes
from scipy or statsmodels.

Directional tests are two-sided (the interval is the two-sided 1 - alpha interval and the claim is decided
by the side the estimate lies on); equivalence uses TOST, whose interval is the 1 - 2 alpha one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable, mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, TTestPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
)
from statsmodels.stats.weightstats import DescrStatsW

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
POWER = 0.8  # the power at which "needs ~N" and the detectable effect are stated
MAX_N = 100_000  # beyond this a sample size is reported as "more than"


@dataclass(frozen=True)
class Judgement:
    """How a claim is decided: ``significant`` if its (adjusted) p-value is below alpha, else ``otherwise``."""

    test: str
    p_value: float | None
    significant: str
    otherwise: str
    estimate: float | None = None
    interval: tuple[float, float] | None = None
    needed_n: int | None = None  # seeds or examples that resolve the claim at the observed effect and spread
    detectable_effect: float | None = None  # the smallest effect this design detects with power POWER
    to_decide: str | None = None  # what would decide the claim if it ends inconclusive
    no_p_reason: str | None = None  # why no p-value applies

    def verdict(self, alpha: float, p_value: float | None = None) -> str:
        p = self.p_value if p_value is None else p_value
        if p is None:
            return self.otherwise
        return self.significant if p < alpha else self.otherwise


def fixed(verdict: str, reason: str, to_decide: str | None = None, test: str = "none") -> Judgement:
    """A verdict no sampling statistic decides (an exact computation, a count, a missing run): no p-value."""
    return Judgement(test, None, verdict, verdict, to_decide=to_decide, no_p_reason=reason)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (statsmodels' multipletests)."""
    if not p_values:
        return []
    return [float(p) for p in multipletests(list(p_values), method="holm")[1]]


def _values(values: Iterable[float]) -> np.ndarray:
    v = np.asarray(list(values), dtype=float)
    return v[np.isfinite(v)]


def _n_text(n: int | None, unit: str) -> str:
    return f"more than {MAX_N:,} {unit}" if n is None else f"~{n} {unit}"


def _smallest_n(enough: Callable[[int], bool], start: int = 2) -> int | None:
    """The smallest n >= start for which ``enough`` holds (it holds for every larger n too), or None if
    even MAX_N is not enough: doubling, then bisection."""
    high = start
    while not enough(high):
        if high >= MAX_N:
            return None
        high = min(2 * high, MAX_N)
    low = max(start, high // 2)
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle + 1, high)
    return low


def _powered(power: float) -> bool:
    """Power reaches POWER; statsmodels' noncentral t gives nan where the power is numerically 1."""
    return bool(math.isnan(power) or power >= POWER)


def _t_needed(effect: float, sd: float, alpha: float) -> int | None:
    """Sample size at which a two-sided one-sample t-test detects ``effect`` with power POWER."""
    if sd <= 0 or effect == 0:
        return None
    return _smallest_n(lambda n: _powered(TTestPower().power(abs(effect) / sd, n, alpha)))


def _t_detectable(n: int, sd: float, alpha: float) -> float | None:
    if n < 2 or sd <= 0:
        return None
    return float(TTestPower().solve_power(nobs=n, alpha=alpha, power=POWER)) * sd


def _too_few(n: int, unit: str, minimum: int = 2) -> Judgement:
    return fixed(
        INCONCLUSIVE,
        f"fewer than {minimum} {unit} (has {n})",
        to_decide=f"needs at least {minimum} {unit}; has {n}",
    )


def mean_difference(
    differences: Iterable[float],
    alpha: float,
    *,
    unit: str = "seeds",
    threshold: float = 0.0,
    claimed: str = "greater",
) -> Judgement:
    """Claim: the mean of ``differences`` (paired, one per unit) is above ``threshold`` ('greater') or below
    it ('less'). One-sample t-test of differences - threshold, two-sided; the side decides the verdict."""
    d = _values(differences)
    n = len(d)
    if n < 2:
        return _too_few(n, unit)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    sign = 1 if claimed == "greater" else -1
    agrees = sign * (mean - threshold) > 0
    if sd == 0:
        verdict = INCONCLUSIVE if mean == threshold else (REPRODUCED if agrees else NOT_REPRODUCED)
        return Judgement(
            f"paired t over {n} {unit}", None, verdict, verdict, mean, (mean, mean),
            to_decide="every unit gives the same value as the threshold" if verdict == INCONCLUSIVE else None,
            no_p_reason=f"no spread: all {n} {unit} give {mean:.6g}",
        )  # fmt: skip
    test = stats.ttest_1samp(d, threshold)
    low, high = test.confidence_interval(1 - alpha)
    needed, detectable = _t_needed(mean - threshold, sd, alpha), _t_detectable(n, sd, alpha)
    return Judgement(
        test=f"one-sample t on paired differences over {n} {unit} (two-sided, against {threshold:g})",
        p_value=float(test.pvalue),
        significant=REPRODUCED if agrees else NOT_REPRODUCED,
        otherwise=INCONCLUSIVE,
        estimate=mean,
        interval=(float(low), float(high)),
        needed_n=needed,
        detectable_effect=detectable,
        to_decide=f"needs {_n_text(needed, unit)} at the observed effect {mean - threshold:+.4g} and sd "
        f"{sd:.4g}; the smallest effect {n} {unit} detect is {detectable:.4g}",
    )


def log_ratio(
    numerators: Iterable[float],
    denominators: Iterable[float],
    alpha: float,
    *,
    unit: str = "seeds",
    claimed: str = "greater",
) -> Judgement:
    """Claim: numerator / denominator is above 1 ('greater') or below 1 ('less'), paired per unit; the t-test
    runs on the log ratios, the estimate and interval are back on the ratio scale."""
    logs = np.log(np.asarray(list(numerators), float) / np.asarray(list(denominators), float))
    judged = mean_difference(logs, alpha, unit=unit, claimed=claimed)
    if judged.estimate is None:
        return judged
    low, high = judged.interval
    detectable = None if judged.detectable_effect is None else math.exp(judged.detectable_effect)
    return Judgement(
        judged.test.replace("paired differences", "paired log ratios").replace("against 0", "against log 1"),
        judged.p_value, judged.significant, judged.otherwise, math.exp(judged.estimate),
        (math.exp(low), math.exp(high)), judged.needed_n, detectable,
        None if judged.to_decide is None else judged.to_decide + " (on the log scale)",
        judged.no_p_reason,
    )  # fmt: skip


def _tost_needed(mean: float, sd: float, margin: float, alpha: float) -> int | None:
    """Smallest n whose 1 - 2 alpha interval around ``mean`` (sd fixed) fits inside +-margin."""
    room = margin - abs(mean)
    if room <= 0 or sd <= 0:
        return None
    return _smallest_n(lambda n: stats.t.ppf(1 - alpha, n - 1) * sd / math.sqrt(n) < room)


def equivalence(
    differences: Iterable[float], margin: float, alpha: float, *, unit: str = "seeds"
) -> Judgement:
    """Claim: the mean difference lies within +-margin ("no significant change", "about the same").

    Inside the margin the two one-sided tests (statsmodels' ttost_mean) decide: significant -> reproduced.
    Outside it, a one-sided t-test that the mean is beyond the margin decides: significant -> not reproduced.
    """
    d = _values(differences)
    n = len(d)
    if n < 2:
        return _too_few(n, unit)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0:
        inside = abs(mean) < margin
        verdict = REPRODUCED if inside else NOT_REPRODUCED
        return Judgement(f"TOST over {n} {unit}", None, verdict, verdict, mean, (mean, mean),
                         no_p_reason=f"no spread: all {n} {unit} give {mean:.6g}")  # fmt: skip
    low, high = DescrStatsW(d).tconfint_mean(alpha=2 * alpha)
    detectable = _t_detectable(n, sd, 2 * alpha)
    if abs(mean) < margin:
        p = float(DescrStatsW(d).ttost_mean(-margin, margin)[0])
        needed = _tost_needed(mean, sd, margin, alpha)
        return Judgement(
            f"TOST (two one-sided t-tests) over {n} {unit}, margin +-{margin:g}",
            p, REPRODUCED, INCONCLUSIVE, mean, (float(low), float(high)), needed, detectable,
            f"needs {_n_text(needed, unit)} for the {1 - 2 * alpha:.0%} interval (sd {sd:.4g}) to fit inside "
            f"+-{margin:g} at the observed mean {mean:+.4g}",
        )  # fmt: skip
    side = "greater" if mean > 0 else "less"
    p = float(stats.ttest_1samp(d, margin if mean > 0 else -margin, alternative=side).pvalue)
    needed = _t_needed(abs(mean) - margin, sd, 2 * alpha)
    return Judgement(
        f"one-sided t over {n} {unit} that the mean lies beyond the margin +-{margin:g}",
        p, NOT_REPRODUCED, INCONCLUSIVE, mean, (float(low), float(high)),
        needed, detectable,
        f"needs {_n_text(needed, unit)} to show the mean {mean:+.4g} lies beyond +-{margin:g} (sd {sd:.4g})",
    )  # fmt: skip


def paired_predictions(
    correct_a: Sequence[Sequence[bool]],
    correct_b: Sequence[Sequence[bool]],
    alpha: float,
    *,
    claimed: str = "greater",
    strata: str = "seeds",
    points: bool = False,
) -> Judgement:
    """Claim: method a is right on more examples than method b ('greater'), or on fewer ('less').

    Per stratum (a seed, or a run), the same examples are scored by both; the discordant pairs are pooled
    over strata (the stratified McNemar test: under the null every discordant pair is a fair coin, in every
    stratum) and judged by statsmodels' exact McNemar test. The estimate is the pooled accuracy difference
    a - b (in accuracy points with ``points``), its interval the Clopper-Pearson interval of the discordant
    share mapped onto it. The same dev
    examples recur in every stratum, and the test treats their discordant pairs in different strata as
    independent: where an effect is specific to some examples, its p-value is too small.
    """
    if len(correct_a) != len(correct_b):
        raise ValueError(f"paired_predictions: {len(correct_a)} {strata} of a, {len(correct_b)} of b")
    a_only = b_only = total = 0
    for a, b in zip(correct_a, correct_b):
        a, b = np.asarray(a, bool), np.asarray(b, bool)
        if a.shape != b.shape:
            raise ValueError(f"paired_predictions: {a.shape} predictions of a against {b.shape} of b")
        a_only += int((a & ~b).sum())
        b_only += int((~a & b).sum())
        total += a.size
    unit = f"examples ({len(correct_a)} {strata} x paired predictions)"
    if total == 0:
        return _too_few(0, "examples", 1)
    discordant = a_only + b_only
    estimate = (a_only - b_only) / total
    if discordant == 0:
        return fixed(INCONCLUSIVE, "no example changed its outcome between the two methods",
                     to_decide=f"the two methods agree on all {total} examples; no number of examples "
                     "at this agreement decides", test=f"stratified McNemar over {total} {unit}")  # fmt: skip
    p = float(mcnemar([[0, a_only], [b_only, 0]], exact=True).pvalue)
    share_low, share_high = proportion_confint(a_only, discordant, alpha=alpha, method="beta")
    rate = discordant / total
    interval = ((2 * share_low - 1) * rate, (2 * share_high - 1) * rate)
    agrees = (estimate > 0) == (claimed == "greater")
    share = a_only / discordant
    needed = None
    if share != 0.5:
        effect = abs(float(proportion_effectsize(share, 0.5)))
        discordant_needed = _smallest_n(
            lambda n: _powered(NormalIndPower().power(effect, n, alpha, ratio=0)), 1
        )
        needed = None if discordant_needed is None else math.ceil(discordant_needed / rate)
    h = NormalIndPower().solve_power(nobs1=discordant, alpha=alpha, power=POWER, ratio=0)
    detectable = (2 * math.sin(math.asin(math.sqrt(0.5)) + h / 2) ** 2 - 1) * rate
    per = len(correct_a[0]) if len(correct_a) else total
    runs = "" if needed is None else f", i.e. ~{math.ceil(needed / per)} {strata} of {per} examples"
    scale, what = (100.0, "points") if points else (1.0, "as a share")
    return Judgement(
        f"stratified McNemar (exact) over {total} {unit}: {a_only} right only by a, {b_only} only by b",
        p, REPRODUCED if agrees else NOT_REPRODUCED, INCONCLUSIVE, scale * estimate,
        (scale * interval[0], scale * interval[1]), needed, scale * detectable,
        f"needs {_n_text(needed, 'examples')}{runs} (has {len(correct_a)}) at the observed accuracy difference "
        f"{scale * estimate:+.4g} {what} and {discordant} changed outcomes; the smallest difference {total} "
        f"examples detect is {scale * detectable:.3g} {what}",
    )  # fmt: skip


def stratified_proportions(
    tables: Sequence[tuple[int, int, int, int]], alpha: float, *, unit: str = "seeds"
) -> Judgement:
    """Claim: the first group's share of successes is greater than the second's, with (successes 1, trials 1,
    successes 2, trials 2) per stratum. Cochran-Mantel-Haenszel test of the per-stratum 2x2 tables
    (statsmodels' StratifiedTable, two-sided; the pooled odds ratio's side decides); the estimate is the
    difference of the pooled shares with statsmodels' Newcombe interval, power from the pooled shares. A
    stratum with an empty group is left out."""
    usable = [t for t in tables if t[1] > 0 and t[3] > 0]
    if not usable:
        return fixed(INCONCLUSIVE, f"no {unit[:-1]} has both groups non-empty",
                     to_decide=f"needs a {unit[:-1]} with both groups non-empty")  # fmt: skip
    s1, n1, s2, n2 = (sum(t[i] for t in usable) for i in range(4))
    p1, p2 = s1 / n1, s2 / n2
    table = StratifiedTable([np.array([[a, b - a], [c, d - c]], float) for a, b, c, d in usable])
    p = float(table.test_null_odds(correction=False).pvalue)
    if math.isnan(p):
        return fixed(INCONCLUSIVE, "the pooled tables have no variation (every example right or every one wrong)",
                     to_decide="needs examples both right and wrong")  # fmt: skip
    low, high = confint_proportions_2indep(s1, n1, s2, n2, method="newcomb", compare="diff", alpha=alpha)
    ratio = n2 / n1
    h = abs(float(proportion_effectsize(p1, p2)))
    needed = None
    if h > 0:
        nobs1 = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=POWER, ratio=ratio)
        needed = math.ceil(nobs1 * (1 + ratio))
    h_min = float(NormalIndPower().solve_power(nobs1=n1, alpha=alpha, power=POWER, ratio=ratio))
    detectable = min(1.0, math.sin(min(math.pi / 2, math.asin(math.sqrt(p2)) + h_min / 2)) ** 2) - p2
    return Judgement(
        f"Cochran-Mantel-Haenszel over {len(usable)} {unit} of 2x2 tables ({n1 + n2} examples), two-sided",
        p, REPRODUCED if table.oddsratio_pooled > 1 else NOT_REPRODUCED, INCONCLUSIVE, p1 - p2,
        (float(low), float(high)), needed, detectable,
        f"needs ~{needed} examples pooled over {unit} at the observed shares {p1:.3g} and {p2:.3g}; the smallest "
        f"difference {n1 + n2} examples detect is {detectable:.3g}",
    )  # fmt: skip


def _spread(n: int, runs: int) -> float:
    """sd multiplier of a further mean of ``runs`` runs about our mean of n: sqrt(1/runs + 1/n)."""
    return math.sqrt(1 / runs + 1 / n)


def prediction_interval(values: Iterable[float], alpha: float, runs: int = 1) -> tuple[float, float] | None:
    """Where a further run (or a mean of ``runs`` runs) falls with probability 1 - alpha:
    mean +- t sd sqrt(1/runs + 1/n)."""
    v = _values(values)
    n = len(v)
    if n < 2:
        return None
    half = stats.t.ppf(1 - alpha / 2, n - 1) * v.std(ddof=1) * _spread(n, runs)
    return float(v.mean() - half), float(v.mean() + half)


def _further_draw_p(values: np.ndarray, value: float, centre: float, runs: int = 1) -> float:
    n, sd = len(values), float(values.std(ddof=1))
    t = abs(value - centre) / (sd * _spread(n, runs))
    return float(2 * stats.t.sf(t, n - 1))


def anchor_single_run(
    values: Iterable[float], anchor: float, alpha: float, *, unit: str = "seeds", runs: int = 1
) -> Judgement:
    """Claim: the published value, one run (or a mean of ``runs`` runs), is what that many runs of our recipe
    give. It is reproduced while the anchor lies inside our prediction interval for it; the p-value is that
    of the anchor as a further draw (t with n - 1 degrees of freedom), and a significant one says not
    reproduced."""
    v = _values(values)
    n = len(v)
    if n < 2:
        return _too_few(n, unit)
    if v.std(ddof=1) == 0:
        verdict = REPRODUCED if anchor == v[0] else NOT_REPRODUCED
        return Judgement(f"single-run prediction over {n} {unit}", None, verdict, verdict, float(v.mean()),
                         no_p_reason=f"no spread: all {n} {unit} give {v[0]:.6g}")  # fmt: skip
    what = "a single run" if runs == 1 else f"a mean of {runs} runs"
    return Judgement(
        f"prediction interval for {what} from {n} {unit} (anchor as a further draw, t with {n - 1} df)",
        _further_draw_p(v, anchor, float(v.mean()), runs), NOT_REPRODUCED, REPRODUCED, float(v.mean()),
        prediction_interval(v, alpha, runs),
    )  # fmt: skip


def anchor_other_sample(
    values: Iterable[float], anchor: float, alpha: float, sample_sd: float, *, unit: str = "seeds"
) -> Judgement:
    """Claim: a published single run, scored on another sample of the same data (a hidden test set where we
    score dev), is what one run of our recipe gives. Our prediction interval for it adds the two samples'
    sampling variance ``sample_sd^2`` (of the difference between the metric on two independent samples,
    known from a bootstrap over thousands of units) to the seeds' variance sd^2 (1 + 1/n): mean +- t sqrt(sum),
    t with Welch-Satterthwaite's degrees of freedom (n - 1) (sum / (sd^2 (1 + 1/n)))^2 (only the seeds' part
    is estimated from few values). Reproduced while the anchor lies inside; a significant p-value (the anchor
    as a further draw) says not reproduced."""
    v = _values(values)
    n = len(v)
    if n < 2:
        return _too_few(n, unit)
    seeds_var = float(v.var(ddof=1)) * (1 + 1 / n)
    total = seeds_var + sample_sd**2
    if total == 0:
        verdict = REPRODUCED if anchor == v[0] else NOT_REPRODUCED
        return Judgement(f"single-run prediction over {n} {unit}", None, verdict, verdict, float(v.mean()),
                         no_p_reason=f"no spread: all {n} {unit} give {v[0]:.6g}")  # fmt: skip
    df = (n - 1) * (total / seeds_var) ** 2 if seeds_var > 0 else math.inf
    half = stats.t.ppf(1 - alpha / 2, df) * math.sqrt(total)
    p = float(2 * stats.t.sf(abs(anchor - v.mean()) / math.sqrt(total), df))
    return Judgement(
        f"prediction interval for a single run on another sample from {n} {unit} and the samples' spread "
        f"(sd {sample_sd:.3g}; anchor as a further draw, t with {df:.3g} df)",
        p, NOT_REPRODUCED, REPRODUCED, float(v.mean()), (float(v.mean() - half), float(v.mean() + half)),
    )  # fmt: skip


def single_run_beyond_noise(
    differences: Iterable[float], published: float, alpha: float, *, unit: str = "seeds"
) -> Judgement:
    """Claim: a published single-run difference shows an effect, i.e. lies outside the seed-to-seed spread
    of one run's difference when the methods do not differ (0 +- t sd sqrt(1 + 1/n), sd from our paired
    differences at the same scale). Outside: reproduced; inside: inconclusive (one run cannot tell)."""
    d = _values(differences)
    n = len(d)
    if n < 2:
        return _too_few(n, unit)
    sd = float(d.std(ddof=1))
    if sd == 0:
        return fixed(INCONCLUSIVE, f"no spread: all {n} {unit} give {d[0]:.6g}", to_decide="a scale whose "
                     "runs vary, to measure the spread of one run")  # fmt: skip
    half = stats.t.ppf(1 - alpha / 2, n - 1) * sd * math.sqrt(1 + 1 / n)
    return Judgement(
        f"published single-run difference against one run's spread under no effect (sd {sd:.4g} over {n} "
        f"{unit}, t with {n - 1} df)",
        _further_draw_p(d, published, 0.0), REPRODUCED, INCONCLUSIVE, published, (-half, half),
        to_decide=f"the published {published:+.4g} lies within one run's noise +-{half:.4g}; only several "
        "seeds of each method decide the effect",
    )  # fmt: skip
