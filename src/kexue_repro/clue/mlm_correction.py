"""Study 8770's MLM correction of a BERT checkpoint's input token embeddings, before fine-tuning.

Pretraining feeds token i as [MASK] with probability p*m, as a random token with probability p*r and as
itself otherwise; fine-tuning feeds the clean token. Read as dropout, the consistent inference input is the
expected one, so every row becomes its expectation under the masking:
    Emb[i] <- (1 - p) Emb[i] + p (m Emb[MASK] + k Emb[i] + r mean_j Emb[j])
with BERT's p = 0.15, (m, k, r) = (0.8, 0.1, 0.1). The mean runs over every row of the table, special
tokens included, because the random replacement draws from the whole vocabulary (as transformers'
DataCollatorForLanguageModeling and Google's BERT do). Every row follows the formula by default, [MASK]'s
own included, as the post writes it; ``keep_ids`` leaves chosen rows untouched (for instance [CLS], [SEP]
and [PAD], which the collator never masks, so their pretraining input was always clean).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from transformers import PreTrainedModel


def mlm_embedding_correction(
    model: PreTrainedModel,
    mask_token_id: int,
    mask_prob: float = 0.15,
    replace_mask: float = 0.8,
    replace_keep: float = 0.1,
    replace_random: float = 0.1,
    keep_ids: Sequence[int] = (),
) -> torch.Tensor:
    """Apply the correction in place to ``model.get_input_embeddings()``; return the table before it.

    A model whose output layer is tied to the input embeddings (BertForMaskedLM) sees the change there too.
    """
    if not 0 <= mask_prob <= 1 or min(replace_mask, replace_keep, replace_random) < 0:
        raise ValueError("mask probability must be in [0, 1] and the replacement probabilities >= 0")
    if not math.isclose(replace_mask + replace_keep + replace_random, 1.0, abs_tol=1e-9):
        raise ValueError(
            f"replacement probabilities must sum to 1, got {replace_mask} + {replace_keep} + {replace_random}"
        )
    table = model.get_input_embeddings().weight
    if not 0 <= mask_token_id < table.shape[0]:
        raise ValueError(
            f"mask token id {mask_token_id} is outside the embedding table of {table.shape[0]} rows"
        )
    with torch.no_grad():
        before = table.detach().clone()
        mean = before.mean(dim=0)
        shift = mask_prob * (replace_mask * before[mask_token_id] + replace_random * mean)
        table.mul_(1 - mask_prob + mask_prob * replace_keep).add_(shift)
        if keep_ids:
            kept = torch.as_tensor(list(keep_ids), dtype=torch.long, device=table.device)
            table[kept] = before[kept]
    return before
