"""Study 8747 (why BERT initialises with std 0.02: Post-LN, Pre-LN, warmup) and the MAE identity of 8770."""

# The choices every step names; here so that steps without torch need not import the model.
INITS = ("tf_truncated", "hf_normal", "xavier", "normal_0.1")
NORMS = ("post", "pre")
HEADS = ("dense_ln", "plain")
OUTPUTS = ("tied", "untied")  # the output projection tied to the token embeddings or not
