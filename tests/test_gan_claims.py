"""Claims of study 8757 on fixed inputs: the training gate, the split Lipschitz rows, Su's variant against GN,
the cost claims over timing rounds, and the cost step's rotation and FLOP count."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from kexue_repro.common.inference import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from kexue_repro.gan import claims, cost

GATE = claims.Gate(ring_min_modes=1, mnist_baseline="mean_image")
ALPHA = 0.05


def ring_run(method: str, seed: int, modes: int, energy: float) -> dict:
    return {"dataset": "ring", "method": method, "seed": seed, "steps": 10, "modes_covered": modes,
            "modes_total": 8, "high_quality_share": 0.1, "energy_distance": energy}  # fmt: skip


def mnist_run(method: str, seed: int, frechet: float) -> dict:
    return {"dataset": "mnist", "method": method, "seed": seed, "steps": 10, "frechet_distance": frechet,
            "frechet_baselines": {"mean_image": 250.0, "uniform_noise": 575.0}}  # fmt: skip


def table(records: list[dict]) -> pd.DataFrame:
    return claims.runs_table(claims.gate_runs(records, GATE))


def test_the_gate_fails_a_ring_run_covering_no_mode_and_digits_no_better_than_the_mean_image():
    runs = table([ring_run("gp", 0, 0, 1.0), ring_run("gn", 0, 3, 0.03), mnist_run("gn", 0, 318.6),
                  mnist_run("gp", 0, 89.1)])  # fmt: skip
    trained = runs.set_index(["dataset", "method"])["trained"]
    assert (
        not trained["ring", "gp"]
        and trained["ring", "gn"]
        and not trained["mnist", "gn"]
        and trained["mnist", "gp"]
    )
    assert runs.set_index(["dataset", "method"]).loc[("mnist", "gn"), "frechet_baseline"] == 250.0
    judged = claims.gate_judgement(runs, "mnist", ["gn", "gp"], GATE)
    assert judged.verdict(ALPHA) == INCONCLUSIVE and judged.p_value is None
    assert judged.to_decide.startswith("run failed: gn seed 0 (Frechet distance 318.6")
    assert claims.gate_judgement(runs, "ring", ["gn"], GATE) is None
    with pytest.raises(ValueError, match="mnist_baseline 'blur'"):
        claims.gate_runs([mnist_run("gn", 0, 1.0)], claims.Gate(1, "blur"))


def test_gn_worse_than_gp_is_a_paired_t_over_seeds_and_inconclusive_while_a_run_failed():
    anchors = pd.DataFrame(columns=["metric", "model", "task", "value", "source"])
    gn, gp = [0.05, 0.04, 0.07], [0.03, 0.035, 0.04]
    runs = table([ring_run("gn", s, 3, e) for s, e in enumerate(gn)]
                 + [ring_run("gp", s, 2, e) for s, e in enumerate(gp)])  # fmt: skip
    row = claims.gn_worse_than_gp(runs, "ring", anchors, GATE, ALPHA, "smoke", "runs.csv")
    expected = stats.ttest_1samp(np.subtract(gn, gp), 0.0)
    assert row.kind == "claim" and row.section and row.judgement.p_value == pytest.approx(expected.pvalue)
    assert row.ours == pytest.approx(np.mean(np.subtract(gn, gp)), abs=1e-6)
    failed = table([ring_run("gn", s, 3, e) for s, e in enumerate(gn)]
                   + [ring_run("gp", s, 0, 2.0) for s in range(3)])  # fmt: skip
    row = claims.gn_worse_than_gp(failed, "ring", anchors, GATE, ALPHA, "smoke", "runs.csv")
    assert row.judgement.verdict(ALPHA) == INCONCLUSIVE and row.judgement.to_decide.startswith(
        "run failed: gp seed 0"
    )


def test_su_variant_against_gn_on_energy_distance_gn_gated_su_exempt():
    su, gn = [1.4698, 1.4573, 1.4582], [0.0339, 0.0301, 0.0440]
    runs = table([ring_run("su", s, 0, e) for s, e in enumerate(su)]
                 + [ring_run("gn", s, m, e) for (s, e), m in zip(enumerate(gn), (3, 2, 5))])  # fmt: skip
    row = claims.su_variant_works_poorly(runs, GATE, ALPHA, "smoke", "runs.csv")
    assert row.judgement.p_value == pytest.approx(stats.ttest_1samp(np.subtract(su, gn), 0.0).pvalue)
    assert row.judgement.verdict(ALPHA) == REPRODUCED  # Su's runs cover 0 modes: exempt from the gate
    assert "Su [0, 0, 0], GN [3, 2, 5]" in row.metric and "(of 8)" in row.metric
    collapsed = table([ring_run("su", s, 0, e) for s, e in enumerate(su)]
                      + [ring_run("gn", s, 0, 1.4) for s in range(3)])  # fmt: skip
    row = claims.su_variant_works_poorly(collapsed, GATE, ALPHA, "smoke", "runs.csv")
    assert row.judgement.verdict(ALPHA) == INCONCLUSIVE and row.judgement.to_decide.startswith(
        "run failed: gn"
    )


def jumps(shares: dict[int, list[float]], worst: dict[int, list[float]], scales=(1e-2, 1e-5)) -> pd.DataFrame:
    rows = [
        {
            "dataset": "ring",
            "method": "gn",
            "seed": seed,
            "scale": s,
            "share_above_1": share,
            "worst_ratio": w,
        }
        for seed in shares
        for s, share, w in zip(scales, shares[seed], worst[seed])
    ]
    return pd.DataFrame(rows)


def test_the_lipschitz_rows_split_into_a_check_and_two_claims():
    shares = {0: [0.21, 0.0004], 1: [0.23, 0.0007], 2: [0.22, 0.0005]}
    worst = {0: [60.7, 2369.0], 1: [57.2, 2348.0], 2: [70.6, 1657.0]}
    frame = jumps(shares, worst)
    found = claims.gn_lipschitz_violations_found(frame, "ring", "smoke", "d.csv")
    assert found.kind == "check" and found.judgement.verdict(ALPHA) == REPRODUCED and found.ours == 2369.0
    falls = claims.gn_violation_share_falls(frame, "ring", ALPHA, "smoke", "d.csv")
    drops = [s[0] - s[1] for s in shares.values()]
    assert falls.kind == "claim" and falls.judgement.p_value == pytest.approx(
        stats.ttest_1samp(drops, 0).pvalue
    )
    grows = claims.gn_worst_ratio_grows(frame, "ring", ALPHA, "smoke", "d.csv")
    logs = [math.log10(w[1] / w[0]) for w in worst.values()]
    assert grows.judgement.p_value == pytest.approx(stats.ttest_1samp(logs, 0).pvalue)
    assert grows.judgement.verdict(ALPHA) == REPRODUCED
    # A seed whose probe saw no violating pair at the smallest s: its worst ratio there is no jump.
    unseen = jumps(shares | {2: [0.22, 0.0]}, worst | {2: [70.6, 0.1]})
    grows = claims.gn_worst_ratio_grows(unseen, "ring", ALPHA, "smoke", "d.csv")
    assert (
        grows.judgement.verdict(ALPHA) == INCONCLUSIVE and "seed 2 at s = 1e-05" in grows.judgement.to_decide
    )
    none = jumps({0: [0.0, 0.0], 1: [0.0, 0.0]}, {0: [0.4, 0.1], 1: [0.1, 0.0]})
    found = claims.gn_lipschitz_violations_found(none, "ring", "smoke", "d.csv")
    assert found.judgement.verdict(ALPHA) == INCONCLUSIVE and "more pairs" in found.judgement.to_decide
    falls = claims.gn_violation_share_falls(none, "ring", ALPHA, "smoke", "d.csv")
    assert falls.judgement.verdict(ALPHA) == INCONCLUSIVE  # no spread, no difference


def test_cost_claims_pair_gn_with_a_baseline_per_timing_round():
    gn, gp, ns = [3.5, 3.6, 3.4, 3.9], [2.9, 3.1, 2.8, 3.0], [3.6, 3.7, 3.5, 3.8]
    timings = pd.DataFrame(
        [{"dataset": "ring", "round": r, "position": 0, "method": m, "seconds_per_step": v[r] / 1000}
         for m, v in (("gn", gn), ("gp", gp), ("ns", ns)) for r in range(4)]
    )  # fmt: skip
    flops = pd.DataFrame([{"dataset": "ring", "method": m, "flops_per_step": f, "saved_for_backward_mib": f / 10}
                          for m, f in (("gn", 48), ("gp", 40), ("ns", 30))])  # fmt: skip
    row = claims.gn_costs_more_than(timings, flops, "ring", "gp", ALPHA, "smoke", "cost.csv")
    logs = np.log(np.divide(gn, gp))
    assert row.judgement.p_value == pytest.approx(stats.ttest_1samp(logs, 0).pvalue)
    assert (
        row.ours == pytest.approx(math.exp(logs.mean()), abs=1e-6)
        and "FLOPs per step GN / gp: 1.2" in row.metric
    )
    assert row.judgement.verdict(ALPHA) == REPRODUCED and "timing rounds" in row.judgement.test
    slower = claims.gn_costs_more_than(timings, flops, "ring", "ns", ALPHA, "smoke", "cost.csv")
    assert slower.judgement.verdict(ALPHA) in (INCONCLUSIVE, NOT_REPRODUCED)
    _, summary = claims.cost_tables(
        {"timings": timings.to_dict("records"), "flops": flops.to_dict("records")}
    )
    gp_row = summary.set_index("method").loc["gp"]
    assert gp_row["median_seconds_per_step"] == pytest.approx(np.median(gp) / 1000)
    assert gp_row["gn_flops_ratio"] == pytest.approx(1.2) and gp_row["saved_for_backward_mib"] == 4.0


def test_the_cost_step_rotates_the_order_and_counts_flops_by_torch_formulas():
    assert [cost.rotation(["gn", "gp", "ns"], r) for r in range(4)] == [
        ["gn", "gp", "ns"], ["gp", "ns", "gn"], ["ns", "gn", "gp"], ["gn", "gp", "ns"]
    ]  # fmt: skip
    a, b = torch.randn(3, 5), torch.randn(5, 7)
    with cost.FlopCount() as counted:
        a @ b
    assert counted.total == 2 * 3 * 5 * 7
    x = torch.randn(4, 6, requires_grad=True)
    with cost.SavedBytes() as saved:
        (x * x).sum()  # mul saves both of its operands
    assert saved.total == 2 * 4 * 6 * 4
