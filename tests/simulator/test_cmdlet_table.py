"""The documented-parameter table (reconciler/simulator/exchange_params.py) against what the simulator does.

For every emulated cmdlet, in every environment its page lists (Exchange Online, Exchange Server): each documented
parameter is either accepted or refused with an explicit "not emulated" error naming the page, never the unknown-
parameter error; an undocumented parameter is refused the way each surface refuses an unknown one.
"""

from __future__ import annotations

import inspect

import pytest

from reconciler.simulator import exchange_admin as xa
from reconciler.simulator.exchange_errors import (
    ADMINAPI_PARAMETER_SET_TYPE,
    NOT_EMULATED_TYPE,
    PARAMETER_BINDING_TYPE,
    CmdletError,
)
from reconciler.simulator.exchange_params import COMMON_PARAMETERS, DOC, PAGES, Page, Parameter

ENVIRONMENTS = {"O": True, "S": False}  # where -> online
BOGUS = "NoSuchParameterAnywhere"


def _value(parameter: Parameter) -> object:
    if parameter.switch or parameter.type == "Boolean":
        return True
    return "x"


def _attempt(page: Page, parameter: Parameter, online: bool) -> tuple[str, str | None]:
    """Bind ``parameter`` with a parameter set it belongs to (and that set's mandatory parameters):
    ("accepted", None), ("not emulated", <the parameter named>), or ("unusable", None) when no set takes it here."""
    available = page.available(online)
    usable = [
        s
        for s in page.sets
        if s in parameter.sets and all(p.name in available for p in page.parameters.values() if s in p.mandatory)
    ]
    if not usable:
        return "unusable", None  # e.g. an Online-only set's only parameter is missing on Exchange Server
    chosen = usable[0]
    values = {p.name: _value(p) for p in available.values() if chosen in p.mandatory}
    values[parameter.name] = _value(parameter)
    try:
        xa.prepare(page.cmdlet, values, online=online, shell=False)
    except CmdletError as exc:
        assert exc.exc_type == NOT_EMULATED_TYPE, (page.cmdlet, parameter.name, exc.detail)
        assert page.url in exc.text, exc.text
        named = exc.text.split("parameter '", 1)[1].split("'", 1)[0]
        return "not emulated", named
    return "accepted", None


def test_every_emulated_cmdlet_has_its_page_and_cites_it() -> None:
    assert set(xa.CMDLETS) == set(PAGES)
    for name, (function, emulated, _) in xa.CMDLETS.items():
        page = PAGES[name]
        assert page.url == DOC + name.lower()
        assert page.url.removeprefix("https://learn.microsoft.com/") in inspect.getsource(function), name
        documented = {p.lower() for p in page.parameters} | {p.lower() for p in COMMON_PARAMETERS}
        unknown = [p for p in emulated.split() if p.lower() not in documented]
        assert not unknown, f"{name} emulates undocumented parameters {unknown}"
        assert page.where, name


def test_every_documented_parameter_is_accepted_or_refused_as_not_emulated(capsys: pytest.CaptureFixture[str]) -> None:
    counts = {"accepted": 0, "not emulated": 0, "unusable": 0}
    cmdlets = 0
    for name, page in PAGES.items():
        allowed = xa.emulated(name)
        for where, online in ENVIRONMENTS.items():
            if where not in page.where:
                continue
            cmdlets += 1
            for parameter in page.available(online).values():
                outcome, named = _attempt(page, parameter, online)
                counts[outcome] += 1
                if outcome == "accepted":
                    assert parameter.name in allowed, (name, parameter.name)
                elif outcome == "not emulated":
                    # refused for itself, or because its set needs a parameter that isn't emulated
                    assert named == parameter.name or named not in allowed, (name, parameter.name, named)
                    assert parameter.name not in allowed or named != parameter.name
    total = sum(counts.values())
    with capsys.disabled():
        print(
            f"\nparameter table: {len(PAGES)} cmdlets ({cmdlets} cmdlet/environment pairs), {total} documented "
            f"parameter/environment pairs: {counts['accepted']} accepted, {counts['not emulated']} refused as not "
            f"emulated, {counts['unusable']} in no parameter set usable there"
        )
    assert len(PAGES) == 41 and cmdlets == 70
    assert total == counts["accepted"] + counts["not emulated"] + counts["unusable"] and total > 800
    assert counts["accepted"] > 200 and counts["unusable"] < 10


@pytest.mark.parametrize("name", sorted(PAGES))
def test_an_undocumented_parameter_is_refused_as_exchange_refuses_it(name: str) -> None:
    page = PAGES[name]
    for where, online in ENVIRONMENTS.items():
        if where not in page.where:
            with pytest.raises(CmdletError) as absent:
                xa.prepare(name, {}, online=online)
            assert "is not recognized as a name of a cmdlet" in absent.value.text
            continue
        with pytest.raises(CmdletError) as api:
            xa.prepare(name, {BOGUS: "1"}, online=online, shell=False)
        assert api.value.exc_type == ADMINAPI_PARAMETER_SET_TYPE
        assert api.value.detail == (
            f"|{ADMINAPI_PARAMETER_SET_TYPE}|Parameter set cannot be resolved using the specified named parameters. "
            f"Invalid cmdlet parameters specified. {BOGUS}"
        )
        with pytest.raises(CmdletError) as shell:
            xa.prepare(name, {BOGUS: "1"}, online=online, shell=True)
        assert shell.value.exc_type == PARAMETER_BINDING_TYPE
        assert shell.value.text == f"A parameter cannot be found that matches parameter name '{BOGUS}'."
        # a parameter of the other environment is unknown here too
        other = [p for p in page.parameters.values() if where not in p.where]
        if other:
            with pytest.raises(CmdletError) as elsewhere:
                xa.prepare(name, {other[0].name: "x"}, online=online, shell=True)
            assert "A parameter cannot be found" in elsewhere.value.text
