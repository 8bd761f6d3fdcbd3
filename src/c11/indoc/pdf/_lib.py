"""pikepdf, imported when a PDF is first handled (it is a large native library).

PDF objects are typed `Any`: pikepdf gives every dictionary, array, stream and number one dynamic
`Object` type whose keys and attributes depend on the file, so c11 checks them with isinstance.
"""

from __future__ import annotations

import importlib
from typing import Any

#: a pikepdf object (Dictionary, Array, Stream, Name, number...) or the Pdf itself
PdfObject = Any


def pikepdf() -> Any:
    """The pikepdf module."""
    return importlib.import_module("pikepdf")
