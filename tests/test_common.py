"""Atomic writers and the claims ledger."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pytest

from kexue_repro.common.atomic import atomic_directory, atomic_path, write_csv, write_json
from kexue_repro.common.claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    read_claims,
    verdict,
    write_claims,
    write_metrics,
)
from kexue_repro.common.resume import run_each


def make_claim(**overrides) -> Claim:
    fields = dict(
        study="demo", claim_id="demo.effect", kind="claim", section="§2", statement="the effect is positive",
        metric="delta accuracy", ours=0.4, interval=(0.1, 0.7), anchor=0.46,
        anchor_source="https://kexue.fm/archives/0000", criterion="interval above 0", verdict=REPRODUCED,
        no_p_reason="a demo", scale="smoke", evidence="results/demo/x.csv", seeds=(0, 1, 2),
        code="src/kexue_repro/demo/claims.py:effect",
    )  # fmt: skip
    fields.update(overrides)
    return Claim(**fields)


def test_failed_atomic_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "m.json"
    write_json(target, {"b": 1, "a": [1.5]})
    write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["m.json"]


def test_atomic_directory_replaces_whole_folder(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.bin").write_text("old")
    with atomic_directory(target) as tmp:
        (tmp / "config.json").write_text("{}")
        assert not (target / "config.json").exists()
    assert sorted(p.name for p in target.iterdir()) == ["config.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_failed_atomic_directory_keeps_the_old_folder(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights.bin").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "weights.bin").write_text("half")
        raise RuntimeError("killed mid-save")
    assert (target / "weights.bin").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_write_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        write_json(tmp_path / "m.json", {"a": float("nan")})
    assert not (tmp_path / "m.json").exists()


def test_write_csv_is_byte_stable(tmp_path):
    frame = pd.DataFrame({"x": [1 / 3, 2.0], "y": ["a", "b"]})
    write_csv(tmp_path / "a.csv", frame)
    write_csv(tmp_path / "b.csv", frame)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes() == b"x,y\n0.333333,a\n2,b\n"


def test_verdict_of_a_criterion():
    assert [verdict(True), verdict(False), verdict(None)] == [REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE]


def test_claims_round_trip(tmp_path):
    path = tmp_path / "claims.json"
    write_claims(path, [make_claim(), make_claim(claim_id="demo.other", interval=None, seeds=())], 0.05)
    rows = read_claims(path)
    assert rows[0]["interval"] == [0.1, 0.7] and rows[0]["seeds"] == [0, 1, 2]
    assert rows[1]["interval"] is None and rows[1]["kind"] == "claim" and rows[1]["no_p_reason"] == "a demo"


def test_a_claim_without_its_section_or_an_inconclusive_claim_without_what_decides_it_is_refused(tmp_path):
    with pytest.raises(ValueError, match="section"):
        make_claim(section=None)
    with pytest.raises(ValueError, match="to_decide"):
        write_claims(tmp_path / "c.json", [make_claim(verdict=INCONCLUSIVE)], 0.05)
    assert not (tmp_path / "c.json").exists()
    write_claims(
        tmp_path / "c.json", [make_claim(verdict=INCONCLUSIVE, to_decide="the full-scale run")], 0.05
    )
    assert read_claims(tmp_path / "c.json")[0]["to_decide"] == "the full-scale run"


def test_a_claim_from_no_claim_function_is_refused(tmp_path):
    with pytest.raises(ValueError, match="demo.effect comes from no @claim function"):
        write_claims(tmp_path / "c.json", [make_claim(code=None)], 0.05)
    assert not (tmp_path / "c.json").exists()


def test_a_studys_metrics_count_its_claims_by_verdict_and_not_its_checks(tmp_path):
    claims = [
        make_claim(claim_id=f"demo.{i}", verdict=v, to_decide="more seeds")
        for i, v in enumerate([REPRODUCED, INCONCLUSIVE] * 2)
    ]
    check = make_claim(claim_id="demo.check", kind="check", verdict=NOT_REPRODUCED, section=None)
    rows = write_claims(tmp_path / "claims.json", [*claims, check], 0.05)
    write_metrics(tmp_path / "metrics.json", rows, {"a_gain": 0.4})
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert list(written.items()) == [("demo", "2/0/2"), ("a_gain", 0.4)]  # the study's column first
    other = write_claims(tmp_path / "other.json", [make_claim(study="other")], 0.05)
    with pytest.raises(ValueError, match=r"metrics.json: .* rows of \['demo', 'other'\]"):
        write_metrics(tmp_path / "metrics.json", rows + other, {})


def test_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="verdict"):
        make_claim(verdict="sort of")


def test_duplicate_claim_ids_are_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicate"):
        write_claims(tmp_path / "c.json", [make_claim(), make_claim()], 0.05)
    assert not (tmp_path / "c.json").exists()


def test_ledger_breaking_the_schema_names_file_and_field(tmp_path):
    path = tmp_path / "claims.json"
    row = make_claim().as_row(0.05, None)
    row["scale"] = "huge"
    path.write_text(json.dumps([row]))
    with pytest.raises(ValueError) as err:
        read_claims(path)
    assert str(path) in str(err.value) and "0/scale" in str(err.value) and "\n" not in str(err.value)


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    import torch

    from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
    from kexue_repro.common.runtime import seed_everything

    path = tmp_path / "ckpt.pt"
    assert load_checkpoint(path) is None
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    generator = seed_everything(0)
    save_checkpoint(path, {"epoch": 3, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                           "rng": generator.get_state()})  # fmt: skip
    state = load_checkpoint(path)
    assert state["epoch"] == 3
    assert torch.equal(state["model"]["weight"], model.weight.detach())
    assert torch.equal(state["rng"], generator.get_state())
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_same_seed_same_numbers():
    import torch

    from kexue_repro.common.runtime import seed_everything

    first = torch.randn(5, generator=seed_everything(7))
    assert torch.equal(first, torch.randn(5, generator=seed_everything(7)))


def test_resumable_restores_what_it_saved_and_only_for_the_same_run(tmp_path, capsys):
    import torch

    from kexue_repro.common.checkpoint import save_checkpoint
    from kexue_repro.common.resume import Resumable, discard_checkpoint

    def parts(seed: int):
        torch.manual_seed(seed)
        model = torch.nn.Linear(3, 2)
        return model, torch.optim.Adam(model.parameters(), lr=0.1), torch.Generator().manual_seed(seed)

    model, optimizer, rng = parts(0)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    torch.rand(4, generator=rng)
    path = tmp_path / "run.pt"
    Resumable(path, {"lr": 0.1, "epochs": 2}, model=model, optimizer=optimizer, rng=rng).save(
        step=7, curve=[1.0]
    )

    again, optimizer_again, rng_again = parts(1)
    run = Resumable(path, {"lr": 0.1, "epochs": 5}, ignore=("epochs",), model=again, optimizer=optimizer_again,
                    rng=rng_again)  # fmt: skip
    assert run.resume(step=0, curve=[], other="default") == {"step": 7, "curve": [1.0], "other": "default"}
    assert torch.equal(again.weight, model.weight) and torch.equal(rng_again.get_state(), rng.get_state())
    assert optimizer_again.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]
    assert "resuming from" in capsys.readouterr().err

    fresh, optimizer_fresh, rng_fresh = parts(1)
    other = Resumable(path, {"lr": 0.2, "epochs": 2}, model=fresh, optimizer=optimizer_fresh, rng=rng_fresh)
    assert other.resume(step=0) == {"step": 0}
    assert "another configuration" in capsys.readouterr().err and not torch.equal(fresh.weight, model.weight)

    save_checkpoint(path, {"config": {"lr": 0.1, "epochs": 2}, "model": model.state_dict()})  # older code's
    assert Resumable(path, {"lr": 0.1, "epochs": 2}, model=fresh, rng=rng_fresh).resume(step=0) == {"step": 0}
    discard_checkpoint(path)
    assert not path.exists()
    with pytest.raises(ValueError, match="name the checkpoint's own entries"):
        Resumable(path, {}, progress=model)


def _each_job(argv: list[str], done: list[tuple[int, str]], fail_at: int | None = None) -> int:
    """A job of several runs through common.cli.run_each: each run records itself and keeps a checkpoint."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, nargs="+")
    parser.add_argument("--checkpoint", nargs="+")
    parser.add_argument("--label")

    def one(args: argparse.Namespace) -> None:
        if args.seed == fail_at:
            raise ValueError(f"seed {args.seed} failed")
        Path(args.checkpoint).write_text("state")
        done.append((args.seed, args.label))

    return run_each(one, parser.parse_args(argv), ("seed", "checkpoint"), "checkpoint")


def test_run_each_runs_every_run_in_turn_then_discards_the_checkpoints(tmp_path):
    checkpoints = [str(tmp_path / f"seed{seed}.pt") for seed in (3, 4)]
    done: list[tuple[int, str]] = []
    assert _each_job(["--seed", "3", "4", "--checkpoint", *checkpoints, "--label", "x"], done) == 0
    assert done == [(3, "x"), (4, "x")]  # options not per run reach every run unchanged
    assert not any(Path(path).exists() for path in checkpoints)


def test_run_each_keeps_finished_runs_checkpoints_when_a_later_run_fails(tmp_path, capsys):
    checkpoints = [str(tmp_path / f"seed{seed}.pt") for seed in (3, 4)]
    assert _each_job(["--seed", "3", "4", "--checkpoint", *checkpoints], [], fail_at=4) == 1
    assert Path(checkpoints[0]).is_file(), "the rerun resumes seed 3 from it"
    assert capsys.readouterr().err == "error: seed 4 failed\n"


def test_run_each_names_an_option_with_the_wrong_number_of_values(tmp_path, capsys):
    assert _each_job(["--seed", "3", "4", "--checkpoint", str(tmp_path / "c.pt")], []) == 1
    assert capsys.readouterr().err == "error: --checkpoint: 1 given for 2 runs (one per value of --seed)\n"
