"""Alias bombs, deep nesting and oversized specs are refused fast, at the place responsible
(reconciler/spec/yaml_limits.py, loader's size check); ordinary anchor reuse keeps working."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec.loader import MAX_SPEC_BYTES, load_spec
from reconciler.spec.yaml_limits import MAX_ALIAS_NODES, MAX_DEPTH, check_expansion

HEAD = "version: 1\ntenant: {domain: contoso.com}\n"
LAUGHS = """\
lol0: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
lol1: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
lol2: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
lol3: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
lol4: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
lol5: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
lol6: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
lol7: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
lol8: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
lol9: &j [*i, *i, *i, *i, *i, *i, *i, *i, *i]
"""


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# Refused before expanding: the expanded laughs hold 10^9 values (tens of GB); the refusal allocates little.
# (Memory, not seconds: a timed assertion fails on a loaded machine; the bench measures speed.)
PEAK_BYTES = 32 * 1024 * 1024


def _refused(path: Path) -> SpecError:
    tracemalloc.start()
    try:
        with pytest.raises(SpecError) as caught:
            load_spec(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak:,} bytes allocated before the refusal"
    return caught.value


def test_the_billion_laughs_is_refused_at_the_alias_that_crosses_the_bound(tmp_path: Path) -> None:
    error = _refused(_spec(tmp_path, HEAD + LAUGHS))
    assert "YAML aliases expand the spec beyond" in error.summary and "billion laughs" in error.detail
    assert error.location is not None and error.location.file.endswith("spec.yaml")
    assert error.location.line == 7 and error.location.column is not None  # the first *d (7,381 values) crosses 10,000


def test_a_bomb_of_long_strings_is_refused_too(tmp_path: Path) -> None:
    text = HEAD + "big: &s " + "x" * 200_000 + "\nlist: [" + ", ".join(["*s"] * 6) + "]\n"
    error = _refused(_spec(tmp_path, text))
    assert "characters" in error.summary and error.location is not None and error.location.line == 4


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    error = _refused(_spec(tmp_path, HEAD + "loop: &r [1, *r]\n"))
    assert "recursive" in error.summary and error.location is not None and error.location.line == 3


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_refused_instead_of_overflowing_the_stack(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    error = _refused(_spec(tmp_path, HEAD + "deep: " + opening * 5000 + "1" + closing * 5000 + "\n"))
    assert f"more than {MAX_DEPTH} levels" in error.summary and error.location is not None
    assert error.location.line == 3


def test_ordinary_anchor_reuse_still_works(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "tenant: {domain: contoso.com}\n"
        "service_account: {user_principal_name: svc@contoso.com, display_name: Svc}\n"
        "calendar_permissions:\n"
        "  - &editor {mailbox: a@contoso.com, grantee: b@contoso.com, access_rights: Editor,\n"
        "             sharing_permission_flags: &flags [Delegate, CanViewPrivateItems]}\n"
        "  - {<<: *editor, mailbox: c@contoso.com}\n"
        "  - {mailbox: d@contoso.com, grantee: b@contoso.com, access_rights: Editor,\n"
        "     sharing_permission_flags: *flags}\n"
    )
    loaded = load_spec(_spec(tmp_path, text))
    permissions = loaded.spec.calendar_permissions
    assert [p.mailbox for p in permissions] == ["a@contoso.com", "c@contoso.com", "d@contoso.com"]
    assert all(p.sharing_permission_flags == ["Delegate", "CanViewPrivateItems"] for p in permissions)


def test_expansion_up_to_the_bound_is_allowed(tmp_path: Path) -> None:
    """An anchored list of 99 values reused 100 times adds 100 x 100 = MAX_ALIAS_NODES values: allowed."""
    items = ", ".join(f"v{i}" for i in range(99))
    text = "a: &a [" + items + "]\nb: [" + ", ".join(["*a"] * (MAX_ALIAS_NODES // 100)) + "]\n"
    check_expansion(text.encode(), tmp_path / "x.yaml")
    with pytest.raises(SpecError):
        check_expansion((text[:-2] + ", *a]\n").encode(), tmp_path / "x.yaml")


def test_invalid_yaml_is_left_to_the_loader(tmp_path: Path) -> None:
    check_expansion(b"a: [1, 2\nb: *undefined\n", tmp_path / "x.yaml")  # no exception: load_spec reports it
    error = _refused(_spec(tmp_path, HEAD + "x: *undefined\n"))
    assert "not valid YAML" in error.summary and error.location is not None and error.location.line == 3


def test_a_spec_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    with path.open("wb") as handle:
        handle.write(HEAD.encode())
        handle.truncate(MAX_SPEC_BYTES + 1)
    assert "a spec is a small YAML file" in _refused(path).summary


def test_a_special_file_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    """/dev/zero has no size for stat to report: the read stops after MAX_SPEC_BYTES + 1 bytes."""
    error = _refused(Path("/dev/zero"))
    assert "a spec is a small YAML file" in error.summary
