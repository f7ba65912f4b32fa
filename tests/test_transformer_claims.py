"""Study 8747's claims step on small fabricated step outputs: each verdict follows from the numbers."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from kexue_repro.common.claims import read_claims
from kexue_repro.transformer.claims import anchor_row, exact_distribution, main, variance_z_test

H1 = 2.9  # the fabricated corpus' unigram entropy
SEEDS = (0, 1, 2, 3)
PROFILES = {  # grad_rel from the bottom layer to the top, per norm and initialiser (before seed jitter)
    ("post", "tf_truncated"): [1.01, 0.99, 1.0],
    ("post", "hf_normal"): [1.02, 0.98, 1.0],
    ("post", "xavier"): [0.6, 0.3, 1.0],
    ("post", "normal_0.1"): [60.0, 5.0, 1.0],
    ("pre", "tf_truncated"): [1.3, 1.1, 1.0],
    ("pre", "hf_normal"): [1.4, 1.2, 1.0],
    ("pre", "xavier"): [2.5, 1.5, 1.0],
    ("pre", "normal_0.1"): [90.0, 9.0, 1.0],
}


def jitter(seed: int, norm: str = "post") -> float:
    """A seed's multiplicative spread, different for the two norms (so their contrasts have a spread too)."""
    return math.exp((0.02 if norm == "post" else 0.03) * (seed - 1.5))


def gradflow_record(profiles: dict) -> dict:
    rows = []
    for (norm, init), profile in profiles.items():
        for seed in SEEDS:
            rel = [v * jitter(seed, norm) if i < len(profile) - 1 else 1.0 for i, v in enumerate(profile)]
            rows.append(
                {"norm": norm, "init": init, "seed": seed, "loss": 7.0 + (init == "normal_0.1"),
                 "grad_norm": [0.1 * v for v in rel], "grad_rel": rel, "weight_grad_norm": [0.2 * v for v in rel],
                 "weight_grad_rel": rel, "var_attn": [0.1] * 3, "var_ffn": [0.2] * 3, "path_weight": [0.8, 0.9, 1.0]}
            )  # fmt: skip
    configuration = {
        "name": "tiny",
        "depth": 3,
        "width": 768,
        "heads": 12,
        "ffn": 3072,
        "vocab": 50,
        "seq_len": 8,
    }
    return {"configuration": configuration | {"batch_size": 2, "mask_prob": 0.15}, "rows": rows}


SETTINGS = {  # the transformer.claims block
    "confidence": 0.95, "flat_log_margin": 0.3466, "identity_tol": 1e-12, "sweep_head": "dense_ln",
    "last_ln": {"lr": 0.001, "warmup_steps": 40},
}  # fmt: skip


def run_record(
    norm: str, head: str, lr: float, warmup: int, seed: int, final: float | None, ratio: float = 1.0
) -> dict:
    return {
        "norm": norm, "head": head, "lr": lr, "warmup_steps": warmup, "seed": seed, "curve": [3.4, 3.0, final],
        "initial_loss": 3.45, "final_loss": final, "unigram_entropy": H1, "topic_entropy": 1.1,
        "last_ln_ratio": ratio, "ln_mean_abs_gamma": [1.0, 1.0, ratio],
    }  # fmt: skip


def write(path: Path, obj: dict) -> str:
    path.write_text(json.dumps(obj))
    return str(path)


def fabricate(tmp_path: Path, finals: dict | None = None, profiles: dict = PROFILES) -> list[str]:
    """The step outputs; ``finals`` overrides the final loss of (norm, lr, warmup) per seed (a list)."""
    finals = {("post", 0.005, 0): [3.0, 3.05, 2.98, 3.02], ("post", 0.005, 40): [2.2, 2.25, 2.1, 2.15]} | (
        finals or {}
    )
    runs = []
    for seed in SEEDS:
        for norm in ("post", "pre"):
            for lr in (0.001, 0.005):
                for warmup in (0, 40):
                    final = finals.get(
                        (norm, lr, warmup), [2.0 - 0.01 * s * (1 + (norm == "pre")) for s in SEEDS]
                    )
                    runs.append(
                        run_record(norm, "dense_ln", lr, warmup, seed, final[seed], ratio=1.0 + 0.01 * seed)
                    )
        runs.append(run_record("post", "plain", 0.001, 40, seed, 1.9, ratio=1.3 + 0.03 * seed))
    run_paths = [write(tmp_path / f"run{i}.json", run) for i, run in enumerate(runs)]
    init_std = {"rows": [
        {"init": "tf_truncated", "rows": 768, "cols": 768, "samples": 9437184, "std": 0.0175931},
        {"init": "xavier", "rows": 768, "cols": 768, "samples": 9437184, "std": 0.0360811},
    ]}  # fmt: skip
    mae = {"n": 8, "keep_prob": 0.25, "logit_std": 2.0, "seed": 0, "identity_max_abs_error": 1.1e-16,
           "exact_max_abs_gap": 0.54,
           "monte_carlo": [{"samples": 1000, "max_abs_gap": 0.53, "mean_abs_gap": 0.08, "max_z": 38.0,
                            "max_std_error": 0.014, "max_abs_to_exact": 0.02}]}  # fmt: skip
    argv = [
        "--settings",
        json.dumps(SETTINGS),
        "--gradflow",
        write(tmp_path / "gradflow.json", gradflow_record(profiles)),
    ]
    argv += ["--init-std", write(tmp_path / "std.json", init_std), "--runs", *run_paths]
    argv += ["--mae", write(tmp_path / "mae.json", mae), "--anchors", "data/anchors/transformer.csv"]
    argv += [
        "--tables-dir",
        str(tmp_path / "tables"),
        "--plots-dir",
        str(tmp_path / "plots"),
        "--scale",
        "smoke",
    ]
    return argv + [
        "--claims-out",
        str(tmp_path / "claims.json"),
        "--metrics-out",
        str(tmp_path / "metrics.json"),
        "--numbers-out",
        str(tmp_path / "numbers.json"),
    ]


@pytest.fixture
def no_plots(monkeypatch):
    """Tests of verdicts only skip the figures (the first test draws them): most of a claims step's time."""
    from kexue_repro.transformer import claims

    for name in ("plot_gradflow", "plot_curves", "plot_last_ln", "plot_mae"):
        monkeypatch.setattr(claims, name, lambda *args, **kwargs: None)


def ledger(tmp_path: Path) -> dict[str, dict]:
    return {row["claim_id"]: row for row in read_claims(tmp_path / "claims.json")}


def test_claims_reproduced_from_numbers_that_show_them(tmp_path):
    assert main(fabricate(tmp_path)) == 0
    claims = ledger(tmp_path)
    assert {c: r["verdict"] for c, r in claims.items() if r["verdict"] != "reproduced"} == {}
    checks = sorted(c for c, r in claims.items() if r["kind"] == "check")
    assert checks == [
        "a.init_std.tf_truncated",
        "a.init_std.xavier",
        "gate.runs_train.last_ln",
        "gate.runs_train.sweep",
        "j.mae_expected_mask_identity",
        "k.mae_mean_masked_attention_is_not_a",
    ]
    # one configuration: 2 flat + vanishes + explodes + 4 Pre-LN + the Pre/Post contrast; 4 warmup; 2 gamma
    assert len(claims) - len(checks) == 15
    for row in claims.values():  # every claim has a section and a p-value adjusted by Holm
        if row["kind"] == "claim":
            assert row["section"] and row["p_value"] <= row["p_adjusted"] < 0.05, row["claim_id"]
    assert claims["c.post_ln_xavier_vanishes.tiny"]["anchor"] is None  # no seen figure for L3_d768
    assert claims["b.post_ln_std_0.02_flat.tiny.tf_truncated"]["test"].startswith("TOST")
    assert claims["m.pre_ln_ends_below_post_ln_without_warmup"]["seeds"] == list(SEEDS)
    anchors = pd.read_csv("data/anchors/transformer.csv")
    assert anchor_row(anchors, "gradflow", "min_rel_grad_norm", "L48_d256")["value"] == 0.10
    assert claims["a.init_std.tf_truncated"]["anchor"] == 0.0175925
    assert claims["d.post_ln_std_0.1_explodes.tiny"]["code"] == (
        "src/kexue_repro/transformer/claims.py:post_ln_std_0_1_explodes"
    )
    for claim_id, row in claims.items():  # one function per claim id, named after it
        path, function = row["code"].split(":")
        assert path == "src/kexue_repro/transformer/claims.py"
        assert function in re.sub(r"[^a-z0-9]+", "_", claim_id), claim_id
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert all(isinstance(v, (int, float)) for v in numbers.values())
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics) == {"transformer", "ln_flow"} and metrics["transformer"].count("/") == 2
    runs = pd.read_csv(tmp_path / "tables" / "mlm_runs.csv")
    assert not [c for c in runs.columns if "second" in c]  # nothing from a clock in a hashed table
    for name in ("gradflow_tiny", "mlm_curves", "last_ln_gamma", "mae_gap"):
        assert (tmp_path / "plots" / f"{name}.png").is_file()


def test_claims_follow_contrary_numbers(tmp_path, no_plots):
    contrary = PROFILES | {
        ("post", "tf_truncated"): [2.0, 1.5, 1.0],  # far from flat
        ("post", "xavier"): [1.5, 0.95, 1.0],  # grows toward the input
        ("post", "normal_0.1"): [0.5, 1.5, 1.0],  # shrinks toward the input
    }
    learned = {("post", 0.005, 0): [2.0, 2.1, 2.05, 1.95]}  # Post-LN learns without warmup
    assert main(fabricate(tmp_path, learned, profiles=contrary)) == 0
    found = {c: r["verdict"] for c, r in ledger(tmp_path).items()}
    assert found["b.post_ln_std_0.02_flat.tiny.tf_truncated"] == "not reproduced"
    assert found["b.post_ln_std_0.02_flat.tiny.hf_normal"] == "reproduced"
    assert found["c.post_ln_xavier_vanishes.tiny"] == "not reproduced"
    assert found["d.post_ln_std_0.1_explodes.tiny"] == "not reproduced"
    assert found["f.post_ln_stalls_without_warmup"] == "not reproduced"  # below H1 in every seed


def test_a_stall_within_the_seeds_noise_of_h1_is_inconclusive(tmp_path, no_plots):
    assert main(fabricate(tmp_path, {("post", 0.005, 0): [2.95, 2.85, 3.0, 2.82]})) == 0
    row = ledger(tmp_path)["f.post_ln_stalls_without_warmup"]
    assert row["verdict"] == "inconclusive" and row["needed_n"] > len(SEEDS) and "seeds" in row["to_decide"]


def test_runs_that_did_not_train_decide_nothing(tmp_path, no_plots):
    stuck = [3.0, 3.1, 2.95, 3.05]
    assert (
        main(fabricate(tmp_path, {("post", 0.001, 0): stuck, ("post", 0.005, 0): [3.0, None, 3.1, 3.0]})) == 0
    )
    claims = ledger(tmp_path)
    assert claims["gate.runs_train.sweep"]["verdict"] == "not reproduced"
    for claim_id in ("f.post_ln_stalls_without_warmup", "g.pre_ln_learns_without_warmup",
                     "m.pre_ln_ends_below_post_ln_without_warmup", "h.warmup_fixes_post_ln"):  # fmt: skip
        row = claims[claim_id]
        assert row["verdict"] == "inconclusive" and row["to_decide"].startswith("run failed: post lr 0.001")
        assert row["p_value"] is None and row["no_p_reason"].startswith("run failed")
    assert claims["i.last_ln_gamma_larger_without_head_dense_ln"]["verdict"] == "reproduced"  # its own gate


def test_the_sampler_check_is_a_z_test_of_the_variance_against_the_exact_distribution():
    truncated = exact_distribution("tf_truncated", 768, 768)
    assert truncated.std() == pytest.approx(0.02 * math.sqrt(0.7737413), rel=1e-7)  # Su's factor
    assert exact_distribution("xavier", 768, 768).std() == pytest.approx(1 / math.sqrt(768), rel=1e-12)
    rng = stats.norm(
        scale=0.02
    )  # a normal of the same std has a larger fourth moment: the same variance passes
    n = 10_000
    judged = variance_z_test(0.02, n, rng, 0.05)
    assert judged.p_value == pytest.approx(1.0) and judged.verdict(0.05) == "reproduced"
    se = math.sqrt(2 * 0.02**4 / n)  # normal: mu4 - sigma^4 = 2 sigma^4
    off = variance_z_test(math.sqrt(0.02**2 + 3 * se), n, rng, 0.05)
    assert (
        off.p_value == pytest.approx(2 * stats.norm.sf(3), rel=1e-6) and off.verdict(0.05) == "not reproduced"
    )


def test_duplicate_runs_are_a_one_line_error(tmp_path, capsys):
    argv = fabricate(tmp_path)
    first_run = argv[argv.index("--runs") + 1]
    argv.insert(argv.index("--runs") + 1, first_run)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "two runs" in err and "\n" not in err
    with pytest.raises(SystemExit):
        main(["--runs", first_run])


def test_a_truncated_record_is_a_one_line_error_naming_it(tmp_path, capsys):
    argv = fabricate(tmp_path)
    (tmp_path / "mae.json").write_text('{"n": 8, "keep')
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tmp_path / 'mae.json'}: not a JSON record") and "\n" not in err
