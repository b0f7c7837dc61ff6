"""The request log `GET /_simulator/stats` reports: how many requests of each operation the tenant answered.

An operation is named as each protocol names it, so a test can tell reads from writes:
``graph GET`` / ``graph PATCH`` (each request inside a ``$batch`` counts as its own), ``exchange Get-Mailbox``
(the cmdlet of an InvokeCommand or of a v2.0 endpoint), ``ews GetFolder`` (the element inside ``soap:Body``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from reconciler.simulator.wire import HttpRequest

GRAPH_PREFIX = "/v1.0"
EXCHANGE_PREFIX = "/adminapi"
EWS_PREFIX = "/EWS"
# Exchange verbs that change nothing (https://learn.microsoft.com/en-us/powershell/scripting/developer/cmdlet/approved-verbs-for-windows-powershell-commands)
READ_VERBS = frozenset({"Get", "Test"})
# EWS operations that change nothing (https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/ews-operations-in-exchange)
EWS_READS = frozenset(
    {
        "GetFolder",
        "FindFolder",
        "GetItem",
        "FindItem",
        "ResolveNames",
        "ExpandDL",
        "GetRoomLists",
        "GetRooms",
        "GetUserAvailability",
        "GetServerTimeZones",
        "GetUserOofSettings",
        "ConvertId",
    }
)


def operations(request: HttpRequest) -> list[str]:
    """The operations one HTTP request carries (a Graph ``$batch``: one per inner request)."""
    path = request.path
    if path.startswith(GRAPH_PREFIX):
        if path.rstrip("/").endswith("/$batch") and request.method == "POST":
            inner = _json(request.body).get("requests", [])
            return [f"graph {str(r.get('method', 'GET')).upper()}" for r in inner if isinstance(r, dict)]
        return [f"graph {request.method}"]
    if path.startswith(EXCHANGE_PREFIX):
        cmdlet = _json(request.body).get("CmdletInput", {}).get("CmdletName") or path.rstrip("/").rsplit("/", 1)[-1]
        return [f"exchange {cmdlet}"]
    if path.startswith(EWS_PREFIX):
        text = request.body.decode("utf-8", "replace")
        found = re.search(r"<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)", text)
        return [f"ews {found.group(1) if found else '?'}"]
    return [f"http {request.method}"]


def is_write(operation: str) -> bool:
    """Whether an operation (as :func:`operations` names it) can change the tenant."""
    protocol, _, name = operation.partition(" ")
    if protocol == "graph":
        return name != "GET"
    if protocol == "exchange":
        return name.split("-", 1)[0] not in READ_VERBS
    if protocol == "ews":
        return name not in EWS_READS
    return name not in ("GET", "HEAD")


def writes(tally: Counter[str] | dict[str, int]) -> dict[str, int]:
    """The write operations of a tally, with their counts."""
    return {op: n for op, n in tally.items() if n and is_write(op)}


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
