#!/usr/bin/env python3
"""Writes ref/golden/losses/: the losses of SPEC section 4 and Adam, computed
by PyTorch (autograd in float64; torch.optim.Adam in float32), independently
of dtcl's C code.

  <case>/zm.npy, z.npy (B,D) float32   the two views
  <case>/labels.npy (B,) float32        0, 1 or -1 (unknown)
  <case>/loss.npy (1,), dzm.npy, dz.npy (B,D)  float64
  bce/x.npy, labels.npy, mask.npy, loss.npy, dx.npy
  adam/p0.npy, g1.npy, g2.npy, g3.npy, p3.npy, m3.npy, v3.npy  (three steps, lr 1e-3)
MANIFEST.json lists the cases and their settings.

Usage: python3 ref/make_golden_losses.py [OUTDIR]
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def sim_matrix(a, b, sim, tau):
    if sim == "cosine":
        a = F.normalize(a, dim=1, eps=1e-12)
        b = F.normalize(b, dim=1, eps=1e-12)
    return a @ b.t() / tau


def nce_paper(zm, z, sim, tau):
    """SPEC 4: (1/B) sum_i -log(exp s_ii / sum_{j != i} exp s_ij)."""
    s = sim_matrix(zm, z, sim, tau)
    B = s.shape[0]
    eye = torch.eye(B, dtype=torch.bool)
    lse = torch.logsumexp(s.masked_fill(eye, float("-inf")), dim=1)
    return (lse - s.diagonal()).mean()


def contrastive_views(zm, z, labels, sim, tau, supervised):
    """NT-Xent (SimCLR) and SupCon (Khosla et al. 2020) over the 2B views."""
    v = torch.cat([zm, z])
    B = zm.shape[0]
    s = sim_matrix(v, v, sim, tau)
    V = 2 * B
    eye = torch.eye(V, dtype=torch.bool)
    lse = torch.logsumexp(s.masked_fill(eye, float("-inf")), dim=1)
    img = torch.arange(V) % B
    pos = (img[:, None] == img[None, :]) & ~eye
    if supervised:
        lab = labels[img]
        known = lab >= 0
        pos = pos | (known[:, None] & (lab[:, None] == lab[None, :]) & ~eye)
    mean_pos = (s * pos).sum(1) / pos.sum(1)
    return (lse - mean_pos).mean()


CASES = [
    ("paper-dot", "paper", "dot", 1.0),
    ("paper-cosine", "paper", "cosine", 0.5),
    ("simclr-cosine", "simclr", "cosine", 0.5),
    ("simclr-dot", "simclr", "dot", 2.0),
    ("supcon-cosine", "supcon", "cosine", 0.1),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "losses")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2022)
    B, D = 8, 16
    manifest = {"format": "dtcl-golden-losses", "version": 1, "script": "ref/make_golden_losses.py",
                "torch": torch.__version__, "batch": B, "dim": D, "cases": []}
    for name, kind, sim, tau in CASES:
        zm32 = rng.normal(0, 0.5, (B, D)).astype(np.float32)
        z32 = rng.normal(0, 0.5, (B, D)).astype(np.float32)
        lab32 = rng.choice([-1.0, 0.0, 1.0], size=B).astype(np.float32)
        zm = torch.tensor(zm32, dtype=torch.float64, requires_grad=True)
        z = torch.tensor(z32, dtype=torch.float64, requires_grad=True)
        lab = torch.tensor(lab32, dtype=torch.int64)
        if kind == "paper":
            loss = nce_paper(zm, z, sim, tau)
        else:
            loss = contrastive_views(zm, z, lab, sim, tau, kind == "supcon")
        loss.backward()
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        for f, a in (("zm", zm32), ("z", z32), ("labels", lab32), ("loss", np.array([loss.item()])),
                     ("dzm", zm.grad.numpy()), ("dz", z.grad.numpy())):
            np.save(os.path.join(d, f + ".npy"), a)
        manifest["cases"].append({"name": name, "kind": kind, "similarity": sim, "tau": tau})
    # BCE with logits over the labelled images only
    x32 = rng.normal(0, 2, 12).astype(np.float32)
    y32 = rng.choice([-1.0, 0.0, 1.0], size=12).astype(np.float32)
    m32 = (rng.uniform(size=12) < 0.7).astype(np.float32)
    x = torch.tensor(x32, dtype=torch.float64, requires_grad=True)
    sel = torch.tensor((y32 >= 0) & (m32 > 0))
    loss = F.binary_cross_entropy_with_logits(x[sel], torch.tensor(y32, dtype=torch.float64)[sel])
    loss.backward()
    d = os.path.join(out, "bce")
    os.makedirs(d, exist_ok=True)
    for f, a in (("x", x32), ("labels", y32), ("mask", m32), ("loss", np.array([loss.item()])), ("dx", x.grad.numpy())):
        np.save(os.path.join(d, f + ".npy"), a)
    # three steps of torch.optim.Adam in float32
    p = torch.tensor(rng.normal(0, 1, 64).astype(np.float32), requires_grad=True)
    p0 = p.detach().clone().numpy()
    opt = torch.optim.Adam([p], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    grads = []
    for _ in range(3):
        g = torch.tensor(rng.normal(0, 1e-2, 64).astype(np.float32))
        grads.append(g.numpy().copy())
        p.grad = g
        opt.step()
    st = opt.state[p]
    d = os.path.join(out, "adam")
    os.makedirs(d, exist_ok=True)
    for f, a in (("p0", p0), ("g1", grads[0]), ("g2", grads[1]), ("g3", grads[2]), ("p3", p.detach().numpy()),
                 ("m3", st["exp_avg"].numpy()), ("v3", st["exp_avg_sq"].numpy())):
        np.save(os.path.join(d, f + ".npy"), a)
    manifest["bce"] = {"n": 12}
    manifest["adam"] = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "steps": 3}
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
