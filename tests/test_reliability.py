"""What fails how (docs/failures.md): bad input stops a step with one clear line and a non-zero exit; checkpoints load
only as weights; training stops at a NaN loss naming the step; provenance and the claims diff, unit-sized."""

from __future__ import annotations

import ast
import json
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.provenance import params_sha256, provenance_options, seed_params
from kexue_repro.common.runtime import check_finite_loss
from kexue_repro.diff.compare import compare, markdown
from kexue_repro.report.assemble import provenance_section

from conftest import REPO, run, tool

# One ring run of the gan study's train step: its settings block, and the rest of its command line.
GAN_TRAIN_SETTINGS = {
    "lr": 1e-3, "betas": [0.0, 0.9], "n_dis": 1, "gp_lambda": 10, "gran_eps": 1e-8,
    "checkpoint_every": 2, "modes": 8, "radius": 2, "std": 0.02, "steps": 5, "batch_size": 16,
    "latent": 2, "gen_hidden": 8, "gen_depth": 1, "critic_hidden": 8, "critic_depth": 1,
}  # fmt: skip
GAN_TRAIN = (
    "--dataset ring --method gp --seed 0 --threads 1 --device cpu --checkpoint {dir}/g.ckpt --out {dir}/g.pt"
    " --metrics-out {dir}/g.json"
)


class Unsafe:
    """Not a tensor: a checkpoint holding it must not load (unpickling it could run code)."""


def test_every_torch_load_in_the_package_is_weights_only():
    calls = []
    for path in (REPO / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                flags = {k.arg: ast.unparse(k.value) for k in node.keywords}
                calls.append((path.name, node.lineno, flags.get("weights_only")))
    assert calls and all(flag == "True" for *_, flag in calls), calls


def test_a_checkpoint_holding_objects_or_truncated_is_refused_in_one_line(tmp_path):
    torch.save({"step": 1, "extra": Unsafe()}, tmp_path / "unsafe.pt")
    save_checkpoint(tmp_path / "good.pt", {"step": 1, "w": torch.ones(64, 64)})
    (tmp_path / "cut.pt").write_bytes((tmp_path / "good.pt").read_bytes()[:1000])
    assert load_checkpoint(tmp_path / "good.pt")["step"] == 1
    for name, words in (("unsafe.pt", "Unsupported global"), ("cut.pt", "zip archive")):
        with pytest.raises(ValueError) as err:
            load_checkpoint(tmp_path / name)
        message = str(err.value)
        assert message.startswith(f"{tmp_path / name}: not a loadable weights-only checkpoint")
        assert words in message and "\n" not in message


def test_check_finite_loss_names_the_first_bad_step():
    check_finite_loss([torch.tensor(1.0), torch.tensor(0.5)], 11, "x")
    check_finite_loss(0.25, 3, "x")
    with pytest.raises(ValueError, match=r"^vae epoch 2: training loss is nan at step 12; stopped$"):
        check_finite_loss([torch.tensor(1.0), torch.tensor(float("nan")), torch.tensor(float("inf"))], 11,
                          "vae epoch 2")  # fmt: skip
    with pytest.raises(ValueError, match="training loss is inf at step 8"):
        check_finite_loss((0.1, float("inf")), 7, "steps 7, 8")


def sweep_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """Each bad input: the command, and what its one error line must say."""
    (tmp / "empty.csv").write_text("")
    raw = tmp / "raw/csl"
    raw.mkdir(parents=True)
    record = '{"id": 0, "abst": "a", "keyword": ["k"], "label": "1"}\n'
    (raw / "train.json").write_text(record)
    (raw / "dev.json").write_text(record + '{"id": 1, "abst": "b", "keyw\n')
    torch.save({"config": {}, "extra": Unsafe()}, tmp / "g.ckpt.bad")
    py = [sys.executable, "-m"]
    leaderboard = [*py, "kexue_repro.leaderboard.evaluate", "--tables-dir", str(tmp), "--table"]
    return {
        "malformed params": (
            [
                tool("snakemake"),
                "--cores",
                "1",
                "--dry-run",
                "--config",
                "leaderboard={claims: {confidence: high}}",
            ],
            "config: key 'leaderboard.claims.confidence': 'high' is not of type 'number'",
        ),
        "missing data file": ([*leaderboard, str(tmp / "missing.csv")], f"{tmp / 'missing.csv'}"),
        "empty data file": ([*leaderboard, str(tmp / "empty.csv")], f"{tmp / 'empty.csv'}"),
        "malformed CLUE record": (
            [
                *py,
                "kexue_repro.data.clue_prepare",
                "--settings",
                '{"split_seed": 0, "max_train": "all", "max_dev": "all"}',
                "--task",
                "csl",
                "--raw-dir",
                str(tmp / "raw"),
                "--out-dir",
                str(tmp / "out"),
                "--checksums",
                str(REPO / "data/checksums/clue.csv"),
            ],  # fmt: skip
            f"{raw / 'dev.json'}:2: not a JSON record",
        ),
        "NaN loss during training": (
            [
                *py,
                "kexue_repro.gan.train",
                "--settings",
                json.dumps(GAN_TRAIN_SETTINGS | {"lr": float("inf")}),
                *GAN_TRAIN.format(dir=tmp).split(),
            ],
            "gan train gp seed=0, generator: training loss is nan at step 1; stopped",
        ),
    }


def test_bad_inputs_stop_with_one_clear_line_and_a_non_zero_exit(tmp_path, repo_copy):
    cases = sweep_cases(tmp_path)
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:  # independent commands; mostly start-up time
        procs = dict(zip(cases, pool.map(lambda c: run(c[0], cwd=repo_copy, check=False, timeout=120),
                                          cases.values())))  # fmt: skip
    for name, (command, words) in cases.items():
        proc = procs[name]
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        assert proc.returncode != 0, f"{name}: exit status 0"
        assert words in last, f"{name}: {proc.stderr[-2000:]}"
        if command[0] == sys.executable:
            assert proc.stderr.strip() == last and last.startswith("error: "), (
                f"{name}: {proc.stderr[-2000:]}"
            )
    assert not (tmp_path / "g.pt").exists() and not (tmp_path / "g.ckpt").exists(), "NaN run saved a file"


def test_provenance_options_hash_the_block_and_find_its_seeds():
    config = {
        "scale": "smoke",
        "device": "cpu",
        "toy": {"seeds": [0, 1], "split_seed": 3, "net": {"seed": 4, "width": 8},
                "scales": {"smoke": {"mlm": {"seeds": [5]}}, "full": {"mlm": {"seeds": [6, 7]}}}},
    }  # fmt: skip
    assert seed_params(config["toy"], "smoke") == {"seeds": [0, 1], "split_seed": 3, "net.seed": 4,
                                                   "scales.smoke.mlm.seeds": [5]}  # fmt: skip
    reordered = json.loads(json.dumps(config["toy"], sort_keys=True))
    assert params_sha256(reordered) == params_sha256(config["toy"])
    options = provenance_options(config, "toy")
    assert f"--provenance-params-sha256 {params_sha256(config['toy'])}" in options
    assert "--provenance-study toy" in options and "--provenance-device cpu" in options


def test_a_claims_step_writes_provenance_and_the_report_shows_it(tmp_path):
    from kexue_repro.leaderboard import claims, evaluate

    table = str(REPO / "data/leaderboards/leaderboards.csv")
    assert evaluate.main(["--table", table, "--tables-dir", str(tmp_path)]) == 0
    options = provenance_options({"scale": "smoke", "device": "cpu", "leaderboard": {"x": 1}}, "leaderboard")
    argv = ["--settings", '{"confidence": 0.95}', "--tables-dir", str(tmp_path),
            "--scale", "smoke", "--claims-out", str(tmp_path / "claims.json"),
            "--metrics-out", str(tmp_path / "metrics.json"), "--numbers-out", str(tmp_path / "numbers.json"),
            "--provenance-out", str(tmp_path / "prov.json"),
            *shlex.split(options)]  # fmt: skip
    assert claims.main(argv) == 0
    record = json.loads((tmp_path / "prov.json").read_text())
    assert record["study"] == "leaderboard" and record["params_sha256"] == params_sha256({"x": 1})
    assert record["device"] == {"requested": "cpu", "resolved": "cpu", "name": record["device"]["name"]}
    assert record["git"] is None or len(record["git"]["revision"]) == 40
    section = "\n".join(provenance_section([tmp_path / "prov.json"]))
    assert (
        "## Provenance" in section
        and "| leaderboard | " in section
        and params_sha256({"x": 1})[:12] in section
    )


def test_compare_lists_flipped_verdicts_first_then_changes():
    def claim(study, cid, verdict, ours):
        return {"study": study, "claim_id": cid, "statement": "s", "verdict": verdict, "ours": ours,
                "interval": None, "anchor": None, "criterion": "c", "scale": "smoke"}  # fmt: skip

    old = {(c["study"], c["claim_id"]): c for c in [claim("a", "1", "reproduced", 1.0),
           claim("a", "2", "reproduced", 2.0), claim("b", "1", "inconclusive", "x"), claim("b", "2", "reproduced", 0.5)]}  # fmt: skip
    new = dict(old)
    new[("b", "2")] = claim("b", "2", "not reproduced", 0.25)
    new[("a", "2")] = claim("a", "2", "reproduced", 2.5)
    del new[("b", "1")]
    rows = compare(old, new)
    assert [(r["status"], r["study"], r["claim_id"]) for r in rows] == [
        ("flipped", "b", "2"), ("changed", "a", "2"), ("removed", "b", "1"), ("unchanged", "a", "1")]  # fmt: skip
    assert rows[0]["change"] == -0.25 and rows[2]["change"] is None
    text = markdown("v1", "v2", rows)
    assert "1 flipped, 1 changed, 0 added, 1 removed, 1 unchanged (of 4 claims)." in text
    assert "| flipped | b | 2 | reproduced | not reproduced | 0.5 | 0.25 | -0.25 |" in text
