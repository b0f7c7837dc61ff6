"""Bounds on what a YAML spec may make the loader build, checked on the parser's events before anything is
composed or constructed.

A few KB of nested anchors and aliases ("billion laughs") describe a document of billions of nodes: the
round-trip loader shares them, but everything after it (turning the document into plain data, validation,
the plan) walks the expanded tree, and ran for minutes and gigabytes. Deep nesting (`[[[[...`) makes the
recursive composer overflow the stack instead. A spec is a small file: it nests a handful of levels and reuses
an anchor a few times, so both are refused far below what costs anything, at the alias or bracket responsible.

The check walks the event stream once (the parser is a state machine, not recursive): for each anchored node it
records how many nodes and scalar characters it stands for once its own aliases are expanded; each alias then
adds that much to the document, and the running total is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    ScalarEvent,
)

from reconciler.errors import Location, SpecError

MAX_ALIAS_NODES = 10_000  # nodes all aliases together may add when expanded
MAX_ALIAS_CHARS = 1_000_000  # scalar characters all aliases together may add when expanded
MAX_DEPTH = 64  # nested mappings and sequences (a spec needs about 5)
# MAX_DEPTH + 1 flow brackets in a row: refused before the scanner, whose look-ahead for a possible mapping key
# after each "[" makes a long run of them cost about a second even though the event check stops at MAX_DEPTH.
BRACKET_RUN = re.compile(rb"[\[{](?:[ \t\r\n]*[\[{]){%d}" % MAX_DEPTH)


@dataclass
class _Size:
    nodes: int = 0
    chars: int = 0

    def add(self, other: _Size) -> None:
        self.nodes += other.nodes
        self.chars += other.chars


@dataclass
class _Open:
    anchor: str | None
    size: _Size = field(default_factory=lambda: _Size(1, 0))


def check_expansion(raw: bytes | str, path: Path) -> None:
    """Refuse a YAML document whose aliases expand beyond the bounds above, or that nests too deeply; a
    SpecError at the offending alias or collection. Syntax errors are left to the loader, which reports them."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    run = BRACKET_RUN.search(data)
    if run:
        before = data[: run.start()]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise SpecError(
            f"the spec nests more than {MAX_DEPTH} levels of mappings and lists ({MAX_DEPTH + 1} brackets in a row)",
            "a spec nests a few levels (see specs/example.yaml); check the brackets and indentation",
            Location(str(path), line, column),
        )
    anchors: dict[str, _Size] = {}
    stack: list[_Open] = []
    expanded = _Size()
    try:
        for event in YAML(typ="safe", pure=True).parse(raw):  # the events alone; faster than "rt"
            if isinstance(event, DocumentStartEvent):
                anchors.clear()  # anchors belong to one document
            elif isinstance(event, CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise _refusal(
                        path,
                        event,
                        f"the spec nests more than {MAX_DEPTH} levels of mappings and lists",
                        "a spec nests a few levels (see specs/example.yaml); check the brackets and indentation",
                    )
                stack.append(_Open(event.anchor))
            elif isinstance(event, CollectionEndEvent):
                done = stack.pop()
                _finish(done.anchor, done.size, anchors, stack)
            elif isinstance(event, ScalarEvent):
                _finish(event.anchor, _Size(1, len(event.value or "")), anchors, stack)
            elif isinstance(event, AliasEvent):
                _alias(event, anchors, stack, expanded, path)
    except YAMLError:
        return  # not valid YAML: load_spec reports it with its position


def _finish(anchor: str | None, size: _Size, anchors: dict[str, _Size], stack: list[_Open]) -> None:
    if anchor is not None:
        anchors[anchor] = size
    if stack:
        stack[-1].size.add(size)


def _alias(event: AliasEvent, anchors: dict[str, _Size], stack: list[_Open], expanded: _Size, path: Path) -> None:
    name = event.anchor
    if any(item.anchor == name for item in stack):
        raise _refusal(
            path,
            event,
            f"YAML alias *{name} refers to the mapping or list that contains it (a recursive document)",
            "a spec is a tree: write the value out instead of the alias",
        )
    size = anchors.get(name)
    if size is None:
        return  # an undefined alias: the loader reports it
    expanded.add(size)
    if expanded.nodes > MAX_ALIAS_NODES or expanded.chars > MAX_ALIAS_CHARS:
        raise _refusal(
            path,
            event,
            f"YAML aliases expand the spec beyond {MAX_ALIAS_NODES:,} values or {MAX_ALIAS_CHARS:,} characters "
            f"(alias *{name} stands for {size.nodes:,} values); a spec this small cannot need that",
            "reuse an anchor a few times at most, or write the values out (nested aliases that each repeat the "
            'previous one, a "billion laughs" document, are refused)',
        )
    if stack:
        stack[-1].size.add(size)


def _refusal(path: Path, event: object, summary: str, detail: str) -> SpecError:
    mark = getattr(event, "start_mark", None)
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return SpecError(summary, detail, Location(str(path), line, column))
