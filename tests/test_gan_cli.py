"""Command line of study 8757: a tiny chain classifier -> train -> probe -> claims writes a valid ledger."""

from __future__ import annotations

import json

from kexue_repro.common.claims import read_claims
from kexue_repro.gan.__main__ import main

TRAIN = (
    "--steps 3 --batch-size 16 --lr 1e-3 --betas 0.0 0.9 --n-dis 1 --gp-lambda 10 --gran-eps 1e-8 "
    "--latent 2 --gen-hidden 8 --gen-depth 1 --critic-hidden 8 --critic-depth 1 --ring-modes 8 "
    "--ring-radius 2 --ring-std 0.02 --n-eval 100 --mode-share 0.02 "
    "--n-show 4 --warmup-steps 1 --checkpoint-every 2 --threads 1 --device cpu"
).split()


def test_tiny_chain_writes_a_valid_ledger(tmp_path, capsys):
    digits = str(tmp_path / "digits.npz")
    assert main(["digits", "--n-test", "200", "--split-seed", "0", "--out", digits]) == 0
    clf = ["--out", str(tmp_path / "clf.pt"), "--metrics-out", str(tmp_path / "clf.json")]
    assert main(["classifier", "--digits", digits, "--hidden", "16", "--feature-dim", "8",
                 "--steps", "5", "--batch-size", "32", "--lr", "1e-3", "--seed", "0", "--threads", "1", *clf]) == 0  # fmt: skip
    runs, models = [], {"ring": [], "mnist": []}
    for dataset, methods in (("ring", ("gn", "su", "gp", "ns")), ("mnist", ("gn", "gp", "ns"))):
        for method in methods:
            for seed in (0, 1):
                stem = tmp_path / f"{dataset}_{method}_{seed}"
                extra = (
                    ["--classifier", str(tmp_path / "clf.pt"), "--digits", digits]
                    if dataset == "mnist"
                    else []
                )
                argv = [
                    "train",
                    "--dataset",
                    dataset,
                    "--method",
                    method,
                    "--seed",
                    str(seed),
                    *TRAIN,
                    *extra,
                ]
                argv += [
                    "--checkpoint",
                    f"{stem}.ckpt",
                    "--out",
                    f"{stem}.pt",
                    "--metrics-out",
                    f"{stem}.json",
                ]
                assert main(argv) == 0
                assert not (tmp_path / f"{stem}.ckpt").exists()
                runs.append(f"{stem}.json")
                models[dataset].append(f"{stem}.pt")
    probes = []
    for dataset, paths in models.items():
        out = tmp_path / f"probe_{dataset}.json"
        argv = ["probe", "--models", *paths, "--points", "20", "--pairs", "50", "--scales", "1e-2", "1e-4"]
        argv += ["--digits", digits]
        assert main([*argv, "--seed", "0", "--threads", "1", "--out", str(out)]) == 0
        probes.append(str(out))
    ledger_args = ["--scale", "smoke", "--claims-out", str(tmp_path / "claims.json")]
    ledger_args += ["--metrics-out", str(tmp_path / "metrics.json")]
    argv = [
        "claims",
        "--runs",
        *runs,
        "--probes",
        *probes,
        "--classifier-metrics",
        str(tmp_path / "clf.json"),
    ]
    argv += ["--anchors", "data/anchors/gan.csv", "--confidence", "0.95", "--tolerance", "1e-6"]
    argv += [
        "--mode-success",
        "6",
        "--tables-dir",
        str(tmp_path / "tables"),
        "--plots-dir",
        str(tmp_path / "plots"),
    ]
    assert main([*argv, *ledger_args]) == 0
    claims = {row["claim_id"]: row for row in read_claims(tmp_path / "claims.json")}
    assert claims["a.gn_gradient_and_value_bounded"]["verdict"] == "reproduced"
    assert len(claims) == 10
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert all(isinstance(v, (int, float)) for v in metrics.values())
    for name in ("runs", "summary", "cost", "probes", "discontinuity"):
        assert (tmp_path / "tables" / f"{name}.csv").is_file()
    for name in ("ring_samples", "mnist_samples", "discontinuity"):
        assert (tmp_path / "plots" / f"{name}.png").is_file()


def test_errors_are_one_line(tmp_path, capsys):
    argv = ["train", "--dataset", "mnist", "--method", "gn", "--seed", "0", *TRAIN]
    argv += ["--checkpoint", str(tmp_path / "c"), "--out", str(tmp_path / "m.pt"), "--metrics-out", str(tmp_path / "m.json")]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--digits" in err and "\n" not in err
    assert main(["probe", "--models", str(tmp_path / "none.pt"), "--points", "2", "--pairs", "2", "--scales", "1e-2",
                 "--seed", "0", "--threads", "1", "--out", str(tmp_path / "p.json")]) == 1  # fmt: skip
