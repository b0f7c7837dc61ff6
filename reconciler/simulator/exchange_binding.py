"""Parameter binding for the emulated cmdlets, against the documented table (:mod:`exchange_params`).

What PowerShell's binder does before a cmdlet runs, reduced to what a cmdlet line or a CmdletInput can hold:
names are matched case-insensitively (the shell also takes aliases and unambiguous prefixes, as PowerShell
does; the admin API only whole names), positional values (shell) take the parameters by position, values are
converted for SwitchParameter and Boolean, the parameter set is resolved (parameters of two sets together are
refused, a set's mandatory parameters must be given), and a parameter that exists only in the other
environment (Exchange Online vs Exchange Server) is unknown, as it is to that environment's cmdlet.
PowerShell's rules: https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_parameters
and about_parameter_sets (same site).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.simulator.exchange_errors import (
    PARAMETER_BINDING_TYPE,
    CmdletError,
    bad_value,
    missing_parameter,
    parameter_set_conflict,
    unknown_parameter,
)
from reconciler.simulator.exchange_params import COMMON_PARAMETERS, Page, Parameter

_COMMON = {name.lower(): name for name in COMMON_PARAMETERS}


@dataclass(frozen=True)
class Bound:
    """The parameters as the cmdlet receives them: documented names, converted values, the resolved set."""

    values: dict[str, Any]
    parameter_set: str


def bind(
    page: Page,
    named: Mapping[str, Any],
    positional: Sequence[Any] = (),
    *,
    online: bool,
    shell: bool,
) -> Bound:
    """Bind ``named`` (and, from a shell line, ``positional``) values to ``page``'s parameters; CmdletError if not."""
    available = page.available(online)
    values: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in named.items():
        name = resolve_name(available, key, shell)
        if name is None:
            unknown.append(key)
            continue
        if name in values:
            raise bound_twice(name)
        values[name] = value
    if unknown:
        raise unknown_parameter(*unknown, shell=shell)
    _bind_positional(available, values, positional)
    for name, value in list(values.items()):
        parameter = available.get(name)
        if parameter is not None:
            values[name] = convert(parameter, value)
    return Bound(values, _parameter_set(page, available, values, shell=shell))


def resolve_name(available: dict[str, Parameter], key: str, shell: bool) -> str | None:
    """The documented name ``key`` means, or None (unknown here)."""
    lowered = key.lower()
    for name in available:
        if name.lower() == lowered:
            return name
    if lowered in _COMMON:
        return _COMMON[lowered]
    if not shell:
        return None
    for name, parameter in available.items():
        if lowered in (alias.lower() for alias in parameter.aliases):
            return name
    matches = [n for n in (*available, *COMMON_PARAMETERS) if n.lower().startswith(lowered)]
    if len(matches) > 1:
        listed = " ".join(f"-{m}" for m in matches)
        text = (
            f"Parameter cannot be processed because the parameter name '{key}' is ambiguous. "
            f"Possible matches include: {listed}."
        )
        raise CmdletError(PARAMETER_BINDING_TYPE, text, binding=True)
    return matches[0] if matches else None


def bound_twice(name: str) -> CmdletError:
    text = (
        f"Cannot bind parameter because parameter '{name}' is specified more than once. To provide multiple values "
        'to parameters that can accept multiple values, use the array syntax. For example, "-parameter '
        'value1,value2,value3".'
    )
    return CmdletError(PARAMETER_BINDING_TYPE, text, binding=True)


def _bind_positional(available: dict[str, Parameter], values: dict[str, Any], positional: Sequence[Any]) -> None:
    slots = sorted(
        (p for p in available.values() if p.position is not None and p.name not in values),
        key=lambda p: p.position or 0,
    )
    for index, value in enumerate(positional):
        if index >= len(slots):
            text = f"A positional parameter cannot be found that accepts argument '{_display(value)}'."
            raise CmdletError(PARAMETER_BINDING_TYPE, text, binding=True)
        values[slots[index].name] = value


def _display(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_display(v) for v in value)
    return "$null" if value is None else str(value)


def convert(parameter: Parameter, value: Any) -> Any:
    """SwitchParameter and Boolean values as PowerShell converts them; other values as given."""
    if parameter.switch:
        if value is None or value == "":
            return True
        return to_bool(value, parameter.name) is not False
    if parameter.type == "Boolean":
        return to_bool(value, parameter.name)
    return value


def to_bool(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    lowered = str(value).strip().lower().lstrip("$")
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    if lowered in ("null", ""):
        return None
    raise bad_value(name, f'Cannot convert value "{value}" to type "System.Boolean".')


def _parameter_set(page: Page, available: dict[str, Parameter], values: dict[str, Any], *, shell: bool) -> str:
    given = [available[name] for name in values if name in available]
    usable = [s for s in page.sets if all(p.name in available for p in page.parameters.values() if s in p.mandatory)]
    candidates = [s for s in usable if all(s in p.sets for p in given)]
    if not candidates:
        raise parameter_set_conflict(shell=shell)
    missing = {candidate: _missing(page, candidate, values) for candidate in candidates}
    complete = [candidate for candidate in candidates if not missing[candidate]]
    if complete:
        return complete[0]
    common = [name for name in missing[candidates[0]] if all(name in m for m in missing.values())]
    if common or len(candidates) == 1:
        raise missing_parameter(page.cmdlet, *(common or missing[candidates[0]]))
    raise parameter_set_conflict(shell=shell)  # no default set is documented to fall back on


def _missing(page: Page, parameter_set: str, values: dict[str, Any]) -> list[str]:
    return [p.name for p in page.parameters.values() if parameter_set in p.mandatory and p.name not in values]
