"""Refuses parsed YAML that YAML aliases made self-containing, too deep or too large to walk."""

from __future__ import annotations

from typing import Any

from knowrithm_bots.core.errors import ConfigError

# A real config file has hundreds of values and a handful of levels; these leave ample room
# while stopping an alias loop (a: &a [*a]) or fan-out (aliases of aliases of lists) early.
MAX_DEPTH = 50
MAX_VALUES = 100_000


def check_document(data: Any) -> None:
    """Raise ConfigError naming the key where ``data`` loops, nests too deep or grows too big.

    Aliases share one object between several places, so values are counted per place they
    appear, as everything walking the document later will meet them.
    """
    _Walk().visit(data, path="", depth=0)


class _Walk:
    def __init__(self) -> None:
        self.values = 0
        self.open: set[int] = set()  # containers on the path from the root to here

    def visit(self, node: Any, *, path: str, depth: int) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            raise ConfigError(
                f"the config file holds more than {MAX_VALUES:,} values once its YAML "
                "aliases (*name) are repeated where they are used; write it out plainly"
            )
        if isinstance(node, dict):
            children = [(str(k), v) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(str(i), v) for i, v in enumerate(node)]
        else:
            return
        where = path or "(top level)"
        if id(node) in self.open:
            raise ConfigError(
                f"config key {where} contains itself through a YAML alias (*name); "
                "write the value out instead",
                key_path=path or None,
            )
        if depth >= MAX_DEPTH:
            raise ConfigError(
                f"config key {where} is nested more than {MAX_DEPTH} levels deep",
                key_path=path or None,
            )
        self.open.add(id(node))
        for key, child in children:
            self.visit(child, path=f"{path}.{key}" if path else key, depth=depth + 1)
        self.open.discard(id(node))
