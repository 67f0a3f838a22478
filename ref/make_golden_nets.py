#!/usr/bin/env python3
"""Writes ref/golden/nets/: the networks of SPEC section 3 at small widths, by
the modules of dtcl_nets.py in float64 from float32 weights and inputs:
  encoder/  f in training mode: h for a batch, every parameter gradient for an
            upstream dh, the running statistics after the pass; h in evaluation mode
  mnet/     M: Lambda for a batch and every parameter gradient for a dLambda
  steps/    three `proposed` steps (SPEC section 4: M step, then the encoder step,
            Adam on both), the noise fields from Philox (seed 5, epoch 0, step s):
            the losses of each step and every tensor after the third
Weights are in weights.safetensors (dtcl's names), results as .npy.

Usage: python3 ref/make_golden_nets.py [OUTDIR]
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtcl_nets as N  # noqa: E402
import dtcl_ref as R  # noqa: E402

CONFIG = {"widths": [4, 8], "m_widths": [4, 6], "hidden": 16, "zdim": 8, "size": 16, "batch": 6}
SEED = 5


def save(d, **arrays):
    os.makedirs(d, exist_ok=True)
    for k, v in arrays.items():
        a = v.detach().numpy() if torch.is_tensor(v) else v
        np.save(os.path.join(d, k + ".npy"), a)


def make_model(rng):
    """float32 weights drawn from rng, BatchNorm affine and running statistics not at their defaults."""
    c = CONFIG
    m = N.Model(tuple(c["widths"]), tuple(c["m_widths"]), c["hidden"], c["zdim"])
    with torch.no_grad():
        for name, t in m.state_dict().items():
            if name.endswith("num_batches_tracked"):
                t.fill_(3)
            elif name.endswith("running_var"):
                t.copy_(torch.tensor(rng.uniform(0.5, 1.5, t.shape).astype(np.float32)))
            elif ".bn" in name and name.endswith("weight"):
                t.copy_(torch.tensor(rng.uniform(0.7, 1.3, t.shape).astype(np.float32)))
            else:
                fan = t.shape[1] * (t[0, 0].numel() if t.dim() > 2 else 1) if t.dim() > 1 else 4
                t.copy_(torch.tensor(rng.normal(0, 1.0 / np.sqrt(fan), t.shape).astype(np.float32)))
    return m


def grads(module, prefix):
    return {prefix + k.replace(".", "_"): p.grad for k, p in module.named_parameters()}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "nets")
    rng = np.random.default_rng(11)
    c = CONFIG
    B, S = c["batch"], c["size"]
    model = make_model(rng)
    os.makedirs(out, exist_ok=True)
    N.save_safetensors(model.state_dict(), os.path.join(out, "weights.safetensors"), {"format": "golden"})
    md = make_model(np.random.default_rng(11)).double()  # the same weights in float64
    x = rng.uniform(0, 1, (B, 1, S, S)).astype(np.float32)

    # encoder, training mode then evaluation mode
    dh = rng.normal(0, 1, (B, c["widths"][-1])).astype(np.float32)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    h = md.f(xt)
    h.backward(torch.tensor(dh, dtype=torch.float64))
    stats = {k.replace(".", "_"): v for k, v in md.f.state_dict().items() if "running" in k}
    md.f.eval()
    with torch.no_grad():
        h_eval = md.f(torch.tensor(x, dtype=torch.float64))
    md.f.train()
    save(os.path.join(out, "encoder"), x=x, dh=dh, h=h, dx=xt.grad, h_eval=h_eval, **grads(md.f, "d_"), **stats)

    # M
    dlam = rng.normal(0, 1, (B, 7)).astype(np.float32)
    lam = md.m(torch.tensor(x, dtype=torch.float64))
    lam.backward(torch.tensor(dlam, dtype=torch.float64))
    save(os.path.join(out, "mnet"), x=x, dlambda=dlam, **{"lambda": lam}, **grads(md.m, "d_"))

    # three proposed steps from the saved weights
    md = make_model(np.random.default_rng(11)).double()
    labels = np.array([0, 1, -1, 1, -1, 0], dtype=np.int8)
    opt_e = torch.optim.Adam(list(md.f.parameters()) + list(md.g.parameters()) + list(md.p.parameters()), lr=1e-3)
    opt_m = torch.optim.Adam(md.m.parameters(), lr=1e-3)
    xs = torch.tensor(x[:, 0], dtype=torch.float64)
    losses = []
    for s in range(3):
        z = torch.stack([R.noise_field(SEED, n, S, 0, s) for n in range(B)]).to(torch.float64)
        lm, le = N.proposed_step(md, opt_m, opt_e, xs, z, torch.tensor(labels, dtype=torch.int64))
        losses.append([float(lm), float(le)])
    state = {k.replace(".", "_"): v for k, v in md.state_dict().items()}
    save(os.path.join(out, "steps"), x=x, labels=labels, losses=np.array(losses), **state)

    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump({"format": "dtcl-golden-nets", "version": 1, "script": "ref/make_golden_nets.py",
                   "torch": torch.__version__, "config": c, "noise_seed": SEED,
                   "steps": {"strategy": "proposed", "alpha": [1, 10, 1, 1, 1], "lr_encoder": 1e-3, "lr_m": 1e-3,
                             "nce": "paper, dot, tau 1", "count": 3}}, f, indent=1)
        f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
