"""Reads the adapter package out of docs/writing-an-adapter.md, so the guide is what is tested.

Each file of the package is one fenced code block right after a ``<!-- file: PATH -->``
comment, ``PATH`` relative to the package's root.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

_BLOCK = re.compile(
    r"^<!-- file: (?P<path>\S+) -->\n```[\w-]*\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL
)


def guide_files(markdown: str) -> dict[str, str]:
    """Each marked file of ``markdown``: relative path → contents."""
    files: dict[str, str] = {}
    for match in _BLOCK.finditer(markdown):
        path = PurePosixPath(match["path"])
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(f"the guide marks a file outside its package: {path}")
        if str(path) in files:
            raise ValueError(f"the guide marks {path} twice")
        files[str(path)] = match["body"]
    marked = markdown.count("<!-- file: ")
    if marked != len(files):
        raise ValueError(f"{marked} file markers but {len(files)} readable code blocks follow them")
    return files


def write_guide_package(guide: Path, *, target: Path) -> Path:
    """Write the guide's package into ``target`` and return it."""
    for name, body in guide_files(guide.read_text(encoding="utf-8")).items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return target
