"""The tenant file's journal: what a save writes replays to what the simulator holds, a killed simulator
loses no acknowledged write, and every reader sees the latest writes."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.simulator import Simulator, compact_tenant, init_tenant, make_token, read_tenant
from reconciler.simulator.journal import TDict, TList, Tracker, apply_ops, track
from reconciler.simulator.store import TenantStore, journal_path

ADMIN = "admin@contoso.onmicrosoft.com"

# --- the tracked tree: any sequence of changes replays to the same JSON ---------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text("ab", max_size=2))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text("abc", min_size=1, max_size=1), inner, max_size=3)
    ),
    max_leaves=8,
)


def containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(path, node)]
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        if isinstance(value, dict | list):
            found += containers(value, (*path, key))
    return found


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def mutate(data: st.DataObject, root: TDict) -> None:
    """One random change, made the way handlers make them (on the tracked tree only)."""
    _, target = data.draw(st.sampled_from(containers(root)))
    others = [c for _, c in containers(root) if c is not root]
    pick_subtree = data.draw(st.booleans()) and others
    value = data.draw(st.sampled_from(others)) if pick_subtree else data.draw(json_values)
    if isinstance(target, dict):
        key = data.draw(st.text("abc", min_size=1, max_size=1))
        action = data.draw(st.sampled_from(["set", "del", "pop", "setdefault", "update", "clear", "popitem"]))
        if action == "set":
            target[key] = value
        elif action == "del" and key in target:
            del target[key]
        elif action == "pop":
            target.pop(key, None)
        elif action == "setdefault":
            stored = target.setdefault(key, [])
            if isinstance(stored, list):
                stored.append(data.draw(scalars))
        elif action == "update":
            target.update({key: value})
        elif action == "clear" and data.draw(st.booleans()):
            target.clear()
        elif action == "popitem" and target:
            target.popitem()
        return
    actions = ["append", "insert", "pop", "remove", "del", "set", "slice", "sort", "reverse", "extend", "iadd"]
    action = data.draw(st.sampled_from(actions))
    size = len(target)
    if action == "append":
        target.append(value)
    elif action == "insert":
        target.insert(data.draw(st.integers(-size - 1, size + 1)), value)
    elif action == "pop" and size:
        target.pop(data.draw(st.integers(-size, size - 1)))
    elif action == "remove" and size:
        target.remove(target[data.draw(st.integers(0, size - 1))])
    elif action == "del" and size:
        del target[data.draw(st.integers(0, size - 1))]
    elif action == "set" and size:
        target[data.draw(st.integers(0, size - 1))] = value
    elif action == "slice":
        keep = [item for item in target if data.draw(st.booleans())]
        target[:] = [*keep, value] if data.draw(st.booleans()) else keep
    elif action == "sort":
        target.sort(key=lambda item: json.dumps(item, sort_keys=True))
    elif action == "reverse":
        target.reverse()
    elif action == "extend":
        target.extend([value, data.draw(scalars)])
    elif action == "iadd":
        target += [value]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text("abc", min_size=1, max_size=1), json_values, max_size=4), st.data())
def test_any_changes_replay_to_the_tracked_tree(initial: dict[str, Any], data: st.DataObject) -> None:
    tracker = Tracker()
    root = track(copy.deepcopy(initial), tracker)
    replayed = copy.deepcopy(initial)
    held: list[Any] = [c for _, c in containers(root)]  # references kept across saves, as indexes keep them
    for _ in range(data.draw(st.integers(1, 6))):
        for _ in range(data.draw(st.integers(0, 6))):
            pick: bool = data.draw(st.booleans())
            if held and pick:
                target = data.draw(st.sampled_from(held))
                if isinstance(target, list):
                    target.append(data.draw(scalars))
                else:
                    target[data.draw(st.text("xy", min_size=1, max_size=1))] = data.draw(scalars)
            else:
                mutate(data, root)
        apply_ops(replayed, plain(tracker.collect()))
        held = [c for c in held if c in [node for _, node in containers(root)]]
        assert replayed == plain(root)
        assert all(isinstance(node, TDict | TList) for _, node in containers(root))


def test_copies_of_tracked_containers_are_plain() -> None:
    root = track({"a": [{"b": 1}]}, Tracker())
    assert type(copy.deepcopy(root)) is dict and type(copy.deepcopy(root)["a"]) is list
    assert type(copy.copy(root["a"])) is list
    assert json.dumps(root) == '{"a": [{"b": 1}]}'


def test_a_stored_plain_value_is_a_tracked_copy_and_setdefault_returns_it() -> None:
    tracker = Tracker()
    root = track({"rows": []}, tracker)
    row = {"User": "x"}
    root["rows"].append(row)
    assert root["rows"][0] == row and root["rows"][0] is not row
    members = root.setdefault("members", [])
    members.append("m")
    assert plain(root) == {"rows": [{"User": "x"}], "members": ["m"]}
    row["User"] = "changed afterwards"  # the caller's own object is not the stored one
    # shallow paths first; the append inside "members" is part of the value written whole
    assert plain(tracker.collect()) == [["s", [], "members", ["m"]], ["i", ["rows"], 0, {"User": "x"}]]


# --- the store: journal lines, compaction, torn and stale journals -----------------------------------


def _patch(store: TenantStore, title: str) -> None:
    with store.lock:
        user = store.find_user(ADMIN)
        assert user is not None
        user["jobTitle"] = title
        store.save()


def test_a_save_appends_one_line_with_only_the_change(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    init_tenant(path, users=50, rooms=50)
    before = path.read_bytes()
    store = TenantStore(path)
    _patch(store, "one")
    _patch(store, "two")
    assert path.read_bytes() == before  # the base is not rewritten per save
    header, *lines = journal_path(path).read_text().splitlines()
    assert json.loads(header)["journal"] == 1
    assert [json.loads(line) for line in lines] == [
        [["s", ["users", 0], "jobTitle", "one"]],
        [["s", ["users", 0], "jobTitle", "two"]],
    ]
    assert read_tenant(path)["users"][0]["jobTitle"] == "two"
    store.close()
    assert not journal_path(path).exists()
    assert json.loads(path.read_text())["users"][0]["jobTitle"] == "two"


def test_a_torn_last_line_is_dropped_and_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    init_tenant(path)
    store = TenantStore(path)
    _patch(store, "kept")
    with journal_path(path).open("ab") as journal:
        journal.write(b'[["s",["users",0],"jobTitle","to')  # a write cut short by a kill
    again = TenantStore(path)
    assert again.find_user(ADMIN)["jobTitle"] == "kept"  # type: ignore[index]
    _patch(again, "next")
    assert read_tenant(path)["users"][0]["jobTitle"] == "next"
    assert journal_path(path).read_text().endswith('"next"]]\n')


def test_a_journal_of_another_base_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    init_tenant(path)
    store = TenantStore(path)
    _patch(store, "old")
    kept = journal_path(path).read_bytes()
    store.close()  # compaction: new base, journal deleted ...
    journal_path(path).write_bytes(kept)  # ... as if killed before the delete
    assert read_tenant(path)["users"][0]["jobTitle"] == "old"
    data = json.loads(path.read_text())
    data["users"][0]["jobTitle"] = "by hand"
    path.write_text(json.dumps(data))  # a hand edit of the base: the journal no longer applies
    assert read_tenant(path)["users"][0]["jobTitle"] == "by hand"


def test_the_journal_is_folded_in_once_it_outgrows_the_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.simulator.store.MIN_COMPACT_BYTES", 0)
    path = tmp_path / "t.json"
    init_tenant(path)
    store = TenantStore(path)
    base = path.stat().st_size
    for n in range(base // 40 + 10):
        _patch(store, f"title {n}")
        assert not journal_path(path).exists() or journal_path(path).stat().st_size <= base + 200
    assert read_tenant(path)["users"][0]["jobTitle"] == f"title {n}"
    assert json.loads(path.read_text())["users"][0]["jobTitle"] is not None  # the base was rewritten meanwhile


def test_a_second_writer_wins_whole_and_close_does_not_undo_it(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    init_tenant(path)
    first, second = TenantStore(path), TenantStore(path)
    _patch(first, "first")
    _patch(second, "second")  # second never saw first's line: it writes its whole tenant (last writer wins)
    assert read_tenant(path)["users"][0]["jobTitle"] == "second"
    first.close()  # first's view is stale: it leaves the files alone
    assert read_tenant(path)["users"][0]["jobTitle"] == "second"
    second.close()
    assert json.loads(path.read_text())["users"][0]["jobTitle"] == "second"


def test_compact_tenant_and_init_leave_no_journal(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    init_tenant(path)
    _patch(TenantStore(path), "journaled")
    assert journal_path(path).exists()
    compact_tenant(path)
    assert not journal_path(path).exists() and json.loads(path.read_text())["users"][0]["jobTitle"] == "journaled"
    _patch(TenantStore(path), "again")
    init_tenant(path)
    assert not journal_path(path).exists() and read_tenant(path)["users"][0]["jobTitle"] is None


# --- a real `sim serve` process: SIGKILL loses no acknowledged write ------------------------------


def test_a_killed_sim_serve_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "tenant.json"
    data = init_tenant(path, users=20, rooms=20)
    server = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sim", "serve", str(path), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert server.stdout is not None
        url = next(word for word in server.stdout.readline().split() if word.startswith("http://"))
        token = make_token(data["tenant"]["id"], "00000000-0000-0000-0000-0000000000ad", ["Directory.ReadWrite.All"])
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{url}/v1.0", headers=headers, timeout=30) as graph:
            for n in range(1, 21):
                assert graph.patch(f"/users/user{n:03d}@contoso.com", json={"jobTitle": f"t{n}"}).status_code == 204
            created = graph.post(
                "/users",
                json={
                    "accountEnabled": True,
                    "displayName": "Made before the kill",
                    "mailNickname": "made",
                    "userPrincipalName": "made@contoso.com",
                    "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"},
                },
            )
            assert created.status_code == 201
            permission = graph.post(
                "/users/room001@contoso.com/calendar/calendarPermissions",
                json={"emailAddress": {"address": "user001@contoso.com"}, "role": "freeBusyRead"},
            )
            assert permission.status_code in (200, 201), permission.text
            assert graph.patch("/users/made@contoso.com", json={"jobTitle": "after create"}).status_code == 204
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(30)
    assert journal_path(path).exists()  # nothing folded it in: the process was killed
    after = read_tenant(path)
    titles = {u["userPrincipalName"]: u.get("jobTitle") for u in after["users"]}
    assert all(titles[f"user{n:03d}@contoso.com"] == f"t{n}" for n in range(1, 21))
    assert titles["made@contoso.com"] == "after create"
    with Simulator(path) as sim:  # the next simulator starts from there, and folds the journal in on stop
        token = make_token(sim.tenant_id, "app", ["Calendars.Read"])
        listed = httpx.get(
            f"{sim.base_url}/v1.0/users/room001@contoso.com/calendar/calendarPermissions",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["value"]
        assert any(p["emailAddress"].get("address") == "user001@contoso.com" for p in listed)
    assert not journal_path(path).exists()
    assert json.loads(path.read_text())["users"] == after["users"]


def test_a_terminated_sim_serve_folds_its_journal_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tenant.json"
    data = init_tenant(path)
    server = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sim", "serve", str(path), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = next(word for word in server.stdout.readline().split() if word.startswith("http://"))
        token = make_token(data["tenant"]["id"], "00000000-0000-0000-0000-0000000000ad", ["Directory.ReadWrite.All"])
        answer = httpx.patch(
            f"{url}/v1.0/users/{ADMIN}", json={"jobTitle": "terminated"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 204
        assert journal_path(path).exists()
    finally:
        server.terminate()
        server.wait(30)
    assert not journal_path(path).exists()
    assert json.loads(path.read_text())["users"][0]["jobTitle"] == "terminated"
