"""The Python blocks of README.md and docs/*.md, read with a CommonMark parser (markdown-it-py).

Every block is one of:

* a **fragment**: its first line is a comment starting with ``# fragment`` (shown to readers:
  it runs only inside code the text describes, e.g. an open session);
* a **module** a test imports: its first line names a file that is not a test, ``# app.py``;
* a **test file**: it defines ``test_*`` functions (first line ``# test_x.py`` names it);
* a **program**: anything else, run as it is, as ``python block.py``, against the local
  service (``tests/test_docs_examples.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs
from markdown_it import MarkdownIt

__all__ = ["DOCUMENTS", "ROOT", "Example", "examples"]

ROOT = Path(__file__).resolve().parent.parent
#: The documents whose Python blocks are held to this.
DOCUMENTS = ("README.md", "docs/*.md")

_FILE_COMMENT = re.compile(r"#\s*([A-Za-z_][\w/]*\.py)\s*$")
_TEST_FUNCTION = re.compile(r"^(async\s+)?def\s+test_", re.M)


@attrs.frozen
class Example:
    """One fenced Python block: where it is, its code and what kind of block it is."""

    document: str
    line: int
    code: str

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}"

    @property
    def first_line(self) -> str:
        return self.code.lstrip("\n").split("\n", 1)[0].strip()

    @property
    def is_fragment(self) -> bool:
        return self.first_line.lower().startswith("# fragment")

    @property
    def file_name(self) -> str | None:
        """The file the block says it is (``# app.py``), if any."""
        match = _FILE_COMMENT.fullmatch(self.first_line)
        return match.group(1) if match else None

    @property
    def kind(self) -> str:
        if self.is_fragment:
            return "fragment"
        if _TEST_FUNCTION.search(self.code):
            return "test"
        if self.file_name is not None:
            return "module"
        return "program"


def examples(root: Path = ROOT) -> Iterator[Example]:
    """Every fenced ``python`` block of the documents, in document order."""
    parser = MarkdownIt("commonmark")
    for pattern in DOCUMENTS:
        for path in sorted(root.glob(pattern)):
            text = path.read_text(encoding="utf-8")
            for token in parser.parse(text):
                info = token.info.split()[0] if token.info else ""
                if token.type == "fence" and info in ("python", "py") and token.map:
                    yield Example(
                        document=str(path.relative_to(root)),
                        line=token.map[0] + 1,
                        code=token.content,
                    )
