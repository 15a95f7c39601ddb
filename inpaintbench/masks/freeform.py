"""DeepFill v2's free-form brush strokes (Yu et al. 2019, released ``brush_stroke_mask``).

Per mask 1-3 strokes; each has 4-11 vertices joined by a polyline of one width with a filled
circle at every vertex (round joints). Turning angles are drawn from [2*pi/5 - a, 2*pi/5 + b] with
a, b ~ U(0, 2*pi/15), every even one mirrored to 2*pi - angle; step lengths ~ N(d/8, d/16) clipped
to [0, d/4], d the image diagonal; vertices are clipped to the image. The width ~ U(12, 40) px is
published for 256 x 256, so it is scaled by d / (256 * sqrt 2) (size / 256 for squares) to keep
the same look at every size; at 256 it is the original's integer width exactly. Two departures:
the released code's standard deviation is ``(d/8) // 2`` (floored) and it draws two coin flips
whose image flips are discarded; here the deviation is d/16 and no coins are drawn.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from ..components import MaskGenerator

MEAN_ANGLE = 2 * math.pi / 5
ANGLE_RANGE = 2 * math.pi / 15
WIDTH_RANGE_256 = (12.0, 40.0)
REFERENCE_DIAGONAL = 256 * math.sqrt(2)


class FreeFormMask(MaskGenerator):
    name = "freeform"
    description = "DeepFill v2 free-form brush strokes (1-3 strokes, widths 12-40 px at 256, scaled)"

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        diagonal = math.hypot(height, width)
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        for _ in range(int(rng.integers(1, 4))):
            vertices = stroke_vertices(rng, height, width, diagonal / 8)
            brush = int(rng.uniform(*WIDTH_RANGE_256) * diagonal / REFERENCE_DIAGONAL)
            draw_stroke(draw, vertices, brush)
        return np.asarray(canvas, dtype=bool)


def draw_stroke(draw: ImageDraw.ImageDraw, vertices: list[tuple[int, int]], width: int) -> None:
    """A polyline of one width with round joints and caps (a filled circle at every vertex)."""
    draw.line(vertices, fill=1, width=width)
    r = width // 2
    for x, y in vertices:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=1)


def stroke_vertices(
    rng: np.random.Generator, height: int, width: int, mean_step: float, max_vertex: int = 12
) -> list[tuple[int, int]]:
    """One stroke's polyline: a random start, then one clipped step per turning angle.

    4 to ``max_vertex - 1`` turning angles (DeepFill v2: 4-11; CoModGAN's brush: 4-17).
    """
    num_vertex = int(rng.integers(4, max_vertex))
    angle_min = MEAN_ANGLE - rng.uniform(0, ANGLE_RANGE)
    angle_max = MEAN_ANGLE + rng.uniform(0, ANGLE_RANGE)
    angles = [rng.uniform(angle_min, angle_max) for _ in range(num_vertex)]
    angles = [2 * math.pi - a if i % 2 == 0 else a for i, a in enumerate(angles)]  # zigzag
    vertices = [(int(rng.integers(0, width)), int(rng.integers(0, height)))]
    for angle in angles:
        step = float(np.clip(rng.normal(mean_step, mean_step / 2), 0, 2 * mean_step))
        x, y = vertices[-1]
        new_x = np.clip(x + step * math.cos(angle), 0, width)
        new_y = np.clip(y + step * math.sin(angle), 0, height)
        vertices.append((int(new_x), int(new_y)))
    return vertices
