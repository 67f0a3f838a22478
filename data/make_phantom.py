#!/usr/bin/env python3
"""Writes shepp-logan-128.png: the modified Shepp-Logan head phantom (Toft's
contrast-enhanced version of Shepp & Logan, 1974), 128 x 128, 8-bit grey.
Standard library only (zlib, struct), so that it runs anywhere.

Usage: python3 data/make_phantom.py [SIZE] [OUT.png]
"""
import math
import struct
import sys
import zlib

# intensity, semi-axis a, semi-axis b, centre x, centre y, angle (degrees)
ELLIPSES = [
    (1.0, 0.69, 0.92, 0.0, 0.0, 0),
    (-0.8, 0.6624, 0.8740, 0.0, -0.0184, 0),
    (-0.2, 0.1100, 0.3100, 0.22, 0.0, -18),
    (-0.2, 0.1600, 0.4100, -0.22, 0.0, 18),
    (0.1, 0.2100, 0.2500, 0.0, 0.35, 0),
    (0.1, 0.0460, 0.0460, 0.0, 0.1, 0),
    (0.1, 0.0460, 0.0460, 0.0, -0.1, 0),
    (0.1, 0.0460, 0.0230, -0.08, -0.605, 0),
    (0.1, 0.0230, 0.0230, 0.0, -0.606, 0),
    (0.1, 0.0230, 0.0460, 0.06, -0.605, 0),
]


def phantom(n):
    img = [[0.0] * n for _ in range(n)]
    for i in range(n):
        y = 1.0 - 2.0 * (i + 0.5) / n  # rows go down, y up
        for j in range(n):
            x = 2.0 * (j + 0.5) / n - 1.0
            v = 0.0
            for amp, a, b, x0, y0, deg in ELLIPSES:
                t = math.radians(deg)
                dx, dy = x - x0, y - y0
                u = dx * math.cos(t) + dy * math.sin(t)
                w = -dx * math.sin(t) + dy * math.cos(t)
                if (u / a) ** 2 + (w / b) ** 2 <= 1.0:
                    v += amp
            img[i][j] = min(1.0, max(0.0, v))
    return img


def write_png(path, img):
    n = len(img)
    raw = b"".join(b"\x00" + bytes(int(round(v * 255)) for v in row) for row in img)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", n, n, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    out = sys.argv[2] if len(sys.argv) > 2 else "shepp-logan-%d.png" % size
    write_png(out, phantom(size))
