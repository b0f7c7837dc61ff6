"""Read a spec file: YAML with source positions (ruamel.yaml), then pydantic validation.

Every problem is reported at once, each with file, line, column and field path.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from reconciler.errors import Location, ReconcilerError, SpecError
from reconciler.redact import register
from reconciler.spec import rules
from reconciler.spec.mailbox_csv import read_mailbox_csv
from reconciler.spec.models import ENV_REF, FILE_REF, Spec
from reconciler.spec.yaml_limits import check_expansion

MAX_SPEC_BYTES = 1_000_000


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec plus where it came from (for error locations and stale-plan checks)."""

    spec: Spec
    path: Path
    sha256: str
    document: Any  # the ruamel document, for locating fields
    # What the user should know that is not an error, e.g. "the CSV was read as Windows-1252"; a command may
    # print these (validate, plan) before its result.
    notes: tuple[str, ...] = ()

    def locate(self, *field_path: str | int) -> Location:
        return locate(self.document, str(self.path), field_path)

    def relative(self, name: str) -> Path:
        """A path named in the spec, relative to the spec's own folder."""
        return (self.path.parent / name).resolve()

    def resolve_env(self, reference: str, *field_path: str | int) -> str:
        """The secret behind `${env:NAME}` or `${file:PATH}` (PATH relative to the spec); a SpecError at the
        field when it is unset or unreadable. The value is registered for redaction and never kept."""
        file_match = FILE_REF.match(reference)
        if file_match:
            return self._secret_file(file_match.group(1), reference, field_path)
        match = ENV_REF.match(reference)
        name = match.group(1) if match else reference
        value = os.environ.get(name)
        if not value:
            raise SpecError(
                f"environment variable {name} is not set",
                f"export {name}=... before running; the spec reads it from {reference}",
                self.locate(*field_path),
            )
        register(value)
        return value

    def _secret_file(self, name: str, reference: str, field_path: tuple[str | int, ...]) -> str:
        path = self.relative(name)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SpecError(
                f"cannot read the secret file {path}: {exc.strerror}",
                f"the spec reads it from {reference}; create it (owner-only, chmod 600) or fix the path",
                self.locate(*field_path),
            ) from None
        if not value:
            raise SpecError(
                f"the secret file {path} is empty", f"the spec reads it from {reference}", self.locate(*field_path)
            )
        register(value)
        return value


def load_spec(path: Path) -> LoadedSpec:
    """Parse and validate a spec file, or raise SpecError listing every problem."""
    raw = _read_bounded(path)
    if not raw.strip():
        raise SpecError("the spec is empty", "start from specs/example.yaml", Location(str(path), 1, 1))
    check_expansion(raw, path)  # alias bombs and deep nesting, before anything is composed
    document = _parse_yaml(raw, path)
    if not isinstance(document, CommentedMap):
        raise SpecError(
            "a spec is a YAML mapping with version, tenant and service_account",
            location=Location(str(path), 1, 1),
        )
    try:
        spec = Spec.model_validate(_plain(document))
    except ValidationError as exc:
        raise _spec_errors(exc, document, str(path)) from None
    loaded = LoadedSpec(spec, path, hashlib.sha256(raw).hexdigest(), document)
    problems: list[ReconcilerError] = list(rules.check(spec, loaded.locate))
    if not problems and spec.access is not None and spec.access.mailboxes.csv:
        # a broken CSV is a spec error before anything is touched (presets.read_csv_aliases reads it the same way)
        csv_path = loaded.relative(spec.access.mailboxes.csv)
        mailboxes = read_mailbox_csv(csv_path, loaded.locate("access", "mailboxes", "csv"))
        loaded = dataclasses.replace(loaded, notes=loaded.notes + mailboxes.notes)
    if problems:
        first = problems[0]
        summary = f"{len(problems)} problem(s) in the spec" if len(problems) > 1 else first.summary
        raise SpecError(summary, first.detail, first.location, problems)
    return loaded


def _read_bounded(path: Path) -> bytes:
    """The spec's bytes, refusing a file over MAX_SPEC_BYTES before reading it (and a pipe or special file,
    whose size stat cannot tell, once MAX_SPEC_BYTES + 1 bytes have been read)."""
    try:
        size = path.stat().st_size
        if size <= MAX_SPEC_BYTES:
            with path.open("rb") as handle:
                raw = handle.read(MAX_SPEC_BYTES + 1)
            size = len(raw)
    except OSError as exc:
        raise SpecError(f"cannot read spec: {exc.strerror}", location=Location(str(path))) from None
    if size > MAX_SPEC_BYTES:
        raise SpecError(
            f"the spec is {size / 1e6:.1f} MB; a spec is a small YAML file (at most {MAX_SPEC_BYTES // 10**6} MB)",
            "list many mailboxes in a CSV (access.mailboxes.csv) or by group instead",
            Location(str(path)),
        )
    return raw


def _parse_yaml(raw: bytes, path: Path) -> Any:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(raw)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = " ".join(filter(None, [exc.context, exc.problem]))
        raise SpecError(
            f"not valid YAML: {problem}", "fix the YAML syntax", Location(str(path), line, column)
        ) from None
    except YAMLError as exc:  # e.g. a control character the YAML reader refuses
        position = getattr(exc, "position", None)
        raise SpecError(
            f"not valid YAML: {str(exc).splitlines()[0]}",
            "the spec must be UTF-8 text without control characters",
            Location(str(path), None, position + 1 if isinstance(position, int) else None),
        ) from None


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def _spec_errors(exc: ValidationError, document: Any, file: str) -> SpecError:
    problems: list[ReconcilerError] = []
    for error in exc.errors():
        field_path = tuple(p for p in error["loc"] if not _is_model_tag(p))
        problems.append(SpecError(_message(error), _allowed(error), locate(document, file, field_path)))
    first = problems[0]
    summary = f"{len(problems)} problem(s) in the spec" if len(problems) > 1 else first.summary
    return SpecError(summary, first.detail, first.location, problems)


def _is_model_tag(part: Any) -> bool:
    return isinstance(part, str) and part.startswith(("function-", "constrained-"))


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def _allowed(error: Any) -> str:
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "enum":
        return f"allowed: {ctx.get('expected')}"
    if kind == "literal_error":
        return f"allowed: {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"the value must match {ctx.get('pattern')}"
    if kind == "extra_forbidden":
        return _did_you_mean(str(error["loc"][-1]))
    if kind in ("less_than_equal", "greater_than_equal"):
        return "this reconciler reads spec version 1"
    return ""


def _did_you_mean(name: str) -> str:
    known = sorted(_field_names(Spec))
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}remove it or check its spelling (README: spec reference)"


def _field_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for arg in typing.get_args(field.annotation) or (field.annotation,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= _field_names(arg)
    return names


def locate(document: Any, file: str, field_path: tuple[str | int, ...]) -> Location:
    """The line/column of the deepest node of `field_path` that exists in the document."""
    node, line, column = document, None, None
    for part in field_path:
        position = _child_position(node, part)
        if position is None:
            break
        line, column = position
        node = node[part]
    dotted = ".".join(str(p) for p in field_path) or None
    return Location(file, line, column, dotted)


def _child_position(node: Any, part: str | int) -> tuple[int, int] | None:
    if isinstance(node, CommentedMap) and part in node:
        line, column = node.lc.key(part)
        return line + 1, column + 1
    if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
        line, column = node.lc.item(part)
        return line + 1, column + 1
    return None
