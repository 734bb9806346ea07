"""The app icon, drawn with Pillow at request time (and kept in memory): a speech bubble on indigo.

The same drawing as ``static/rostra/icon.svg``. A maskable icon keeps the bubble inside the
central safe zone (a circle of 80% of the width) and fills the whole square with the background.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw

SIZES = (32, 180, 192, 512)
TOP = (99, 102, 241)  # indigo-500
BOTTOM = (79, 70, 229)  # indigo-600
BAR = (67, 56, 202)  # indigo-700
WHITE = (255, 255, 255)


def _background(size: int) -> Image.Image:
    gradient = Image.linear_gradient("L").resize((size, size))
    return Image.composite(Image.new("RGB", (size, size), BOTTOM), Image.new("RGB", (size, size), TOP), gradient)


def _draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # drawn large, then scaled down: smooth edges without anti-aliasing support
    big = size * scale
    bg = _background(big)
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    if maskable:
        canvas.paste(bg, (0, 0))
        unit = big * 0.8 / 512  # the safe zone
        offset = big * 0.1
    else:
        mask = Image.new("L", (big, big), 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, big - 1, big - 1), radius=int(big * 0.22), fill=255)
        canvas.paste(bg, (0, 0), mask)
        unit = big / 512
        offset = 0.0

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (offset + x0 * unit, offset + y0 * unit, offset + x1 * unit, offset + y1 * unit)

    draw = ImageDraw.Draw(canvas)
    # The bubble and its tail (coordinates on a 512 grid, as in icon.svg)
    draw.rounded_rectangle(box(104, 120, 408, 348), radius=int(56 * unit), fill=WHITE)
    draw.polygon([(offset + x * unit, offset + y * unit) for x, y in ((150, 330), (236, 340), (140, 410))], fill=WHITE)
    # Three lines of text in the bubble
    for y0, x1 in ((170, 358), (218, 318), (266, 266)):
        draw.rounded_rectangle(box(154, y0, x1, y0 + 28), radius=int(14 * unit), fill=BAR)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


@lru_cache(maxsize=16)
def icon_png(size: int, maskable: bool = False) -> bytes:
    out = io.BytesIO()
    _draw(size, maskable=maskable).save(out, "PNG", optimize=True)
    return out.getvalue()
