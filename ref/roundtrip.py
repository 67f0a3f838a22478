#!/usr/bin/env python3
"""Checkpoints between dtcl and PyTorch, both ways (tests/roundtrip.sh):

  roundtrip.py export DIR   a PyTorch Model (SPEC section 3 names, widths 8,16,32), one
                            training-mode pass so that the running statistics move, saved
                            as DIR/torch_f.safetensors (the f.* tensors only, as
                            safetensors.torch.save_file writes them), images DIR/x.npy and
                            their representations in evaluation mode DIR/h_torch.npy
  roundtrip.py load CK X OUT  loads a dtcl checkpoint into a fresh Model with
                            load_state_dict(strict=True) (the adam.* entries dropped), writes
                            h = f(X) in evaluation mode to OUT, and re-saves every tensor to
                            OUT.safetensors
  roundtrip.py densenet DIR  torchvision's DenseNet-121 (its own initialisation, seed 3; one
                            training-mode pass on RGB images so that the running statistics move),
                            converted by convert_densenet.py to DIR/tv_f.safetensors; grey
                            images DIR/xd.npy (64x64) and torchvision's representations of them
                            as three equal channels, in evaluation mode, DIR/hd_torch.npy
  roundtrip.py compare A B TOL  relative L2 of A against B; exit 1 above TOL
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtcl_nets as N  # noqa: E402


def embed(model, x):
    model.f.eval()
    with torch.no_grad():
        return model.f(torch.tensor(x[:, None] if x.ndim == 3 else x)).numpy()


def main():
    cmd = sys.argv[1]
    torch.set_num_threads(1)
    if cmd == "export":
        d = sys.argv[2]
        torch.manual_seed(3)
        m = N.Model((8, 16, 32), (16, 32), 256, 128)
        x = torch.rand(10, 1, 32, 32)
        m.f.train()
        with torch.no_grad():
            m.f(torch.rand(10, 1, 32, 32) * 2)
        N.save_safetensors({k: v for k, v in m.state_dict().items() if k.startswith("f.")},
                           os.path.join(d, "torch_f.safetensors"))
        np.save(os.path.join(d, "x.npy"), x[:, 0].numpy())
        np.save(os.path.join(d, "h_torch.npy"), embed(m, x.numpy()))
    elif cmd == "densenet":
        import torch.nn.functional as F
        import torchvision
        import convert_densenet
        d = sys.argv[2]
        torch.manual_seed(3)
        tv = torchvision.models.densenet121()
        tv.train()
        with torch.no_grad():
            tv(torch.rand(4, 3, 64, 64) * 2)
        tv.eval()
        N.save_safetensors(convert_densenet.convert(tv.state_dict()), os.path.join(d, "tv_f.safetensors"))
        x = torch.rand(6, 1, 64, 64)
        with torch.no_grad():
            h = F.adaptive_avg_pool2d(F.relu(tv.features(x.repeat(1, 3, 1, 1))), 1).flatten(1)
        np.save(os.path.join(d, "xd.npy"), x[:, 0].numpy())
        np.save(os.path.join(d, "hd_torch.npy"), h.numpy())
    elif cmd == "load":
        ck, xp, out = sys.argv[2:5]
        state, meta = N.load_safetensors(ck)
        state = {k: v for k, v in state.items() if not k.startswith("adam.")}
        m = N.model_from_state(state)
        m.load_state_dict(state, strict=True)
        np.save(out, embed(m, np.load(xp)))
        N.save_safetensors(m.state_dict(), out + ".safetensors", {"format": "from-pytorch"})
        print("loaded %d tensors with strict=True (%s)" % (len(state), meta.get("format", "?")))
    elif cmd == "compare":
        a, b, tol = np.load(sys.argv[2]).astype(np.float64), np.load(sys.argv[3]).astype(np.float64), float(sys.argv[4])
        rel = np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)
        print("%s vs %s: shape %s, relative L2 %.3e (tolerance %.0e), max |diff| %.3e" %
              (os.path.basename(sys.argv[2]), os.path.basename(sys.argv[3]), a.shape, rel, tol, np.abs(a - b).max()))
        sys.exit(0 if a.shape == b.shape and rel <= tol else 1)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
