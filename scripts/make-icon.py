#!/usr/bin/env python3
"""Draws Stopgap's icon and writes assets/icon.png (256x256) and assets/icon.ico.

A red blood drop with a white cross, outlined in white, on an NHS-blue rounded square. Standard
library only (zlib + struct write the PNG), so anyone can regenerate it on any machine:

    python3 scripts/make-icon.py

Each size of the .ico is drawn at its own resolution (not scaled down from 256), 4x4 supersampled,
so the small taskbar sizes stay sharp. The .ico holds PNG images, which Windows Vista and later
read at every size.
"""

import math
import struct
import zlib
from pathlib import Path

NHS_BLUE = (0x00, 0x5E, 0xB8)
RED = (0xDA, 0x29, 0x1C)
WHITE = (0xFF, 0xFF, 0xFF)

ICO_SIZES = [16, 20, 24, 32, 40, 48, 64, 128, 256]
SUPERSAMPLE = 4

# Geometry in units of the icon's width (0..1, y down).
BOX_MARGIN = 0.03
BOX_RADIUS = 0.19
DROP_CENTRE = (0.5, 0.595)
DROP_RADIUS = 0.255
DROP_APEX = (0.5, 0.115)
DROP_OUTLINE = 0.04
CROSS_ARM = 0.125  # half the length of each bar
CROSS_HALF_WIDTH = 0.045


def rounded_box_distance(x, y):
    """Signed distance to the rounded square (negative inside)."""
    half = 0.5 - BOX_MARGIN
    qx = abs(x - 0.5) - (half - BOX_RADIUS)
    qy = abs(y - 0.5) - (half - BOX_RADIUS)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - BOX_RADIUS


def _drop_tangent_points():
    """Where the lines from the apex touch the drop's circle."""
    cx, cy = DROP_CENTRE
    ax, ay = DROP_APEX
    d = math.hypot(cx - ax, cy - ay)
    # Angle at the centre between the centre-to-apex line and the centre-to-tangent-point line.
    theta = math.acos(DROP_RADIUS / d)
    base = math.atan2(ay - cy, ax - cx)
    return [
        (cx + DROP_RADIUS * math.cos(base + s * theta), cy + DROP_RADIUS * math.sin(base + s * theta))
        for s in (-1.0, 1.0)
    ]


TANGENTS = _drop_tangent_points()


def _segment_distance(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _in_triangle(px, py, a, b, c):
    def side(p1, p2):
        return (p2[0] - p1[0]) * (py - p1[1]) - (p2[1] - p1[1]) * (px - p1[0])

    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    return (s1 >= 0 and s2 >= 0 and s3 >= 0) or (s1 <= 0 and s2 <= 0 and s3 <= 0)


def in_drop(x, y, grow=0.0):
    """Whether (x, y) is within `grow` of the drop (a circle and its tangent cone: convex)."""
    cx, cy = DROP_CENTRE
    from_centre = math.hypot(x - cx, y - cy) - DROP_RADIUS
    if from_centre <= grow:
        return True
    if _in_triangle(x, y, DROP_APEX, TANGENTS[0], TANGENTS[1]):
        return True
    if grow <= 0.0:
        return False
    edge = min(
        _segment_distance(x, y, *DROP_APEX, *TANGENTS[0]),
        _segment_distance(x, y, *DROP_APEX, *TANGENTS[1]),
    )
    return edge <= grow


def in_cross(x, y):
    cx, cy = DROP_CENTRE
    dx, dy = abs(x - cx), abs(y - cy)
    return (dx <= CROSS_ARM and dy <= CROSS_HALF_WIDTH) or (dx <= CROSS_HALF_WIDTH and dy <= CROSS_ARM)


def shade(x, y):
    """The colour at one point, or None where the icon is transparent."""
    if rounded_box_distance(x, y) > 0.0:
        return None
    if in_cross(x, y):
        return WHITE
    if in_drop(x, y):
        return RED
    if in_drop(x, y, DROP_OUTLINE):
        return WHITE
    return NHS_BLUE


def render(size):
    """RGBA rows (straight alpha) of the icon at `size` x `size` pixels."""
    n = SUPERSAMPLE
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            r = g = b = hits = 0
            for sy in range(n):
                for sx in range(n):
                    colour = shade((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size)
                    if colour is not None:
                        r += colour[0]
                        g += colour[1]
                        b += colour[2]
                        hits += 1
            if hits:
                row += bytes((round(r / hits), round(g / hits), round(b / hits), round(255 * hits / (n * n))))
            else:
                row += bytes(4)
        rows.append(bytes(row))
    return rows


def png(size, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def ico(images):
    """An .ico holding PNG images: [(size, png_bytes)]."""
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for size, data in images:
        dim = 0 if size >= 256 else size  # 0 means 256
        out += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(data for _, data in images)


def main():
    assets = Path(__file__).resolve().parent.parent / "assets"
    images = [(size, png(size, render(size))) for size in ICO_SIZES]
    (assets / "icon.png").write_bytes(dict(images)[256])
    (assets / "icon.ico").write_bytes(ico(images))
    print(f"wrote {assets / 'icon.png'} and {assets / 'icon.ico'} ({', '.join(map(str, ICO_SIZES))} px)")


if __name__ == "__main__":
    main()
