"""Injected faults: what a real tenant does on a bad day, by rule and by rate.

A rule is a JSON object; the first armed rule that matches a request fires::

    {"method": "GET" | "*",            # default "*"
     "path": "<regex searched in the path>",   # default: every path; Graph paths also without /v1.0
     "operation": "<regex>",           # delay/drop only: searched in the request's operations as
                                       # /_simulator/stats names them ("ews UpdateFolder", "graph POST")
     "rate": 0.2, "seed": 7,           # fire on that share of matching requests, reproducibly; default: always
     "times": 3,                       # fire that many times, then disarm; default: no limit
     # and one effect:
     "status": 429 | 503 | 500 | 403 | ..., "retry_after": 1,   # an error in the protocol's own format
     "drop": true, "after": false,     # close the connection without an answer (after: once the request ran)
     "delay_ms": 2000}                 # answer late (a slow response)

Rules come from the tenant file's ``faults`` list (tests set them there) or from ``reconciler sim
serve --faults FILE`` and its flags, which live only as long as the server (never saved).
Status effects are answered by each protocol in its own error format (Graph JSON, the admin
API's error object, EWS's HTTP 503); transport effects (drop, delay) by the HTTP server.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any, Literal

from reconciler.simulator.store import TenantStore

JsonObject = dict[str, Any]
Layer = Literal["status", "transport"]

KNOWN_KEYS = {"method", "path", "operation", "rate", "seed", "times", "status", "retry_after", "code", "message"}
KNOWN_KEYS |= {"drop", "after", "delay_ms", "fired"}  # fired: how often the rule has fired (kept by the simulator)

GRAPH_ROOT = "/v1.0"


class FaultFileError(ValueError):
    """A fault rule that cannot be used; the message names the rule and the fix."""


def layer_of(rule: JsonObject) -> Layer:
    return "transport" if rule.get("drop") or rule.get("delay_ms") else "status"


def _fires(store: TenantStore, rule: JsonObject) -> bool:
    """A rule with ``rate`` (0..1) fires on that share of matching requests, reproducibly (``seed``)."""
    if "rate" not in rule:
        return True
    rng = store.fault_random.setdefault(id(rule), random.Random(int(rule.get("seed", 0))))
    return rng.random() < float(rule["rate"])


def take_fault(
    store: TenantStore, method: str, path: str, layer: Layer = "status", operations: tuple[str, ...] = ()
) -> JsonObject | None:
    """The first armed rule of ``layer`` matching ``method``/``path`` (and ``operation``, where the caller knows the
    request's ``operations``) that fires; its ``times`` is decremented."""
    for rule in [*store.faults, *store.runtime_faults]:
        if layer_of(rule) != layer:
            continue
        times = rule.get("times")
        if isinstance(times, int) and times <= 0:
            continue
        if str(rule.get("method", "*")).upper() not in ("*", method.upper()):
            continue
        if not any(re.search(str(rule.get("path", "")), p) for p in _forms(path)):
            continue
        if "operation" in rule and not any(re.search(str(rule["operation"]), op) for op in operations):
            continue
        if not _fires(store, rule):
            continue
        if isinstance(times, int):
            rule["times"] = times - 1
        rule["fired"] = int(rule.get("fired", 0)) + 1
        return rule
    return None


def _forms(path: str) -> tuple[str, ...]:
    """A Graph path matches both as sent (/v1.0/users) and relative to the version root (/users), as in $batch."""
    return (path, path[len(GRAPH_ROOT) :]) if path.startswith(GRAPH_ROOT + "/") else (path,)


def retry_after(rule: JsonObject) -> str:
    return str(int(rule.get("retry_after", 1)))


def check_rule(rule: object, where: str) -> JsonObject:
    """A validated rule, or FaultFileError saying what is wrong with it."""
    if not isinstance(rule, dict):
        raise FaultFileError(f'{where}: a fault rule must be an object, e.g. {{"status": 503, "rate": 0.1}}')
    unknown = sorted(set(rule) - KNOWN_KEYS)
    if unknown:
        raise FaultFileError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_KEYS))}")
    effects = [k for k in ("status", "drop", "delay_ms") if rule.get(k)]
    if len(effects) != 1:
        raise FaultFileError(f"{where}: give exactly one effect: status, drop or delay_ms")
    if "rate" in rule and not 0 <= float(rule["rate"]) <= 1:
        raise FaultFileError(f"{where}: rate must be between 0 and 1")
    if "operation" in rule and effects[0] == "status":
        raise FaultFileError(f"{where}: operation selects delay_ms and drop rules only; match a status by path")
    for key in ("path", "operation"):
        try:
            re.compile(str(rule.get(key, "")))
        except re.error as exc:
            raise FaultFileError(f"{where}: {key} is not a regular expression ({exc})") from None
    return rule


def load_rules(path: Path) -> list[JsonObject]:
    """Rules from a JSON file: a list of rules, or {"faults": [...]}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FaultFileError(f"{path}: cannot read fault rules ({exc})") from None
    rules = data.get("faults") if isinstance(data, dict) else data
    if not isinstance(rules, list):
        raise FaultFileError(f'{path}: expected a JSON list of fault rules (or {{"faults": [...]}})')
    return [check_rule(rule, f"{path} rule {n}") for n, rule in enumerate(rules, 1)]


def rules_from_flags(
    *,
    throttle: float = 0,
    unavailable: float = 0,
    drop: float = 0,
    slow: float = 0,
    slow_ms: int = 2000,
    deny: list[str] | None = None,
    seed: int = 0,
) -> list[JsonObject]:
    """The rules the `sim serve` flags ask for; permanent 403s first, then the random ones."""
    rules: list[JsonObject] = [{"path": path, "status": 403} for path in deny or []]
    choices: tuple[tuple[JsonObject, float], ...] = (
        ({"status": 429, "retry_after": 1}, throttle),
        ({"status": 503, "retry_after": 1}, unavailable),
        ({"drop": True}, drop),
        ({"delay_ms": slow_ms}, slow),
    )
    for n, (effect, rate) in enumerate(choices):
        if rate > 0:
            rules.append({**effect, "rate": rate, "seed": seed + n})
    return [check_rule(rule, f"flag rule {n}") for n, rule in enumerate(rules, 1)]
