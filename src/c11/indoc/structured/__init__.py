"""In-document protection of structured text: JSON, YAML, CSV and Markdown (docs/indoc-media.md).

Every handler works on the text itself, never on a re-serialised copy: a protected value's exact
source text is cut out and sealed as a part, a placeholder string is written in its place, and a
block holding the envelope and the author's note is added (a top-level key for JSON and YAML, two
trailing records for CSV, a block at the end for Markdown). Unprotecting splices the exact source
text back and removes the block, so the result is byte-identical to the original, and edits made
elsewhere in the meantime are kept.

One module per format (`jsondoc`, `yamldoc`, `csvdoc`, `markdown`), each with its `HANDLER`; what
they share is `_text.TextHandler`.
"""

from __future__ import annotations

from c11.indoc.structured.csvdoc import HANDLER as CSV_HANDLER
from c11.indoc.structured.jsondoc import HANDLER as JSON_HANDLER
from c11.indoc.structured.markdown import HANDLER as MARKDOWN_HANDLER
from c11.indoc.structured.yamldoc import HANDLER as YAML_HANDLER

__all__ = ["CSV_HANDLER", "JSON_HANDLER", "MARKDOWN_HANDLER", "YAML_HANDLER"]
