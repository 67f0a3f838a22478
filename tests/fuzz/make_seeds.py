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


if __name__ == "__main__":
    which = sys.argv[1:] or ["npy", "png"]
    for t in which:
        d = os.path.join(here, t)
        os.makedirs(d, exist_ok=True)
        {"npy": npy_seeds, "png": png_seeds}[t](d)
