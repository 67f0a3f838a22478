#!/usr/bin/env python3
"""Converts torchvision DenseNet-121 weights into the f.* tensors of dtcl's
densenet121 encoder (SPEC section 3), for `dtcl train --init` and `dtcl embed`:
  features.<rest>  ->  f.<rest>      (the classifier is dropped)
  features.conv0.weight (64, 3, 7, 7) is summed over its RGB input channels to
  (64, 1, 7, 7): on a grey image given as three equal channels, torchvision's
  stem computes exactly that one-channel convolution.
Older checkpoints' names (denselayer1.norm.1 for norm1, ...) are renamed as
torchvision's own loader does. dtcl never downloads anything: give the file.

Usage:
  convert_densenet.py --pth densenet121-a639ec97.pth -o imagenet_f.safetensors
      a state dict saved by torch (for example torchvision's ImageNet weights,
      downloaded by torchvision.models.densenet121(weights="IMAGENET1K_V1") into
      ~/.cache/torch/hub/checkpoints/, or from download.pytorch.org)
  convert_densenet.py --random SEED -o random_f.safetensors
      torchvision.models.densenet121() with its own initialisation from SEED
      (needs python3-torchvision; for tests)
"""
import argparse
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtcl_nets as N  # noqa: E402

_OLD_NAMES = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def convert(state):
    """{torchvision name: tensor} -> {dtcl name: float32 tensor} for the encoder."""
    out = {}
    for name, t in state.items():
        m = _OLD_NAMES.match(name)
        if m:
            name = m.group(1) + m.group(2)
        if not name.startswith("features."):
            continue  # the classifier
        t = t.detach().cpu()
        if name == "features.conv0.weight" and t.shape[1] == 3:
            t = t.sum(dim=1, keepdim=True)
        out["f." + name[len("features."):]] = t.to(torch.int64 if name.endswith("num_batches_tracked") else
                                                   torch.float32).contiguous()
    if "f.conv0.weight" not in out:
        sys.exit("no features.conv0.weight: not a torchvision DenseNet state dict")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--pth", help="a torch-saved DenseNet-121 state dict")
    src.add_argument("--random", type=int, metavar="SEED", help="torchvision's own initialisation from SEED")
    ap.add_argument("-o", "--output", required=True, help="the safetensors file to write")
    a = ap.parse_args()
    if a.pth:
        state = torch.load(a.pth, map_location="cpu")
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        origin = os.path.basename(a.pth)
    else:
        import torchvision
        torch.manual_seed(a.random)
        state = torchvision.models.densenet121().state_dict()
        origin = "torchvision densenet121(), seed %d" % a.random
    f = convert(state)
    tmp = a.output + ".tmp"
    N.save_safetensors(f, tmp, {"format": "dtcl-encoder", "encoder": "densenet121", "converted_from": origin,
                                "stem": "torchvision conv0 summed over RGB"})
    os.replace(tmp, a.output)
    print("%s: %d tensors, %d parameters, from %s" % (a.output, len(f),
                                                      sum(t.numel() for k, t in f.items() if "running" not in k and
                                                          "num_batches" not in k), origin))


if __name__ == "__main__":
    main()
