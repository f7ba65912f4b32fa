"""Dev metrics (each in [0, 1]) and predictions of one epoch, per kind (the contract's predictions file).

- ner: entities where a head's span logit is > 0 (the post's threshold), entity-level micro precision,
  recall and F1 against every gold entity (those cut off by ``maxlen`` included).
- span: each window's best context span, the best over a question's windows (``cmrc_windows.stitch``),
  CMRC2018's EM and F1 (``span_metrics.cmrc_score``).
- choice: the argmax over the (padded) choices, accuracy.
- chid: each blank's candidate by Hungarian assignment per passage group and by independent argmax
  (``chid_decode.decode``), accuracy of both.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from kexue_repro.clue import chid_decode
from kexue_repro.clue.cmrc_windows import stitch
from kexue_repro.clue.evaluate import autocast, model_inputs
from kexue_repro.clue.mrc_ner.encode import ChoiceSet, NerSet, SpanSet
from kexue_repro.clue.span_metrics import cmrc_score, entity_micro_f1

SELECT = {"ner": "f1", "span": "em", "choice": "accuracy", "chid": "accuracy"}  # the selection metric


def batches(data, batch_size: int, order: Sequence[int] | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Padded batches of ``data`` in ``order`` (default: file order), the last one possibly smaller."""
    indices = list(range(len(data))) if order is None else list(order)
    for first in range(0, len(indices), batch_size):
        yield data.collate(indices[first : first + batch_size])


@torch.no_grad()
def logits(model: nn.Module, data, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    """The model's float32 logits of each batch in file order, on the CPU; the model is left in eval mode."""
    model.eval()
    for batch in batches(data, batch_size):
        with autocast(device):
            out = model(**model_inputs(batch, device))
        yield out.float().cpu()


def evaluate(
    kind: str, model: nn.Module, data, batch_size: int, device: torch.device
) -> tuple[dict[str, float], dict[str, Any]]:
    return EVALUATE[kind](model, data, batch_size, device)


def evaluate_ner(model: nn.Module, data: NerSet, batch_size: int, device: torch.device):
    predicted, first = [], 0
    for out in logits(model, data, batch_size, device):
        for row, record in enumerate(range(first, first + len(out))):
            spans = torch.nonzero(out[row] > 0).tolist()  # (head, start, end)
            predicted.append(data.entities(record, spans))
        first += len(out)
    score = entity_micro_f1(data.gold, predicted)
    metrics = {"f1": score.f1, "precision": score.precision, "recall": score.recall}
    return metrics, {"entities": [[list(entity) for entity in entities] for entities in predicted]}


def evaluate_span(model: nn.Module, data: SpanSet, batch_size: int, device: torch.device):
    """Windows in file order; a question's are consecutive, held only until the question is answered."""
    answers: dict[str, str] = {}
    pending: list[np.ndarray] = []
    window = 0
    for out in logits(model, data, batch_size, device):
        for span_logits in out[:, 0].numpy():
            question = data.questions[data.question[window]]
            length = len(data.ids[window])
            pending.append(span_logits[:length, :length])
            window += 1
            if len(pending) == len(question.windows):
                answers[question.id], _ = stitch(
                    pending, question.windows, question.offsets, question.context
                )
                pending = []
    gold = {question.id: question.answers for question in data.questions}  # ids are unique (encode)
    score = cmrc_score(gold, answers)
    return {"em": score.em / 100, "f1": score.f1 / 100}, {"answers": answers}


def choice_scores(model: nn.Module, data: ChoiceSet, batch_size: int, device: torch.device) -> np.ndarray:
    return torch.cat(list(logits(model, data, batch_size, device))).numpy()


def evaluate_choice(model: nn.Module, data: ChoiceSet, batch_size: int, device: torch.device):
    scores = choice_scores(model, data, batch_size, device)
    choice = scores.argmax(axis=1)
    accuracy = float((choice == np.array(data.labels)).mean())
    return {"accuracy": accuracy}, {"choice": choice.tolist(), "scores": scores.tolist()}


def evaluate_chid(model: nn.Module, data: ChoiceSet, batch_size: int, device: torch.device):
    scores = choice_scores(model, data, batch_size, device)
    assigned = chid_decode.decode(scores, data.groups, joint=True)
    argmax = chid_decode.decode(scores, data.groups, joint=False)
    labels = np.array(data.labels)
    metrics = {
        "accuracy": float((assigned == labels).mean()),
        "accuracy_argmax": float((argmax == labels).mean()),
    }
    predictions = {
        "scores": scores.tolist(), "group": list(data.groups), "assigned": assigned.tolist(),
        "argmax": argmax.tolist(),
    }  # fmt: skip
    return metrics, predictions


EVALUATE = {"ner": evaluate_ner, "span": evaluate_span, "choice": evaluate_choice, "chid": evaluate_chid}
