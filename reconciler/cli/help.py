"""Usage errors exit 1, and help in click's plain form: no Python type after an argument
(`LINE... <list[str]>`), choices listed, and value placeholders as click writes them (`--state PATH`,
`SPEC...`), not Typer's `<str>` and `{spec}`.

Typer builds its parameter classes itself (no `cls=` for arguments), so its display methods (and the
argument's name in errors) are replaced on its classes once, when the CLI module loads.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperOption

# Typer's `<type>` label -> click's placeholder for a value of that type
PLACEHOLDERS = {"str": "TEXT", "path": "PATH", "file": "FILE", "directory": "DIR", "int": "N", "float": "NUMBER"}
CHOICE_LABEL = TyperOption.display_type_rich


def _choices(param: TyperArgument | TyperOption, ctx: typer.Context) -> str | None:
    """`<a|b>` for a parameter with choices, else None."""
    return str(CHOICE_LABEL(param, ctx)) if param.type_descriptor.is_choice else None  # type: ignore[arg-type]


def _option_value(self: TyperOption, ctx: typer.Context) -> str | None:
    """An option's value: its metavar, its choices, or click's placeholder for its type (`PATH`, `TEXT`, `N`)."""
    if self.metavar is not None:
        return self.metavar
    label = _choices(self, ctx)
    if label is None:
        bare = str(self.display_type(ctx)).strip("<>")
        label = PLACEHOLDERS.get(bare, bare.upper())
    return label + "..." if self.nargs != 1 else label


def _argument_type(self: TyperArgument, ctx: typer.Context) -> str | None:
    """Only an argument's choices follow its name in help; its type is noise."""
    return _choices(self, ctx)


def _argument_name(self: TyperArgument) -> str:
    """`SPEC`, `LINE...` (the metavar as written, else the name upper-cased, click's way)."""
    name = self.metavar if self.metavar is not None else str(self.name).upper()
    return name + "..." if self.nargs != 1 and not name.endswith("...") else name


def _usage_name(self: TyperArgument) -> str:
    """The usage line: `SPEC`, `[NAME]` when optional, `SPEC...` for several (never `{spec}` or `{SPEC...}...`)."""
    name = _argument_name(self)
    return name if self.required else f"[{name}]"


def _error_hint(self: TyperArgument) -> str:
    """Errors name an argument as help does: "Missing argument 'SPEC'"."""
    return f"'{_argument_name(self)}'"


def usage_errors_exit_1() -> None:
    """A usage error (unknown option, missing argument) exits 1 like every other bad input, as Terraform's do:
    click's 2 would read as "changes present" / "drift found" to a CI job running `drift` or `plan
    --detailed-exitcode`. The class is the one `Context.fail` raises (Typer exports no name for it)."""
    try:
        typer.Context(TyperCommand("reconciler")).fail("")
    except Exception as error:  # click's UsageError, the base of every usage error
        type(error).exit_code = 1  # type: ignore[attr-defined]


def install() -> None:
    """Replace Typer's display methods (idempotent); usage errors exit 1."""
    usage_errors_exit_1()
    patches: list[tuple[type[Any], str, Any]] = [
        (TyperOption, "display_type_rich", _option_value),
        (TyperArgument, "display_type_rich", _argument_type),
        (TyperArgument, "_rich_display_name", _argument_name),
        (TyperArgument, "_usage_display_name", _usage_name),
        (TyperArgument, "get_error_hint", _error_hint),
    ]
    for cls, name, function in patches:
        setattr(cls, name, function)
