"""An admin at the Exchange Management Shell of the simulated tenant (`reconciler sim ems FILE "<line>" ...`).

On an on-premises (exchange_server) tenant this is the only way to run cmdlets, as on a real server, where
reconciler's plan hands them to an admin. Lines are read as PowerShell reads them, for the part of the language a
plan's commands use (about_Quoting_Rules, about_Special_Characters, about_Parsing, about_Variables:
https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_quoting_rules and siblings):

* statements end at ``;`` or a newline (a backtick before the newline continues the line); ``#`` starts a comment;
* single-quoted strings (``'`` and the curly U+2018, U+2019, U+201A, U+201B) are taken literally, a doubled
  quote is one quote;
* double-quoted strings (``"`` and U+201C, U+201D, U+201E) expand ``$name``, ``${name}`` and ``$( ... )``, take
  backtick escapes (`` `n `t `0 `a `b `e `f `r `v `u{hex} `` and `` `<char> ``) and a doubled quote as one quote;
* a bare argument expands variables and takes `` `<char> `` literally; ``a,b`` is an array; ``$true``, ``$false``,
  ``$null``; ``@{Add='x'; Remove='y'}`` is a hashtable, ``@( ... )`` an array, ``( ... )`` a command's output,
  ``.Name`` a property (``(Get-DistributionGroup 'x').DistinguishedName``);
* ``-Name value``, ``-Name:value``, a switch alone (``-RoomList``), positional values (``Get-DistributionGroup 'x'``),
  and ``$var = <command or expression>`` (variables last for the session: every line of one ``sim ems``).

Pipelines (``|``), script blocks (``{ }``) and the call operator (``&``) are refused with a ParserError. Parameters
are bound as PowerShell binds them (names, aliases, prefixes, positions, sets): :mod:`exchange_binding`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.simulator import exchange_admin as xa
from reconciler.simulator.exchange_binding import bound_twice, resolve_name
from reconciler.simulator.exchange_errors import PARAMETER_BINDING_TYPE, CmdletError
from reconciler.simulator.exchange_params import COMMON_PARAMETERS
from reconciler.simulator.store import TenantStore

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"  # and the curly single quotes
DOUBLE_QUOTES = '"\u201c\u201d\u201e'  # and the curly double quotes
DASHES = "-\u2013\u2014\u2015"  # hyphen, en dash, em dash, horizontal bar: each starts a parameter
ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
AMPERSAND = (
    "The ampersand (&) character is not allowed. The & operator is reserved for future use; wrap an ampersand in "
    'double quotation marks ("&") to pass it as part of a string.'
)
PIPELINE = "This shell runs one cmdlet per statement: a pipeline ('|') isn't supported; use a variable instead."
SCRIPT_BLOCK = "This shell doesn't run script blocks ('{ ... }')."
_END_OF_WORD = " \t\r\n;,|&(){}"

Node = Callable[["Session"], Any]


class ShellError(Exception):
    """A cmdlet or a line failed; the text is what the shell would print."""


class ParseError(ValueError):
    pass


@dataclass
class Parameter:
    """``-Name`` (``value`` set when written ``-Name:value``)."""

    name: str
    value: Node | None = None


@dataclass
class Session:
    store: TenantStore
    variables: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        builtins = {"true": True, "false": False, "null": None}
        lowered = name.lower()
        return builtins[lowered] if lowered in builtins else self.variables.get(lowered)


# --- values ----------------------------------------------------------------------------------


def text_of(value: Any) -> str:
    """A value as PowerShell writes it into a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return " ".join(text_of(v) for v in value)
    if isinstance(value, dict):
        identity = next((value[k] for k in value if k.lower() == "identity"), None)
        return text_of(identity) if identity is not None else "System.Collections.Hashtable"
    return str(value)


def member(value: Any, name: str) -> Any:
    """``value.Name``: a property (case-insensitive); on an array, the property of each element."""
    if isinstance(value, list):
        values = [member(v, name) for v in value]
        return [v for v in values if v is not None]
    if isinstance(value, dict):
        return next((value[k] for k in value if k.lower() == name.lower()), None)
    if isinstance(value, str) and name.lower() == "length":
        return len(value)
    return None


def truthy(value: Any) -> bool:
    """PowerShell's conversion to Boolean (about_Booleans): $null, empty arrays and strings, 0 and $false are false."""
    if isinstance(value, list):
        return len(value) > 1 or (len(value) == 1 and truthy(value[0]))
    return bool(value)


def _contains(collection: Any, item: Any) -> bool:
    values = collection if isinstance(collection, list) else [collection]
    wanted = text_of(item).lower()
    return any(text_of(v).lower() == wanted for v in values)


def _output(values: list[Any]) -> Any:
    """A command's or a sub-expression's output used as a value: nothing -> $null, one object -> it."""
    if not values:
        return None
    return values[0] if len(values) == 1 else values


# --- parser ----------------------------------------------------------------------------------


class Parser:
    """Recursive descent over one script (a ``sim ems`` line), producing closures evaluated in a :class:`Session`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    # - characters -
    def peek(self, offset: int = 0) -> str:
        index = self.i + offset
        return self.text[index] if index < len(self.text) else ""

    def blanks(self, newlines: bool = False) -> None:
        while self.i < len(self.text):
            char = self.text[self.i]
            if char in " \t\r" or (newlines and char == "\n"):
                self.i += 1
            elif char == "`" and self.peek(1) == "\n":  # line continuation
                self.i += 2
            elif char == "#" and (self.i == 0 or self.text[self.i - 1] in " \t\r\n;"):
                while self.i < len(self.text) and self.text[self.i] != "\n":
                    self.i += 1
            else:
                break

    # - statements -
    def script(self, closer: str = "") -> list[Node]:
        statements: list[Node] = []
        while True:
            self.blanks(newlines=True)
            char = self.peek()
            if not char:
                if closer:
                    raise ParseError(f"Missing closing '{closer}' in expression.")
                return statements
            if char == closer:
                self.i += 1
                return statements
            if char == ";":
                self.i += 1
                continue
            statements.append(self.statement(closer))
            self.blanks()
            char = self.peek()
            if char == "|":
                raise ParseError(PIPELINE)
            if char and char not in ";\n" and char != closer:
                raise ParseError(f"Unexpected token '{self.text[self.i : self.i + 20]}' in expression or statement.")

    def statement(self, closer: str) -> Node:
        char = self.peek()
        if char == "&":
            raise ParseError(AMPERSAND)
        if self._keyword_ahead("if"):
            return self.if_statement(closer)
        if char == "{":
            raise ParseError(SCRIPT_BLOCK)
        if char == "$" and self._assignment_ahead():
            return self.assignment(closer)
        if char.isalpha() or char == "_":
            return self.command(closer)
        value = self.expression(closer)
        return lambda s: _as_rows(value(s))

    def _keyword_ahead(self, word: str) -> bool:
        end = self.i + len(word)
        return self.text[self.i : end].lower() == word and self.peek(len(word)) in (" ", "\t", "(")

    def block(self) -> list[Node]:
        """``{ statements }``: a statement block of `if`/`else` (about_If), not a script block value."""
        self.blanks(newlines=True)
        if self.peek() != "{":
            raise ParseError(f"Missing statement block near '{self.text[self.i : self.i + 20]}'.")
        self.i += 1
        return self.script("}")

    def if_statement(self, closer: str) -> Node:
        """``if (condition) { ... } [elseif (...) { ... }] [else { ... }]`` (about_If); the condition is true when
        its value is (a non-empty result, $true, a non-empty string)."""
        branches: list[tuple[list[Node] | None, list[Node]]] = []
        self.i += 2
        while True:
            self.blanks()
            if self.peek() != "(":
                raise ParseError("Missing '(' after 'if' in if statement.")
            self.i += 1
            condition = self.script(")")
            branches.append((condition, self.block()))
            mark = self.i
            self.blanks(newlines=True)
            if self._keyword_ahead("elseif"):
                self.i += 6
                continue
            if self._keyword_ahead("else") or self.text[self.i : self.i + 5].lower() == "else{":
                self.i += 4
                branches.append((None, self.block()))
            else:
                self.i = mark
            break

        def run(session: Session) -> list[Any]:
            for condition, body in branches:
                if condition is None or truthy(_output(_rows(session, condition))):
                    return _rows(session, body)
            return []

        return run

    def _assignment_ahead(self) -> bool:
        j = self.i + 1
        if self.peek(1) == "{":
            j = self.text.find("}", j) + 1
            if j == 0:
                return False
        else:
            while j < len(self.text) and (self.text[j].isalnum() or self.text[j] in "_:"):
                j += 1
        while j < len(self.text) and self.text[j] in " \t":
            j += 1
        return j < len(self.text) and self.text[j] == "=" and self.text[j + 1 : j + 2] != "="

    def assignment(self, closer: str) -> Node:
        name = self.variable_name()
        self.blanks()
        self.i += 1  # '='
        self.blanks()
        char = self.peek()
        value: Node
        if char.isalpha() or char == "_":
            command = self.command(closer)
            value = lambda s: _output(command(s))  # noqa: E731
        else:
            value = self.expression(closer)

        def assign(session: Session) -> list[Any]:
            session.variables[name.lower()] = value(session)
            return []

        return assign

    def command(self, closer: str) -> Node:
        start = self.i
        while self.peek() and self.peek() not in _END_OF_WORD:
            self.i += 1
        name = self.text[start : self.i]
        elements: list[Parameter | Node] = []
        literal_args = False  # after '--' every token is an argument
        while True:
            self.blanks()
            char = self.peek()
            if not char or char in ";\n" or char == closer:
                break
            if char == "|":
                raise ParseError(PIPELINE)
            if char == "&":
                raise ParseError(AMPERSAND)
            if not literal_args and char in DASHES and self.peek(1) in DASHES and self.peek(2) in (" ", "\t", ""):
                self.i += 2
                literal_args = True
                continue
            if not literal_args and char in DASHES and (self.peek(1).isalpha() or self.peek(1) in "_?"):
                elements.append(self.parameter(closer))
                continue
            elements.append(self.argument(closer))
        return lambda s: _run_command(s, name, elements)

    def parameter(self, closer: str) -> Parameter:
        self.i += 1
        start = self.i
        while self.peek() and (self.peek().isalnum() or self.peek() in "_?-"):
            self.i += 1
        name = self.text[start : self.i]
        if self.peek() == ":":
            self.i += 1
            self.blanks()
            return Parameter(name, self.argument(closer))
        return Parameter(name)

    # - values -
    def argument(self, closer: str) -> Node:
        """A value in argument mode: one primary, or a comma-separated array of them."""
        items = [self.primary(closer, bare=True)]
        while True:
            mark = self.i
            self.blanks()
            if self.peek() != ",":
                self.i = mark
                break
            self.i += 1
            self.blanks(newlines=True)
            items.append(self.primary(closer, bare=True))
        if len(items) == 1:
            return items[0]
        return lambda s: [item(s) for item in items]

    def expression(self, closer: str) -> Node:
        """A value in expression mode (after '=' or at a statement's start): primaries, comma arrays, and the
        `-replace` operator (about_Comparison_Operators: "-replace <regular-expression>, <substitute>", case
        insensitive; https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_comparison_operators)."""
        if self.text[self.i : self.i + 4].lower() == "-not" and self.peek(4) in (" ", "\t", "("):
            self.i += 4  # about_Logical_Operators: -not negates the operand that follows
            self.blanks()
            operand = self.expression(closer)
            return lambda s: not truthy(operand(s))
        left = self.argument(closer)
        mark = self.i
        self.blanks()
        for name in ("-notcontains", "-contains"):
            if self.text[self.i : self.i + len(name)].lower() == name and self.peek(len(name)) in (" ", "\t"):
                self.i += len(name)  # about_Comparison_Operators: containment, case-insensitive
                self.blanks()
                right = self.argument(closer)
                negate = name == "-notcontains"
                return lambda s: negate != _contains(left(s), right(s))
        if self.text[self.i : self.i + 8].lower() != "-replace" or self.peek(8) not in (" ", "\t"):
            self.i = mark
            return left
        self.i += 8
        self.blanks()
        operands = self.argument(closer)

        def replace(session: Session) -> Any:
            given = operands(session)
            pattern, substitute = (given[0], given[1]) if isinstance(given, list) else (given, "")
            return re.sub(str(pattern), _substitute(text_of(substitute)), text_of(left(session)), flags=re.IGNORECASE)

        return replace

    def primary(self, closer: str, *, bare: bool) -> Node:
        char = self.peek()
        if char in SINGLE_QUOTES:
            return self.single_quoted()
        if char in DOUBLE_QUOTES:
            return self.double_quoted()
        if char == "@" and self.peek(1) == "{":
            return self.postfix(self.hashtable())
        if char == "@" and self.peek(1) == "(":
            self.i += 2
            statements = self.script(")")
            return self.postfix(lambda s: _rows(s, statements))
        if char == "$" and self.peek(1) == "(":
            self.i += 2
            statements = self.script(")")
            return self.postfix(lambda s: _output(_rows(s, statements)))
        if char == "(":
            self.i += 1
            statements = self.script(")")
            return self.postfix(lambda s: _output(_rows(s, statements)))
        if char == "{":
            raise ParseError(SCRIPT_BLOCK)
        if char == "&":
            raise ParseError(AMPERSAND)
        if char == "$" and (self.peek(1).isalnum() or self.peek(1) in "_{?"):
            name = self.variable_name()
            node = self.postfix(lambda s: s.get(name))
            if self.peek() and self.peek() not in _END_OF_WORD and bare:
                rest = self.word()
                return lambda s: text_of(node(s)) + text_of(rest(s))
            return node
        if not char or char in _END_OF_WORD:
            raise ParseError(f"Missing an expression near '{self.text[self.i : self.i + 20]}'.")
        return self.word()

    def postfix(self, node: Node) -> Node:
        """``.Name`` member access (chained)."""
        while self.peek() == "." and (self.peek(1).isalpha() or self.peek(1) == "_"):
            self.i += 1
            start = self.i
            while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
                self.i += 1
            node = _member_node(node, self.text[start : self.i])
        return node

    def variable_name(self) -> str:
        self.i += 1  # '$'
        if self.peek() == "{":
            end = self.text.find("}", self.i)
            if end < 0:
                raise ParseError("Missing closing '}' in variable name.")
            name = self.text[self.i + 1 : end]
            self.i = end + 1
            return name
        start = self.i
        while self.peek() and (self.peek().isalnum() or self.peek() in "_?"):
            self.i += 1
        return self.text[start : self.i]

    def single_quoted(self) -> Node:
        """'...' with any of the four single quotes; two quotes in a row are one (the second is kept)."""
        self.i += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise ParseError("The string is missing the terminator: '.")
            self.i += 1
            if char in SINGLE_QUOTES:
                if self.peek() in SINGLE_QUOTES and self.peek():
                    out.append(self.peek())
                    self.i += 1
                    continue
                value = "".join(out)
                return lambda s: value
            out.append(char)

    def double_quoted(self) -> Node:
        """ "..." with any of the three double quotes: expansions, backtick escapes, a doubled quote."""
        self.i += 1
        parts: list[str | Node] = []
        while True:
            char = self.peek()
            if not char:
                raise ParseError('The string is missing the terminator: ".')
            if char in DOUBLE_QUOTES:
                self.i += 1
                if self.peek() in DOUBLE_QUOTES and self.peek():
                    parts.append(self.peek())
                    self.i += 1
                    continue
                return _join(parts)
            if char == "`":
                parts.append(self.escape())
                continue
            if char == "$":
                parts.append(self.expansion())
                continue
            parts.append(char)
            self.i += 1

    def escape(self) -> str:
        """`` `x `` in a double-quoted string (about_Special_Characters)."""
        self.i += 1
        char = self.peek()
        if not char:
            return "`"
        self.i += 1
        if char == "u" and self.peek() == "{":
            end = self.text.find("}", self.i)
            if end < 0:
                raise ParseError("The Unicode escape sequence is missing its closing '}'.")
            code = self.text[self.i + 1 : end]
            self.i = end + 1
            try:
                return chr(int(code, 16))
            except ValueError:
                raise ParseError(f"The Unicode escape sequence '`u{{{code}}}' is not valid.") from None
        return ESCAPES.get(char, char)

    def expansion(self) -> str | Node:
        """``$name``, ``${name}``, ``$( ... )`` inside a double-quoted string; a lone ``$`` is itself."""
        nxt = self.peek(1)
        if nxt == "(":
            self.i += 2
            statements = self.script(")")
            return lambda s: text_of(_output(_rows(s, statements)))
        if nxt.isalnum() or nxt in "_{?":
            name = self.variable_name()
            return lambda s: text_of(s.get(name))
        self.i += 1
        return "$"

    def word(self) -> Node:
        """A bare argument: up to a separator; quoted parts and variables inside join it, `x is x."""
        parts: list[str | Node] = []
        start = self.i
        while True:
            char = self.peek()
            if not char or char in _END_OF_WORD:
                break
            if char == "`":
                self.i += 1
                nxt = self.peek()
                if nxt == "\n":  # continuation ends the word
                    self.i += 1
                    break
                if nxt:
                    parts.append(nxt)
                    self.i += 1
                continue
            if char in SINGLE_QUOTES:
                parts.append(self.single_quoted())
                continue
            if char in DOUBLE_QUOTES:
                parts.append(self.double_quoted())
                continue
            if char == "$" and (self.peek(1).isalnum() or self.peek(1) in "_{(?"):
                parts.append(self.expansion())
                continue
            parts.append(char)
            self.i += 1
        raw = self.text[start : self.i]
        if raw.isdigit():
            number = int(raw)
            return lambda s: number
        return _join(parts)

    def hashtable(self) -> Node:
        """``@{ key = value; key = value }``"""
        self.i += 2
        entries: list[tuple[Node, Node]] = []
        while True:
            self.blanks(newlines=True)
            char = self.peek()
            if not char:
                raise ParseError("Missing closing '}' in statement block or type definition.")
            if char == "}":
                self.i += 1
                break
            if char == ";":
                self.i += 1
                continue
            if char in SINGLE_QUOTES:
                key = self.single_quoted()
            elif char in DOUBLE_QUOTES:
                key = self.double_quoted()
            else:
                start = self.i
                while self.peek() and (self.peek().isalnum() or self.peek() in "_-"):
                    self.i += 1
                if start == self.i:
                    raise ParseError("Missing key before '=' in hash literal.")
                key = _constant(self.text[start : self.i])
            self.blanks()
            if self.peek() != "=":
                raise ParseError("Missing '=' operator after key in hash literal.")
            self.i += 1
            self.blanks()
            entries.append((key, self.argument("}")))
        return lambda s: {text_of(k(s)): v(s) for k, v in entries}


def _substitute(text: str) -> str:
    """A .NET substitution ($1, ${name}, $$) as Python's re.sub reads it; anything else literal."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and text[i + 1 : i + 2] == "$":
            out.append("$")
            i += 2
        elif text[i] == "$" and text[i + 1 : i + 2].isdigit():
            j = i + 1
            while j < len(text) and text[j].isdigit():
                j += 1
            out.append(f"\\g<{text[i + 1 : j]}>")
            i = j
        else:
            out.append(text[i].replace("\\", "\\\\"))
            i += 1
    return "".join(out)


def _member_node(target: Node, name: str) -> Node:
    return lambda s: member(target(s), name)


def _constant(value: Any) -> Node:
    return lambda s: value


def _join(parts: list[str | Node]) -> Node:
    if all(isinstance(p, str) for p in parts):
        value = "".join(p for p in parts if isinstance(p, str))
        return lambda s: value
    return lambda s: "".join(p if isinstance(p, str) else text_of(p(s)) for p in parts)


def _rows(session: Session, statements: list[Node]) -> list[Any]:
    rows: list[Any] = []
    for statement in statements:
        rows += statement(session)
    return rows


def _as_rows(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# --- commands --------------------------------------------------------------------------------


# Common parameters that take a value (about_CommonParameters); Debug and Verbose are switches
VALUED_COMMON = frozenset(COMMON_PARAMETERS) - {"Debug", "Verbose"}


def _run_command(session: Session, name: str, elements: list[Parameter | Node]) -> list[Any]:
    """Evaluate the arguments, pair parameters with their values as PowerShell does, run the cmdlet."""
    canonical = xa.canonical_cmdlet(name)
    online = session.store.tenant.get("flavor", "exchange_online") == "exchange_online"
    available = xa.page(canonical).available(online)
    named: dict[str, Any] = {}
    positional: list[Any] = []
    seen: set[str] = set()
    index = 0
    while index < len(elements):
        element = elements[index]
        index += 1
        if not isinstance(element, Parameter):
            positional.append(element(session))
            continue
        resolved = resolve_name(available, element.name, shell=True)
        if resolved is not None:
            if resolved in seen:
                raise bound_twice(resolved)
            seen.add(resolved)
        if element.value is not None:
            named[element.name] = element.value(session)
            continue
        parameter = available.get(resolved) if resolved else None
        takes_value = resolved in VALUED_COMMON and index < len(elements) and not isinstance(elements[index], Parameter)
        if takes_value:  # -ErrorAction SilentlyContinue, -WarningAction ...: common parameters with a value
            value = elements[index]
            index += 1
            assert not isinstance(value, Parameter)
            named[element.name] = value(session)
            continue
        if parameter is None or parameter.switch:  # a switch, or unknown (the binder says so)
            named[element.name] = True
            continue
        if index >= len(elements) or isinstance(elements[index], Parameter):
            text = (
                f"Missing an argument for parameter '{parameter.name}'. Specify a parameter of type "
                f"'{parameter.type}' and try again."
            )
            raise CmdletError(PARAMETER_BINDING_TYPE, text, binding=True)
        value = elements[index]
        index += 1
        assert not isinstance(value, Parameter)
        named[element.name] = value(session)
    silent = any(
        k.lower() in ("erroraction", "ea") and text_of(v).lower() == "silentlycontinue" for k, v in named.items()
    )
    try:
        return list(xa.run_cmdlet(session.store.data, canonical, named, positional, shell=True))
    except CmdletError as exc:
        if silent and not exc.binding:  # -ErrorAction SilentlyContinue: the error is not shown, nothing is output
            return []
        raise


# --- sessions --------------------------------------------------------------------------------


def parse(text: str) -> list[Node]:
    """The statements of a line; ParseError when it isn't PowerShell this shell reads."""
    return Parser(text).script()


def run_shell_line(tenant_file: Path, line: str) -> list[dict[str, Any]]:
    """Run one line against the tenant file and save it; its output objects."""
    return run_shell_lines(tenant_file, [line])


def run_shell_lines(tenant_file: Path, lines: list[str]) -> list[Any]:
    """Run lines in one session (variables carry over); save once all succeeded. The last line's output."""
    store = TenantStore(tenant_file)
    session = Session(store)
    output: list[Any] = []
    with store.lock:
        for line in lines:
            output = run_in_session(session, line)
        store.save()
    return output


def run_in_session(session: Session, line: str) -> list[Any]:
    try:
        statements = parse(line)
    except ParseError as exc:
        raise ShellError(f"ParserError: {exc}") from None
    try:
        return _rows(session, statements)
    except CmdletError as exc:
        raise ShellError(f"{exc.exc_type}: {exc.text}") from None
