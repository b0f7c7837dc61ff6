"""Property-based tests (hypothesis) of the spec loader and the guide's CSV reader: whatever the input,
a value or a SpecError with a location — never another exception."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import SpecError
from reconciler.spec.loader import LoadedSpec, load_spec
from reconciler.spec.presets import read_csv_aliases

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(["version", "tenant", "service_account", "access", "room_lists", "target", "integration"])


@SETTINGS
@given(text=st.text(max_size=300))
def test_any_text_is_a_spec_or_a_located_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        assert isinstance(load_spec(path), LoadedSpec)
    except SpecError as exc:
        assert all(p.location is not None and p.location.file == str(path) for p in exc.problems)


@SETTINGS
@given(document=st.dictionaries(KEYS, JSONISH, max_size=5))
def test_any_structure_is_a_spec_or_a_located_error(tmp_path: Path, document: dict[str, object]) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
    try:
        load_spec(path)
    except SpecError as exc:
        assert exc.problems and all(p.location is not None for p in exc.problems)


ALIAS = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_.@"),
    min_size=1,
    max_size=20,
)


@SETTINGS
@given(aliases=st.lists(ALIAS, min_size=1, max_size=30), bom=st.booleans(), blank_lines=st.booleans())
def test_csv_aliases_round_trip(tmp_path: Path, aliases: list[str], bom: bool, blank_lines: bool) -> None:
    separator = "\n\n" if blank_lines else "\n"
    text = ("\ufeff" if bom else "") + "alias" + separator + separator.join(aliases) + "\n"
    (tmp_path / "cronofy.csv").write_text(text, encoding="utf-8")
    assert read_csv_aliases(_spec_with_csv(tmp_path)) == tuple(aliases)


@SETTINGS
@given(text=st.text(max_size=200))
def test_any_csv_is_aliases_or_a_located_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "cronofy.csv").write_text(text, encoding="utf-8")
    try:
        assert isinstance(read_csv_aliases(_spec_with_csv(tmp_path)), tuple)
    except SpecError as exc:
        assert exc.location is not None and "cronofy.csv" in exc.location.file


def _spec_with_csv(folder: Path) -> LoadedSpec:
    spec = folder / "spec.yaml"
    spec.write_text(
        "version: 1\ntenant: {domain: contoso.com}\nservice_account: {user_principal_name: s@contoso.com, "
        "display_name: S, licenses: [EXCHANGESTANDARD], usage_location: US}\n"
        "access: {level: free_busy, mailboxes: {csv: cronofy.csv}}\n",
        encoding="utf-8",
    )
    return load_spec(spec)
