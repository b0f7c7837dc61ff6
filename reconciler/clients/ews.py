"""EWS through exchangelib: room lists, Calendar folder permission sets, and the impersonation check.

Used for Exchange Server (which has neither Graph nor the admin REST API). One exchangelib
Configuration per run; one Account per mailbox, acting by impersonation.
GetRoomLists: https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getroomlists-operation
GetRooms:     https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getrooms-operation
PermissionSet: https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/permissionset-permissionsettype
GetUserConfiguration: https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getuserconfiguration-operation
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.errors import ClientError

if TYPE_CHECKING:
    from exchangelib import Account, Configuration
    from exchangelib.protocol import Protocol

    from reconciler.clients.recorder import Recorder

# Add-MailboxFolderPermission -AccessRights <-> EWS CalendarPermissionLevel
LEVELS = {
    "AvailabilityOnly": "FreeBusyTimeOnly",
    "LimitedDetails": "FreeBusyTimeAndSubjectAndLocation",
    "NonEditingAuthor": "NoneditingAuthor",
}
RIGHTS = {level: right for right, level in LEVELS.items()}


def ews_level(access_rights: str) -> str:
    return LEVELS.get(access_rights, access_rights)


def access_rights(level: str) -> str:
    return RIGHTS.get(level, level)


@dataclass(frozen=True)
class FolderEntry:
    """One CalendarPermission row: `user` is an SMTP address, or Default / Anonymous."""

    user: str
    access_rights: str


class EwsClient:
    def __init__(
        self, url: str, username: str, password: str, auth: str, fixed_version: bool, recorder: Recorder | None = None
    ) -> None:
        self.url = url
        self._recorder = recorder  # sees every answer (`sim snapshot`, `sim compare`)
        self._username = username
        self._password = password
        self._auth = auth
        self._fixed_version = fixed_version
        self._config: Configuration | None = None
        self._protocol: Protocol | None = None
        self._making = threading.RLock()  # kinds resolve and read side by side: one Protocol (and hook) per client

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
            if self._recorder is not None:
                vars(self._protocol).pop("get_session", None)  # exchangelib shares the protocol by endpoint

    @property
    def protocol(self) -> Protocol:
        """The service endpoint as exchangelib's Protocol (its connection pool, shared by every Account)."""
        with self._making:
            if self._protocol is None:
                from exchangelib.protocol import Protocol

                protocol = Protocol(config=self.config)
                if self._recorder is not None:
                    self._record(protocol, self._recorder.ews_hook(self._username))
                self._protocol = protocol
            return self._protocol

    @staticmethod
    def _record(protocol: Protocol, hook: Callable[..., None]) -> None:
        """Every session the protocol hands out reports its answers to a recorder (a requests response hook)."""
        handed_out = protocol.get_session

        def get_session() -> Any:
            session = handed_out()
            hooks = session.hooks["response"]
            previous = getattr(session, "recorder_hook", None)
            if previous is not hook:
                if previous in hooks:
                    hooks.remove(previous)
                hooks.append(hook)
                session.recorder_hook = hook
            return session

        protocol.get_session = get_session

    @property
    def config(self) -> Configuration:
        with self._making:
            if self._config is None:
                self._config = self._configure()
            return self._config

    def _configure(self) -> Configuration:
        from exchangelib import BASIC, NTLM, Configuration, Credentials
        from exchangelib.version import EXCHANGE_2016, Version

        return Configuration(
            retry_policy=bounded_fault_tolerance(),
            service_endpoint=self.url,
            credentials=Credentials(self._username, self._password),
            auth_type=BASIC if self._auth == "basic" else NTLM,
            version=Version(build=EXCHANGE_2016) if self._fixed_version else None,
        )

    def _account(self, mailbox: str) -> Account:
        from exchangelib import IMPERSONATION, Account

        _ = self.protocol  # the Account shares it (exchangelib caches it by endpoint), recorder hook and all
        return Account(primary_smtp_address=mailbox, config=self.config, autodiscover=False, access_type=IMPERSONATION)

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            raise ClientError(f"EWS {what} failed", f"{type(exc).__name__}: {exc}") from None

    # -- room lists ------------------------------------------------------------------------
    def room_lists(self) -> dict[str, str]:
        """Room list display name -> address (GetRoomLists)."""
        lists = self._call("GetRoomLists", lambda: list(self.protocol.get_roomlists()))
        return {r.name: r.email_address for r in lists}

    def rooms(self, room_list_address: str) -> list[str]:
        """The rooms' addresses of one room list (GetRooms)."""
        rooms = self._call(f"GetRooms {room_list_address}", lambda: list(self.protocol.get_rooms(room_list_address)))
        return sorted(r.email_address.lower() for r in rooms)

    def expand_group(self, group: str) -> list[str]:
        """The members' addresses of a distribution group (ExpandDL)."""
        members = self._call(f"ExpandDL {group}", lambda: list(self.protocol.expand_dl(group)))
        return sorted(m.email_address.lower() for m in members if getattr(m, "email_address", None))

    # -- calendar permissions --------------------------------------------------------------
    def resolve(self, name: str) -> list[tuple[str, str]]:
        """ResolveNames of one name (display name, alias or address): (display name, address) of each candidate;
        [] when nothing matches.
        https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/resolvenames-operation"""
        found = self._call(f"ResolveNames {name}", self.protocol.resolve_names, [name])
        return [
            (str(m.name or ""), str(m.email_address or "").lower()) for m in found if getattr(m, "email_address", None)
        ]

    def calendar_permissions(self, mailbox: str) -> list[FolderEntry]:
        """The Calendar folder's permission rows (GetFolder with PermissionSet)."""
        folder = self._call(f"GetFolder {mailbox}:\\Calendar", lambda: self._account(mailbox).calendar)
        return [_entry(p) for p in (folder.permission_set.calendar_permissions or [])] if folder.permission_set else []

    def set_calendar_permission(self, mailbox: str, grantee: str, rights: str) -> None:
        """Set one grantee's level in place: the whole set is written in one UpdateFolder, others untouched."""

        def update() -> None:
            from exchangelib.properties import CalendarPermission, PermissionSet, UserId

            folder = self._account(mailbox).calendar
            current = list(folder.permission_set.calendar_permissions or []) if folder.permission_set else []
            kept = [p for p in current if (_entry(p).user.lower() != grantee.lower())]
            for permission in kept:  # exchangelib writes ReadItems only as None/FullDetails; the level decides
                if permission.read_items not in ("None", "FullDetails"):
                    permission.read_items = "None"
            level = ews_level(rights)
            kept.append(
                CalendarPermission(calendar_permission_level=level, user_id=UserId(primary_smtp_address=grantee))
            )
            folder.permission_set = PermissionSet(calendar_permissions=kept)
            folder.save(update_fields=["permission_set"])

        self._call(f"UpdateFolder {mailbox}:\\Calendar", update)

    def allow_parallel(self, requests: int) -> None:
        """Let up to `requests` requests be in flight at once (exchangelib's session pool, one session by default;
        it opens sessions as threads need them, and its retry policy closes some when the server is busy)."""
        if requests > self.protocol.max_connections:
            self.protocol.max_connections = requests

    # -- calendar options ------------------------------------------------------------------
    def calendar_configuration(self, mailbox: str) -> dict[str, Any] | None:
        """The calendar options dictionary of `mailbox` ([MS-OXOCFG] 2.2.5.1.1: the user configuration "Calendar" of
        its Calendar folder), read by impersonation with GetUserConfiguration (Dictionary only; one request, the folder
        named by DistinguishedFolderId rather than looked up first); None when the mailbox has no such object.
        https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxocfg/043f83fa-3b7b-4a7f-8fb8-493d0d10afe8"""

        def get() -> dict[str, Any] | None:
            from exchangelib.errors import ErrorItemNotFound
            from exchangelib.properties import DistinguishedFolderId, Mailbox, UserConfigurationNameMNS
            from exchangelib.services import GetUserConfiguration

            folder = DistinguishedFolderId(id="calendar", mailbox=Mailbox(email_address=mailbox))
            name = UserConfigurationNameMNS(name="Calendar", folder=folder)
            try:
                found = GetUserConfiguration(account=self._account(mailbox)).get(
                    user_configuration_name=name, properties="Dictionary"
                )
            except ErrorItemNotFound:
                return None
            return dict(found.dictionary or {})

        found: dict[str, Any] | None = self._call(f"GetUserConfiguration {mailbox}:\\Calendar", get)
        return found

    # -- impersonation ---------------------------------------------------------------------
    def can_impersonate(self, mailbox: str) -> tuple[bool, str]:
        """Act as `mailbox` and open its Calendar folder; (ok, why)."""
        try:
            self._account(mailbox).calendar.refresh()
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"opened {mailbox}'s Calendar folder by impersonation"


EWS_RETRY_SECONDS = 120  # total patience with a busy server (exchangelib's own default is an hour)
EWS_CALM_SECONDS = 10  # no back-off for this long after the last one: the next trouble gets a fresh window
EWS_BACK_OFF_SECONDS = 2  # when the server asks to back off without saying for how long (exchangelib: 60 s)


def bounded_fault_tolerance() -> Any:
    """exchangelib's FaultTolerance retry policy (back off on ErrorServerBusy, 503, dropped connections, honouring
    Retry-After), bounded in total time, and failing fast on 401: a wrong password is not throttling."""
    import time

    from exchangelib.errors import RateLimitError, UnauthorizedError
    from exchangelib.protocol import FaultTolerance

    class BoundedFaultTolerance(FaultTolerance):  # type: ignore[misc]
        DEFAULT_BACKOFF = EWS_BACK_OFF_SECONDS

        def __init__(self) -> None:
            super().__init__(max_wait=EWS_RETRY_SECONDS)
            self._deadline: float | None = None
            self._calm_after = 0.0

        def back_off(self, seconds: float | None) -> None:
            now = time.monotonic()
            wait = self.DEFAULT_BACKOFF if seconds is None else seconds
            if self._deadline is None or now > self._calm_after:  # new trouble after a calm spell: a new window
                self._deadline = now + EWS_RETRY_SECONDS
            self._calm_after = now + wait + EWS_CALM_SECONDS
            if now + wait > self._deadline:
                raise RateLimitError(f"still failing after {EWS_RETRY_SECONDS} s of retries", wait=wait)
            super().back_off(wait)

        def raise_response_errors(self, response: Any) -> Any:
            if response.status_code == 401:
                raise UnauthorizedError(f"Invalid credentials for {response.url}")
            return super().raise_response_errors(response)

    return BoundedFaultTolerance()


def _entry(permission: Any) -> FolderEntry:
    user = permission.user_id
    name = user.distinguished_user or user.primary_smtp_address or user.display_name or "?"
    return FolderEntry(user=name, access_rights=access_rights(permission.calendar_permission_level))


# -- an EWS call as the integration's app (Exchange Online: `verify` for an integration that still uses EWS) ----------
# GetFolder of the mailbox's Calendar, impersonating it as an app must
# (https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder-operation,
# https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/impersonation-and-ews-in-exchange).
PROBE = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
    xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header>
    <t:RequestServerVersion Version="Exchange2016"/>
    <t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>{mailbox}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>
  </soap:Header>
  <soap:Body>
    <m:GetFolder>
      <m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>
      <m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds>
    </m:GetFolder>
  </soap:Body>
</soap:Envelope>"""


@dataclass(frozen=True)
class AppProbe:
    """What Exchange Online answered an app's EWS call: HTTP status, the X-EWS-Policy-Reason header of a policy block
    ("Understand HTTP 403 responses in Exchange Online", how-to-control-access-to-ews-in-exchange), the ResponseCode."""

    status: int
    policy_reason: str | None
    response_code: str | None

    @property
    def allowed(self) -> bool:
        return self.status == 200 and self.response_code == "NoError"


def probe_as_app(url: str, token: str, mailbox: str, timeout: float = 30.0) -> AppProbe:
    """GetFolder (Calendar) of `mailbox` as the app whose bearer `token` is given."""
    import re
    from xml.sax.saxutils import escape

    import httpx

    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "text/xml; charset=utf-8",
        "X-AnchorMailbox": mailbox,
    }
    try:
        response = httpx.post(url, content=PROBE.format(mailbox=escape(mailbox)), headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ClientError(f"EWS at {url} could not be reached: {type(exc).__name__}: {exc}") from None
    found = re.search(r"<(?:\w+:)?ResponseCode>([^<]+)<", response.text)
    return AppProbe(
        response.status_code, response.headers.get("X-EWS-Policy-Reason"), found.group(1) if found else None
    )
