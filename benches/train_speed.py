#!/usr/bin/env python3
"""Training speed of the reference MLP: grokscope's trainer next to numpy.

Runs, alternately and `--rounds` times each, in the same session:

* `grokscope train --preset softmax --epochs N --log-every 10` (the release
  binary, the reference MLP 226 → 200 → 200 → 113 on (a + b) mod 113 at
  40 % train, full batch, every diagnostic at the recorder's default
  cadence: a record every 10 epochs with collapse and NLM, local complexity
  and sensitivity on every 10th record), timed by
  the trainer's own `time/elapsed_s` of its last record (the training loop,
  without process start-up);
* the same network's forward, f32 softmax cross-entropy, backward and an
  AdamW step in numpy (OpenBLAS or whatever BLAS numpy was built with), on
  the dense one-hot inputs as a PyTorch user would feed them, with no
  diagnostics.

and prints epochs/s of each run, the medians and their ratio.

    pip install numpy            # once
    cargo build --release
    python3 benches/train_speed.py [--epochs 1000] [--rounds 3]

docs/TRAINING.md records what it printed.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:  # pragma: no cover - a message instead of a traceback
    sys.exit("numpy is needed for the comparison: pip install numpy")

P = 113
HIDDEN = 200


def numpy_epochs_per_s(epochs: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    pairs = rng.permutation(P * P)[: int(0.4 * P * P)]
    a, b = pairs // P, pairs % P
    n = len(pairs)
    x = np.zeros((n, 2 * P), dtype=np.float32)
    x[np.arange(n), a] = 1.0
    x[np.arange(n), P + b] = 1.0
    y = (a + b) % P

    def init(o, i):
        bound = 1.0 / np.sqrt(i)
        return rng.uniform(-bound, bound, size=(o, i)).astype(np.float32)

    ws = [init(HIDDEN, 2 * P), init(HIDDEN, HIDDEN), init(P, HIDDEN)]
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    lr, b1, b2, eps = 5e-4, 0.9, 0.99, 1e-30
    start = time.perf_counter()
    for t in range(1, epochs + 1):
        z0 = x @ ws[0].T
        h0 = np.maximum(z0, 0)
        z1 = h0 @ ws[1].T
        h1 = np.maximum(z1, 0)
        z = h1 @ ws[2].T
        zm = z - z.max(axis=1, keepdims=True)
        e = np.exp(zm)
        p = e / e.sum(axis=1, keepdims=True)
        dz = p
        dz[np.arange(n), y] -= 1.0
        dz /= n
        g2 = dz.T @ h1
        dh1 = (dz @ ws[2]) * (z1 > 0)
        g1 = dh1.T @ h0
        dh0 = (dh1 @ ws[1]) * (z0 > 0)
        g0 = dh0.T @ x
        for k, g in enumerate((g0, g1, g2)):
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            mh = m[k] / (1 - b1**t)
            vh = v[k] / (1 - b2**t)
            ws[k] -= (lr * mh / (np.sqrt(vh) + eps)).astype(np.float32)
    return epochs / (time.perf_counter() - start)


def grokscope_epochs_per_s(binary: str, epochs: int) -> float:
    out = tempfile.mkdtemp(prefix="grokscope-speed-")
    try:
        run = os.path.join(out, "run")
        subprocess.run(
            [
                binary, "train", "--preset", "softmax", "--epochs", str(epochs),
                "--log-every", "10", "--out", run,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with open(os.path.join(run, "metrics.jsonl"), encoding="utf-8") as f:
            last = json.loads(f.readlines()[-1])
        return epochs / last["scalars"]["time/elapsed_s"]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--binary",
        default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "grokscope"),
    )
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: run `cargo build --release` first")
    ours, theirs = [], []
    for r in range(args.rounds):
        ours.append(grokscope_epochs_per_s(args.binary, args.epochs))
        theirs.append(numpy_epochs_per_s(args.epochs, seed=r))
        print(
            f"round {r + 1}: grokscope {ours[-1]:.1f} epochs/s (with diagnostics), "
            f"numpy {theirs[-1]:.1f} epochs/s (training only)",
            flush=True,
        )
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(f"median: grokscope {mo:.1f} epochs/s, numpy {mt:.1f} epochs/s, ratio {mo / mt:.2f}")


if __name__ == "__main__":
    main()
