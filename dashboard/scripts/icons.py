"""Draw the console's home-screen icons (PNG) from the same shape as `public/favicon.svg`.

Phones want bitmaps in the web app manifest; drawing them here keeps them in step with the favicon
without an image editor. The PNGs are committed, so building the console needs no Python:

    .venv/bin/python dashboard/scripts/icons.py
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "public" / "icons"
BLUE = (24, 100, 171, 255)  # #1864ab, the favicon's and the manifest's theme colour
WHITE = (255, 255, 255, 255)
SUPERSAMPLE = 4  # drawn larger and scaled down, for smooth edges

Point = tuple[float, float]


def cubic(p0: Point, p1: Point, p2: Point, p3: Point, steps: int = 24) -> Iterator[Point]:
    for i in range(1, steps + 1):
        t = i / steps
        u = 1 - t
        yield (
            u**3 * p0[0] + 3 * u**2 * t * p1[0] + 3 * u * t**2 * p2[0] + t**3 * p3[0],
            u**3 * p0[1] + 3 * u**2 * t * p1[1] + 3 * u * t**2 * p2[1] + t**3 * p3[1],
        )


def mask_outline() -> list[Point]:
    """The favicon's path `M7 13c3-2 6-3 9-3s6 1 9 3v4c0 4-4 7-9 7s-9-3-9-7z`, on its 32-unit grid."""
    points: list[Point] = [(7, 13)]
    points += cubic((7, 13), (10, 11), (13, 10), (16, 10))
    points += cubic((16, 10), (19, 10), (22, 11), (25, 13))
    points.append((25, 17))
    points += cubic((25, 17), (25, 21), (21, 24), (16, 24))
    points += cubic((16, 24), (11, 24), (7, 21), (7, 17))
    return points


def draw(size: int, *, maskable: bool) -> Image.Image:
    """A maskable icon fills its square (the phone cuts its own shape) and keeps the mask inside the
    middle 80%, the safe zone; the plain one has the favicon's rounded corners."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=BLUE)
        # The glyph's corners (9 by 7 units from its centre) just inside the safe circle (40% of the size).
        scale = 0.38 * big / (9**2 + 7**2) ** 0.5
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 7 / 32, fill=BLUE)
        scale = big / 32
    centre = (16, 17)  # the middle of the glyph on the favicon's grid

    def at(p: Point) -> Point:
        return (big / 2 + (p[0] - centre[0]) * scale, big / 2 + (p[1] - centre[1]) * scale)

    pen.polygon([at(p) for p in mask_outline()], fill=WHITE)
    width = max(1, round(1.6 * scale))
    for start, end in (((10, 15), (22, 15)), ((11, 18), (21, 18))):
        pen.line([at(start), at(end)], fill=BLUE, width=width)
        for x, y in (at(start), at(end)):  # round caps, as the SVG's stroke-linecap
            r = width / 2
            pen.ellipse((x - r, y - r, x + r, y + r), fill=BLUE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("maskable-512.png", 512, True),
        ("apple-touch-icon.png", 180, True),  # iOS rounds the corners itself and shows no transparency
    ):
        draw(size, maskable=maskable).save(OUT / name, optimize=True)
        print(OUT / name)


if __name__ == "__main__":
    main()
