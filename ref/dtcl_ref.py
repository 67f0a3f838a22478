"""dtcl_ref: an independent PyTorch implementation of T_Lambda (SPEC section 2).

Written from SPEC.md and the paper's Table 1, not from dtcl's C code: the
blur is a grouped conv2d with the sampled, normalised Gaussian; rotation
samples bilinearly with its own gather (checked against grid_sample in
make_golden.py); derivatives come from PyTorch's autograd, forward mode for
dT/dlambda_k and reverse mode for the vector-Jacobian products. The noise
field uses Philox4x32-10 written here in NumPy and torch.erfinv.

Works in float64 (golden files) or float32 (benchmarks). Runs with Debian's
python3-torch (1.13) and python3-numpy.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

STEPS = ("blur", "noise", "crop", "hflip", "vflip", "rotate")
DEFAULT_ORDER = STEPS
LAMBDA_NAMES = ("blur", "noise", "crop_x", "crop_y", "hflip", "vflip", "rotate")
RNG_NOISE = 4  # SPEC section 8: the purpose field of the counter


class Params:
    def __init__(self, sigma_max=2.0, noise_scale=0.1, crop_half_width=0.0, crop_sharpness=1.0):
        self.sigma_max = sigma_max
        self.noise_scale = noise_scale
        self.crop_half_width = crop_half_width  # <= 0: S/8
        self.crop_sharpness = crop_sharpness


# ---------------------------------------------------------------- Philox4x32-10

_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    """ctr: (n,4) uint64 array of 32-bit words, key: (2,) ints. Returns (n,4) uint64."""
    c = [ctr[:, i].astype(np.uint64) for i in range(4)]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    for r in range(10):
        if r:
            k0 = np.uint64((int(k0) + _W0) & _MASK)
            k1 = np.uint64((int(k1) + _W1) & _MASK)
        p0 = np.uint64(_M0) * c[0]
        p1 = np.uint64(_M1) * c[2]
        hi0, lo0 = p0 >> np.uint64(32), p0 & np.uint64(_MASK)
        hi1, lo1 = p1 >> np.uint64(32), p1 & np.uint64(_MASK)
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
    return np.stack(c, axis=1)


def stream_words(seed, purpose, epoch, step, item, n):
    """Element k of the stream is word k % 4 of block k // 4 (SPEC section 8)."""
    blocks = (n + 3) // 4
    ctr = np.zeros((blocks, 4), dtype=np.uint64)
    ctr[:, 0] = np.arange(blocks, dtype=np.uint64)
    ctr[:, 1] = item
    ctr[:, 2] = step
    ctr[:, 3] = (purpose << 24) | (epoch & 0xFFFFFF)
    key = (seed & _MASK, (seed >> 32) & _MASK)
    return philox4x32_10(ctr, key).reshape(-1)[:n]


def noise_field(seed, item, S, epoch=0, step=0):
    """z = sqrt(2) erfinv(2u - 1), u = (w + 0.5) / 2^32, float64 (S,S)."""
    w = stream_words(seed, RNG_NOISE, epoch, step, item, S * S)
    u = torch.from_numpy((w.astype(np.float64) + 0.5) / 2.0 ** 32)
    return (math.sqrt(2.0) * torch.erfinv(2.0 * u - 1.0)).reshape(S, S)


# ---------------------------------------------------------------- the seven steps

def blur_radius(sigma_max):
    return max(1, int(math.ceil(6.0 * sigma_max)))


def blur(x, lam0, p):
    """Separable sampled Gaussian, |t| <= R, normalised; zeros outside. x (N,S,S)."""
    N, S, _ = x.shape
    R = blur_radius(p.sigma_max)
    sigma = p.sigma_max * lam0  # (N,)
    t = torch.arange(-R, R + 1, dtype=x.dtype, device=x.device)
    safe = torch.where(sigma > 0, sigma, torch.ones_like(sigma))
    e = torch.exp(-(t[None, :] ** 2) / (2.0 * safe[:, None] ** 2))
    g = e / e.sum(dim=1, keepdim=True)  # (N, 2R+1)
    inp = x.reshape(1, N, S, S)
    rows = F.conv2d(inp, g.reshape(N, 1, 1, 2 * R + 1), padding=(0, R), groups=N)
    out = F.conv2d(rows, g.reshape(N, 1, 2 * R + 1, 1), padding=(R, 0), groups=N).reshape(N, S, S)
    return torch.where((sigma > 0)[:, None, None], out, x)


def noise(x, lam1, z, p):
    return x + p.noise_scale * lam1[:, None, None] * z


def crop(x, lam2, lam3, p):
    N, S, _ = x.shape
    w = p.crop_half_width if p.crop_half_width > 0 else S / 8.0
    j = torch.arange(S, dtype=x.dtype, device=x.device)[None, None, :]
    i = torch.arange(S, dtype=x.dtype, device=x.device)[None, :, None]
    d = torch.maximum((j - S * lam2[:, None, None]).abs(), (i - S * lam3[:, None, None]).abs())
    return x * torch.sigmoid(p.crop_sharpness * (w - d))


def hflip(x, lam4):
    l = lam4[:, None, None]
    return (1 - l) * x + l * torch.flip(x, dims=[2])


def vflip(x, lam5):
    l = lam5[:, None, None]
    return (1 - l) * x + l * torch.flip(x, dims=[1])


def rotation_positions(lam6, S, dtype):
    """Source positions (px column, py row), each (N,S,S), for theta = 2 pi lambda6."""
    c = (S - 1) / 2.0
    theta = 2.0 * math.pi * lam6[:, None, None]
    j = torch.arange(S, dtype=dtype, device=lam6.device)[None, None, :]
    i = torch.arange(S, dtype=dtype, device=lam6.device)[None, :, None]
    ux, uy = j - c, i - c
    px = c + torch.cos(theta) * ux - torch.sin(theta) * uy
    py = c + torch.sin(theta) * ux + torch.cos(theta) * uy
    return px, py


def bilinear(x, px, py):
    """x (N,S,S) sampled at (px, py), zeros outside; differentiable in x, px, py."""
    N, S, _ = x.shape
    x0, y0 = torch.floor(px).detach(), torch.floor(py).detach()
    fx, fy = px - x0, py - y0
    flat = x.reshape(N, S * S)

    def tap(r, col):
        inside = (r >= 0) & (r < S) & (col >= 0) & (col < S)
        idx = (r.clamp(0, S - 1) * S + col.clamp(0, S - 1)).long().reshape(N, -1)
        v = torch.gather(flat, 1, idx).reshape(r.shape)
        return torch.where(inside, v, torch.zeros_like(v))

    v00, v01 = tap(y0, x0), tap(y0, x0 + 1)
    v10, v11 = tap(y0 + 1, x0), tap(y0 + 1, x0 + 1)
    return (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11)


def rotate(x, lam6):
    px, py = rotation_positions(lam6, x.shape[1], x.dtype)
    return bilinear(x, px, py)


def rotate_grid_sample(x, lam6):
    """The same rotation through torch's grid_sample (align_corners=True maps -1..1
    onto pixel centres 0..S-1), as an independent check of bilinear()."""
    S = x.shape[1]
    px, py = rotation_positions(lam6, S, x.dtype)
    grid = torch.stack([2 * px / (S - 1) - 1, 2 * py / (S - 1) - 1], dim=-1)
    return F.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=True)[:, 0]


def transform(x, lam, z=None, order=DEFAULT_ORDER, p=None):
    """T_Lambda(x): x (N,S,S), lam (N,7), z (N,S,S) noise fields."""
    p = p or Params()
    for step in order:
        if step == "blur":
            x = blur(x, lam[:, 0], p)
        elif step == "noise":
            x = noise(x, lam[:, 1], z, p)
        elif step == "crop":
            x = crop(x, lam[:, 2], lam[:, 3], p)
        elif step == "hflip":
            x = hflip(x, lam[:, 4])
        elif step == "vflip":
            x = vflip(x, lam[:, 5])
        elif step == "rotate":
            x = rotate(x, lam[:, 6])
        else:
            raise ValueError("unknown step " + step)
    return x


def noise_fields(seed, N, S, dtype=torch.float64):
    return torch.stack([noise_field(seed, n, S) for n in range(N)]).to(dtype)


def jacobian_lambda(x, lam, z, order=DEFAULT_ORDER, p=None):
    """dT/dlambda_k for k = 0..6 by forward-mode AD: (N,7,S,S)."""
    import torch.autograd.forward_ad as fwAD
    cols = []
    for k in range(7):
        tangent = torch.zeros_like(lam)
        tangent[:, k] = 1.0
        with fwAD.dual_level():
            y = transform(x, fwAD.make_dual(lam, tangent), z, order, p)
            cols.append(fwAD.unpack_dual(y).tangent)
    return torch.stack(cols, dim=1)


def vjp(x, lam, z, dy, order=DEFAULT_ORDER, p=None):
    """(J_x^T dy, J_lambda^T dy) by reverse-mode AD."""
    x = x.detach().requires_grad_(True)
    lam = lam.detach().requires_grad_(True)
    y = transform(x, lam, z, order, p)
    gx, gl = torch.autograd.grad(y, (x, lam), grad_outputs=dy)
    return gx, gl
