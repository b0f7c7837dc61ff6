"""Exchange Web Services (EWS) SOAP 1.1 front door: ``POST /EWS/Exchange.asmx``.

Served for both flavors, with the operations a calendar integration needs:
``GetRoomLists``, ``GetRooms``, ``ExpandDL``, ``GetFolder`` (root, msgfolderroot and calendar; the calendar's
``folder:PermissionSet``), ``UpdateFolder`` (``SetFolderField``/``DeleteFolderField`` of the
calendar's ``folder:PermissionSet``) and ``GetUserConfiguration`` (the calendar options dictionary, from the same
calendar-processing data ``Set-CalendarProcessing`` changes). Reference:
https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/ews-operations-in-exchange

Authentication: ``exchange_server`` takes HTTP Basic (UPN, SMTP address or ``DOMAIN\\alias``)
checked against ``exchange.adPasswords``; ``exchange_online`` takes an unsigned bearer token
(:mod:`reconciler.simulator.tokens`) and applies the EWS switch-off rule (EwsEnabled must be
True and the token's appid must be listed in EwsAllowedAppIDs, and the mailbox's own Set-CASMailbox -EwsEnabled
must not be $false; otherwise HTTP 403 with the documented X-EWS-Policy-Reason header).

Errors come in the two shapes Exchange uses: header problems (impersonation, version, malformed
XML) as an HTTP 500 ``s:Fault`` with ``detail/e:ResponseCode``; per-item problems as a
``…ResponseMessage ResponseClass="Error"`` with MessageText, ResponseCode and DescriptiveLinkKey.

Calendar rows live in ``exchange.folderPermissions`` as Exchange AccessRights. EWS has no field for
SharingPermissionFlags (Delegate, CanViewPrivateItems): an UpdateFolder keeps a user's flags when the
user stays Editor and drops them otherwise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, SubElement
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeET

from reconciler.simulator import exchange_model as model
from reconciler.simulator.directory import consented_roles, hash_password
from reconciler.simulator.exchange_calendar import automate_processing
from reconciler.simulator.faults import retry_after, take_fault
from reconciler.simulator.tokens import TokenError, decode_token
from reconciler.simulator.wire import HttpRequest, HttpResponse, SimContext

JsonObject = dict[str, Any]

PREFIX = "/EWS/Exchange.asmx"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TYPES_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
MESSAGES_NS = "http://schemas.microsoft.com/exchange/services/2006/messages"
ERRORS_NS = "http://schemas.microsoft.com/exchange/services/2006/errors"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"
for _prefix, _uri in (("s", SOAP_NS), ("m", MESSAGES_NS), ("t", TYPES_NS)):
    ET.register_namespace(_prefix, _uri)

# RequestServerVersion values (requestserverversion page plus the later schema versions Exchange 2016
# and Exchange Online accept).
# https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/requestserverversion
REQUEST_VERSIONS = frozenset(
    {
        "Exchange2007",
        "Exchange2007_SP1",
        "Exchange2010",
        "Exchange2010_SP1",
        "Exchange2010_SP2",
        "Exchange2013",
        "Exchange2013_SP1",
        "Exchange2015",
        "Exchange2016",
        "V2015_10_05",
        "V2016_01_06",
        "V2016_04_13",
        "V2016_07_13",
        "V2016_10_10",
        "V2017_01_07",
        "V2017_04_14",
        "V2017_07_11",
        "V2017_10_09",
        "V2018_01_08",
    }
)
# ServerVersionInfo attributes: Exchange Server 2016 CU23 (15.1.2507.6) and an Exchange Online build.
# https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/serverversioninfo
SERVER_VERSIONS: dict[str, dict[str, str]] = {
    "exchange_server": {
        "MajorVersion": "15",
        "MinorVersion": "1",
        "MajorBuildNumber": "2507",
        "MinorBuildNumber": "6",
        "Version": "V2017_07_11",
    },
    "exchange_online": {
        "MajorVersion": "15",
        "MinorVersion": "20",
        "MajorBuildNumber": "8005",
        "MinorBuildNumber": "0",
        "Version": "V2018_01_08",
    },
}

# MessageText values. Where Exchange's own wording is known it is used; otherwise the ResponseCode
# description from https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsecode
MESSAGES: dict[str, str] = {
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "ErrorImpersonateUserDenied": "The account does not have permission to impersonate the requested user.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorNameResolutionNoResults": "No results were found.",
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorItemNotFound": "The specified object was not found in the store.",
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorSchemaValidation": "The request failed schema validation.",
    "ErrorInvalidServerVersion": "The specified server version is invalid.",
    "ErrorInvalidRequest": "The request is invalid.",
    "ErrorInvalidExchangeImpersonationHeaderData": "ExchangeImpersonation SOAP header must be present for this "
    "type of OAuth token.",
    "ErrorInvalidUserPrincipalName": "The user principal name in the ExchangeImpersonation header is not valid.",
    "ErrorInvalidUserSid": "The security identifier in the request is not valid.",
    "ErrorMissingEmailAddress": "When making a request as an account that does not have a mailbox, you must "
    "specify the mailbox primary SMTP address for any distinguished folder Ids.",
    "ErrorDuplicateUserIdsSpecified": "A duplicate user id was found in the permission set.",
    "ErrorInvalidUserInfo": "The user information in the permission entry is not valid.",
    "ErrorMissingUserIdInformation": "A UserId in the permission set is not fully specified.",
    "ErrorCannotSetPermissionUnknownEntries": "Unknown entries cannot be set in a permission set.",
    "ErrorCannotSetNonCalendarPermissionOnCalendarFolder": "Non-calendar permissions cannot be set on a calendar "
    "folder.",
    "ErrorCannotSetCalendarPermissionOnNonCalendarFolder": "Calendar permissions cannot be set on a non-calendar "
    "folder.",
    "ErrorInvalidPropertySet": "The property cannot be set or deleted on this folder.",
}


class EwsFault(Exception):
    """A request-level problem returned as a SOAP fault (HTTP 500)."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, code)


class EwsError(Exception):
    """A per-item problem returned as ``ResponseClass="Error"`` in the response message."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, code)


def t(name: str) -> str:
    return f"{{{TYPES_NS}}}{name}"


def m(name: str) -> str:
    return f"{{{MESSAGES_NS}}}{name}"


def _text(parent: Element | None, tag: str) -> str | None:
    if parent is None:
        return None
    child = parent.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip()


def _add(parent: Element, tag: str, text: str | None = None, **attrs: str) -> Element:
    child = SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def _bool(value: bool) -> str:
    return "true" if value else "false"


# --- calendar permission levels --------------------------------------------------------------
# Table 2 of https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-set-folder-permissions-for-another-user-by-using-ews-in-exchange
# plus the two free/busy levels (ReadItems TimeOnly / TimeAndSubjectAndLocation).


@dataclass(frozen=True)
class Rights:
    """The individual settings of a CalendarPermission (BasePermissionType + ReadItems)."""

    create_items: bool = False
    create_subfolders: bool = False
    folder_owner: bool = False
    folder_visible: bool = False
    folder_contact: bool = False
    edit_items: str = "None"  # None | Owned | All
    delete_items: str = "None"
    read_items: str = "None"  # None | TimeOnly | TimeAndSubjectAndLocation | FullDetails


_FULL = "FullDetails"
LEVEL_RIGHTS: dict[str, Rights] = {
    "None": Rights(),
    "Owner": Rights(True, True, True, True, True, "All", "All", _FULL),
    "PublishingEditor": Rights(True, True, False, True, False, "All", "All", _FULL),
    "Editor": Rights(True, False, False, True, False, "All", "All", _FULL),
    "PublishingAuthor": Rights(True, True, False, True, False, "Owned", "Owned", _FULL),
    "Author": Rights(True, False, False, True, False, "Owned", "Owned", _FULL),
    "NoneditingAuthor": Rights(True, False, False, True, False, "None", "Owned", _FULL),
    "Reviewer": Rights(False, False, False, True, False, "None", "None", _FULL),
    "Contributor": Rights(True, False, False, True, False, "None", "None", "None"),
    "FreeBusyTimeOnly": Rights(read_items="TimeOnly"),
    "FreeBusyTimeAndSubjectAndLocation": Rights(read_items="TimeAndSubjectAndLocation"),
}
# Exchange AccessRights role name <-> EWS CalendarPermissionLevel.
# https://learn.microsoft.com/en-us/powershell/module/exchange/add-mailboxfolderpermission (-AccessRights)
RIGHT_TO_LEVEL: dict[str, str] = {
    "none": "None",
    "owner": "Owner",
    "publishingeditor": "PublishingEditor",
    "editor": "Editor",
    "publishingauthor": "PublishingAuthor",
    "author": "Author",
    "noneditingauthor": "NoneditingAuthor",
    "reviewer": "Reviewer",
    "contributor": "Contributor",
    "availabilityonly": "FreeBusyTimeOnly",
    "limiteddetails": "FreeBusyTimeAndSubjectAndLocation",
}
LEVEL_TO_RIGHT: dict[str, str] = {
    "None": "None",
    "Owner": "Owner",
    "PublishingEditor": "PublishingEditor",
    "Editor": "Editor",
    "PublishingAuthor": "PublishingAuthor",
    "Author": "Author",
    "NoneditingAuthor": "NonEditingAuthor",
    "Reviewer": "Reviewer",
    "Contributor": "Contributor",
    "FreeBusyTimeOnly": "AvailabilityOnly",
    "FreeBusyTimeAndSubjectAndLocation": "LimitedDetails",
}
# Individual AccessRights (the cmdlet's "individual permissions") <-> Rights fields.
_INDIVIDUAL_FLAGS = (
    ("CreateItems", "create_items"),
    ("CreateSubfolders", "create_subfolders"),
    ("FolderOwner", "folder_owner"),
    ("FolderVisible", "folder_visible"),
    ("FolderContact", "folder_contact"),
)


def rights_from_access(access_rights: Iterable[str]) -> tuple[str, Rights]:
    """(CalendarPermissionLevel, Rights) for a stored row's AccessRights."""
    names = [str(r) for r in access_rights]
    if len(names) == 1 and names[0].lower() in RIGHT_TO_LEVEL:
        level = RIGHT_TO_LEVEL[names[0].lower()]
        return level, LEVEL_RIGHTS[level]
    lowered = {n.lower() for n in names}
    flags = {field: name.lower() in lowered for name, field in _INDIVIDUAL_FLAGS}
    rights = Rights(
        edit_items=_scope_of(lowered, "edit"),
        delete_items=_scope_of(lowered, "delete"),
        read_items=_FULL if "readitems" in lowered else "None",
        **flags,
    )
    return level_of(rights), rights


def _scope_of(lowered: set[str], verb: str) -> str:
    if f"{verb}allitems" in lowered:
        return "All"
    return "Owned" if f"{verb}owneditems" in lowered else "None"


def level_of(rights: Rights) -> str:
    """The named level whose settings equal ``rights``, else ``Custom``."""
    return next((level for level, preset in LEVEL_RIGHTS.items() if preset == rights), "Custom")


def access_from_rights(level: str, rights: Rights) -> list[str]:
    """Stored AccessRights for an EWS level (a Custom set becomes individual rights)."""
    if level in LEVEL_TO_RIGHT:
        return [LEVEL_TO_RIGHT[level]]
    names = [name for name, field in _INDIVIDUAL_FLAGS if getattr(rights, field)]
    for verb, scope in (("Edit", rights.edit_items), ("Delete", rights.delete_items)):
        if scope in ("All", "Owned"):
            names.append(f"{verb}{scope}Items" if scope == "All" else f"{verb}OwnedItems")
    if rights.read_items == _FULL:
        names.append("ReadItems")
    return names or ["None"]


def can_read(rights: Rights) -> bool:
    """Reviewer or better: the grantee reads full item details."""
    return rights.read_items == _FULL


# --- request parsing -------------------------------------------------------------------------


@dataclass
class SoapRequest:
    """The parts of a SOAP envelope the handlers use."""

    version: str | None
    impersonation: Element | None
    operation: Element


def parse_envelope(body: bytes) -> SoapRequest:
    try:
        root = SafeET.fromstring(body)
    except (ET.ParseError, ValueError) as exc:
        raise EwsFault("ErrorSchemaValidation") from exc
    envelope_body = root.find(f"{{{SOAP_NS}}}Body") if root.tag == f"{{{SOAP_NS}}}Envelope" else None
    if envelope_body is None or len(envelope_body) == 0:
        raise EwsFault("ErrorInvalidRequest")
    header = root.find(f"{{{SOAP_NS}}}Header")
    version_elem = header.find(t("RequestServerVersion")) if header is not None else None
    version = version_elem.get("Version") if version_elem is not None else None
    if version is not None and version not in REQUEST_VERSIONS:
        raise EwsFault("ErrorInvalidServerVersion")
    impersonation = header.find(t("ExchangeImpersonation")) if header is not None else None
    return SoapRequest(version, impersonation, envelope_body[0])


# --- responses -------------------------------------------------------------------------------


def _envelope(flavor: str, body_child: Element) -> bytes:
    envelope = Element(f"{{{SOAP_NS}}}Envelope")
    header = SubElement(envelope, f"{{{SOAP_NS}}}Header")
    SubElement(header, t("ServerVersionInfo"), SERVER_VERSIONS[flavor])
    SubElement(envelope, f"{{{SOAP_NS}}}Body").append(body_child)
    serialized: bytes = ET.tostring(envelope, encoding="utf-8", xml_declaration=True)
    return serialized


def soap_response(flavor: str, body_child: Element) -> HttpResponse:
    return HttpResponse(200, {"Content-Type": XML_CONTENT_TYPE}, _envelope(flavor, body_child))


def fault_response(fault: EwsFault) -> HttpResponse:
    """A SOAP fault as Exchange sends it (e.g. the getimitemlist-operation error example).

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getimitemlist-operation
    """
    code, text = escape(fault.code), escape(fault.message)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_NS}"><s:Body><s:Fault>'
        f'<faultcode xmlns:a="{TYPES_NS}">a:{code}</faultcode>'
        f'<faultstring xml:lang="en-US">{text}</faultstring>'
        f'<detail><e:ResponseCode xmlns:e="{ERRORS_NS}">{code}</e:ResponseCode>'
        f'<e:Message xmlns:e="{ERRORS_NS}">{text}</e:Message></detail>'
        "</s:Fault></s:Body></s:Envelope>"
    )
    return HttpResponse(500, {"Content-Type": XML_CONTENT_TYPE}, body.encode())


def response_message(parent: Element | None, tag: str, error: EwsError | None = None) -> Element:
    """A ``…ResponseMessage`` (or, with no parent, a bare ``…Response``) with ResponseClass and codes."""
    response_class = "Error" if error else "Success"
    message = (
        Element(tag, ResponseClass=response_class)
        if parent is None
        else _add(parent, tag, ResponseClass=response_class)
    )
    if error is None:
        _add(message, m("ResponseCode"), "NoError")
        return message
    _add(message, m("MessageText"), error.message)
    _add(message, m("ResponseCode"), error.code)
    _add(message, m("DescriptiveLinkKey"), "0")
    return message


# --- authentication --------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who sent the request: an on-premises user (Basic) or an Entra application (bearer token)."""

    user: JsonObject | None = None
    app_id: str | None = None
    roles: tuple[str, ...] = ()  # an app token's `roles` claim (as Entra issued it)


class HttpDenied(Exception):
    """Authentication or EWS policy refused the request before any SOAP processing."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _unauthorized(challenge: str) -> HttpDenied:
    return HttpDenied(HttpResponse(401, {"WWW-Authenticate": challenge}))


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


def _logon_recipient(data: JsonObject, name: str) -> JsonObject | None:
    """The recipient for a Basic logon name: UPN, SMTP address or ``DOMAIN\\alias``."""
    if "\\" in name:
        return model.find_exchange_recipient(data, name.rsplit("\\", 1)[1])
    return model.find_recipient(data, name)


def password_matches(stored: object, password: str) -> bool:
    """Check ``password`` against a ``sha256$<salt>$<digest>`` hash (see directory.hash_password)."""
    if not isinstance(stored, str) or stored.count("$") != 2:
        return False
    salt = stored.split("$")[1]
    return hmac.compare_digest(hash_password(password, salt), stored)


def authenticate_basic(data: JsonObject, headers: dict[str, str], host: str) -> Caller:
    """HTTP Basic against the AD password of an on-premises recipient (Exchange Server)."""
    challenge = f'Basic realm="{host}"'
    credentials = _basic_credentials(headers.get("authorization", ""))
    if credentials is None:
        raise _unauthorized(challenge)
    recipient = _logon_recipient(data, credentials[0])
    passwords: JsonObject = model.exchange(data).get("adPasswords") or {}
    stored = passwords.get(str(recipient.get("Guid"))) if recipient else None
    twin = bool(data.get("settings", {}).get("twin")) and not passwords  # a twin knows no password (twin.py)
    if recipient is None or not (twin or password_matches(stored, credentials[1])):
        raise _unauthorized(challenge)
    return Caller(user=recipient)


def authenticate_bearer(data: JsonObject, headers: dict[str, str]) -> Caller:
    """An app token (Exchange Online), then the EWS allow-list rule in force since 1 October 2026.

    Blocked calls get HTTP 403 with no SOAP body, as Exchange Online answers a policy block
    (https://github.com/David-Barrett-MS/PowerShell-EWS-Scripts/issues/62: "403 is policy block").
    """
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized('Bearer error="invalid_token"')
    try:
        caller = decode_token(token.strip(), str(data["tenant"]["id"]))
    except TokenError as exc:
        raise _unauthorized('Bearer error="invalid_token"') from exc
    reason = ews_blocked(data, caller.app_id)
    if reason is not None:
        raise policy_denied(reason)
    return Caller(app_id=caller.app_id, roles=caller.roles)


# "Control access to EWS in Exchange", "Understand HTTP 403 responses in Exchange Online": "There are two possible
# values for one response header" (X-EWS-Policy-Reason); HTTP 403 Forbidden, no SOAP body.
# https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-control-access-to-ews-in-exchange
EWS_DISABLED = "EWS is disabled for this user or tenant"
EWS_BLOCKED = "EWS is blocked by policy for this user or tenant"


def policy_denied(reason: str) -> HttpDenied:
    return HttpDenied(HttpResponse(403, {"Content-Type": "text/html", "X-EWS-Policy-Reason": reason}))


def ews_blocked(data: JsonObject, app_id: str) -> str | None:
    """The organization's rule: EwsEnabled must be True (null now counts as False: tenants left at null were switched
    to False on 1 October 2026) and the app listed in EwsAllowedAppIDs; None when the call may go on."""
    organization: JsonObject = model.exchange(data)["organization"]
    if organization.get("EwsEnabled") is not True:
        return EWS_DISABLED
    allowed = organization.get("EwsAllowedAppIDs") or ""
    entries = allowed if isinstance(allowed, list) else str(allowed).split(",")
    return None if app_id.lower() in {str(entry).strip().lower() for entry in entries} else EWS_BLOCKED


def mailbox_blocked(session: Session) -> str | None:
    """Set-CASMailbox -EwsEnabled $false on the mailbox acted on: "Organization-wide disablement also blocks users
    whose mailbox-level setting is enabled", and a mailbox's own $false blocks it (Exchange Online)."""
    if session.flavor == "exchange_server" or session.acting is None:
        return None
    return EWS_DISABLED if session.acting.get("EwsEnabled") is False else None


# --- session: caller + the mailbox it acts as ------------------------------------------------


@dataclass
class Session:
    """One request's identity: the tenant, the caller and the mailbox it acts as (if any)."""

    data: JsonObject
    flavor: str
    caller: Caller
    acting: JsonObject | None
    impersonating: bool


_CONNECTING_SID_ERRORS = {
    "PrimarySmtpAddress": "ErrorNonExistentMailbox",
    "SmtpAddress": "ErrorNonExistentMailbox",
    "PrincipalName": "ErrorInvalidUserPrincipalName",
    "SID": "ErrorInvalidUserSid",
}


def _impersonated_mailbox(data: JsonObject, header: Element) -> JsonObject:
    """The mailbox named in ExchangeImpersonation/ConnectingSID.

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/connectingsid
    """
    sid = header.find(t("ConnectingSID"))
    for name, error in _CONNECTING_SID_ERRORS.items():
        value = _text(sid, t(name))
        if not value:
            continue
        found = _find_by_sid(data, value) if name == "SID" else model.find_recipient(data, value)
        if found is None or not model.is_mailbox(found):
            raise EwsFault(error)
        return found
    raise EwsFault("ErrorInvalidExchangeImpersonationHeaderData", "The impersonation header data is not valid.")


def _find_by_sid(data: JsonObject, sid: str) -> JsonObject | None:
    lowered = sid.lower()
    return next((r for r in model.recipients(data) if str(r.get("Sid", "")).lower() == lowered), None)


def open_session(data: JsonObject, caller: Caller, impersonation: Element | None) -> Session:
    """Apply ExchangeImpersonation: ApplicationImpersonation on Exchange Server; on Exchange Online
    an app token must name its mailbox this way and RBAC for Applications is checked per operation.

    https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/impersonation-and-ews-in-exchange
    """
    flavor = model.flavor(data)
    if impersonation is None:
        if caller.app_id is not None:
            raise EwsFault("ErrorInvalidExchangeImpersonationHeaderData")
        own = caller.user if caller.user is not None and model.is_mailbox(caller.user) else None
        return Session(data, flavor, caller, own, False)
    target = _impersonated_mailbox(data, impersonation)
    if caller.user is not None and not model.user_can_impersonate(data, str(caller.user["Guid"]), target):
        raise EwsFault("ErrorImpersonateUserDenied")
    return Session(data, flavor, caller, target, True)


# --- folders ---------------------------------------------------------------------------------

FOLDER_NAMES = ("root", "msgfolderroot", "calendar")
_ID_PREFIX = "EWSSIM"


def encode_folder_id(mailbox_guid: str, folder: str) -> str:
    return base64.b64encode(f"{_ID_PREFIX}:{mailbox_guid}:{folder}".encode()).decode("ascii")


def decode_folder_id(folder_id: str) -> tuple[str, str]:
    try:
        prefix, guid, folder = base64.b64decode(folder_id, validate=True).decode("ascii").split(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise EwsError("ErrorInvalidIdMalformed") from exc
    if prefix != _ID_PREFIX or folder not in FOLDER_NAMES:
        raise EwsError("ErrorInvalidIdMalformed")
    return guid, folder


@dataclass(frozen=True)
class FolderRef:
    """A resolved folder: the mailbox recipient and the distinguished folder name."""

    mailbox: JsonObject
    name: str

    @property
    def guid(self) -> str:
        return str(self.mailbox["Guid"])


def _mailbox_for(session: Session, elem: Element) -> JsonObject:
    address = _text(elem.find(t("Mailbox")), t("EmailAddress"))
    if address is None:
        if session.acting is None:
            raise EwsError("ErrorMissingEmailAddress")
        return session.acting
    found = model.find_recipient(session.data, address)
    if found is None or not model.is_mailbox(found):
        raise EwsError("ErrorNonExistentMailbox")
    return found


def resolve_folder(session: Session, elem: Element) -> FolderRef:
    """A DistinguishedFolderId (optionally with Mailbox) or a FolderId this simulator issued.

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/distinguishedfolderid
    """
    if elem.tag == t("DistinguishedFolderId"):
        name = elem.get("Id", "")
        mailbox = _mailbox_for(session, elem)
        if name not in FOLDER_NAMES:
            raise EwsError("ErrorFolderNotFound")
        return FolderRef(mailbox, name)
    if elem.tag != t("FolderId"):
        raise EwsError("ErrorInvalidIdMalformed")
    guid, name = decode_folder_id(elem.get("Id", ""))
    owner = model.recipient_by_guid(session.data, guid)
    if owner is None:
        raise EwsError("ErrorFolderNotFound")
    return FolderRef(owner, name)


def _same_recipient(a: JsonObject | None, b: JsonObject) -> bool:
    return a is not None and str(a.get("Guid", "")).lower() == str(b.get("Guid", "")).lower()


def folder_rights(session: Session, folder: FolderRef) -> Rights:
    """What the acting principal may do in the folder (Exchange Server: owner or calendar row)."""
    if _same_recipient(session.acting, folder.mailbox):
        return LEVEL_RIGHTS["Owner"]
    principal = session.acting or session.caller.user
    if folder.name != "calendar" or principal is None:
        return LEVEL_RIGHTS["None"]
    rows = model.calendar_permissions(session.data, folder.guid)
    row = model.permission_row(rows, str(principal["Guid"])) or model.permission_row(rows, model.DEFAULT_USER)
    return rights_from_access(row.get("AccessRights") or [] if row else [])[1]


def authorize(session: Session, folder: FolderRef, *, write: bool) -> Rights:
    """Reviewer-or-better to read, folder owner to change permissions; else ErrorAccessDenied.

    Exchange Online, an app token: (its Entra ID consent for EWS, full_access_as_app, AND its application access
    policies) OR an RBAC for Applications assignment granting Calendars.Read / Calendars.ReadWrite (or
    EWS.AccessAsApp, the role EWS itself checks) on the mailbox: "Application Access Policies constrain ONLY the
    permissions assigned in Microsoft Entra ID" and "Permission consents are additive"
    (https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac), as Graph's calendar handlers do.
    """
    if session.caller.app_id is not None:
        if not _app_reaches(session, folder.mailbox, write=write):
            raise EwsError("ErrorAccessDenied")
        return LEVEL_RIGHTS["Owner"]
    rights = folder_rights(session, folder)
    allowed = rights.folder_owner if write else can_read(rights)
    if not allowed:
        raise EwsError("ErrorAccessDenied")
    return rights


# Office 365 Exchange Online's EWS application permission, by the app role id its manifest names
# (https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth)
EWS_APP_ROLES = {"dc890d15-9560-4a4c-9b7f-a736ec74ec40": "full_access_as_app"}


def _app_reaches(session: Session, mailbox: JsonObject, *, write: bool) -> bool:
    data, app_id = session.data, str(session.caller.app_id)
    consent = ews_consent(data, app_id)
    if consent is None:
        consent = frozenset(session.caller.roles)
    if "full_access_as_app" in consent and model.policy_allows(data, app_id, mailbox):
        return True
    wanted = ("Calendars.ReadWrite" if write else "Calendars.Read", "EWS.AccessAsApp")
    return any(model.rbac_allows(data, app_id, mailbox, permission) for permission in wanted)


def ews_consent(data: JsonObject, app_id: str) -> frozenset[str] | None:
    """The EWS application permission an admin consented for the app, or None when the directory records none for it
    (the token's roles then stand)."""
    return consented_roles(data, app_id, EWS_APP_ROLES)


def change_key(session: Session, folder: FolderRef) -> str:
    """Changes whenever the calendar's permission rows change."""
    rows = model.calendar_permissions(session.data, folder.guid) if folder.name == "calendar" else []
    digest = hashlib.sha256(json.dumps([folder.guid, folder.name, rows], sort_keys=True).encode()).digest()
    return base64.b64encode(digest[:20]).decode("ascii")


# --- folder serialisation --------------------------------------------------------------------

_FOLDER_FACTS: dict[str, tuple[str, str | None, str, int]] = {
    # name: (element, FolderClass, DisplayName, ChildFolderCount)
    "root": ("Folder", None, "", 1),
    "msgfolderroot": ("Folder", None, "Top of Information Store", 1),
    "calendar": ("CalendarFolder", "IPF.Appointment", "Calendar", 0),
}
_PARENT = {"msgfolderroot": "root", "calendar": "msgfolderroot"}
_DEFAULT_SHAPE = {"folder:DisplayName", "folder:TotalCount", "folder:ChildFolderCount", "folder:UnreadCount"}
_ALL_SHAPE = _DEFAULT_SHAPE | {"folder:FolderClass", "folder:ParentFolderId", "folder:EffectiveRights"}


def requested_properties(shape: Element | None) -> set[str]:
    """BaseShape plus AdditionalProperties FieldURIs. AllProperties omits PermissionSet (2013+).

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder-operation
    """
    base = _text(shape, t("BaseShape")) or "IdOnly"
    props = {"IdOnly": set(), "Default": set(_DEFAULT_SHAPE), "AllProperties": set(_ALL_SHAPE)}.get(base, set())
    additional = shape.find(t("AdditionalProperties")) if shape is not None else None
    if additional is not None:
        props.update(f.get("FieldURI", "") for f in additional.findall(t("FieldURI")))
    return props


def _effective_rights(parent: Element, rights: Rights) -> None:
    """https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/effectiverights"""
    owner = rights.folder_owner
    values = (
        ("CreateAssociated", owner),
        ("CreateContents", rights.create_items),
        ("CreateHierarchy", rights.create_subfolders),
        ("Delete", rights.delete_items == "All"),
        ("Modify", rights.edit_items == "All"),
        ("Read", can_read(rights)),
        ("ViewPrivateItems", owner),
    )
    container = _add(parent, t("EffectiveRights"))
    for name, value in values:
        _add(container, t(name), _bool(value))


def folder_element(session: Session, parent: Element, folder: FolderRef, props: set[str], rights: Rights) -> None:
    """Folder/CalendarFolder children in schema order (BaseFolderType, then the subtype's own).

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/calendarfolder
    """
    tag, folder_class, display_name, children = _FOLDER_FACTS[folder.name]
    elem = _add(parent, t(tag))
    _add(elem, t("FolderId"), Id=encode_folder_id(folder.guid, folder.name), ChangeKey=change_key(session, folder))
    parent_name = _PARENT.get(folder.name)
    if "folder:ParentFolderId" in props and parent_name:
        parent_ref = FolderRef(folder.mailbox, parent_name)
        _add(
            elem,
            t("ParentFolderId"),
            Id=encode_folder_id(folder.guid, parent_name),
            ChangeKey=change_key(session, parent_ref),
        )
    if "folder:FolderClass" in props and folder_class:
        _add(elem, t("FolderClass"), folder_class)
    simple = (("folder:DisplayName", "DisplayName", display_name), ("folder:TotalCount", "TotalCount", "0"))
    for uri, name, value in (*simple, ("folder:ChildFolderCount", "ChildFolderCount", str(children))):
        if uri in props:
            _add(elem, t(name), value)
    if "folder:EffectiveRights" in props:
        _effective_rights(elem, rights)
    if "folder:DistinguishedFolderId" in props:
        _add(elem, t("DistinguishedFolderId"), folder.name)
    if "folder:PermissionSet" in props and folder.name == "calendar":
        permission_set_element(session, elem, folder)
    if "folder:UnreadCount" in props and tag == "Folder":
        _add(elem, t("UnreadCount"), "0")


def _user_id(parent: Element, data: JsonObject, row: JsonObject) -> bool:
    """UserId for a row; False when the row's user no longer resolves (an unknown entry).

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/userid
    """
    key = str(row.get("User"))
    if key in model.SPECIAL_USERS:
        _add(_add(parent, t("UserId")), t("DistinguishedUser"), key)
        return True
    recipient = model.grantee(data, key)
    if recipient is None:
        return False
    user_id = _add(parent, t("UserId"))
    if recipient.get("Sid"):
        _add(user_id, t("SID"), str(recipient["Sid"]))
    _add(user_id, t("PrimarySmtpAddress"), str(recipient.get("PrimarySmtpAddress") or ""))
    _add(user_id, t("DisplayName"), str(recipient.get("DisplayName") or recipient.get("Name") or ""))
    return True


def calendar_permission_element(parent: Element, data: JsonObject, row: JsonObject) -> bool:
    """One CalendarPermission (UserId first, as CalendarPermissionType's sequence has it).

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/calendarpermission
    """
    permission = Element(t("CalendarPermission"))
    if not _user_id(permission, data, row):
        return False
    level, rights = rights_from_access(row.get("AccessRights") or [])
    booleans = (
        ("CanCreateItems", rights.create_items),
        ("CanCreateSubFolders", rights.create_subfolders),
        ("IsFolderOwner", rights.folder_owner),
        ("IsFolderVisible", rights.folder_visible),
        ("IsFolderContact", rights.folder_contact),
    )
    for name, value in booleans:
        _add(permission, t(name), _bool(value))
    _add(permission, t("EditItems"), rights.edit_items)
    _add(permission, t("DeleteItems"), rights.delete_items)
    _add(permission, t("ReadItems"), rights.read_items)
    _add(permission, t("CalendarPermissionLevel"), level)
    parent.append(permission)
    return True


def permission_set_element(session: Session, parent: Element, folder: FolderRef) -> None:
    """PermissionSet (CalendarPermissionSetType): CalendarPermissions, then UnknownEntries.

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/permissionset-calendarpermissionsettype
    """
    permission_set = _add(parent, t("PermissionSet"))
    permissions = _add(permission_set, t("CalendarPermissions"))
    unknown = [
        str(row.get("User"))
        for row in model.calendar_permissions(session.data, folder.guid)
        if not calendar_permission_element(permissions, session.data, row)
    ]
    if unknown:
        entries = _add(permission_set, t("UnknownEntries"))
        for entry in unknown:
            _add(entries, t("UnknownEntry"), entry)


# --- permission set parsing (UpdateFolder) ---------------------------------------------------


def _child_bool(elem: Element, *names: str) -> bool:
    # exchangelib writes "CanCreateSubfolders"; the schema spells it "CanCreateSubFolders". Both are read.
    return any((_text(elem, t(name)) or "").lower() in ("true", "1") for name in names)


def parse_rights(elem: Element) -> Rights:
    return Rights(
        create_items=_child_bool(elem, "CanCreateItems"),
        create_subfolders=_child_bool(elem, "CanCreateSubFolders", "CanCreateSubfolders"),
        folder_owner=_child_bool(elem, "IsFolderOwner"),
        folder_visible=_child_bool(elem, "IsFolderVisible"),
        folder_contact=_child_bool(elem, "IsFolderContact"),
        edit_items=_text(elem, t("EditItems")) or "None",
        delete_items=_text(elem, t("DeleteItems")) or "None",
        read_items=_text(elem, t("ReadItems")) or "None",
    )


def resolve_user_key(data: JsonObject, user_id: Element | None) -> str:
    """``Default``/``Anonymous`` or the grantee's recipient Guid.

    ErrorInvalidUserInfo: a DistinguishedUser mixed with other ids, or an id that resolves to no
    recipient; ErrorMissingUserIdInformation: no id at all (responsecode page).
    """
    distinguished = _text(user_id, t("DistinguishedUser"))
    ids = {name: _text(user_id, t(name)) for name in ("SID", "PrimarySmtpAddress", "DisplayName")}
    if distinguished:
        if any(ids.values()) or distinguished not in model.SPECIAL_USERS:
            raise EwsError("ErrorInvalidUserInfo")
        return distinguished
    if not any(ids.values()):
        raise EwsError("ErrorMissingUserIdInformation")
    found = _find_by_sid(data, ids["SID"]) if ids["SID"] else None
    for key in ("PrimarySmtpAddress", "DisplayName"):
        value = ids[key]
        if found is None and value:
            found = model.find_exchange_recipient(data, value) or model.find_recipient(data, value)
    if found is None:
        raise EwsError("ErrorInvalidUserInfo")
    return str(found["Guid"])


def parse_calendar_permission(data: JsonObject, elem: Element) -> tuple[str, str, Rights]:
    """(user key, level, rights). A named level wins over the individual settings sent with it."""
    key = resolve_user_key(data, elem.find(t("UserId")))
    level = _text(elem, t("CalendarPermissionLevel")) or "Custom"
    if level in LEVEL_RIGHTS:
        return key, level, LEVEL_RIGHTS[level]
    rights = parse_rights(elem)
    return key, level_of(rights), rights


def parse_permission_set(data: JsonObject, permission_set: Element | None) -> list[tuple[str, str, Rights]]:
    if permission_set is None:
        return []
    if permission_set.find(t("Permissions")) is not None:
        raise EwsError("ErrorCannotSetNonCalendarPermissionOnCalendarFolder")
    unknown = permission_set.find(t("UnknownEntries"))
    if unknown is not None and len(unknown):
        raise EwsError("ErrorCannotSetPermissionUnknownEntries")
    container = permission_set.find(t("CalendarPermissions"))
    entries = [] if container is None else container.findall(t("CalendarPermission"))
    parsed = [parse_calendar_permission(data, entry) for entry in entries]
    keys = [key.lower() for key, _, _ in parsed]
    if len(set(keys)) != len(keys):
        raise EwsError("ErrorDuplicateUserIdsSpecified")
    return parsed


def replace_calendar_rows(data: JsonObject, guid: str, entries: list[tuple[str, str, Rights]]) -> None:
    """Replace the whole ACL (SetFolderField overwrites all permission settings). Default and
    Anonymous always exist: left out, they become None. SharingPermissionFlags survive only for a
    user who stays Editor (EWS cannot express them).
    """
    old_rows = model.calendar_permissions(data, guid)
    by_key = {key.lower(): (key, level, rights) for key, level, rights in entries}
    new_rows: list[JsonObject] = []
    for special in model.SPECIAL_USERS:
        key, level, rights = by_key.pop(special.lower(), (special, "None", LEVEL_RIGHTS["None"]))
        new_rows.append(_row(special, access_from_rights(level, rights), None))
    for key, level, rights in by_key.values():
        access = access_from_rights(level, rights)
        new_rows.append(_row(key, access, _kept_flags(old_rows, key, access)))
    old_rows[:] = new_rows


def _row(user: str, access: list[str], flags: list[str] | None) -> JsonObject:
    return {"User": user, "AccessRights": access, "SharingPermissionFlags": flags}


def _kept_flags(old_rows: list[JsonObject], key: str, access: list[str]) -> list[str] | None:
    old = model.permission_row(old_rows, key)
    if old is None or access != ["Editor"] or [str(r) for r in old.get("AccessRights") or []] != ["Editor"]:
        return None
    flags = old.get("SharingPermissionFlags")
    return list(flags) if flags else None


# --- operations ------------------------------------------------------------------------------

Operation = Callable[[Session, Element], tuple[Element, bool]]


def _address(parent: Element, tag: str, recipient: JsonObject, mailbox_type: str) -> Element:
    elem = _add(parent, tag)
    _add(elem, t("Name"), str(recipient.get("DisplayName") or recipient.get("Name") or ""))
    _add(elem, t("EmailAddress"), str(recipient.get("PrimarySmtpAddress") or ""))
    _add(elem, t("RoutingType"), "SMTP")
    _add(elem, t("MailboxType"), mailbox_type)
    return elem


def _visible(recipient: JsonObject) -> bool:
    return recipient.get("HiddenFromAddressListsEnabled") is not True


def get_room_lists(session: Session, request: Element) -> tuple[Element, bool]:
    """https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getroomlists-operation"""
    response = response_message(None, m("GetRoomListsResponse"))
    room_lists = _add(response, m("RoomLists"))
    for recipient in model.recipients(session.data):
        if recipient.get("RecipientTypeDetails") == "RoomList" and _visible(recipient):
            _address(room_lists, t("Address"), recipient, "PublicDL")
    return response, False


def get_rooms(session: Session, request: Element) -> tuple[Element, bool]:
    """Rooms hidden from the GAL are left out; an unknown list is ErrorNameResolutionNoResults.

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getrooms-operation
    """
    address = _text(request.find(m("RoomList")), t("EmailAddress")) or ""
    room_list = model.find_exchange_recipient(session.data, address) if address else None
    if room_list is None or room_list.get("RecipientTypeDetails") != "RoomList":
        error = EwsError("ErrorNameResolutionNoResults")
        return response_message(None, m("GetRoomsResponse"), error), False
    response = response_message(None, m("GetRoomsResponse"))
    rooms = _add(response, m("Rooms"))
    for member in model.group_members(session.data, room_list):
        if member.get("RecipientTypeDetails") == "RoomMailbox" and _visible(member):
            _address(_add(rooms, t("Room")), t("Id"), member, "Mailbox")
    return response, False


def _dl_address(request: Element) -> str:
    """The EmailAddress in the request's Mailbox (m:Mailbox per the schema; t:Mailbox in the docs' example)."""
    mailbox = next((c for c in request if c.tag in (m("Mailbox"), t("Mailbox"))), None)
    if mailbox is None:
        raise EwsFault("ErrorSchemaValidation")
    return _text(mailbox, t("EmailAddress")) or _text(mailbox, m("EmailAddress")) or ""


def _member_type(member: JsonObject) -> str:
    """MailboxType of a member: a nested group is PublicDL, any other mail-enabled object Mailbox."""
    return "PublicDL" if model.is_group(member) else "Mailbox"


# https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/expanddl-operation
def expand_dl(session: Session, request: Element) -> tuple[Element, bool]:
    """Public distribution lists only: an unknown, GAL-hidden or non-group address (or a private list by ItemId)
    is ErrorNameResolutionNoResults; nested groups are not expanded; members with no address are left out.
    """
    address = _dl_address(request)
    group = model.find_exchange_recipient(session.data, address) if address else None
    response = Element(m("ExpandDLResponse"))
    messages = _add(response, m("ResponseMessages"))
    if group is None or not model.is_group(group) or not _visible(group):
        response_message(messages, m("ExpandDLResponseMessage"), EwsError("ErrorNameResolutionNoResults"))
        return response, False
    members = [r for r in model.group_members(session.data, group) if r.get("PrimarySmtpAddress")]
    expansion = _add(
        response_message(messages, m("ExpandDLResponseMessage")),
        m("DLExpansion"),
        TotalItemsInView=str(len(members)),
        IncludesLastItemInRange="true",
    )
    for member in members:
        _address(expansion, t("Mailbox"), member, _member_type(member))
    return response, False


def _folder_ids(request: Element, container: str) -> list[Element]:
    ids = request.find(m(container))
    if ids is None or len(ids) == 0:
        raise EwsFault("ErrorSchemaValidation")
    return list(ids)


def get_folder(session: Session, request: Element) -> tuple[Element, bool]:
    """https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder-operation"""
    props = requested_properties(request.find(m("FolderShape")))
    response = Element(m("GetFolderResponse"))
    messages = _add(response, m("ResponseMessages"))
    for id_elem in _folder_ids(request, "FolderIds"):
        try:
            folder = resolve_folder(session, id_elem)
            rights = authorize(session, folder, write=False)
        except EwsError as error:
            _add(response_message(messages, m("GetFolderResponseMessage"), error), m("Folders"))
            continue
        folders = _add(response_message(messages, m("GetFolderResponseMessage")), m("Folders"))
        folder_element(session, folders, folder, props, rights)
    return response, False


_CHILDREN = {"root": ("msgfolderroot",), "msgfolderroot": ("calendar",), "calendar": ()}


def subfolders(name: str, *, deep: bool) -> list[str]:
    """The simulated hierarchy: root > Top of Information Store > Calendar."""
    result: list[str] = []
    for child in _CHILDREN[name]:
        result.append(child)
        if deep:
            result.extend(subfolders(child, deep=True))
    return result


def _page(request: Element, names: list[str]) -> tuple[list[str], dict[str, str]]:
    """IndexedPageFolderView paging; RootFolder attributes as the findfolder-operation page shows them."""
    view = request.find(m("IndexedPageFolderView"))
    offset = int(view.get("Offset", "0")) if view is not None else 0
    limit = int(view.get("MaxEntriesReturned", "0") or 0) if view is not None else 0
    if view is not None and view.get("BasePoint") == "End":
        offset = max(len(names) - offset - (limit or len(names)), 0)
    page = names[offset : offset + limit] if limit else names[offset:]
    end = offset + len(page)
    attrs = {"IndexedPagingOffset": str(end), "TotalItemsInView": str(len(names))}
    attrs["IncludesLastItemInRange"] = _bool(end >= len(names))
    return page, attrs


def find_folder(session: Session, request: Element) -> tuple[Element, bool]:
    """Shallow or Deep traversal of the simulated hierarchy (no restrictions).

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/findfolder-operation
    """
    props = requested_properties(request.find(m("FolderShape")))
    deep = request.get("Traversal") == "Deep"
    response = Element(m("FindFolderResponse"))
    messages = _add(response, m("ResponseMessages"))
    for id_elem in _folder_ids(request, "ParentFolderIds"):
        try:
            parent = resolve_folder(session, id_elem)
            rights = authorize(session, parent, write=False)
        except EwsError as error:
            response_message(messages, m("FindFolderResponseMessage"), error)
            continue
        page, attrs = _page(request, subfolders(parent.name, deep=deep))
        root_folder = _add(response_message(messages, m("FindFolderResponseMessage")), m("RootFolder"), **attrs)
        folders = _add(root_folder, t("Folders"))
        for name in page:
            folder_element(session, folders, FolderRef(parent.mailbox, name), props - {"folder:PermissionSet"}, rights)
    return response, False


def _apply_change(session: Session, change: Element) -> FolderRef:
    """One FolderChange; only folder:PermissionSet of the calendar can be set or deleted."""
    ids = [c for c in change if c.tag in (t("FolderId"), t("DistinguishedFolderId"))]
    if not ids:
        raise EwsFault("ErrorSchemaValidation")
    folder = resolve_folder(session, ids[0])
    authorize(session, folder, write=True)
    updates = change.find(t("Updates"))
    for update in [] if updates is None else list(updates):
        _apply_update(session, folder, update)
    return folder


def _apply_update(session: Session, folder: FolderRef, update: Element) -> None:
    uri = update.find(t("FieldURI"))
    if uri is None or uri.get("FieldURI") != "folder:PermissionSet":
        raise EwsError("ErrorInvalidPropertySet")
    if folder.name != "calendar":
        raise EwsError("ErrorCannotSetCalendarPermissionOnNonCalendarFolder")
    if update.tag == t("DeleteFolderField"):
        replace_calendar_rows(session.data, folder.guid, [])
        return
    if update.tag != t("SetFolderField"):
        raise EwsError("ErrorInvalidPropertySet")
    holder = next((c for c in update if c.tag in (t("CalendarFolder"), t("Folder"))), None)
    permission_set = holder.find(t("PermissionSet")) if holder is not None else None
    if permission_set is None:
        raise EwsFault("ErrorSchemaValidation")
    replace_calendar_rows(session.data, folder.guid, parse_permission_set(session.data, permission_set))


def update_folder(session: Session, request: Element) -> tuple[Element, bool]:
    """Each FolderChange is applied atomically (the whole PermissionSet or nothing).

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updatefolder-operation
    """
    response = Element(m("UpdateFolderResponse"))
    messages = _add(response, m("ResponseMessages"))
    changed = False
    for change in _folder_ids(request, "FolderChanges"):
        snapshot = json.dumps(model.exchange(session.data)["folderPermissions"])
        try:
            folder = _apply_change(session, change)
        except EwsError as error:
            model.exchange(session.data)["folderPermissions"] = json.loads(snapshot)
            _add(response_message(messages, m("UpdateFolderResponseMessage"), error), m("Folders"))
            continue
        changed = True
        folders = _add(response_message(messages, m("UpdateFolderResponseMessage")), m("Folders"))
        tag = _FOLDER_FACTS[folder.name][0]
        _add(
            _add(folders, t(tag)),
            t("FolderId"),
            Id=encode_folder_id(folder.guid, folder.name),
            ChangeKey=change_key(session, folder),
        )
    return response, changed


# --- user configuration objects --------------------------------------------------------------

# [MS-OXOCFG] 2.2.5.1.1 Calendar Options: the calendar options dictionary is the FAI message of class
# IPM.Configuration.Calendar in the Calendar folder (EWS: the user configuration "Calendar" of the calendar folder);
# its documented settings and defaults: piRemindDefault (Integer32, 15), piAutoProcess (Boolean, True) and
# AutomateProcessing (Integer32: "0" disables automatic processing, "1" enables it, "2" enables it treating the
# mailbox as a resource), the Set-CalendarProcessing -AutomateProcessing values None, AutoUpdate, AutoAccept.
# No other calendar-processing setting is documented there, so none other is served.
# https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxocfg/043f83fa-3b7b-4a7f-8fb8-493d0d10afe8
CALENDAR_CONFIGURATION = "Calendar"
AUTOMATE_PROCESSING_CODES = {"None": "0", "AutoUpdate": "1", "AutoAccept": "2"}
_CONFIGURATION_PROPERTIES = ("Id", "Dictionary", "XmlData", "BinaryData", "All")


def calendar_options(session: Session, mailbox: JsonObject) -> list[tuple[str, str, str]]:
    """The calendar options dictionary as (key, value type, value): AutomateProcessing from the mailbox's calendar
    processing (what Set-CalendarProcessing changes), the client settings at their documented defaults."""
    flags = automate_processing(mailbox, session.flavor == "exchange_online")
    return [
        ("piRemindDefault", "Integer32", "15"),
        ("piAutoProcess", "Boolean", "true"),
        ("AutomateProcessing", "Integer32", AUTOMATE_PROCESSING_CODES[flags]),
    ]


def _dictionary_entry(parent: Element, key: str, kind: str, value: str) -> None:
    """https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/dictionaryentry"""
    entry = _add(parent, t("DictionaryEntry"))
    dict_key = _add(entry, t("DictionaryKey"))
    _add(dict_key, t("Type"), "String")
    _add(dict_key, t("Value"), key)
    dict_value = _add(entry, t("DictionaryValue"))
    _add(dict_value, t("Type"), kind)
    _add(dict_value, t("Value"), value)


def get_user_configuration(session: Session, request: Element) -> tuple[Element, bool]:
    """The user configuration object `Name` of a folder; the simulator holds one, the calendar options ("Calendar" on
    the calendar folder), read by the mailbox itself (or by impersonation of it); another name is ErrorItemNotFound.
    Request and response as the operation page's examples (UserConfigurationName with a DistinguishedFolderId,
    UserConfigurationProperties Dictionary; UserConfiguration with UserConfigurationName and Dictionary).
    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getuserconfiguration-operation
    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/userconfigurationproperties
    """
    name_elem = request.find(m("UserConfigurationName"))
    properties = _text(request, m("UserConfigurationProperties"))
    if name_elem is None or len(name_elem) == 0 or properties not in _CONFIGURATION_PROPERTIES:
        raise EwsFault("ErrorSchemaValidation")
    name = name_elem.get("Name", "")
    response = Element(m("GetUserConfigurationResponse"))
    messages = _add(response, m("ResponseMessages"))
    tag = m("GetUserConfigurationResponseMessage")
    try:
        folder = resolve_folder(session, name_elem[0])
        if session.caller.app_id is not None:
            authorize(session, folder, write=False)
        elif not _same_recipient(session.acting, folder.mailbox):  # the mailbox's own settings
            raise EwsError("ErrorAccessDenied")
        if folder.name != "calendar" or name != CALENDAR_CONFIGURATION:
            raise EwsError("ErrorItemNotFound")
    except EwsError as error:
        response_message(messages, tag, error)
        return response, False
    configuration = _add(response_message(messages, tag), m("UserConfiguration"))
    named = _add(configuration, t("UserConfigurationName"), Name=name)
    _add(named, t("DistinguishedFolderId"), Id=folder.name)
    if properties in ("Id", "All"):
        item_id = base64.b64encode(f"{_ID_PREFIX}:{folder.guid}:IPM.Configuration.Calendar".encode()).decode("ascii")
        options = json.dumps(calendar_options(session, folder.mailbox)).encode()
        _add(
            configuration,
            t("ItemId"),
            Id=item_id,
            ChangeKey=base64.b64encode(hashlib.sha256(options).digest()[:20]).decode("ascii"),
        )
    if properties in ("Dictionary", "All"):
        dictionary = _add(configuration, t("Dictionary"))
        for key, kind, value in calendar_options(session, folder.mailbox):
            _dictionary_entry(dictionary, key, kind, value)
    return response, False


RESOLVE_LIMIT = 100  # "The ResolveNames response returns a maximum of 100 candidates"


def _resolves(recipient: JsonObject, entry: str) -> bool:
    """Ambiguous name resolution: a prefix of the display name, name, alias or primary SMTP address; with the
    `smtp:` routing type, the primary SMTP address exactly."""
    if entry.startswith("smtp:"):
        return str(recipient.get("PrimarySmtpAddress") or "").lower() == entry[5:]
    keys = ("DisplayName", "Name", "Alias", "PrimarySmtpAddress")
    return any(str(recipient.get(k) or "").lower().startswith(entry) for k in keys if recipient.get(k))


def resolve_names(session: Session, request: Element) -> tuple[Element, bool]:
    """One UnresolvedEntry against the directory (SearchScope ActiveDirectory; this simulated server has no
    contact folders): one match is Success, several a Warning with ErrorNameResolutionMultipleResults and every
    candidate (at most 100), none ErrorNameResolutionNoResults. ReturnFullContactData is required.

    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/resolvenames-operation
    https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/resolvenamesresponsemessage
    """
    if request.get("ReturnFullContactData") is None:
        raise EwsFault("ErrorSchemaValidation")
    entry = (_text(request, m("UnresolvedEntry")) or "").strip().lower()
    if not entry:
        raise EwsFault("ErrorSchemaValidation")
    found = [
        r for r in model.recipients(session.data) if _visible(r) and r.get("PrimarySmtpAddress") and _resolves(r, entry)
    ]
    response = Element(m("ResolveNamesResponse"))
    messages = _add(response, m("ResponseMessages"))
    if not found:
        response_message(messages, m("ResolveNamesResponseMessage"), EwsError("ErrorNameResolutionNoResults"))
        return response, False
    if len(found) == 1:
        message = response_message(messages, m("ResolveNamesResponseMessage"))
    else:
        message = _add(messages, m("ResolveNamesResponseMessage"), ResponseClass="Warning")
        _add(message, m("MessageText"), "Multiple results were found.")
        _add(message, m("ResponseCode"), "ErrorNameResolutionMultipleResults")
        _add(message, m("DescriptiveLinkKey"), "0")
    shown = found[:RESOLVE_LIMIT]
    resolutions = _add(
        message,
        m("ResolutionSet"),
        TotalItemsInView=str(len(shown)),
        IncludesLastItemInRange=_bool(len(found) <= RESOLVE_LIMIT),
    )
    for recipient in shown:
        _address(_add(resolutions, t("Resolution")), t("Mailbox"), recipient, _member_type(recipient))
    return response, False


OPERATIONS: dict[str, Operation] = {
    m("ResolveNames"): resolve_names,
    m("GetRoomLists"): get_room_lists,
    m("GetRooms"): get_rooms,
    m("ExpandDL"): expand_dl,
    m("GetFolder"): get_folder,
    m("FindFolder"): find_folder,
    m("UpdateFolder"): update_folder,
    m("GetUserConfiguration"): get_user_configuration,
}


# --- HTTP entry point ------------------------------------------------------------------------


def authenticate(data: JsonObject, http: HttpRequest) -> Caller:
    if model.flavor(data) == "exchange_server":
        host = http.headers.get("host", "127.0.0.1").split(":")[0]
        return authenticate_basic(data, http.headers, host)
    return authenticate_bearer(data, http.headers)


def serve(data: JsonObject, http: HttpRequest) -> tuple[HttpResponse, bool]:
    """Authenticate, parse, apply impersonation and run the operation. Returns (response, changed)."""
    caller = authenticate(data, http)
    request = parse_envelope(http.body)
    operation = OPERATIONS.get(request.operation.tag)
    if operation is None:
        name = request.operation.tag.rpartition("}")[2]
        raise EwsFault(
            "ErrorSchemaValidation", f"The request failed schema validation: the simulator does not implement {name}."
        )
    session = open_session(data, caller, request.impersonation)
    blocked = mailbox_blocked(session)
    if blocked is not None:
        raise policy_denied(blocked)
    body, changed = operation(session, request.operation)
    return soap_response(session.flavor, body), changed


def _fault_response(fault: JsonObject) -> HttpResponse:
    """An injected fault: a busy server answers HTTP 503 with Retry-After (exchangelib retries those);
    other statuses (e.g. 403) are answered as they are.
    https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange
    """
    status = int(fault.get("status", 503))
    headers = {"Content-Type": "text/plain"}
    if status in (429, 503):
        status, headers["Retry-After"] = 503, retry_after(fault)
    return HttpResponse(status, headers, b"Service Unavailable" if status == 503 else b"Forbidden")


def handle_http(ctx: SimContext, http: HttpRequest) -> HttpResponse:
    """Serve ``POST /EWS/Exchange.asmx`` under the tenant lock; save when the tenant changed."""
    if http.method != "POST":
        return HttpResponse(405, {"Allow": "POST", "Content-Type": "text/plain"}, b"Method Not Allowed")
    with ctx.store.lock:
        injected = take_fault(ctx.store, http.method, http.path)
        if injected is not None:
            ctx.store.save()  # the rule's counters
            return _fault_response(injected)
        try:
            response, changed = serve(ctx.store.data, http)
        except HttpDenied as denied:
            return denied.response
        except EwsFault as fault:
            return fault_response(fault)
        if changed:
            ctx.store.save()
    return response
