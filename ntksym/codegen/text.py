"""Text that reaches generated modules besides printed expressions: safe comments and prelude bodies."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
PUBLIC_MARK = "# -- public names for ntksym's runtime"
_SAFE_COMMENT = re.compile(r"[^A-Za-z0-9_ .,:;=+\-*/()\[\]<>']")


def comment_text(text: str, limit: int = 100) -> str:
    """Text safe inside a `#` comment: one line, a small character set, bounded length."""
    return _SAFE_COMMENT.sub("?", text)[:limit]


def prelude_source(name: str) -> str:
    """The body of the prelude `ntksym.codegen.preludes.<name>` as generated modules carry it: without its
    import lines and without its closing section of public names for the runtime (after `PUBLIC_MARK`)."""
    text = (HERE / "preludes" / f"{name}.py").read_text().split(PUBLIC_MARK)[0]
    return "\n".join(line for line in text.splitlines() if not line.startswith(("import ", "from "))).strip()
