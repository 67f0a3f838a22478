#!/usr/bin/env python3
"""The PyTorch side of `dtcl bench train-step`: SPEC section 4's steps with the
dtcl_nets modules in float32 on the CPU, batch N of S x S images:
  encoder   f on X and X_M, g, p, L_NCE and both BCE terms, backward, Adam;
  proposed  M proposes Lambda, T makes X_M, the M step, then the encoder step
            on the same X_M, the forward pass of f, g, p shared.
Half of the batch is labelled. Prints one line:
  "min_ms median_ms torch_version threads peak_mib",
peak_mib the resident memory the model, its optimisers and the steps added
at their peak (Linux: VmHWM after clear_refs, less VmRSS before the model);
with --device cuda, everything on the GPU (eager mode, each repeat ending with
torch.cuda.synchronize()) and peak_mib torch.cuda.max_memory_allocated.

Usage: bench_train.py --step encoder|proposed --size S --batch N --repeats R --threads T
                      [--encoder fcn|densenet121] [--device cpu|cuda]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtcl_nets as N  # noqa: E402
from bench_transform import time_and_report  # noqa: E402


def _status_kib(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--step", choices=("encoder", "proposed"), required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--encoder", choices=("fcn", "densenet121"), default="fcn")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    B, S = a.batch, a.size
    rss0 = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:  # resets VmHWM to the current RSS
        fh.write("5")
    model = N.Model(densenet={} if a.encoder == "densenet121" else None).to(dev)
    opt_e = torch.optim.Adam(list(model.f.parameters()) + list(model.g.parameters()) + list(model.p.parameters()),
                             lr=1e-4)
    opt_m = torch.optim.Adam(model.m.parameters(), lr=1e-3)
    x = torch.rand(B, S, S, device=dev)
    labels = torch.full((B,), -1, dtype=torch.int64, device=dev)
    labels[: B // 2] = torch.arange(B // 2, device=dev) % 2

    def work():
        if a.step == "encoder":
            xm = torch.rand(B, 1, S, S, device=dev)
            N.encoder_step(model, opt_e, x[:, None], xm, labels)
        else:
            z = torch.randn(B, S, S, device=dev)
            N.proposed_step(model, opt_m, opt_e, x, z, labels)

    if a.device == "cuda":
        peak = lambda: "%.1f" % (torch.cuda.max_memory_allocated() / 1048576.0)  # noqa: E731
    else:
        peak = lambda: "%.1f" % ((_status_kib("VmHWM") - rss0) / 1024.0)  # noqa: E731
    time_and_report(work, a.repeats, peak, a.device)


if __name__ == "__main__":
    main()
