"""A twin of a tenant: what a plan reads there, kept as data (`sim snapshot`), and compared by shape (`sim compare`).

A plan reads exactly what the spec concerns, with the read-only permissions `reconciler permissions` lists, so
the snapshot is the plan's own reads recorded on the wire (`clients/recorder.py`): the answers (no request
carries a secret; answers of a failed sign-in are not kept), plus the tenant's id and domain. The simulator turns
them into a tenant file (`reconciler.simulator.twin`, called by the CLI); nothing here knows the simulator.

`compare` pairs the reads of the same plan against two tenants by request and reports every answer whose
*shape* differs: its status, its property set, a property's JSON type, its paging (an extra or missing page),
the elements of an EWS answer. Values (names, ids, counts) are not compared.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.clients.recorder import Read
from reconciler.spec.loader import LoadedSpec

SNAPSHOT_FORMAT = 1
# Properties whose values name a person, room or group: `--redact` replaces each value (and every other
# occurrence of it, in a DN, an identity or a filter) with the same pseudonym throughout the snapshot.
NAME_KEYS = frozenset(
    {
        "displayName",
        "DisplayName",
        "Name",
        "name",
        "Identity",
        "Alias",
        "mailNickname",
        "givenName",
        "surname",
        "RoleAssignee",
        "RoleAssigneeName",
        "ScopeName",
        "ScopeIdentity",
        "Id",
    }
)
ADDRESS_KEYS = frozenset(
    {
        "userPrincipalName",
        "mail",
        "PrimarySmtpAddress",
        "address",
        "EmailAddress",
        "WindowsEmailAddress",
        "UserPrincipalName",
        "MicrosoftOnlineServicesID",
    }
)
ADDRESS = re.compile(r"([A-Za-z0-9._%+'-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
SPECIAL_NAMES = frozenset({"default", "anonymous", ""})


# -- the snapshot ------------------------------------------------------------------------------------


def snapshot(loaded: LoadedSpec, tenant_id: str, reads: Iterable[Read]) -> dict[str, Any]:
    """The neutral snapshot: the tenant's identity and every successful (or not-found) read of the plan."""
    spec = loaded.spec
    kept = [r.to_json() for r in reads if r.status < 400 or r.status == 404]
    return {
        "format": SNAPSHOT_FORMAT,
        "tenant": {
            "id": tenant_id or spec.tenant.id or "",
            "domain": spec.tenant.domain or spec.tenant.name,
            "target": spec.target.value,
        },
        "accounts": _accounts(loaded),
        "reads": kept,
    }


def _accounts(loaded: LoadedSpec) -> list[str]:
    """The accounts that sign in to Exchange Server's EWS: the admin first, then the service account."""
    spec = loaded.spec
    names = [spec.exchange_server.username] if spec.exchange_server else []
    names += [spec.service_account.user_principal_name] if spec.service_account else []
    return [n.lower() for n in names]


def redact(data: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with display names and addresses replaced consistently (domains, ids and types kept)."""
    names: dict[str, str] = {}
    _collect(data["reads"], names)
    ordered = sorted(names, key=len, reverse=True)
    if not ordered:
        return data
    pattern = re.compile("|".join(re.escape(n) for n in ordered), re.IGNORECASE)

    def swap(text: str) -> str:
        return pattern.sub(lambda m: names[m.group(0).lower()], text)

    return {**data, "reads": _rewrite(data["reads"], swap), "accounts": [swap(a) for a in data["accounts"]]}


def _collect(value: Any, names: dict[str, str], key: str = "") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _collect(v, names, k)
    elif isinstance(value, list):
        for v in value:
            _collect(v, names, key)
    elif isinstance(value, str):
        for local, _domain in ADDRESS.findall(value):
            _pseudonym(local, names, "user")
        if key in NAME_KEYS and "@" not in value and not _looks_like_id(value):
            _pseudonym(value, names, "name")
        for part in re.findall(r"<(?:\w+:)?(?:Name|DisplayName)>([^<]+)<", value):  # EWS answers
            _pseudonym(part, names, "name")


def _pseudonym(text: str, names: dict[str, str], prefix: str) -> None:
    lowered = text.strip().lower()
    if lowered in SPECIAL_NAMES or lowered in names or len(lowered) < 3:
        return
    names[lowered] = f"{prefix}{len(names) + 1:04d}"


def _looks_like_id(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}|\d+|[A-Z][A-Za-z]+\.[A-Za-z.]+", value)) or value.startswith(
        ("CN=", "OU=", "DC=")
    )


def _rewrite(value: Any, swap: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rewrite(v, swap) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, swap) for v in value]
    if isinstance(value, str):
        return swap(value)
    return value


# -- shapes ------------------------------------------------------------------------------------------


def shape(value: Any) -> Any:
    """A JSON value's shape: objects keep their keys, arrays the union of their elements' shapes, scalars a type."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in value:
            item_shape = shape(item)
            merged[_type_name(item_shape)] = _merge(merged.get(_type_name(item_shape)), item_shape)
        return [merged[k] for k in sorted(merged)]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"


def xml_shape(text: str) -> Any:
    """An EWS answer's shape: each element's local name with its attributes' names and its children's shapes."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return "not XML"
    return _element_shape(root)


def _element_shape(element: ET.Element) -> Any:
    node: dict[str, Any] = {f"@{_local(a)}": "string" for a in sorted(element.attrib) if "xmlns" not in a}
    for child in element:
        name = _local(child.tag)
        node[name] = _merge(node.get(name), _element_shape(child))
    if not len(element) and (element.text or "").strip():
        node["#text"] = "string"
    return node


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _type_name(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else str(value)


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            merged[key] = _merge(merged.get(key), value)
        return merged
    return new if old is None else old


# -- comparing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One read answered in a different shape: which read, where in the answer, and what each tenant said."""

    protocol: str
    operation: str
    key: str
    where: str
    real: str
    twin: str


def compare(real: list[Read], twin: list[Read]) -> list[Difference]:
    """Every difference in shape between the answers to the same reads (paired by request and page)."""
    ours = {(r.key, r.page): r for r in real}
    theirs = {(r.key, r.page): r for r in twin}
    found: list[Difference] = []
    for slot in sorted(set(ours) | set(theirs), key=lambda s: (s[0], s[1])):
        a, b = ours.get(slot), theirs.get(slot)
        read = a or b
        assert read is not None
        if a is None or b is None:
            page = f"page {slot[1] + 1}" if slot[1] else "the read"
            found.append(
                _diff(
                    read,
                    "(paging)" if slot[1] else "(request)",
                    "answered" if a else "not made",
                    "answered" if b else "not made",
                    page,
                )
            )
            continue
        if a.status != b.status:
            found.append(_diff(read, "(status)", f"HTTP {a.status}", f"HTTP {b.status}"))
        found += [_diff(read, where, x, y) for where, x, y in _shape_differences(_shape_of(a), _shape_of(b), "$")]
    return found


def plan_failed(summary: str) -> Difference:
    """The plan against the twin stopped at an error the tenant did not give (its reads so far are compared)."""
    return Difference("plan", "plan", "", "(plan)", "completed", f"failed: {summary}")


def _diff(read: Read, where: str, real: str, twin: str, note: str = "") -> Difference:
    return Difference(read.protocol, read.operation, read.key, f"{where} {note}".strip(), real, twin)


def _shape_of(read: Read) -> Any:
    if read.protocol == "ews" and isinstance(read.body, str):
        return xml_shape(read.body)
    body = read.body
    if isinstance(body, dict):  # the page link's presence is paging, compared by page; its value is a URL
        body = {k: v for k, v in body.items() if k != "@odata.nextLink"}
    return shape(body)


def _shape_differences(a: Any, b: Any, where: str) -> list[tuple[str, str, str]]:
    if isinstance(a, dict) and isinstance(b, dict):
        found: list[tuple[str, str, str]] = []
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        if only_a or only_b:
            found.append((f"{where} properties", ", ".join(only_a) or "-", ", ".join(only_b) or "-"))
        for key in sorted(set(a) & set(b)):
            found += _shape_differences(a[key], b[key], f"{where}.{key}")
        return found
    if isinstance(a, list) and isinstance(b, list):
        if not a or not b:  # an empty array has no element shape to compare
            return []
        kinds_a, kinds_b = {_type_name(x): x for x in a}, {_type_name(x): x for x in b}
        if set(kinds_a) != set(kinds_b):
            return [(f"{where}[] types", ", ".join(sorted(kinds_a)), ", ".join(sorted(kinds_b)))]
        return [d for k in sorted(kinds_a) for d in _shape_differences(kinds_a[k], kinds_b[k], f"{where}[]")]
    if _type_name(a) != _type_name(b) and "null" not in (a, b):
        return [(f"{where} type", _type_name(a), _type_name(b))]
    return []


def render_markdown(differences: list[Difference], spec: str, twin: str, reads: int) -> str:
    """The report `sim compare` prints when the twin answers differently."""
    lines = [
        f"# The twin answers differently ({len(differences)} difference{'s' if len(differences) != 1 else ''})",
        "",
        f"Spec `{spec}`, twin `{twin}`: {reads} reads of the plan, compared by shape (values are not compared).",
        "",
        "| protocol | read | request | where | real tenant | twin |",
        "|---|---|---|---|---|---|",
    ]
    for d in differences:
        cells = [d.protocol, d.operation, _short(d.key), d.where, d.real, d.twin]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _short(key: str, limit: int = 120) -> str:
    return key if len(key) <= limit else key[: limit - 1] + "…"


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`" if text else ""
