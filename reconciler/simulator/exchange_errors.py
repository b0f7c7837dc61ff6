"""Exchange cmdlet errors: the ``<id>|<Exception.Type>|<text>`` reasons the admin API puts in ``error.details``.

Texts are the ones Exchange prints for the same condition where known (see the report of each raise site);
the server name in "couldn't be found on '...'" is the simulated domain controller. Parameter-binding errors
differ by surface: the admin API refuses an unknown parameter with its own AmbiguousParameterSetException
("... Invalid cmdlet parameters specified. <name>", no id before the first ``|``; captured from a live tenant,
see :func:`unknown_parameter`), PowerShell (the shell) with its ParameterBindingException texts.
"""

from __future__ import annotations

import hashlib

NOT_FOUND_TYPE = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
ALREADY_EXISTS_TYPE = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException"
PARAMETER_BINDING_TYPE = "System.Management.Automation.ParameterBindingException"
ADMINAPI_PARAMETER_SET_TYPE = "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException"
NOT_EMULATED_TYPE = "System.NotImplementedException"
COMMAND_NOT_FOUND_TYPE = "System.Management.Automation.CommandNotFoundException"
RECIPIENT_TASK_TYPE = "Microsoft.Exchange.Configuration.Tasks.RecipientTaskException"
TASK_ARGUMENT_TYPE = "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException"
PERMISSION_EXISTS_TYPE = "Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException"
PERMISSION_MISSING_TYPE = "Microsoft.Exchange.Management.StoreTasks.UserNotFoundInPermissionEntryException"
SPECIAL_USER_TYPE = "Microsoft.Exchange.Management.StoreTasks.CannotRemoveSpecialUserException"
MEMBER_EXISTS_TYPE = "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException"
MEMBER_MISSING_TYPE = "Microsoft.Exchange.Management.Tasks.MemberNotFoundException"

# Error ids Exchange Online printed for these types in captured answers (the rest get a stable made-up id).
KNOWN_IDS = {NOT_FOUND_TYPE: "Ex6F9304"}

ONLINE_DC = "SN1PR01A001DC01.NAMPR01A001.PROD.OUTLOOK.COM"
SERVER_DC = "DC01.contoso.com"


class CmdletError(Exception):
    """A cmdlet failure: HTTP status for the admin API plus Exchange's exception type and text."""

    def __init__(
        self, exc_type: str, text: str, *, status: int = 400, binding: bool = False, error_id: str | None = None
    ) -> None:
        super().__init__(text)
        self.exc_type = exc_type
        self.text = text
        self.status = status
        self.binding = binding  # refused before the cmdlet ran (parameters), not by the cmdlet
        self._error_id = error_id

    @property
    def error_id(self) -> str:
        """Exchange's id when known, else a stable short one per exception type in the ``Ex`` + hex style."""
        if self._error_id is not None:
            return self._error_id
        return KNOWN_IDS.get(self.exc_type) or "Ex" + hashlib.sha1(self.exc_type.encode()).hexdigest()[:6].upper()

    @property
    def detail(self) -> str:
        return f"{self.error_id}|{self.exc_type}|{self.text}"


def not_found(identity: str, server: str = ONLINE_DC) -> CmdletError:
    """-Identity (or any identity parameter) that resolves to nothing."""
    text = f"The operation couldn't be performed because object '{identity}' couldn't be found on '{server}'."
    return CmdletError(NOT_FOUND_TYPE, text, status=404)


def already_exists(dn: str, server: str = ONLINE_DC) -> CmdletError:
    return CmdletError(
        ALREADY_EXISTS_TYPE, f"Active Directory operation failed on {server}. The object '{dn}' already exists."
    )


SET_NOT_RESOLVED = "Parameter set cannot be resolved using the specified named parameters."


def unknown_parameter(*names: str, shell: bool = True) -> CmdletError:
    """A parameter the cmdlet doesn't have (in this environment).

    Shell: PowerShell's NamedParameterNotFound text. Admin API, as a live tenant answered
    ``Get-QuarantineMessage -BogusParameter 1`` (HTTP 400, ``details[0].message``
    ``|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|Parameter set cannot be
    resolved using the specified named parameters. Invalid cmdlet parameters specified. BogusParameter``).
    """
    if shell:
        text = f"A parameter cannot be found that matches parameter name '{names[0]}'."
        return CmdletError(PARAMETER_BINDING_TYPE, text, binding=True)
    text = f"{SET_NOT_RESOLVED} Invalid cmdlet parameters specified. {', '.join(names)}"
    return CmdletError(ADMINAPI_PARAMETER_SET_TYPE, text, binding=True, error_id="")


def parameter_set_conflict(*, shell: bool = True) -> CmdletError:
    """Parameters of different parameter sets together (PowerShell's AmbiguousParameterSet)."""
    if shell:
        return CmdletError(PARAMETER_BINDING_TYPE, SET_NOT_RESOLVED, binding=True)
    return CmdletError(ADMINAPI_PARAMETER_SET_TYPE, SET_NOT_RESOLVED, binding=True, error_id="")


def missing_parameter(cmdlet: str, *names: str) -> CmdletError:
    del cmdlet  # PowerShell prints "<cmdlet> : " before the text in the console; the error record has the text
    text = f"Cannot process command because of one or more missing mandatory parameters: {' '.join(names)}."
    return CmdletError(PARAMETER_BINDING_TYPE, text, binding=True)


def not_emulated(cmdlet: str, parameter: str, url: str) -> CmdletError:
    """A documented parameter the simulator does not implement: refused, never silently ignored."""
    text = f"The tenant simulator doesn't emulate the parameter '{parameter}' of {cmdlet} (documented at {url})."
    return CmdletError(NOT_EMULATED_TYPE, text, status=501, binding=True)


def unknown_cmdlet(name: str) -> CmdletError:
    text = (
        f"The term '{name}' is not recognized as a name of a cmdlet, function, script file, or executable program. "
        "Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
    )
    return CmdletError(COMMAND_NOT_FOUND_TYPE, text)


def bad_value(parameter: str, reason: str) -> CmdletError:
    text = f'Cannot bind parameter \'{parameter}\' to the target. Exception setting "{parameter}": "{reason}"'
    return CmdletError(PARAMETER_BINDING_TYPE, text)
