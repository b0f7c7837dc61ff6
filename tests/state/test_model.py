"""State keeps its records by address: order, replacing, removing, copies, and the file format unchanged.

tests/data/state_v1.json was written by the list-based State this one replaced (records re-sorted on every put).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.errors import StateError
from reconciler.state.backend import render_state, same_content
from reconciler.state.model import Intent, Owner, ResourceRecord, State
from reconciler.state.store import parse_state, read_state, write_state

OLD_FILE = Path(__file__).resolve().parents[1] / "data" / "state_v1.json"


def record(address: str, **attributes: object) -> ResourceRecord:
    return ResourceRecord(address=address, kind=address.split(".")[0], id=f"id-{address}", attributes=attributes)


def addresses(state: State) -> list[str]:
    return [r.address for r in state.resources]


def test_resources_are_in_address_order_whatever_the_put_order() -> None:
    names = [f"user.u{i:03}" for i in range(200)] + ["room_list.Meeting Rooms", "calendar_permission.a@x/b@y"]
    shuffled = random.Random(12).sample(names, len(names))
    state = State()
    for name in shuffled:
        state.put(record(name))
    assert addresses(state) == sorted(names)
    assert all(isinstance(r, ResourceRecord) for r in state.resources)
    assert [r["address"] for r in state.model_dump(mode="json")["resources"]] == sorted(names)


def test_put_replaces_the_record_at_its_address() -> None:
    state = State()
    state.put(record("user.a", n=1))
    state.put(record("user.b"))
    state.put(record("user.a", n=2))
    assert addresses(state) == ["user.a", "user.b"]
    found = state.get("user.a")
    assert found is not None and found.attributes == {"n": 2}


def test_remove_forgets_one_address_and_ignores_an_unknown_one() -> None:
    state = State(resources=[record("user.a"), record("user.b"), record("user.c")])
    state.remove("user.b")
    state.remove("user.nobody")
    assert addresses(state) == ["user.a", "user.c"]
    assert state.get("user.b") is None
    state.put(record("user.b"))
    assert addresses(state) == ["user.a", "user.b", "user.c"]


def test_a_file_written_before_the_index_reads_and_renders_byte_for_byte() -> None:
    text = OLD_FILE.read_text(encoding="utf-8")
    state = parse_state(text, "state file", "restore it")
    assert render_state(state) == text
    assert state.serial == 7 and state.tenant == "contoso.onmicrosoft.com"
    assert state.get("license_assignment.service_account") == ResourceRecord(
        address="license_assignment.service_account",
        kind="license_assignment",
        id="8d1f0c6e-7a52-4f0b-9c3e-2b6a4d5e7f80",
        depends_on=["user.service_account"],
        attributes={"licenses": ["E3"]},
    )


def test_the_same_records_put_in_another_order_render_the_same_file() -> None:
    text = OLD_FILE.read_text(encoding="utf-8")
    data = json.loads(text)
    rebuilt = State(serial=data["serial"], lineage=data["lineage"], tenant=data["tenant"])
    for raw in reversed(data["resources"]):
        rebuilt.put(ResourceRecord.model_validate(raw))
    assert render_state(rebuilt) == text
    assert rebuilt == State.model_validate(data)
    assert rebuilt.model_dump() == data


def test_write_and_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    state = State(tenant="contoso")
    for name in ("user.b", "user.a", "room_list.r"):
        state.put(record(name, name=name))
    written = write_state(path, state)
    again = read_state(path)
    assert again == written and addresses(again) == ["room_list.r", "user.a", "user.b"]
    assert path.read_text(encoding="utf-8") == render_state(written)
    assert same_content(again, state) and not same_content(again, State(lineage=state.lineage, tenant="contoso"))


# The list-based State this one replaced, reduced to its algorithm: the reference for any sequence of changes.
def _old_put(records: list[ResourceRecord], new: ResourceRecord) -> list[ResourceRecord]:
    return sorted([r for r in records if r.address != new.address] + [new], key=lambda r: r.address)


def _old_remove(records: list[ResourceRecord], address: str) -> list[ResourceRecord]:
    return [r for r in records if r.address != address]


_ADDRESS = st.sampled_from(["user.a", "user.b", "user.B", "user.a0", "room_list.x", "calendar_permission.é/z", "z"])
_OPERATION = st.tuples(st.sampled_from(["put", "remove"]), _ADDRESS, st.integers(0, 3))


@given(st.lists(_OPERATION, max_size=40))
def test_any_sequence_of_changes_matches_the_list_based_state(operations: list[tuple[str, str, int]]) -> None:
    state = State(lineage="l", tenant="t")
    reference: list[ResourceRecord] = []
    for operation, address, value in operations:
        if operation == "put":
            state.put(record(address, v=value))
            reference = _old_put(reference, record(address, v=value))
        else:
            state.remove(address)
            reference = _old_remove(reference, address)
        assert state.get(address) == next((r for r in reference if r.address == address), None)
    assert state.resources == reference
    expected = {"version": 1, "serial": 0, "lineage": "l", "tenant": "t", "resources": reference}
    assert render_state(state) == json.dumps(State.model_validate(expected).model_dump(mode="json"), indent=2) + "\n"
    assert (
        render_state(state)
        == json.dumps({**expected, "resources": [r.model_dump(mode="json") for r in reference]}, indent=2) + "\n"
    )


def test_a_copy_has_its_own_records() -> None:
    state = State(resources=[record("user.a")])
    shallow = state.model_copy(update={"serial": 3})
    deep = state.model_copy(deep=True)
    state.put(record("user.b"))
    shallow.remove("user.a")
    assert (addresses(state), addresses(shallow), addresses(deep)) == (["user.a", "user.b"], [], ["user.a"])
    assert shallow.serial == 3


def test_resources_can_still_be_given_whole() -> None:
    state = State(resources=[record("user.b"), record("user.a")])
    replaced = state.model_copy(update={"resources": [record("user.c")]})
    assert addresses(replaced) == ["user.c"] and addresses(state) == ["user.a", "user.b"]
    state.resources = [record("user.d")]
    assert addresses(state) == ["user.d"]
    listed = state.resources
    listed.append(record("user.e"))  # a new list each time: state changes only through put and remove
    assert addresses(state) == ["user.d"]


def test_a_file_naming_an_address_twice_keeps_the_first_record() -> None:
    """As the list-based State's `get` did; nothing reconciler writes has two."""
    data = {"version": 1, "resources": [record("user.a", n=1).model_dump(), record("user.a", n=2).model_dump()]}
    state = State.model_validate(data)
    assert len(state.resources) == 1
    first = state.get("user.a")
    assert first is not None and first.attributes == {"n": 1}


def test_an_invalid_record_is_refused_with_its_location() -> None:
    text = json.dumps({"version": 1, "serial": 1, "lineage": "x", "resources": [{"address": "user.a"}]})
    with pytest.raises(StateError, match=r"state file s\.json is not valid: Field required"):
        parse_state(text, "state file s.json", "restore it")
    with pytest.raises(ValueError, match=r"resources\.0\.kind"):
        State.model_validate(json.loads(text))
    with pytest.raises(ValueError, match="resources\n  Input should be a valid list"):
        State.model_validate({"version": 1, "resources": {"user.a": {}}})
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        State.model_validate({"version": 1, "resources": [], "resource": []})


def test_an_owner_is_an_additive_field_of_version_1() -> None:
    """A state written before owners existed reads as unclaimed and is written back without `owner`; a claimed
    one keeps its owner, and a new owner alone is a change worth a write."""
    old = read_state(OLD_FILE)
    assert old.owner is None and "owner" not in json.loads(render_state(old))
    claimed = old.model_copy(update={"owner": Owner(spec="teams/a/contoso.yaml", tenant="contoso.onmicrosoft.com")})
    text = render_state(claimed)
    assert json.loads(text)["version"] == 1
    assert json.loads(text)["owner"] == {
        "spec": "teams/a/contoso.yaml",
        "tenant": "contoso.onmicrosoft.com",
        "workspace": "default",
    }
    assert parse_state(text, "x", "y").owner == claimed.owner
    assert not same_content(old, claimed)


def test_intents_are_written_while_any_and_count_as_a_change(tmp_path: Path) -> None:
    """Apply's intents (engine/apply.py) round-trip; a state without them renders as before they existed."""
    path = tmp_path / "s.json"
    first = write_state(path, State(tenant="contoso", resources=[record("user.a")]))
    assert "intents" not in json.loads(path.read_text(encoding="utf-8"))
    intending = first.model_copy(update={"intents": [Intent(address="user.b", kind="user", action="create")]})
    assert not same_content(first, intending)
    second = write_state(path, intending)
    assert second.serial == first.serial + 1
    assert read_state(path).intents == intending.intents
    cleared = write_state(path, second.model_copy(update={"intents": []}))
    assert "intents" not in json.loads(path.read_text(encoding="utf-8")) and cleared.serial == second.serial + 1


_TEXT = st.text(alphabet=st.sampled_from('aé"\\/\n✓z'), max_size=6)


@given(
    tenant=st.none() | _TEXT,
    owned=st.booleans(),
    intents=st.lists(_TEXT, max_size=2),
    values=st.lists(st.tuples(_TEXT, st.none() | st.integers() | st.floats(allow_nan=False) | _TEXT), max_size=3),
)
def test_one_pass_render_is_what_json_dumps_writes(
    tenant: str | None, owned: bool, intents: list[str], values: list[tuple[str, object]]
) -> None:
    """render_state renders through pydantic-core (State.json_text) with the bytes json.dumps wrote before it did;
    only a float may be spelled otherwise (pydantic-core writes 1e-05 as 0.00001): the same number."""
    state = State(tenant=tenant, intents=[Intent(address=a, kind="user", action="create") for a in intents])
    if owned:
        state.owner = Owner(spec="a/é.yaml", tenant="contoso")
    for i, (name, value) in enumerate(values):
        state.put(record(f"user.{name}{i}", **{name or "x": value, "list": [value], "empty": {}}))
    written = json.dumps(state.model_dump(mode="json"), indent=2) + "\n"
    assert json.loads(render_state(state)) == json.loads(written)
    if not any(isinstance(value, float) for _, value in values):
        assert render_state(state) == written


def test_a_write_over_what_this_run_wrote_compares_text_and_still_sees_a_conflict(tmp_path: Path) -> None:
    """The local backend compares a new state with the text it last read or wrote (no re-parse): no change keeps the
    serial, any change raises it by one, and a file someone else wrote in between is still refused."""
    from reconciler.state.backend import StateConflictError
    from reconciler.state.local import LocalBackend

    path = tmp_path / "s.json"
    backend = LocalBackend(path)
    state = backend.read()
    state.put(record("user.a", name="a", n=1))
    first = backend.write(state)
    assert first.serial == 1 and path.read_text(encoding="utf-8") == render_state(first)
    same = backend.write(first.model_copy(update={"resources": [record("user.a", n=1, name="a")]}))  # key order
    assert same.serial == 1
    first.put(record("user.b"))
    second = backend.write(first)
    assert second.serial == 2 and path.read_text(encoding="utf-8") == render_state(second)
    assert json.loads(backup_path_of(path).read_text(encoding="utf-8"))["serial"] == 1
    other = LocalBackend(path)
    other.read()
    second.put(record("user.c"))
    other.write(second)
    with pytest.raises(StateConflictError):
        backend.write(second)


def backup_path_of(path: Path) -> Path:
    return path.with_name(path.name + ".backup")
