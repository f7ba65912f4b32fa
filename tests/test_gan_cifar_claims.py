"""Claim (f) of study 8757 and the FID-at-step table and plot, from train-cifar records."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from kexue_repro.common.inference import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from kexue_repro.gan import cifar_claims, claims, plots

from conftest import REPO

ANCHORS = pd.read_csv(REPO / "data/anchors/gan.csv")


def record(seed: int, fids: list[float], features: str = "inception", steps: int = 200_000) -> dict:
    curve = [
        {"step": 1000 * (i + 1), "fid_g": fid, "is_mean_g": 7.768 + (fid - 17.8) / 10, "is_std_g": 0.1, "fid_ema": fid - 1,
         "is_mean_ema": 7.8, "is_std_ema": 0.1}
        for i, fid in enumerate(fids)
    ]  # fmt: skip
    return {"seed": seed, "steps": steps, "features": features, "curve": curve}


def test_official_protocol_takes_the_best_fid_of_g_and_the_last_ema_values():
    curve = cifar_claims.curve_table([record(0, [40.0, 17.0, 20.0]), record(1, [30.0, 25.0, 18.0])])
    per_seed = cifar_claims.official_protocol(curve).set_index("seed")
    assert per_seed.loc[0, "fid"] == 17.0 and per_seed.loc[0, "best_step"] == 2000
    assert per_seed.loc[0, "inception_score"] == pytest.approx(7.768 - 0.08)
    assert per_seed.loc[1, "fid_ema_last"] == 17.0 and per_seed.loc[1, "last_step"] == 3000


def verdict(row) -> str:
    return row.judgement.verdict(0.05)


def test_full_scale_claims_compare_with_the_authors_anchor(tmp_path):
    near = [record(s, [30.0, 17.7 + 0.1 * s]) for s in range(3)]
    fid = cifar_claims.full_scale(near, ANCHORS, "fid", 0.05, "curve.csv")
    assert verdict(fid) == REPRODUCED and fid.anchor == 17.725 and fid.scale == "full" and fid.kind == "claim"
    assert fid.seeds == [0, 1, 2] and "Faster-GNGAN" in fid.anchor_source and "mean of 5" in fid.statement
    far = [record(s, [30.0, 25.0 + 0.1 * s]) for s in range(3)]
    assert verdict(cifar_claims.full_scale(far, ANCHORS, "fid", 0.05, "c")) == NOT_REPRODUCED
    is_claim = cifar_claims.full_scale(near, ANCHORS, "inception_score", 0.05, "c")
    assert is_claim.anchor == 7.768 and verdict(is_claim) == REPRODUCED


def test_another_recipe_than_the_anchors_is_never_compared_and_one_seed_is_inconclusive():
    inception = [record(s, [17.7 + 0.1 * s]) for s in range(3)]
    assert verdict(cifar_claims.full_scale(inception, ANCHORS, "fid", 0.05, "c")) == REPRODUCED
    for records in ([record(s, [17.7 + 0.1 * s], "random") for s in range(3)],
                    [record(s, [17.7 + 0.1 * s], steps=2000) for s in range(3)]):  # fmt: skip
        row = cifar_claims.full_scale(records, ANCHORS, "fid", 0.05, "c")
        assert verdict(row) == INCONCLUSIVE and row.judgement.p_value is None
        assert row.judgement.to_decide.startswith("needs the full-scale run")
    single = cifar_claims.full_scale([record(0, [17.7])], ANCHORS, "fid", 0.05, "c")
    assert verdict(single) == INCONCLUSIVE and single.interval is None


def test_the_number_of_runs_an_anchor_averages_comes_from_its_note():
    assert cifar_claims.anchor_runs("mean of 5 seeds") == 5 and cifar_claims.anchor_runs(math.nan) == 1


def test_curve_table_and_plot_are_written(tmp_path):
    curve = cifar_claims.curve_table([record(0, [40.0, 20.0]), record(1, [35.0, 19.0])])
    assert list(curve.columns) == cifar_claims.CURVE_FIELDS and len(curve) == 4
    plots.plot_curve(curve, tmp_path / "curve.png", "full")
    assert (tmp_path / "curve.png").stat().st_size > 1000


def test_full_scale_claims_write_the_curve_files_and_headline_metrics(tmp_path):
    records = [record(seed, [30.0, 17.7 + 0.1 * seed]) for seed in range(3)]
    headline = {}
    rows = cifar_claims.full_scale_claims(
        records, ANCHORS, 0.05, tmp_path / "curve.csv", tmp_path / "curve.png", headline
    )
    assert [row.claim_id for row in rows] == ["f.full_scale_fid", "f.full_scale_inception_score"]
    assert {row.code for row in rows} == {"src/kexue_repro/gan/cifar_claims.py:full_scale"}
    assert rows[0].evidence == str(tmp_path / "curve.csv")
    assert headline["cifar10_gn_fid"] == pytest.approx(17.8)
    assert len(pd.read_csv(tmp_path / "curve.csv")) == 6 and (tmp_path / "curve.png").is_file()


def test_claims_step_refuses_cifar_runs_without_the_curve_paths(tmp_path):
    config = claims.ClaimsConfig(confidence=0.95, tolerance=1e-6, gate=claims.Gate(1, "mean_image"))
    (tmp_path / "run.json").write_text(json.dumps(record(0, [30.0])))
    with pytest.raises(ValueError, match="--cifar-curve-csv"):
        claims.write_outputs(
            [], [], [], "", "", "", config, "full", tmp_path, tmp_path, "c.json", "m.json", "n.json",
            [str(tmp_path / "run.json")], None, None,
        )  # fmt: skip
