"""Exchange cmdlet errors: the ``<id>|<Exception.Type>|<text>`` reasons the admin API puts in ``error.details``.

Texts are the ones Exchange prints for the same condition where known (see the report of each raise site);
the server name in "couldn't be found on '...'" is the simulated domain controller.
"""

from __future__ import annotations

import hashlib

NOT_FOUND_TYPE = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
ALREADY_EXISTS_TYPE = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException"
PARAMETER_BINDING_TYPE = "System.Management.Automation.ParameterBindingException"
COMMAND_NOT_FOUND_TYPE = "System.Management.Automation.CommandNotFoundException"
RECIPIENT_TASK_TYPE = "Microsoft.Exchange.Configuration.Tasks.RecipientTaskException"
TASK_ARGUMENT_TYPE = "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException"
PERMISSION_EXISTS_TYPE = "Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException"
PERMISSION_MISSING_TYPE = "Microsoft.Exchange.Management.StoreTasks.UserNotFoundInPermissionEntryException"
SPECIAL_USER_TYPE = "Microsoft.Exchange.Management.StoreTasks.CannotRemoveSpecialUserException"
MEMBER_EXISTS_TYPE = "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException"
MEMBER_MISSING_TYPE = "Microsoft.Exchange.Management.Tasks.MemberNotFoundException"

ONLINE_DC = "SN1PR01A001DC01.NAMPR01A001.PROD.OUTLOOK.COM"
SERVER_DC = "DC01.contoso.com"


class CmdletError(Exception):
    """A cmdlet failure: HTTP status for the admin API plus Exchange's exception type and text."""

    def __init__(self, exc_type: str, text: str, *, status: int = 400) -> None:
        super().__init__(text)
        self.exc_type = exc_type
        self.text = text
        self.status = status

    @property
    def error_id(self) -> str:
        """A stable short id per exception type, in the ``Ex`` + hex style Exchange prints."""
        return "Ex" + hashlib.sha1(self.exc_type.encode()).hexdigest()[:6].upper()

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


def unknown_parameter(name: str) -> CmdletError:
    return CmdletError(PARAMETER_BINDING_TYPE, f"A parameter cannot be found that matches parameter name '{name}'.")


def missing_parameter(cmdlet: str, name: str) -> CmdletError:
    text = f"Cannot process command because of one or more missing mandatory parameters: {name}."
    return CmdletError(PARAMETER_BINDING_TYPE, f"{cmdlet}: {text}")


def unknown_cmdlet(name: str) -> CmdletError:
    text = (
        f"The term '{name}' is not recognized as a name of a cmdlet, function, script file, or executable program. "
        "Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
    )
    return CmdletError(COMMAND_NOT_FOUND_TYPE, text)


def bad_value(parameter: str, reason: str) -> CmdletError:
    text = f'Cannot bind parameter \'{parameter}\' to the target. Exception setting "{parameter}": "{reason}"'
    return CmdletError(PARAMETER_BINDING_TYPE, text)
