"""Fine-tuning a BERT on CLUE-format classification splits (studies 8739, 8764, 8770): the post's recipe
(maxlen 128, all segment ids 0, AdaFactor lr 5e-4 beta1 0.9 without schedule, best dev epoch kept), the
gradient/update dropout variants of ChildTuning and Su, and hooks for DropToken and the MLM embedding
correction."""
