"""Study 8770's embedding correction checked against its closed form on a small random BERT."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from kexue_repro.clue.mlm_correction import mlm_embedding_correction

MASK = 4


@pytest.fixture
def model() -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16)  # fmt: skip
    return BertModel(config)


def test_default_correction_matches_the_closed_form_for_every_row(model):
    emb = model.get_input_embeddings().weight.detach().clone()
    before = mlm_embedding_correction(model, MASK)
    expected = 0.85 * emb + 0.15 * (0.8 * emb[MASK] + 0.1 * emb + 0.1 * emb.mean(0))
    after = model.get_input_embeddings().weight.detach()
    assert torch.equal(before, emb)
    torch.testing.assert_close(after, expected, rtol=0, atol=1e-6)
    # [MASK]'s own row follows the same formula: 0.85 E_M + 0.15 (0.9 E_M + 0.1 mean).
    torch.testing.assert_close(after[MASK], 0.985 * emb[MASK] + 0.015 * emb.mean(0), rtol=0, atol=1e-6)
    assert not torch.allclose(after, emb)


def test_other_probabilities_and_kept_rows(model):
    emb = model.get_input_embeddings().weight.detach().clone()
    mlm_embedding_correction(model, MASK, mask_prob=0.3, replace_mask=0.5, replace_keep=0.2,
                             replace_random=0.3, keep_ids=[0, 2, 3])  # fmt: skip
    expected = 0.7 * emb + 0.3 * (0.5 * emb[MASK] + 0.2 * emb + 0.3 * emb.mean(0))
    expected[[0, 2, 3]] = emb[[0, 2, 3]]
    torch.testing.assert_close(model.get_input_embeddings().weight.detach(), expected, rtol=0, atol=1e-6)


def test_mask_prob_zero_is_the_identity(model):
    emb = model.get_input_embeddings().weight.detach().clone()
    mlm_embedding_correction(model, MASK, mask_prob=0.0)
    assert torch.equal(model.get_input_embeddings().weight.detach(), emb)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"replace_keep": 0.2}, "sum to 1"),
        ({"mask_prob": 1.5}, "mask probability"),
        ({"mask_token_id": 50}, "outside"),
    ],
)
def test_bad_arguments_are_refused(model, kwargs, words):
    with pytest.raises(ValueError, match=words):
        mlm_embedding_correction(model, **({"mask_token_id": MASK} | kwargs))
