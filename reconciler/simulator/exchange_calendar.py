"""Get-/Set-CalendarProcessing: a resource mailbox's booking policy (the resource booking attendant).

Kept on the recipient as ``"CalendarProcessing"`` (only the values a cmdlet set); every other property reads as the
Set-CalendarProcessing page documents its default. The page's documented defaults are those of a new resource
mailbox, except AutomateProcessing: "In Exchange Online, resource mailbox created in the EAC and resource mailboxes
created in PowerShell after November 15, 2018 have the default value AutoAccept"; on-premises, "resource mailboxes
created in PowerShell have the default value AutoUpdate" (the simulated on-premises rooms were made in PowerShell).
"The default value for user mailboxes is AutoUpdate, but you can't change the value on a user mailbox."
https://learn.microsoft.com/powershell/module/exchangepowershell/set-calendarprocessing
"""

from __future__ import annotations

from typing import Any

from reconciler.simulator.exchange_cmdlets import Ctx, Params, choice, resolve, result_size, stamp
from reconciler.simulator.exchange_errors import PARAMETER_BINDING_TYPE, TASK_ARGUMENT_TYPE, CmdletError

JsonObject = dict[str, Any]
RESOURCE_TYPES = frozenset({"RoomMailbox", "EquipmentMailbox"})
MAILBOX_TYPES = frozenset({"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox"})
AUTOMATE_PROCESSING = ("None", "AutoUpdate", "AutoAccept")  # CalendarProcessingFlags (the page's valid values)
BOOKING_TYPES = ("Standard", "Reserved")  # ResourceBookingType (Exchange Online only)
INT32_MAX = 2147483647
# Boolean parameters -> documented default ("This value is the default"); O: Exchange Online only.
BOOLEANS: dict[str, bool] = {
    "AddAdditionalResponse": False,
    "AddNewRequestsTentatively": True,
    "AddOrganizerToSubject": True,
    "AllBookInPolicy": True,
    "AllowConflicts": False,
    "AllowRecurringMeetings": True,
    "AllRequestInPolicy": False,
    "AllRequestOutOfPolicy": False,
    "DeleteAttachments": True,
    "DeleteComments": True,
    "DeleteNonCalendarItems": True,
    "DeleteSubject": True,
    "EnableResponseDetails": True,
    "EnforceSchedulingHorizon": True,
    "ForwardRequestsToDelegates": True,
    "OrganizerInfo": True,
    "ProcessExternalMeetingMessages": False,
    "RemoveForwardedMeetingNotifications": False,
    "RemoveOldMeetingMessages": True,
    "RemovePrivateProperty": True,
    "ScheduleOnlyDuringWorkHours": False,
    "TentativePendingApproval": True,
}
ONLINE_BOOLEANS: dict[str, bool] = {
    "EnableAutoRelease": False,
    "EnforceCapacity": False,
    "RemoveCanceledMeetings": False,
}
# Int32 parameters -> (default, lowest, highest) as the page gives them
INTEGERS: dict[str, tuple[int, int, int]] = {
    "BookingWindowInDays": (180, 0, 1080),
    "ConflictPercentageAllowed": (0, 0, 100),
    "MaximumConflictInstances": (0, 0, INT32_MAX),
    "MaximumDurationInMinutes": (1440, 0, INT32_MAX),
}
ONLINE_INTEGERS: dict[str, tuple[int, int, int]] = {"MinimumDurationInMinutes": (0, 0, INT32_MAX)}
LISTS = ("BookInPolicy", "RequestInPolicy", "RequestOutOfPolicy", "ResourceDelegates")


def _booleans(ctx: Ctx) -> dict[str, bool]:
    return {**BOOLEANS, **(ONLINE_BOOLEANS if ctx.online else {})}


def _integers(ctx: Ctx) -> dict[str, tuple[int, int, int]]:
    return {**INTEGERS, **(ONLINE_INTEGERS if ctx.online else {})}


def automate_processing(mailbox: JsonObject, online: bool) -> str:
    """The mailbox's AutomateProcessing as Get-CalendarProcessing shows it: the value a cmdlet set, else the page's
    default (EWS GetUserConfiguration serves the same value from the calendar options, see ews.py)."""
    stored = (mailbox.get("CalendarProcessing") or {}).get("AutomateProcessing")
    if stored in AUTOMATE_PROCESSING:
        return str(stored)
    resource = mailbox.get("RecipientTypeDetails") in RESOURCE_TYPES
    return "AutoAccept" if resource and online else "AutoUpdate"


def _defaults(ctx: Ctx, mailbox: JsonObject) -> JsonObject:
    values: JsonObject = {"AutomateProcessing": automate_processing(mailbox, ctx.online)}
    values.update(_booleans(ctx))
    values.update({name: default for name, (default, _, _) in _integers(ctx).items()})
    values.update({name: [] for name in LISTS})
    values["AdditionalResponse"] = None
    if ctx.online:
        values["BookingType"] = "Standard"
    return values


def processing_view(ctx: Ctx, mailbox: JsonObject) -> JsonObject:
    """One Get-CalendarProcessing object: the owner, every setting (set or default), and the object's state."""
    values = {**_defaults(ctx, mailbox), **(mailbox.get("CalendarProcessing") or {})}
    return {
        "MailboxOwnerId": mailbox.get("Name"),
        "Identity": mailbox.get("Name"),
        **dict(sorted(values.items())),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }


def get_calendar_processing(ctx: Ctx, params: Params) -> list[JsonObject]:
    """-Identity is mandatory and takes no wildcards (one mailbox per call; PowerShell pipes many in)."""
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-calendarprocessing
    mailbox = resolve(ctx, params.required("Identity"), MAILBOX_TYPES)
    return result_size(ctx, params, [processing_view(ctx, mailbox)])


def _integer(params: Params, name: str, low: int, high: int) -> int:
    """An Int32 value, refused as PowerShell's ValidateRange refuses it when outside the page's range."""
    raw = params.values[name.lower()]
    try:
        value = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None:
        raise CmdletError(
            PARAMETER_BINDING_TYPE,
            f"Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{raw}\" to type "
            '"System.Int32". Error: "Input string was not in a correct format."',
            binding=True,
        )
    if not low <= value <= high:
        side, bound = ("greater than the maximum", high) if value > high else ("less than the minimum", low)
        relation = "less than or equal to" if value > high else "greater than or equal to"
        raise CmdletError(
            "System.Management.Automation.ParameterBindingValidationException",
            f"Cannot validate argument on parameter '{name}'. The {value} argument is {side} allowed range of "
            f"{bound}. Supply an argument that is {relation} {bound} and then try the command again.",
            binding=True,
        )
    return value


def _changes(ctx: Ctx, params: Params) -> JsonObject:
    changes: JsonObject = {}
    for name in _booleans(ctx):
        if params.has(name):
            changes[name] = params.flag(name)
    for name, (_, low, high) in _integers(ctx).items():
        if params.has(name):
            changes[name] = _integer(params, name, low, high)
    if params.has("AutomateProcessing"):
        changes["AutomateProcessing"] = choice(params, "AutomateProcessing", AUTOMATE_PROCESSING)
    if params.has("BookingType"):
        changes["BookingType"] = choice(params, "BookingType", BOOKING_TYPES)
    if params.has("AdditionalResponse"):
        changes["AdditionalResponse"] = params.text("AdditionalResponse")
    return changes


def set_calendar_processing(ctx: Ctx, params: Params) -> list[JsonObject]:
    """The named settings only; every other one keeps its value. Resource mailboxes only: the page says the
    settings "are editable only on resource mailboxes" and a user mailbox's AutomateProcessing can't be changed."""
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-calendarprocessing
    identity = params.required("Identity")
    mailbox = resolve(ctx, identity, MAILBOX_TYPES)
    changes = _changes(ctx, params)
    if mailbox.get("RecipientTypeDetails") not in RESOURCE_TYPES:
        # the page states the rule; the wording of the refusal is this simulator's own (no capture of it is public)
        raise CmdletError(
            TASK_ARGUMENT_TYPE,
            f"The calendar processing settings of '{identity}' can't be changed: it isn't a resource mailbox.",
        )
    stored: JsonObject = mailbox.setdefault("CalendarProcessing", {})
    if changes:
        stored.update(changes)
        stamp(mailbox)
    return []
