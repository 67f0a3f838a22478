"""dtcl_nets: the networks of SPEC section 3 and the steps of section 4 as
torch.nn.Modules whose state_dict names are dtcl's checkpoint names, so that
load_state_dict(strict=True) accepts a dtcl checkpoint read with
load_safetensors() (or safetensors.torch.load_file).

Written from SPEC.md, not from dtcl's C code:
  f  fcn encoder: 4 blocks of [conv3x3 (no bias) -> BatchNorm -> ReLU] x 2 -> max-pool 2,
     then global average pool                            f.blocks.{b}.{conv,bn}{c}.*
     or densenet121: torchvision's DenseNet-121 `features` with a one-channel stem, then
     ReLU and global average pool                        f.conv0.*, f.denseblock1.denselayer1.norm1.*, ...
  m  conv3x3(1->16) -> ReLU -> pool, conv3x3(16->32) -> ReLU -> pool,
     conv1x1(32->7) -> global average pool -> logistic   m.conv0.*, m.conv1.*, m.head.*
  g  Linear(d->256) -> ReLU -> Linear(256->128)          g.fc0.*, g.fc1.*
  p  Linear(d->1)                                        p.weight, p.bias

The safetensors reader and writer here follow the format (8-byte length,
JSON header, raw little-endian data) so that the tests need only torch and
numpy; when the `safetensors` package is installed it is used instead.
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import dtcl_ref as R


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv0 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(cout)
        self.conv1 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(self.bn0(self.conv0(x)))
        x = F.relu(self.bn1(self.conv1(x)))
        return F.max_pool2d(x, 2)


class FCN(nn.Module):
    def __init__(self, widths=(32, 64, 128, 256)):
        super().__init__()
        cins = (1,) + tuple(widths[:-1])
        self.blocks = nn.ModuleList(Block(ci, co) for ci, co in zip(cins, widths))
        self.dim = widths[-1]

    def forward(self, x):
        """x (B,1,S,S) -> h (B,d)"""
        for b in self.blocks:
            x = b(x)
        return x.mean(dim=(2, 3))


class DenseLayer(nn.Module):
    """norm1 -> ReLU -> conv1 1x1 (C -> bn_size*growth) -> norm2 -> ReLU -> conv2 3x3 (-> growth)."""

    def __init__(self, cin, growth, bn_size):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        y = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(y)))


class DenseBlock(nn.ModuleDict):
    def __init__(self, layers, cin, growth, bn_size):
        super().__init__()
        for j in range(layers):
            self["denselayer%d" % (j + 1)] = DenseLayer(cin + j * growth, growth, bn_size)

    def forward(self, x):
        feats = [x]
        for layer in self.values():
            feats.append(layer(torch.cat(feats, 1)))
        return torch.cat(feats, 1)


class Transition(nn.Sequential):
    def __init__(self, cin):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(cin, cin // 2, 1, bias=False)
        self.pool = nn.AvgPool2d(2, 2)


class DenseNet(nn.Module):
    """SPEC section 3's densenet121: the layout of torchvision's DenseNet(...).features with a
    one-channel stem (conv0 7x7 stride 2 pad 3, norm0, ReLU, max-pool 3x3 stride 2 pad 1),
    dense blocks and transitions, norm5; then ReLU and global average pool."""

    def __init__(self, init=64, growth=32, bn_size=4, layers=(6, 12, 24, 16)):
        super().__init__()
        self.conv0 = nn.Conv2d(1, init, 7, stride=2, padding=3, bias=False)
        self.norm0 = nn.BatchNorm2d(init)
        c = init
        for k, n in enumerate(layers):
            setattr(self, "denseblock%d" % (k + 1), DenseBlock(n, c, growth, bn_size))
            c += n * growth
            if k < len(layers) - 1:
                setattr(self, "transition%d" % (k + 1), Transition(c))
                c //= 2
        self.norm5 = nn.BatchNorm2d(c)
        self.nblocks = len(layers)
        self.dim = c

    def forward(self, x):
        """x (B,1,S,S) -> h (B,d)"""
        x = F.max_pool2d(F.relu(self.norm0(self.conv0(x))), 3, 2, 1)
        for k in range(self.nblocks):
            x = getattr(self, "denseblock%d" % (k + 1))(x)
            if k < self.nblocks - 1:
                x = getattr(self, "transition%d" % (k + 1))(x)
        return F.relu(self.norm5(x)).mean(dim=(2, 3))


class MNet(nn.Module):
    def __init__(self, widths=(16, 32)):
        super().__init__()
        self.conv0 = nn.Conv2d(1, widths[0], 3, padding=1)
        self.conv1 = nn.Conv2d(widths[0], widths[1], 3, padding=1)
        self.head = nn.Conv2d(widths[1], 7, 1)

    def forward(self, x):
        """x (B,1,S,S) -> Lambda (B,7)"""
        x = F.max_pool2d(F.relu(self.conv0(x)), 2)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return torch.sigmoid(self.head(x).mean(dim=(2, 3)))


class Projection(nn.Module):
    def __init__(self, d, hidden=256, out=128):
        super().__init__()
        self.fc0 = nn.Linear(d, hidden)
        self.fc1 = nn.Linear(hidden, out)

    def forward(self, h):
        return self.fc1(F.relu(self.fc0(h)))


class Model(nn.Module):
    """The whole of SPEC section 3: f, m, g, p."""

    def __init__(self, widths=(32, 64, 128, 256), mwidths=(16, 32), hidden=256, zdim=128, densenet=None):
        """densenet: None for the fcn encoder, or DenseNet's keyword arguments ({} for DenseNet-121)."""
        super().__init__()
        self.f = FCN(widths) if densenet is None else DenseNet(**densenet)
        self.m = MNet(mwidths)
        self.g = Projection(self.f.dim, hidden, zdim)
        self.p = nn.Linear(self.f.dim, 1)


# ------------------------------------------------------------------ losses


def sim_matrix(a, b, sim="dot", tau=1.0):
    if sim == "cosine":
        a = F.normalize(a, dim=1)
        b = F.normalize(b, dim=1)
    return a @ b.t() / tau


def nce_paper(zm, z, sim="dot", tau=1.0):
    """SPEC section 4: (1/B) sum_i -log(exp s(zm_i,z_i) / sum_{j != i} exp s(zm_i,z_j))."""
    s = sim_matrix(zm, z, sim, tau)
    B = s.shape[0]
    eye = torch.eye(B, dtype=torch.bool, device=s.device)
    neg = s.masked_fill(eye, float("-inf"))
    return (-s.diagonal() + torch.logsumexp(neg, dim=1)).mean()


def bce_labelled(logits, labels):
    """BCE with logits over labels >= 0 only; 0 when there are none."""
    known = labels >= 0
    if not bool(known.any()):
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[known], labels[known].to(logits.dtype))


# ------------------------------------------------------------------ steps


def encoder_step(model, opt, x, xm, labels, alpha=(1, 10, 1, 1, 1)):
    """SPEC section 4's encoder step: alpha2 L_NCE + alpha3 BCE(p f X_M) + alpha4 BCE(p f X).
    f runs on X first, then on X_M (the running statistics see both)."""
    h = model.f(x)
    hm = model.f(xm)
    loss = alpha[2] * nce_paper(model.g(hm), model.g(h))
    loss = loss + alpha[3] * bce_labelled(model.p(hm)[:, 0], labels)
    loss = loss + alpha[4] * bce_labelled(model.p(h)[:, 0], labels)
    opt.zero_grad(set_to_none=False)
    loss.backward()
    opt.step()
    return loss


def proposed_step(model, opt_m, opt_e, x, z, labels, alpha=(1, 10, 1, 1, 1)):
    """SPEC section 4's step for `proposed`: M proposes Lambda, T makes X_M, the M step
    (minimise -alpha0 L_NCE + alpha1 BCE(p f X_M) over M's weights only), then the encoder
    step on the same X_M. The forward pass of f, g, p is shared by both steps."""
    lam = model.m(x[:, None])
    xm = R.transform(x, lam, z)[:, None]
    xm_leaf = xm.detach().requires_grad_(True)
    h = model.f(x[:, None])
    hm = model.f(xm_leaf)
    nce = nce_paper(model.g(hm), model.g(h))
    bce_m = bce_labelled(model.p(hm)[:, 0], labels)
    loss_m = -alpha[0] * nce + alpha[1] * bce_m
    loss_e = alpha[2] * nce + alpha[3] * bce_m + alpha[4] * bce_labelled(model.p(h)[:, 0], labels)
    (dxm,) = torch.autograd.grad(loss_m, xm_leaf, retain_graph=True)
    opt_m.zero_grad(set_to_none=False)
    xm.backward(dxm)
    opt_m.step()
    opt_e.zero_grad(set_to_none=False)
    loss_e.backward()
    opt_e.step()
    return loss_m, loss_e


# ------------------------------------------------------------------ safetensors

_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def load_safetensors(path):
    """{name: torch.Tensor} and the metadata dict, as safetensors.torch.load_file reads them."""
    with open(path, "rb") as fh:
        raw = fh.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        a = np.frombuffer(data[b:e], dtype=np.dtype(_DTYPES[t["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(a.reshape(t["shape"]).copy())
    return out, meta


def save_safetensors(tensors, path, metadata=None):
    """As safetensors.torch.save_file: tensors sorted by dtype size (largest first), then name;
    the header padded with spaces to a multiple of 8."""
    try:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata)
        return
    except ImportError:
        pass
    names = sorted(tensors, key=lambda k: (-tensors[k].element_size(), k))
    header, chunks, off = {}, [], 0
    rev = {v: k for k, v in _DTYPES.items()}
    for k in names:
        a = tensors[k].detach().cpu().contiguous().numpy()
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": rev[a.dtype.type], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def model_from_state(state):
    """A Model whose widths are read from the tensors' shapes (as dtcl does)."""
    widths, b, dn = [], 0, None
    while "f.blocks.%d.conv0.weight" % b in state:
        widths.append(state["f.blocks.%d.conv0.weight" % b].shape[0])
        b += 1
    if "f.conv0.weight" in state:  # densenet121: stem, growth, bottleneck, layers per block
        growth = state["f.denseblock1.denselayer1.conv2.weight"].shape[0]
        layers = []
        for k in range(1, 5):
            n = 0
            while "f.denseblock%d.denselayer%d.conv1.weight" % (k, n + 1) in state:
                n += 1
            layers.append(n)
        dn = {"init": state["f.conv0.weight"].shape[0], "growth": growth,
              "bn_size": state["f.denseblock1.denselayer1.conv1.weight"].shape[0] // growth, "layers": tuple(layers)}
    mw = (state["m.conv0.weight"].shape[0], state["m.conv1.weight"].shape[0]) if "m.conv0.weight" in state else (16, 32)
    hidden, zdim = ((state["g.fc0.weight"].shape[0], state["g.fc1.weight"].shape[0]) if "g.fc0.weight" in state
                    else (256, 128))
    return Model(tuple(widths) or (32, 64, 128, 256), mw, hidden, zdim, densenet=dn)
