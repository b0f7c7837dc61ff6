"""Lookups: the tenant reads that turn the spec's names into what the tenant calls them, once per run.

One typed service with a named method per lookup (recipients, groups and their members, the mailbox
index, subscribed SKUs, the integration's Exchange service principal, EWS room lists and groups, the
service account's impersonation check). Answers are kept for the run; `forget_*` drops one after a
write that changes it. Resolve (engine/resolve.py) and the backends' reads use it; nothing else keeps a cache.

A name the spec gives that the tenant does not know is a SpecError at the spec's field, never drift.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reconciler.clients.ews import EwsClient
from reconciler.clients.exchange_admin import ExchangeError
from reconciler.clients.graph import GraphClient
from reconciler.clients.session import Clients
from reconciler.errors import Location, SpecError
from reconciler.resources.base import EXCHANGE_ONLINE_ROLE, READ, VIEW_ONLY_RECIPIENTS, Permission

T = TypeVar("T")
ROOM_TYPES = frozenset({"RoomMailbox", "EquipmentMailbox"})
INDEX_ABOVE = 20  # more names than this are resolved from one listing of every mailbox
GROUP_TYPES = frozenset(
    {"MailUniversalDistributionGroup", "MailUniversalSecurityGroup", "RoomList", "MailNonUniversalGroup"}
)
# What the look-ups use of each row (the admin API answers whole objects otherwise: ~11 kB per mailbox)
MAILBOX_PROPERTIES = ("Alias", "Name", "DisplayName", "PrimarySmtpAddress", "RecipientTypeDetails", "Guid")
MEMBER_PROPERTIES = ("Name", "PrimarySmtpAddress", "RecipientTypeDetails", "Guid")
# The Exchange roles of the recipient cmdlets: Microsoft365DSC's EXODistributionGroup (read View-Only Recipients,
# update Distribution Groups; Recipient Management is the role group with both)
RECIPIENTS_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.128.1/Content/"
    "DSCResources%5CMSFT_EXODistributionGroup%5Csettings.json"
)


def read_permission(owner: str, cmdlets: tuple[str, ...], doc: str = RECIPIENTS_DOC) -> Permission:
    """View-Only Recipients: the Exchange Online role for the lookups here (Get-Recipient, Get-DistributionGroup,
    Get-DistributionGroupMember, Get-Mailbox) and other recipient reads (Get-MailboxFolderPermission)."""
    return Permission(EXCHANGE_ONLINE_ROLE, VIEW_ONLY_RECIPIENTS, READ, cmdlets, doc, owner)


def smtp(row: dict[str, Any]) -> str:
    """A recipient row's primary SMTP address, lower case."""
    return str(row.get("PrimarySmtpAddress") or row.get("Name") or "").lower()


class Lookups:
    """The run's tenant lookups. `service_account_ews` builds the EWS client signed in as the service account
    (Exchange Server impersonation check); it is given by whoever knows the spec's secrets."""

    def __init__(self, clients: Clients, service_account_ews: Callable[[], EwsClient] | None = None) -> None:
        self.clients = clients
        self._service_account_ews = service_account_ews
        self._answers: dict[tuple[str, str], Any] = {}
        self._loading: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self._opened: list[Any] = []

    def _once(self, what: str, key: str, load: Callable[[], T]) -> T:
        """The answer of one look-up, loaded once per run even when kinds resolving side by side ask together."""
        slot = (what, key.lower())
        with self._guard:
            loading = self._loading.setdefault(slot, threading.Lock())
        with loading:
            if slot not in self._answers:
                self._answers[slot] = load()
            value: T = self._answers[slot]
        return value

    def close(self) -> None:
        for client in self._opened:
            client.close()
        self._opened.clear()

    # -- Exchange Online recipients (the admin API) ---------------------------------------
    def recipient(self, identity: str) -> dict[str, Any] | None:
        """Get-Recipient -Identity: any mail-enabled object (mailbox, room, group), or None."""
        exchange = self.clients.exchange
        return self._once(
            "recipient", identity, lambda: exchange.get("Get-Recipient", {"Identity": identity}, what=identity)
        )

    def group(self, identity: str) -> dict[str, Any] | None:
        """Get-DistributionGroup -Identity, or None."""
        exchange = self.clients.exchange
        return self._once(
            "group", identity, lambda: exchange.get("Get-DistributionGroup", {"Identity": identity}, what=identity)
        )

    def existing_group(self, identity: str, location: Location | None, purpose: str) -> dict[str, Any]:
        """The group, or a SpecError saying it does not exist."""
        found = self.group(identity)
        if found is None:
            raise SpecError(
                f"{purpose} '{identity}' does not exist in the tenant",
                "create the distribution group first (New-DistributionGroup), or correct the name; "
                "reconciler does not guess which group was meant",
                location,
            )
        return found

    def members(self, identity: str) -> list[dict[str, Any]]:
        """Get-DistributionGroupMember -Identity: every member, one paged call per group."""
        exchange = self.clients.exchange
        return self._once(
            "members",
            identity,
            lambda: exchange.run(
                "Get-DistributionGroupMember",
                {"Identity": identity, "ResultSize": "Unlimited"},
                what=identity,
                select=MEMBER_PROPERTIES,
            ),
        )

    def forget_members(self, identity: str) -> None:
        self._answers.pop(("members", identity.lower()), None)

    def mailbox_index(self) -> dict[str, dict[str, Any]]:
        """Every mailbox by alias, name, display name and address: one paged Get-Mailbox for the tenant."""

        def load() -> dict[str, dict[str, Any]]:
            rows = self.clients.exchange.run(
                "Get-Mailbox", {"ResultSize": "Unlimited"}, what="mailboxes", select=MAILBOX_PROPERTIES
            )
            index: dict[str, dict[str, Any]] = {}
            for row in rows:
                for key in ("Alias", "Name", "DisplayName", "PrimarySmtpAddress"):
                    if row.get(key):
                        index.setdefault(str(row[key]).lower(), row)
            return index

        return self._once("mailbox-index", "", load)

    def recipients(self, identities: list[str]) -> dict[str, dict[str, Any] | None]:
        """Many names at once: one lookup each for a few, the tenant's mailbox index for many (a name the index
        lacks is looked up alone, so a group or a room list is still found and can be named as such)."""
        if len(identities) <= INDEX_ABOVE:
            return {i: self.recipient(i) for i in identities}
        index = self.mailbox_index()
        return {i: index.get(i.lower()) or self.recipient(i) for i in identities}

    # -- Exchange Online's service principals ---------------------------------------------
    def service_principal(self, app_id: str) -> dict[str, Any] | None:
        """The app's service principal in Exchange, matched on AppId: Get-ServicePrincipal's page warns that an
        -Identity value that does not exist can return every service principal instead of none."""

        def load() -> dict[str, Any] | None:
            try:
                rows = self.clients.exchange.run("Get-ServicePrincipal", {"Identity": app_id}, what=app_id)
            except ExchangeError as exc:
                if exc.not_found:
                    return None
                raise
            return next((r for r in rows if str(r.get("AppId", "")).lower() == app_id.lower()), None)

        return self._once("service-principal", app_id, load)

    def forget_service_principal(self, app_id: str) -> None:
        self._answers.pop(("service-principal", app_id.lower()), None)

    # -- Microsoft Graph --------------------------------------------------------------------
    @property
    def graph(self) -> GraphClient:
        return self.clients.graph

    def user(self, identity: str) -> dict[str, Any] | None:
        """GET /users/{id | userPrincipalName} (shared by the user and license kinds), or None."""
        return self._once("user", identity, lambda: self.clients.graph.get_user(identity))

    def forget_user(self, identity: str) -> None:
        self._answers.pop(("user", identity.lower()), None)

    def subscribed_skus(self) -> list[dict[str, Any]]:
        """GET /subscribedSkus, once per run."""
        return self._once("skus", "", self.clients.graph.subscribed_skus)

    # -- Exchange Server (EWS) ----------------------------------------------------------------
    def ews_room_lists(self) -> dict[str, str]:
        """GetRoomLists: room list name (lower case) -> its address."""
        return self._once(
            "ews-room-lists", "", lambda: {k.lower(): v for k, v in self.clients.ews.room_lists().items()}
        )

    def ews_rooms(self, room_list_address: str) -> list[str]:
        """GetRooms of one room list: the rooms' addresses."""
        return self._once("ews-rooms", room_list_address, lambda: self.clients.ews.rooms(room_list_address))

    def ews_members(self, group: str) -> list[str]:
        """ExpandDL: a group's mailbox addresses."""
        return self._once("ews-members", group, lambda: self.clients.ews.expand_group(group))

    def ews_resolve(self, name: str) -> list[tuple[str, str]]:
        """ResolveNames: (display name, address) of each directory entry the name resolves to."""
        return self._once("ews-resolve", name, lambda: self.clients.ews.resolve(name))

    def ews_address(self, name: str) -> str | None:
        """The one address a display name, alias or address stands for (an exact match wins), or None."""
        candidates = self.ews_resolve(name)
        lowered = name.lower()
        exact = [a for n, a in candidates if lowered in (n.lower(), a, a.split("@")[0])]
        if len(exact) == 1:
            return exact[0]
        return candidates[0][1] if len(candidates) == 1 else None

    def impersonation(self, mailbox: str) -> tuple[bool, str]:
        """Whether the service account can open `mailbox`'s Calendar by impersonation (Exchange Server), once."""

        def load() -> tuple[bool, str]:
            if self._service_account_ews is None:
                return False, "no service account to test with"
            client = self._service_account_ews()
            self._opened.append(client)
            return client.can_impersonate(mailbox)

        return self._once("impersonation", mailbox, load)
