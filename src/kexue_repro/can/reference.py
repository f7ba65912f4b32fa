"""The post's CAN loop transcribed line by line (kexue.fm/archives/8728): the oracle that tests and the
speed benchmark compare ``alternate_normalize`` with. Not used by the pipeline."""

from __future__ import annotations

import numpy as np


def post_loop(
    y_pred: np.ndarray,
    prior: np.ndarray,
    k: int = 3,
    threshold: float = 0.9,
    alpha: float = 1,
    iters: int = 1,
) -> np.ndarray:
    """The post's code, returning all rows with the unconfident ones replaced by their corrected rows."""
    y_pred_topk = np.sort(y_pred, axis=1)[:, -k:]
    y_pred_topk /= y_pred_topk.sum(axis=1, keepdims=True)
    y_pred_uncertainty = -(y_pred_topk * np.log(y_pred_topk)).sum(1) / np.log(k)
    y_pred_confident = y_pred[y_pred_uncertainty < threshold]
    y_pred_unconfident = y_pred[y_pred_uncertainty >= threshold]
    corrected = []
    for y in y_pred_unconfident:
        Y = np.concatenate([y_pred_confident, y[None]], axis=0)
        for _ in range(iters):
            Y = Y**alpha
            Y /= Y.mean(axis=0, keepdims=True)
            Y *= prior[None]
            Y /= Y.sum(axis=1, keepdims=True)
        corrected.append(Y[-1])
    out = y_pred.copy()
    if corrected:
        out[y_pred_uncertainty >= threshold] = np.array(corrected)
    return out
