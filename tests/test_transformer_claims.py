"""Study 8747's claims step on small fabricated step outputs: each verdict follows from the numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from kexue_repro.common.claims import read_claims
from kexue_repro.transformer.claims import anchor_row, main

H1 = 2.9  # the fabricated corpus' unigram entropy
PROFILES = {  # grad_rel from the bottom layer to the top, per norm and initialiser (before seed jitter)
    ("post", "tf_truncated"): [1.01, 0.99, 1.0],
    ("post", "hf_normal"): [1.02, 0.98, 1.0],
    ("post", "xavier"): [0.8, 0.3, 1.0],
    ("post", "normal_0.1"): [60.0, 5.0, 1.0],
    ("pre", "tf_truncated"): [1.3, 1.1, 1.0],
    ("pre", "hf_normal"): [1.4, 1.2, 1.0],
    ("pre", "xavier"): [2.5, 1.5, 1.0],
    ("pre", "normal_0.1"): [90.0, 9.0, 1.0],
}


def gradflow_record(profiles: dict) -> dict:
    rows = []
    for (norm, init), profile in profiles.items():
        for seed in (0, 1, 2):
            rel = [v * (1 + 0.02 * seed) if v != 1.0 else 1.0 for v in profile]
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
    "confidence": 0.95, "std_rel_tol": 0.005, "flat_min": 0.8, "flat_max": 1.25, "vanish_threshold": 0.7,
    "explode_ratio": 10, "stall_margin": 0.25, "identity_tol": 1e-12, "mc_z": 5, "sweep_head": "dense_ln",
    "last_ln": {"lr": 0.001, "warmup_steps": 40},
}  # fmt: skip


def run_record(
    norm: str, head: str, lr: float, warmup: int, seed: int, final: float, ratio: float = 1.0
) -> dict:
    return {
        "norm": norm, "head": head, "lr": lr, "warmup_steps": warmup, "seed": seed, "curve": [3.4, 3.0, final],
        "initial_loss": 3.45, "final_loss": final, "unigram_entropy": H1, "topic_entropy": 1.1,
        "last_ln_ratio": ratio, "ln_mean_abs_gamma": [1.0, 1.0, ratio], "seconds_per_step": 0.01,
    }  # fmt: skip


def write(path: Path, obj: dict) -> str:
    path.write_text(json.dumps(obj))
    return str(path)


def fabricate(tmp_path: Path, post_high_no_warmup: list[float], profiles: dict = PROFILES) -> list[str]:
    runs = []
    for seed in (0, 1, 2):
        finals = {("post", 0.005, 0): post_high_no_warmup[seed], ("post", 0.005, 40): 2.2}
        for norm in ("post", "pre"):
            for lr in (0.001, 0.005):
                for warmup in (0, 40):
                    final = finals.get((norm, lr, warmup), 2.0 - 0.01 * seed)
                    runs.append(
                        run_record(norm, "dense_ln", lr, warmup, seed, final, ratio=1.0 + 0.01 * seed)
                    )
        runs.append(run_record("post", "plain", 0.001, 40, seed, 1.9, ratio=1.3 + 0.02 * seed))
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
    ]


def verdicts(tmp_path: Path) -> dict[str, str]:
    return {row["claim_id"]: row["verdict"] for row in read_claims(tmp_path / "claims.json")}


def test_claims_reproduced_from_numbers_that_show_them(tmp_path):
    assert main(fabricate(tmp_path, post_high_no_warmup=[2.9, 2.95, 2.88])) == 0
    found = verdicts(tmp_path)
    assert set(found.values()) == {"reproduced"}, found
    assert len(found) == 12  # one configuration: 2 std + 3 profile + 1 Pre-LN + 3 warmup + 1 gamma + 2 MAE
    claims = {row["claim_id"]: row for row in read_claims(tmp_path / "claims.json")}
    assert claims["c.post_ln_xavier_vanishes.tiny"]["anchor"] is None  # no seen figure for L3_d768
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
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert all(isinstance(v, (int, float)) for v in metrics.values())
    for name in ("gradflow_tiny", "mlm_curves", "last_ln_gamma", "mae_gap"):
        assert (tmp_path / "plots" / f"{name}.png").is_file()
    for name in ("gradflow_layers", "gradflow_profiles", "init_std", "mlm_runs", "mlm_curves", "mae"):
        assert (tmp_path / "tables" / f"{name}.csv").is_file()


def test_claims_follow_contrary_numbers(tmp_path):
    contrary = PROFILES | {("post", "xavier"): [1.1, 0.95, 1.0], ("post", "normal_0.1"): [2.0, 1.5, 1.0]}
    assert main(fabricate(tmp_path, post_high_no_warmup=[2.0, 2.1, 2.05], profiles=contrary)) == 0
    found = verdicts(tmp_path)
    assert found["c.post_ln_xavier_vanishes.tiny"] == "not reproduced"
    assert found["d.post_ln_std_0.1_explodes.tiny"] == "not reproduced"
    assert found["f.post_ln_stalls_without_warmup"] == "not reproduced"  # every seed learned


def test_a_mixed_stall_is_inconclusive(tmp_path):
    assert main(fabricate(tmp_path, post_high_no_warmup=[2.9, 2.0, 2.95])) == 0
    assert verdicts(tmp_path)["f.post_ln_stalls_without_warmup"] == "inconclusive"


def test_duplicate_runs_are_a_one_line_error(tmp_path, capsys):
    argv = fabricate(tmp_path, post_high_no_warmup=[2.9, 2.95, 2.88])
    first_run = argv[argv.index("--runs") + 1]
    argv.insert(argv.index("--runs") + 1, first_run)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "two runs" in err and "\n" not in err
    with pytest.raises(SystemExit):
        main(["--runs", first_run])


def test_a_truncated_record_is_a_one_line_error_naming_it(tmp_path, capsys):
    argv = fabricate(tmp_path, post_high_no_warmup=[2.9, 2.95, 2.88])
    (tmp_path / "mae.json").write_text('{"n": 8, "keep')
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tmp_path / 'mae.json'}: not a JSON record") and "\n" not in err
