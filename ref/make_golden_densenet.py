#!/usr/bin/env python3
"""Writes ref/golden/densenet/: SPEC section 3's densenet121 encoder at a small
configuration that keeps every kind of layer (stem 8, growth 4, bottleneck 2x4,
layers 2-3-2-2) on 37x37 images (odd sides at the stem, the first transition's
pool and the last block), by dtcl_nets.DenseNet in float64 from float32 weights:
  h for a batch in training mode, every parameter gradient and the input
  gradient for an upstream dh, the running statistics after the pass; h in
  evaluation mode from those statistics.
Weights are in weights.safetensors (dtcl's names), results as .npy.

The full DenseNet-121 is compared at run time instead (tests/roundtrip.sh and
ref/roundtrip.py): its weights would be 28 MB.

Usage: python3 ref/make_golden_densenet.py [OUTDIR]
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtcl_nets as N  # noqa: E402

CONFIG = {"init": 8, "growth": 4, "bn_size": 2, "layers": [2, 3, 2, 2], "size": 37, "batch": 3}


def make_encoder(rng):
    """float32 weights from rng; BatchNorm affine and running statistics away from their defaults."""
    c = CONFIG
    f = N.DenseNet(c["init"], c["growth"], c["bn_size"], tuple(c["layers"]))
    with torch.no_grad():
        for name, t in f.state_dict().items():
            if name.endswith("num_batches_tracked"):
                t.fill_(3)
            elif name.endswith("running_var"):
                t.copy_(torch.tensor(rng.uniform(0.5, 1.5, t.shape).astype(np.float32)))
            elif name.endswith("running_mean"):
                t.copy_(torch.tensor(rng.normal(0, 0.2, t.shape).astype(np.float32)))
            elif t.dim() == 1 and name.endswith("weight"):
                t.copy_(torch.tensor(rng.uniform(0.7, 1.3, t.shape).astype(np.float32)))
            elif t.dim() == 1:
                t.copy_(torch.tensor(rng.normal(0, 0.2, t.shape).astype(np.float32)))
            else:
                fan = t.shape[1] * t[0, 0].numel()
                t.copy_(torch.tensor(rng.normal(0, np.sqrt(2.0 / fan), t.shape).astype(np.float32)))
    return f


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden",
                                                             "densenet")
    c = CONFIG
    B, S = c["batch"], c["size"]
    f = make_encoder(np.random.default_rng(21))
    os.makedirs(out, exist_ok=True)
    N.save_safetensors({"f." + k: v for k, v in f.state_dict().items()}, os.path.join(out, "weights.safetensors"),
                       {"format": "golden"})
    fd = make_encoder(np.random.default_rng(21)).double()
    rng = np.random.default_rng(22)
    x = rng.uniform(0, 1, (B, 1, S, S)).astype(np.float32)
    dh = rng.normal(0, 1, (B, fd.dim)).astype(np.float32)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    h = fd(xt)
    h.backward(torch.tensor(dh, dtype=torch.float64))
    arrays = {"x": x, "dh": dh, "h": h.detach().numpy(), "dx": xt.grad.numpy()}
    for k, p in fd.named_parameters():
        arrays["d_" + k.replace(".", "_")] = p.grad.numpy()
    for k, v in fd.state_dict().items():
        if "running" in k:
            arrays[k.replace(".", "_")] = v.numpy()
    fd.eval()
    with torch.no_grad():
        arrays["h_eval"] = fd(torch.tensor(x, dtype=torch.float64)).numpy()
    for k, v in arrays.items():
        np.save(os.path.join(out, k + ".npy"), v)
    with open(os.path.join(out, "MANIFEST.json"), "w") as fh:
        json.dump({"format": "dtcl-golden-densenet", "version": 1, "script": "ref/make_golden_densenet.py",
                   "torch": torch.__version__, "config": c, "parameters": len(list(fd.parameters()))}, fh, indent=1)
        fh.write("\n")
    print("wrote", out, len(arrays), "arrays")


if __name__ == "__main__":
    main()
