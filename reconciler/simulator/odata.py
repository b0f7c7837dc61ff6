"""The OData query options the simulator understands: $select, $filter, $top, $skiptoken.

Query parameter semantics follow https://learn.microsoft.com/en-us/graph/query-parameters and
https://learn.microsoft.com/en-us/graph/paging (absolute ``@odata.nextLink`` with ``$skiptoken``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from reconciler.simulator.graph_common import GraphError, GraphRequest

JsonObject = dict[str, Any]
Predicate = Callable[[JsonObject], bool]

SUPPORTED_OPTIONS = frozenset({"$select", "$filter", "$top", "$skiptoken"})


def check_options(req: GraphRequest, allowed: frozenset[str]) -> None:
    """Reject system query options this endpoint (in the simulator) does not implement."""
    for key in req.query:
        if key.startswith("$") and key not in allowed:
            raise GraphError(
                400,
                "BadRequest",
                f"Query option '{key}' is not supported by the tenant simulator for this request.",
            )


def _unknown_property(name: str, entity: str) -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        f"Parsing OData Select and Expand failed: Could not find a property named '{name}' "
        f"on type 'microsoft.graph.{entity}'.",
    )


def parse_select(req: GraphRequest, properties: Sequence[str], entity: str) -> list[str] | None:
    """The canonical property names in ``$select`` (case-insensitive), or None when absent."""
    raw = req.query.get("$select")
    if raw is None:
        return None
    canonical = {p.lower(): p for p in properties}
    selected: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        if name.lower() not in canonical:
            raise _unknown_property(name, entity)
        if canonical[name.lower()] not in selected:
            selected.append(canonical[name.lower()])
    return selected


def project(obj: JsonObject, names: Sequence[str], collections: frozenset[str] = frozenset()) -> JsonObject:
    """``obj`` reduced to ``names`` (absent ones as null, or [] for collection properties)."""
    return {n: obj.get(n, [] if n in collections else None) for n in names}


def key_segment(key: str) -> str:
    """A key as @odata.context shows it, percent-encoded: ``users('alice%40contoso.com')``."""
    return quote(key, safe="")


def select_context(collection: str, selected: list[str] | None, entity: bool) -> str:
    """The ``$metadata#...`` fragment: ``users/$entity``, ``users(displayName,id)`` ..."""
    fragment = collection if selected is None else f"{collection}({','.join(selected)})"
    return f"{fragment}/$entity" if entity else fragment


# --- $filter ---------------------------------------------------------------------------------

_STR = r"'((?:[^']|'')*)'"
_EQ_STR = re.compile(rf"(\w+)\s+eq\s+{_STR}", re.IGNORECASE)
_EQ_BOOL = re.compile(r"(\w+)\s+eq\s+(true|false)\b", re.IGNORECASE)
_STARTSWITH = re.compile(rf"startswith\(\s*(\w+)\s*,\s*{_STR}\s*\)", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def _unsupported() -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", "Unsupported Query.")


def _text(value: Any) -> str:
    return value.lower() if isinstance(value, str) else ""


def _predicate(kind: str, name: str, literal: str) -> Predicate:
    if kind == "bool":
        wanted = literal.lower() == "true"
        return lambda o: o.get(name) is wanted
    lowered = literal.lower()  # directory string comparisons are case-insensitive
    if kind == "eq":
        return lambda o: _text(o.get(name)) == lowered
    return lambda o: _text(o.get(name)).startswith(lowered)


def _clause(text: str, pos: int, canonical: dict[str, str], entity: str) -> tuple[Predicate, int]:
    for pattern, kind in ((_STARTSWITH, "startswith"), (_EQ_STR, "eq"), (_EQ_BOOL, "bool")):
        match = pattern.match(text, pos)
        if not match:
            continue
        name = canonical.get(match.group(1).lower())
        if name is None:
            raise _unknown_property(match.group(1), entity)
        return _predicate(kind, name, match.group(2).replace("''", "'")), match.end()
    raise _unsupported()


def parse_filter(req: GraphRequest, properties: Sequence[str], entity: str) -> Predicate:
    """``$filter`` as a predicate: ``p eq 'v'``, ``p eq true``, ``startswith(p,'v')``, joined by ``and``."""
    raw = (req.query.get("$filter") or "").strip()
    if not raw:
        return lambda _o: True
    canonical = {p.lower(): p for p in properties}
    clauses: list[Predicate] = []
    pos = 0
    while True:
        clause, pos = _clause(raw, pos, canonical, entity)
        clauses.append(clause)
        if pos == len(raw):
            break
        joiner = _AND.match(raw, pos)
        if not joiner:
            raise _unsupported()
        pos = joiner.end()
    return lambda o: all(c(o) for c in clauses)


# --- paging ----------------------------------------------------------------------------------

DEFAULT_PAGE = 100
MAX_PAGE = 999


def page_size(req: GraphRequest) -> int:
    raw = req.query.get("$top")
    if raw is None:
        return DEFAULT_PAGE
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_PAGE} inclusive.",
        )
    return int(raw)


def _offset(req: GraphRequest) -> int:
    token = req.query.get("$skiptoken")
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("offset:") or not text[7:].isdigit():
        raise GraphError(400, "Request_BadRequest", "Invalid value for query parameter '$skiptoken'.")
    return int(text[7:])


def _skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).rstrip(b"=").decode("ascii")


def paginate(req: GraphRequest, items: list[JsonObject], url_path: str) -> tuple[list[JsonObject], str | None]:
    """One page of ``items`` and the absolute ``@odata.nextLink`` (None on the last page)."""
    size = page_size(req)
    start = _offset(req)
    page = items[start : start + size]
    if start + size >= len(items):
        return page, None
    params = {k: v for k, v in req.query.items() if k != "$skiptoken"}
    params["$skiptoken"] = _skiptoken(start + size)
    query = urlencode(params, quote_via=quote, safe="$,()'")
    return page, f"{req.service_root}{url_path}?{query}"
