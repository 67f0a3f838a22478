#!/usr/bin/env python3
"""The PyTorch side of `dtcl bench transform`: the same work as dtcl's, with
dtcl_ref in float32, for a batch of N images of S x S:
  draw the noise fields; forward T(x); dT/dlambda_k for k = 0..6 (forward-mode
  AD, one pass per k; on the CPU only, as dtcl); the vector-Jacobian products
  J_x^T dy and J_lambda^T dy.
With --device cuda the tensors live on the GPU and each repeat ends with
torch.cuda.synchronize(). Prints one line:
  "min_ms median_ms torch_version threads [peak_mib]" (peak_mib on cuda:
  torch.cuda.max_memory_allocated).

Usage: bench_transform.py --size S --batch N --repeats R --threads T [--device cpu|cuda]
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtcl_ref as R  # noqa: E402


def time_and_report(work, repeats, extra=None, device="cpu"):
    """One warm-up, then `repeats` timed runs of work(), each waiting for the
    GPU on cuda; prints the line the dtcl benchmarks read: "min_ms median_ms
    torch_version threads", and the string extra() returns after them when
    extra is given."""
    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
    work()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        work()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    print("%.3f %.3f %s %d%s" % (min(times), statistics.median(times), torch.__version__, torch.get_num_threads(),
                                 " " + extra() if extra else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    N, S = a.batch, a.size
    x = torch.rand(N, S, S, device=dev)
    lam = torch.rand(N, 7, device=dev) * 0.9 + 0.05
    dy = torch.rand(N, S, S, device=dev) * 2 - 1

    def work():
        z = torch.randn(N, S, S, device=dev)
        with torch.no_grad():
            R.transform(x, lam, z)
        if a.device == "cpu":
            R.jacobian_lambda(x, lam, z)
        R.vjp(x, lam, z, dy)

    extra = (lambda: "%.1f" % (torch.cuda.max_memory_allocated() / 1048576.0)) if a.device == "cuda" else None
    time_and_report(work, a.repeats, extra, a.device)


if __name__ == "__main__":
    main()
