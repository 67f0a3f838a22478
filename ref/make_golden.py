#!/usr/bin/env python3
"""Writes the golden files of ref/golden/transform/ from dtcl_ref (PyTorch, float64).

Each case is a folder of .npy files (NumPy's header carries magic, version,
dtype and shape) and MANIFEST.json says what made them:
  x.npy (N,S,S) float32       input images
  lambda.npy (N,7) float32    parameters
  y.npy (N,S,S)               T_Lambda(x)
  jacobian.npy (N,7,S,S)      dT/dlambda_k
  dy.npy (N,S,S)              an upstream gradient
  dx.npy (N,S,S)              J_x^T dy
  dlambda.npy (N,7)           J_lambda^T dy
  z.npy (N,S,S)               the noise fields (Philox, erfinv)
Outputs are float64, computed from the float32 inputs taken as exact.

Usage: python3 ref/make_golden.py [OUTDIR]   (default: ref/golden/transform)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtcl_ref as R  # noqa: E402

CASES = [
    # name, S, N, order, seed, params, lambda override
    ("default16", 16, 3, R.DEFAULT_ORDER, 7, {}, None),
    ("shuffled20", 20, 2, ("rotate", "crop", "blur", "vflip", "noise", "hflip"), 3,
     {"sigma_max": 1.5, "noise_scale": 0.2, "crop_half_width": 3.0, "crop_sharpness": 0.7}, None),
    ("odd17", 17, 2, R.DEFAULT_ORDER, 11, {},
     [[0.0, 0.5, 0.45, 0.58, 1.0, 0.0, 0.3], [0.8, 1.0, 0.6, 0.3, 0.3, 0.7, 0.9]]),
    ("blur-rotate24", 24, 2, ("blur", "rotate"), 5, {"sigma_max": 2.0}, None),
]


def smooth_image(rng, N, S):
    """Test images with structure at several scales: a bright disc, a gradient, noise."""
    i, j = np.meshgrid(np.arange(S), np.arange(S), indexing="ij")
    out = np.empty((N, S, S), dtype=np.float32)
    for n in range(N):
        cy, cx, r = rng.uniform(0.3, 0.7) * S, rng.uniform(0.3, 0.7) * S, rng.uniform(0.15, 0.35) * S
        disc = 1.0 / (1.0 + np.exp(((i - cy) ** 2 + (j - cx) ** 2) ** 0.5 - r))
        ramp = (i + 2 * j) / (3.0 * S)
        out[n] = (0.6 * disc + 0.3 * ramp + 0.1 * rng.uniform(0, 1, (S, S))).astype(np.float32)
    return out


def check_rotation(x, lam):
    a = R.rotate(x, lam[:, 6])
    b = R.rotate_grid_sample(x, lam[:, 6])
    err = (a - b).abs().max().item()
    assert err < 1e-10, "gather bilinear and grid_sample disagree: %g" % err


def check_fd(x, lam, z, order, p, jac):
    """dT/dlambda by forward-mode AD against central differences (float64)."""
    h = 1e-6
    for k in range(7):
        e = torch.zeros_like(lam)
        e[:, k] = h
        fd = (R.transform(x, lam + e, z, order, p) - R.transform(x, lam - e, z, order, p)) / (2 * h)
        den = max(fd.norm().item(), 1e-12)
        rel = (fd - jac[:, k]).norm().item() / den
        assert rel < 1e-4 or fd.norm().item() < 1e-9, "case FD mismatch at lambda%d: %g" % (k, rel)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "transform")
    os.makedirs(outdir, exist_ok=True)
    manifest = {"format": "dtcl-golden-transform", "version": 1, "script": "ref/make_golden.py",
                "torch": torch.__version__, "numpy": np.__version__, "cases": []}
    for name, S, N, order, seed, pd, lam_override in CASES:
        rng = np.random.default_rng(seed)
        p = R.Params(**pd)
        x32 = smooth_image(rng, N, S)
        lam32 = (np.array(lam_override, dtype=np.float32) if lam_override is not None
                 else rng.uniform(0.05, 0.95, (N, 7)).astype(np.float32))
        dy32 = rng.uniform(-1, 1, (N, S, S)).astype(np.float32)
        x = torch.from_numpy(x32.astype(np.float64))
        lam = torch.from_numpy(lam32.astype(np.float64))
        dy = torch.from_numpy(dy32.astype(np.float64))
        z = R.noise_fields(seed, N, S)
        check_rotation(x, lam)
        y = R.transform(x, lam, z, order, p)
        jac = R.jacobian_lambda(x, lam, z, order, p)
        check_fd(x, lam, z, order, p, jac)
        dx, dl = R.vjp(x, lam, z, dy, order, p)
        d = os.path.join(outdir, name)
        os.makedirs(d, exist_ok=True)
        for fname, arr in (("x", x32), ("lambda", lam32), ("dy", dy32), ("y", y.numpy()),
                           ("jacobian", jac.numpy()), ("dx", dx.numpy()), ("dlambda", dl.numpy()),
                           ("z", z.numpy())):
            np.save(os.path.join(d, fname + ".npy"), arr)
        manifest["cases"].append({"name": name, "size": S, "batch": N, "order": ",".join(order), "seed": seed,
                                  "sigma_max": p.sigma_max, "noise_scale": p.noise_scale,
                                  "crop_half_width": p.crop_half_width, "crop_sharpness": p.crop_sharpness})
        print("%-14s S=%d N=%d order=%s" % (name, S, N, ",".join(order)))
    with open(os.path.join(outdir, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
