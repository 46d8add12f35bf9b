# Turn a terminal QR code drawn with half blocks back into an image.
"""Reads what `sk-phone pair` printed and writes a PGM a decoder can read.

Each character is one module wide and two modules tall: space (both
light), U+2580 (top dark), U+2584 (bottom dark), U+2588 (both dark).
ANSI color sequences are dropped. The QR block is the longest run of
consecutive lines made only of those characters, all the same width.
"""

import re

GLYPHS = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def find_block(text):
    best, run = [], []
    for line in text.splitlines():
        line = ANSI.sub("", line)
        ok = (line and all(c in GLYPHS for c in line) and
              any(c != " " for c in line))
        blank = line and set(line) == {" "}
        if ok or (blank and run):
            if run and len(line) != len(run[0]):
                run = []
            run.append(line)
            if len(run) > len(best):
                best = list(run)
        else:
            run = []
    return best


def modules(lines):
    rows = []
    for line in lines:
        top = [GLYPHS[c][0] for c in line]
        bottom = [GLYPHS[c][1] for c in line]
        rows += [top, bottom]
    return rows


def write_pgm(rows, path, scale=6, border=8):
    w = len(rows[0])
    h = len(rows)
    W, H = (w + 2 * border) * scale, (h + 2 * border) * scale
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (W, H))
        light = bytes([255])
        for y in range(-border, h + border):
            line = bytearray()
            for x in range(-border, w + border):
                dark = 0 <= y < h and 0 <= x < w and rows[y][x]
                line += (b"\x00" if dark else light) * scale
            f.write(bytes(line) * scale)


def text_to_pgm(text, path):
    lines = find_block(text)
    if len(lines) < 10:
        raise ValueError("no QR code in the output")
    write_pgm(modules(lines), path)
    return len(lines[0])
