"""Affine matrices and rectangles of PDF user space, and lenient number reading.

A matrix is the PDF six-tuple (a b c d e f); rectangles are (x0, y0, x1, y1) with x0 <= x1, y0 <= y1.
"""

from __future__ import annotations

from typing import Any

Matrix = tuple[float, float, float, float, float, float]
Rect = tuple[float, float, float, float]
ID: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def mul(m: Matrix, n: Matrix) -> Matrix:
    """The product m × n (m applied first)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    """The point (x, y) transformed by m."""
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def invert(m: Matrix) -> Matrix | None:
    """The inverse of m, or None when m is singular."""
    a, b, c, d, e, f = m
    det = a * d - b * c
    if abs(det) < 1e-12:
        return None
    return (d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det)


def bbox(m: Matrix, x0: float, y0: float, x1: float, y1: float) -> Rect:
    """The bounding box of a rectangle transformed by m."""
    pts = [apply(m, x, y) for x, y in ((x0, y0), (x0, y1), (x1, y0), (x1, y1))]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def overlaps(b: Rect, r: Rect) -> bool:
    """Whether two rectangles share an interior point."""
    return b[0] < r[2] and r[0] < b[2] and b[1] < r[3] and r[1] < b[3]


def contains(outer: Rect, inner: Rect) -> bool:
    """Whether `outer` contains `inner` (edges included)."""
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def num(x: Any) -> float:
    """A PDF number (pikepdf object or Python value) as a float; 0.0 when it is not a number."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


def matrix(arr: Any) -> Matrix:
    """Six PDF numbers as a matrix; the identity when they are not six numbers."""
    try:
        vals = tuple(float(v) for v in arr)
    except (TypeError, ValueError):
        return ID
    if len(vals) != 6:
        return ID
    return vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
