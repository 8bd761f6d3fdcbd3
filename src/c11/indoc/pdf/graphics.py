"""The part of the PDF graphics and text state that decides where things are drawn.

`GraphicsState` is what `q`/`Q` save and restore (and what a form XObject inherits); `TextState` is
the text and text-line matrices of the current BT...ET object, which `q`/`Q` do not touch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from c11.indoc.pdf.fonts import FontInfo
from c11.indoc.pdf.geometry import ID, Matrix, mul


@dataclass
class GraphicsState:
    """CTM, line width and the text-state parameters (ISO 32000-1 §8.4, §9.3)."""

    ctm: Matrix = ID
    char_spacing: float = 0.0  # Tc
    word_spacing: float = 0.0  # Tw
    h_scale: float = 1.0  # Tz / 100
    leading: float = 0.0  # TL
    font: FontInfo = field(default_factory=lambda: FontInfo(None))
    font_size: float = 0.0  # Tf's size
    rise: float = 0.0  # Ts
    line_width: float = 1.0  # w

    def copy(self) -> GraphicsState:
        """A copy to save with `q` (the font metrics are shared: they never change)."""
        return dataclasses.replace(self)


@dataclass
class TextState:
    """The text matrix and text-line matrix (reset by BT)."""

    tm: Matrix = ID
    tlm: Matrix = ID

    def begin(self) -> None:
        """BT: both matrices back to the identity."""
        self.tm = self.tlm = ID

    def move(self, tx: float, ty: float) -> None:
        """Td: start a new line offset from the start of the current one."""
        self.tlm = mul((1, 0, 0, 1, tx, ty), self.tlm)
        self.tm = self.tlm

    def set(self, m: Matrix) -> None:
        """Tm: set both matrices."""
        self.tm = self.tlm = m

    def next_line(self, leading: float) -> None:
        """T*, ' and ": the start of the next line."""
        self.move(0, -leading)

    def advance(self, shift: Matrix) -> None:
        """Move the text matrix by a glyph's (or a TJ adjustment's) displacement."""
        self.tm = mul(shift, self.tm)
