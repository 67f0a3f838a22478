#!/usr/bin/env python3
"""The PyTorch side of `dtcl bench transform`: the same work as dtcl's, with
dtcl_ref in float32 on the CPU, for a batch of N images of S x S:
  draw the noise fields; forward T(x); dT/dlambda_k for k = 0..6 (forward-mode
  AD, one pass per k); the vector-Jacobian products J_x^T dy and J_lambda^T dy.
Prints one line: "min_ms median_ms torch_version threads".

Usage: bench_transform.py --size S --batch N --repeats R --threads T
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtcl_ref as R  # noqa: E402


def time_and_report(work, repeats, extra=None):
    """One warm-up, then `repeats` timed runs of work(); prints the line the
    dtcl benchmarks read: "min_ms median_ms torch_version threads", and the
    string extra() returns after them when extra is given."""
    work()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        work()
        times.append((time.perf_counter() - t0) * 1e3)
    print("%.3f %.3f %s %d%s" % (min(times), statistics.median(times), torch.__version__, torch.get_num_threads(),
                                 " " + extra() if extra else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    N, S = a.batch, a.size
    x = torch.rand(N, S, S)
    lam = torch.rand(N, 7) * 0.9 + 0.05
    dy = torch.rand(N, S, S) * 2 - 1

    def work():
        z = torch.randn(N, S, S)
        with torch.no_grad():
            R.transform(x, lam, z)
        R.jacobian_lambda(x, lam, z)
        R.vjp(x, lam, z, dy)

    time_and_report(work, a.repeats)


if __name__ == "__main__":
    main()
