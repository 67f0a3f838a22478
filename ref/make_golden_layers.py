#!/usr/bin/env python3
"""Writes ref/golden/layers/: BatchNorm2d (training with the running-statistics
update, and evaluation), ReLU, the logistic function, 2x2 max-pooling (an odd
width, floor mode), global average pooling, nn.Linear and nn.Conv2d (3x3 with
and without bias, 1x1; padding (k-1)/2), forward and backward,
by PyTorch (float64 from float32 inputs), independently of dtcl's C code.
Each folder holds the inputs, an upstream gradient dy, and the results.

Usage: python3 ref/make_golden_layers.py [OUTDIR]
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def save(d, **arrays):
    os.makedirs(d, exist_ok=True)
    for k, v in arrays.items():
        np.save(os.path.join(d, k + ".npy"), v.detach().numpy() if torch.is_tensor(v) else v)


def t64(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "layers")
    rng = np.random.default_rng(7)
    f32 = lambda *s, loc=0.0, sc=1.0: rng.normal(loc, sc, s).astype(np.float32)  # noqa: E731
    # BatchNorm2d, training then evaluation
    x, dy = f32(4, 3, 5, 5, loc=1.5, sc=2.0), f32(4, 3, 5, 5)
    gamma, beta = f32(3, loc=1.0, sc=0.3), f32(3, sc=0.3)
    rm, rv = f32(3, sc=0.1), np.abs(f32(3, loc=1.0, sc=0.2))
    bn = torch.nn.BatchNorm2d(3, momentum=0.1, eps=1e-5).double()
    with torch.no_grad():
        bn.weight.copy_(t64(gamma)); bn.bias.copy_(t64(beta))
        bn.running_mean.copy_(t64(rm)); bn.running_var.copy_(t64(rv))
    xt = t64(x, True)
    y = bn(xt)
    y.backward(t64(dy))
    bn.eval()
    y_eval = bn(t64(x))
    save(os.path.join(out, "batchnorm"), x=x, dy=dy, gamma=gamma, beta=beta, running_mean0=rm, running_var0=rv,
         y=y, dx=xt.grad, dgamma=bn.weight.grad, dbeta=bn.bias.grad, running_mean=bn.running_mean,
         running_var=bn.running_var, y_eval=y_eval)
    # ReLU and logistic
    x, dy = f32(60), f32(60)
    for name, fn in (("relu", F.relu), ("logistic", torch.sigmoid)):
        xt = t64(x, True)
        y = fn(xt)
        y.backward(t64(dy))
        save(os.path.join(out, name), x=x, dy=dy, y=y, dx=xt.grad)
    # max-pooling 2x2, odd width
    x, dy = f32(2, 3, 6, 7), f32(2, 3, 3, 3)
    xt = t64(x, True)
    y = F.max_pool2d(xt, 2)
    y.backward(t64(dy))
    save(os.path.join(out, "maxpool"), x=x, dy=dy, y=y, dx=xt.grad)
    # global average pooling
    x, dy = f32(2, 3, 4, 5), f32(2, 3)
    xt = t64(x, True)
    y = F.adaptive_avg_pool2d(xt, 1).flatten(1)
    y.backward(t64(dy))
    save(os.path.join(out, "avgpool"), x=x, dy=dy, y=y, dx=xt.grad)
    # nn.Linear
    x, w, b, dy = f32(5, 7), f32(3, 7, sc=0.4), f32(3), f32(5, 3)
    xt, wt, bt = t64(x, True), t64(w, True), t64(b, True)
    y = F.linear(xt, wt, bt)
    y.backward(t64(dy))
    save(os.path.join(out, "linear"), x=x, weight=w, bias=b, dy=dy, y=y, dx=xt.grad, dweight=wt.grad, dbias=bt.grad)
    # nn.Conv2d, "same" padding: 3x3 without bias (f), 3x3 with bias on an odd size, 1x1 with bias (M's head)
    for name, (B, C, O, H, W, k, bias) in (("conv3x3", (3, 2, 4, 6, 6, 3, False)),
                                           ("conv3x3_bias", (2, 3, 5, 7, 5, 3, True)),
                                           ("conv1x1_bias", (2, 4, 7, 3, 3, 1, True))):
        x, w, dy = f32(B, C, H, W), f32(O, C, k, k, sc=0.4), f32(B, O, H, W)
        b = f32(O) if bias else np.zeros(O, np.float32)
        xt, wt, bt = t64(x, True), t64(w, True), t64(b, True)
        y = F.conv2d(xt, wt, bt if bias else None, padding=(k - 1) // 2)
        y.backward(t64(dy))
        save(os.path.join(out, name), x=x, weight=w, bias=b, dy=dy, y=y, dx=xt.grad, dweight=wt.grad,
             dbias=bt.grad if bias else np.zeros(O))
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump({"format": "dtcl-golden-layers", "version": 1, "script": "ref/make_golden_layers.py",
                   "torch": torch.__version__, "batchnorm": {"momentum": 0.1, "eps": 1e-5}}, f, indent=1)
        f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
