"""Reading YAML the project is given (config, alias and affiliation files) without alias bombs.

PyYAML builds an aliased node once and shares it, so loading a "billion laughs" document is
cheap; what explodes is everything that walks the result afterwards (pydantic validation, an
error message that renders the input). The loader here counts, while composing, how many nodes
every alias stands for once expanded, and refuses a document whose aliases expand past
MAX_ALIASED_NODES or refer to themselves. Hand-written files use a few anchors at most.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from core.errors import clip

MAX_ALIASED_NODES = 10_000


class AliasBombError(ComposerError):
    """A document whose aliases expand to too many nodes, or to themselves."""


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that bounds the number of nodes reached through aliases."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliased = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)  # an undefined alias is reported by PyYAML
            if node is not None:
                self._aliased += self._expanded(node, event)
                if self._aliased > MAX_ALIASED_NODES:
                    raise AliasBombError(
                        None,
                        None,
                        f"aliases expand to more than {MAX_ALIASED_NODES:,} nodes (alias bomb?)",
                        event.start_mark,
                    )
        return super().compose_node(parent, index)

    def _expanded(self, node: Node, event: AliasEvent) -> int:
        """How many nodes `node` stands for with every alias inside it expanded (memoized)."""
        if node.end_mark is None:
            # the composer sets end_mark when a collection is complete: this alias is inside
            # the very node it names
            raise AliasBombError(None, None, "alias refers to a node that contains it", event.start_mark)
        key = id(node)
        if key not in self._sizes:
            size = 1
            if isinstance(node, SequenceNode):
                size += sum(self._expanded(child, event) for child in node.value)
            elif isinstance(node, MappingNode):
                size += sum(self._expanded(k, event) + self._expanded(v, event) for k, v in node.value)
            # past the bound the exact figure does not matter; stopping here keeps the walk short
            self._sizes[key] = min(size, MAX_ALIASED_NODES + 1)
        return self._sizes[key]


def safe_load(text: str) -> Any:
    """yaml.safe_load with aliases bounded; raises yaml.YAMLError (AliasBombError for a bomb)."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def describe(exc: yaml.YAMLError) -> str:
    """A YAML error as 'at line N: problem', without the file excerpt PyYAML would quote."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or type(exc).__name__
    return f"{where}: {clip(problem)}"
