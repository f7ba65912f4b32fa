"""Speed of CAN's vectorised per-sample mode against the post's loop, on the same probabilities.

python -m kexue_repro.benchmarks.can_speed [--rows 10000] [--classes 119] [--iterations 1] [--repeats 5]
                                           [--min-ratio 20] [--seed 0]

Random softmax predictions (seeded; logits scaled so that about a third of the rows are unconfident at
k=3, tau=0.9, as on IFLYTEK-like outputs). The loop runs once over every unconfident row; the vectorised
function runs --repeats times and its fastest run counts (noise only ever adds time). Both results are
checked equal to 1e-12 before any time is printed. Exit 1 when the speed-up is below --min-ratio.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from kexue_repro.can.model import alternate_normalize
from kexue_repro.can.reference import post_loop


def random_predictions(rows: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(rows, classes)) * 3.0
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return probs / probs.sum(axis=1, keepdims=True), rng.dirichlet(np.ones(classes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10000, help="rows of random probabilities")
    parser.add_argument("--classes", type=int, default=119, help="classes per row (IFLYTEK has 119)")
    parser.add_argument("--iterations", type=int, default=1, help="CAN's alternating iterations")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (the median is reported)")
    parser.add_argument(
        "--min-ratio",
        type=float,
        default=20.0,
        help="exit 1 if the speed-up over the post's loop is below this",
    )
    parser.add_argument("--seed", type=int, default=0, help="the random seed")
    args = parser.parse_args(argv)

    probs, prior = random_predictions(args.rows, args.classes, args.seed)
    vectorised = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = alternate_normalize(probs, prior, iterations=args.iterations)
        vectorised.append(time.perf_counter() - start)
    start = time.perf_counter()
    expected = post_loop(probs.copy(), prior, iters=args.iterations)
    loop = time.perf_counter() - start
    error = float(np.abs(result.probs - expected).max())
    if error > 1e-12:
        print(f"error: vectorised and loop results differ by {error:.3g}", file=sys.stderr)
        return 1

    ratio = loop / min(vectorised)
    print(f"probabilities: {args.rows} x {args.classes}, unconfident rows: {int(result.unconfident.sum())}")
    print(f"post's loop:        {loop:9.3f} s")
    print(f"vectorised (best):  {min(vectorised):9.3f} s   (of {args.repeats})")
    print(f"speed-up:           {ratio:9.1f}x   (target >= {args.min_ratio:g}x; max |diff| {error:.2g})")
    return 0 if ratio >= args.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
