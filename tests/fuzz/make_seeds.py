#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into tests/fuzz/<target>/.
Standard library and NumPy only. Seeds are small valid files of every kind a
reader accepts; what the fuzzers later find is added beside them."""
import os
import struct
import sys
import zlib

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))


def npy_seeds(d):
    np.save(os.path.join(d, "seed-f4.npy"), np.arange(6, dtype="<f4").reshape(2, 3))
    np.save(os.path.join(d, "seed-f8-fortran.npy"), np.asfortranarray(np.arange(6, dtype="<f8").reshape(3, 2)))
    np.save(os.path.join(d, "seed-u1.npy"), np.arange(8, dtype="u1").reshape(1, 2, 2, 2))
    np.save(os.path.join(d, "seed-u2-be.npy"), np.arange(5, dtype=">u2"))
    with open(os.path.join(d, "seed-v2.npy"), "wb") as f:
        np.lib.format.write_array(f, np.ones(4, dtype="<f4"), version=(2, 0))


def png(path, w, h, depth, ctype, rows, plte=None, trns=None, interlace=0):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
    if plte:
        out += chunk(b"PLTE", plte)
    if trns:
        out += chunk(b"tRNS", trns)
    out += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(out)


def png_seeds(d):
    w = h = 4
    png(os.path.join(d, "seed-grey8.png"), w, h, 8, 0, [bytes(range(i * 4, i * 4 + 4)) for i in range(h)])
    png(os.path.join(d, "seed-grey16.png"), w, h, 16, 0, [bytes(8 * [i * 40]) for i in range(h)])
    png(os.path.join(d, "seed-grey1.png"), 8, 2, 1, 0, [b"\xa5", b"\x5a"])
    png(os.path.join(d, "seed-greyalpha.png"), w, h, 8, 4, [bytes([i * 50, 255] * 4) for i in range(h)])
    png(os.path.join(d, "seed-rgb.png"), w, h, 8, 2, [bytes([i * 50, i * 50, i * 50] * 4) for i in range(h)])
    png(os.path.join(d, "seed-rgba16.png"), 2, 2, 16, 6, [bytes(16) for _ in range(2)])
    png(os.path.join(d, "seed-palette.png"), w, h, 8, 3, [bytes([0, 1, 2, 1]) for _ in range(h)],
        plte=bytes([0, 0, 0, 128, 128, 128, 255, 255, 255]), trns=bytes([255, 128]))
    png(os.path.join(d, "seed-interlaced.png"), w, h, 8, 0, [bytes(range(4)) for _ in range(h)], interlace=1)


def nifti1(dims, datatype, bitpix, data, sform=None, swap=False):
    """A single-file NIfTI-1 image: the 348-byte header, 4 extension bytes, data."""
    e = ">" if swap else "<"
    h = bytearray(348)
    struct.pack_into(e + "i", h, 0, 348)
    struct.pack_into(e + "8h", h, 40, len(dims), *(list(dims) + [1] * (7 - len(dims))))
    struct.pack_into(e + "hhh", h, 70, datatype, bitpix, 0)
    struct.pack_into(e + "8f", h, 76, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into(e + "fff", h, 108, 352, 1, 0)
    if sform:
        struct.pack_into(e + "hh", h, 252, 0, 1)
        struct.pack_into(e + "12f", h, 280, *sform)
    h[344:348] = b"n+1\0"
    return bytes(h) + b"\0\0\0\0" + data


def nifti2(dims, data):
    h = bytearray(540)
    struct.pack_into("<i", h, 0, 540)
    h[4:12] = b"n+2\0\r\n\x1a\n"
    struct.pack_into("<hh", h, 12, 16, 32)  # float32
    struct.pack_into("<8q", h, 16, len(dims), *(list(dims) + [1] * (7 - len(dims))))
    struct.pack_into("<8d", h, 104, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into("<q", h, 168, 544)
    struct.pack_into("<dd", h, 176, 1, 0)
    return bytes(h) + b"\0\0\0\0" + data


def nifti_seeds(d):
    vol = struct.pack("<24h", *range(24))
    with open(os.path.join(d, "seed-int16.nii"), "wb") as f:
        f.write(nifti1((2, 3, 4), 4, 16, vol))
    with open(os.path.join(d, "seed-lps-sform.nii"), "wb") as f:
        f.write(nifti1((2, 3, 4), 4, 16, vol, sform=(-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0)))
    with open(os.path.join(d, "seed-bigendian.nii"), "wb") as f:
        f.write(nifti1((2, 3, 4), 4, 16, struct.pack(">24h", *range(24)), swap=True))
    with open(os.path.join(d, "seed-uint8-4d.nii"), "wb") as f:
        f.write(nifti1((2, 2, 2, 1), 2, 8, bytes(8)))
    with open(os.path.join(d, "seed-float32-nifti2.nii"), "wb") as f:
        f.write(nifti2((2, 2, 2), struct.pack("<8f", *range(8))))


if __name__ == "__main__":
    which = sys.argv[1:] or ["npy", "png", "nifti"]
    for t in which:
        d = os.path.join(here, t)
        os.makedirs(d, exist_ok=True)
        {"npy": npy_seeds, "png": png_seeds, "nifti": nifti_seeds}[t](d)
