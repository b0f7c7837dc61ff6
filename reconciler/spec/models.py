"""The spec schema (version 1): pydantic models, `extra="forbid"` everywhere.

A spec says what the tenant must look like. Field names are snake_case versions of what the
Microsoft 365 admin center and Graph call them.
"""

from __future__ import annotations

import fnmatch
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from reconciler.spec import limits

ENV_REF = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")
FILE_REF = re.compile(r"^\$\{file:([^}]+)\}$")  # a file holding only the secret (e.g. a mounted CI secret)
LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\]):\d+/?$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _env_reference(value: str) -> str:
    if not ENV_REF.match(value) and not FILE_REF.match(value):
        raise ValueError(
            "secrets are never written in a spec; reference an environment variable or a file instead, "
            "for example ${env:CRONOFY_SVC_PASSWORD} or ${file:secrets/cronofy-svc}"
        )
    return value


def _guid(value: str) -> str:
    if not GUID.match(value):
        raise ValueError("must be a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")
    return value.lower()


EnvRef = Annotated[str, AfterValidator(_env_reference)]
Guid = Annotated[str, AfterValidator(_guid)]

# Names with Microsoft's documented limits (spec/limits.py cites each page). The checks run before pydantic's
# own constraints, which stay for the JSON Schema (specs/schema.json), so the user reads the limit and its source.
# Something in the tenant the spec refers to (group, mailbox, role, grantee): not empty, one printable line.
Ref = Annotated[str, BeforeValidator(limits.reference)]
ScopeName = Annotated[
    str,
    BeforeValidator(
        limits.name(
            limits.MANAGEMENT_SCOPE_NAME,
            "New-ManagementScope -Name",
            "https://learn.microsoft.com/powershell/module/exchange/new-managementscope",
        )
    ),
]
AssignmentName = Annotated[
    str,
    BeforeValidator(
        limits.name(
            limits.ROLE_ASSIGNMENT_NAME,
            "New-ManagementRoleAssignment -Name",
            "https://learn.microsoft.com/powershell/module/exchange/new-managementroleassignment",
        )
    ),
]
RoomListName = Annotated[
    str,
    BeforeValidator(
        limits.name(
            limits.DISTRIBUTION_GROUP_NAME,
            "New-DistributionGroup -Name (a room list)",
            "https://learn.microsoft.com/powershell/module/exchange/new-distributiongroup",
        )
    ),
]
GRAPH_USER = "https://learn.microsoft.com/graph/api/resources/user"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cloud(StrEnum):
    GLOBAL = "global"
    USGOV = "usgov"
    USGOVHIGH = "usgovhigh"
    DOD = "dod"
    CHINA = "china"


class Endpoints(Strict):
    """Explicit endpoint overrides; each defaults to the value for `tenant.cloud`."""

    graph: str | None = Field(default=None, pattern=r"^https?://[^/]+$")
    exchange: str | None = Field(default=None, pattern=r"^https?://[^/]+$")
    login: str | None = Field(default=None, pattern=r"^https?://[^/]+$")


class AuthMethod(StrEnum):
    DEFAULT = "default"  # azure-identity DefaultAzureCredential: environment, workload identity, managed identity, CLI
    CLIENT_SECRET = "client_secret"
    CERTIFICATE = "certificate"
    MANAGED_IDENTITY = "managed_identity"
    WORKLOAD_IDENTITY = "workload_identity"


class Auth(Strict):
    """How reconciler itself signs in to the tenant (an Entra app registration or a managed identity)."""

    method: AuthMethod = AuthMethod.DEFAULT
    client_id: Guid | None = None
    client_secret: EnvRef | None = None
    certificate_path: str | None = None
    certificate_password: EnvRef | None = None

    @model_validator(mode="after")
    def _method_needs(self) -> Auth:
        needs = {
            AuthMethod.CLIENT_SECRET: ("client_id", "client_secret"),
            AuthMethod.CERTIFICATE: ("client_id", "certificate_path"),
        }.get(self.method, ())
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"auth method '{self.method.value}' needs {', '.join(missing)}")
        return self


class Tenant(Strict):
    id: Guid | None = None
    domain: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
    cloud: Cloud = Cloud.GLOBAL
    endpoints: Endpoints = Endpoints()
    auth: Auth = Auth()
    # A simulated tenant: the path of its file (relative to the spec; the CLI serves it in-process), or the
    # loopback URL of one already served by `reconciler sim serve` (http://127.0.0.1:PORT).
    simulator: str | None = None

    @model_validator(mode="after")
    def _loopback_only(self) -> Tenant:
        if self.simulator and "://" in self.simulator and not LOOPBACK.match(self.simulator):
            raise ValueError("a simulator URL must be on this machine: http://127.0.0.1:PORT or http://localhost:PORT")
        return self

    @model_validator(mode="after")
    def _named(self) -> Tenant:
        if self.id is None and self.domain is None:
            raise ValueError("name the tenant by id (its GUID) or domain (e.g. contoso.onmicrosoft.com)")
        return self

    @property
    def name(self) -> str:
        return self.id or self.domain or ""

    @property
    def simulator_file_is_relative(self) -> bool:
        """A simulated tenant file named relative to the spec's folder (not a URL, not an absolute path)."""
        return bool(self.simulator and "://" not in self.simulator and not Path(self.simulator).is_absolute())


class ServiceAccount(Strict):
    """The guide's "Create a Service Account" (steps 1-3) and "Deselect the assigned license" (step 6)."""

    user_principal_name: Annotated[str, BeforeValidator(limits.user_principal_name)] = Field(
        pattern=r"^[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
    )
    display_name: Annotated[
        str, BeforeValidator(limits.name(limits.USER_DISPLAY_NAME, "Entra ID's user displayName", GRAPH_USER))
    ] = Field(min_length=1, max_length=256)
    given_name: Annotated[
        str | None, BeforeValidator(limits.name(limits.USER_GIVEN_NAME, "Entra ID's givenName", GRAPH_USER, True))
    ] = Field(default=None, max_length=64)
    surname: Annotated[
        str | None, BeforeValidator(limits.name(limits.USER_SURNAME, "Entra ID's surname", GRAPH_USER, True))
    ] = Field(default=None, max_length=64)
    mail_nickname: Annotated[str | None, BeforeValidator(limits.alias)] = Field(
        default=None, pattern=r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]{1,64}$"
    )
    account_enabled: bool = True
    password: EnvRef | None = None
    force_change_password_next_sign_in: bool = False
    usage_location: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    licenses: list[str] = Field(default_factory=list)
    mailbox: bool = False  # the account must own a mailbox (e.g. the integration lists rooms over EWS as it)

    @model_validator(mode="after")
    def _licenses_unique(self) -> ServiceAccount:
        dupes = sorted({sku for sku in self.licenses if self.licenses.count(sku) > 1})
        if dupes:
            raise ValueError(f"licenses lists {', '.join(dupes)} more than once")
        if self.licenses and self.usage_location is None:
            raise ValueError(
                "licenses can only be assigned to a user with a usage_location; add e.g. usage_location: US"
            )
        return self

    @property
    def nickname(self) -> str:
        return self.mail_nickname or self.user_principal_name.split("@", 1)[0]


class Target(StrEnum):
    EXCHANGE_ONLINE = "exchange_online"
    EXCHANGE_SERVER = "exchange_server"


class AccessLevel(StrEnum):
    """The guide's three levels of access to end-users' mailboxes."""

    FULL = "full"
    RESTRICTED = "restricted"
    FREE_BUSY = "free_busy"


class AppRestriction(StrEnum):
    """How Exchange Online limits the integration's own app to the scope group."""

    RBAC_FOR_APPLICATIONS = "rbac_for_applications"
    APPLICATION_ACCESS_POLICY = "application_access_policy"


class Integration(Strict):
    """The integrator's Entra app (Exchange Online): Cronofy's is 10bb7e5b-b80b-4e6e-a209-f78581dbc79e."""

    app_id: Guid
    display_name: Ref = "Calendar integration"  # no documented limit (New-ServicePrincipal -DisplayName)
    restriction: AppRestriction = AppRestriction.RBAC_FOR_APPLICATIONS
    uses_ews: bool = False  # the integration still calls EWS in Exchange Online (allow list needed)
    client_secret: EnvRef | None = None  # the integration's own secret, only for `verify`'s real calendar read


class MailboxSources(Strict):
    """Mailboxes whose Calendar folders get permissions: any combination of the four sources."""

    addresses: list[Ref] = Field(default_factory=list)
    csv: str | None = None  # the guide's cronofy.csv (an `alias` column), relative to the spec
    room_list: Ref | None = None
    group: Ref | None = None

    @property
    def empty(self) -> bool:
        return not (self.addresses or self.csv or self.room_list or self.group)


class Access(Strict):
    """The `access` preset: expands into scope, role assignment or access policy, and folder permissions."""

    level: AccessLevel
    scope_group: Ref | None = None  # distribution group (mail-enabled security group for an access policy)
    scope_name: ScopeName = "CronofyImpersonationScope"
    assignment_name: AssignmentName = "CronofyImpersonationAssignment"
    mailboxes: MailboxSources = MailboxSources()
    allow_organization_wide: bool = False  # must be true for access to every mailbox (no management scope)
    folder_permissions: bool = Field(
        True,
        description=(
            "true (default): levels restricted and free_busy also grant the service account Calendar-folder "
            "permissions on the mailboxes (Editor + Delegate + CanViewPrivateItems, or AvailabilityOnly), which needs "
            "a mail-enabled (licensed) account on Exchange Online; false: only the app's scope (RBAC for "
            "Applications or the access policy) grants access, as Microsoft Graph integrations need"
        ),
    )
    allow_outside_scope: bool = Field(
        False,
        description=(
            "true: access.mailboxes may name mailboxes outside scope_group (the service account then gets folder "
            "permissions the app's scope does not cover); false (default): such mailboxes are refused"
        ),
    )
    exclusive: bool = Field(
        False,
        description=(
            "true: this spec owns the integration's mailbox access, so role assignments of its app (or service "
            "account) that the spec does not ask for are removed; false (default): they are only reported as "
            "access wider than the spec, marked (!), in plan and drift"
        ),
    )

    remove_access_policies: bool = Field(
        False,
        description=(
            "true: with integration.restriction rbac_for_applications, the integration app's application access "
            "policies (which reconciler did not make) are removed once the spec's RBAC for Applications assignment "
            "is in place and the app holds no Entra ID consent for calendars; false (default): they are reported and "
            "kept"
        ),
    )

    @model_validator(mode="after")
    def _restricted_needs_scope(self) -> Access:
        if self.level is AccessLevel.RESTRICTED and self.scope_group is None:
            raise ValueError("access level 'restricted' limits access to a group: set scope_group")
        return self


class RoomList(Strict):
    name: RoomListName = Field(min_length=1)
    rooms: list[Ref] = Field(default_factory=list)  # room mailboxes by name, alias or address
    exclusive: bool = False  # true: members not listed are removed


AccessRight = Literal[
    "None",
    "Owner",
    "PublishingEditor",
    "Editor",
    "PublishingAuthor",
    "Author",
    "NonEditingAuthor",
    "Reviewer",
    "Contributor",
    "AvailabilityOnly",
    "LimitedDetails",
]
SharingFlag = Literal["Delegate", "CanViewPrivateItems"]


class CalendarPermission(Strict):
    """One Calendar-folder permission entry (Add-MailboxFolderPermission)."""

    mailbox: Ref
    grantee: Ref
    access_rights: AccessRight
    sharing_permission_flags: list[SharingFlag] = Field(default_factory=list)

    @model_validator(mode="after")
    def _flags_only_for_editor(self) -> CalendarPermission:
        if self.sharing_permission_flags and self.access_rights != "Editor":
            raise ValueError(
                f"sharing_permission_flags apply only to Editor on a calendar folder, not {self.access_rights}; "
                "use access_rights: Editor, or remove the flags"
            )
        if "CanViewPrivateItems" in self.sharing_permission_flags and "Delegate" not in self.sharing_permission_flags:
            raise ValueError(
                "CanViewPrivateItems needs Delegate too: sharing_permission_flags: [Delegate, CanViewPrivateItems]"
            )
        return self


class RoleAssignment(Strict):
    """An explicit management role assignment (beyond what the access preset makes)."""

    name: AssignmentName
    role: Ref
    app_id: Guid | None = None  # Exchange Online: RBAC for Applications
    user: Ref | None = None  # Exchange Server: the service account
    scope: ScopeName | None = None  # management scope name

    @model_validator(mode="after")
    def _one_assignee(self) -> RoleAssignment:
        if (self.app_id is None) == (self.user is None):
            raise ValueError("a role assignment names exactly one assignee: app_id (Exchange Online) or user")
        return self


class ExchangeServer(Strict):
    """How reconciler reaches an on-premises Exchange Server: EWS only (scopes, role assignments and room lists are
    Exchange Management Shell commands the plan prints)."""

    ews_url: str = Field(pattern=r"^https?://")
    username: Ref
    password: EnvRef
    auth: Literal["ntlm", "basic"] = "ntlm"


class Lifecycle(Strict):
    """Guards on the objects reconciler manages."""

    # Addresses (fnmatch patterns, e.g. "user.service_account", "role_assignment.*") a plan may never destroy
    # or replace; remembered in state, so removing the object from the spec does not lift the guard.
    prevent_destroy: list[str] = Field(default_factory=list)

    def protects(self, address: str) -> bool:
        return any(fnmatch.fnmatchcase(address, pattern) for pattern in self.prevent_destroy)


class Backend(Strict):
    """Where the state lives (Terraform's backends): `local` (a file in the spec's state/ folder, the default) or
    `azure_blob` (a blob; its lease is the lock; ETag-conditional writes; a snapshot of every version)."""

    type: Literal["local", "azure_blob"] = "local"
    container: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    key: str | None = Field(default=None, min_length=1, max_length=1024)  # blob name, e.g. contoso.json
    account_url: str | None = Field(default=None, pattern=r"^https://[^/\s]+/?$")  # signed in with azure-identity
    connection_string: EnvRef | None = None  # ${env:AZURE_STORAGE_CONNECTION_STRING}; never stored or shown
    lease_seconds: int = Field(default=60, ge=15, le=60)  # a killed run frees the lock after this long

    @model_validator(mode="after")
    def _complete(self) -> Backend:
        if self.type == "local":
            if self.container or self.key or self.account_url or self.connection_string:
                raise ValueError("container, key, account_url and connection_string are for type: azure_blob")
            return self
        if not self.container or not self.key:
            raise ValueError("type azure_blob needs container and key (the blob name, e.g. contoso.json)")
        if (self.account_url is None) == (self.connection_string is None):
            raise ValueError(
                "type azure_blob needs exactly one of account_url (https://ACCOUNT.blob.core.windows.net, "
                "signed in with azure-identity) or connection_string (${env:AZURE_STORAGE_CONNECTION_STRING})"
            )
        return self


# -- room booking and room metadata (kinds room_booking and room) -------------------------------------------------
# Set-CalendarProcessing's documented values: https://learn.microsoft.com/powershell/module/exchangepowershell/set-calendarprocessing
# ("A valid value is an integer from 0 through 1080" for BookingWindowInDays, 0 through 100 for
# ConflictPercentageAllowed, 0 through INT32 (2147483647) for MaximumConflictInstances and MaximumDurationInMinutes).
AutomateProcessing = Literal["None", "AutoUpdate", "AutoAccept"]
INT32_MAX = 2147483647


class BookingSettings(Strict):
    """Set-CalendarProcessing settings a spec may manage; a setting left out is never read as drift or changed."""

    automate_processing: AutomateProcessing | None = None
    allow_conflicts: bool | None = None
    allow_recurring_meetings: bool | None = None
    booking_window_in_days: int | None = Field(default=None, ge=0, le=1080)
    maximum_duration_in_minutes: int | None = Field(default=None, ge=0, le=INT32_MAX)
    conflict_percentage_allowed: int | None = Field(default=None, ge=0, le=100)
    maximum_conflict_instances: int | None = Field(default=None, ge=0, le=INT32_MAX)
    enforce_scheduling_horizon: bool | None = None
    schedule_only_during_work_hours: bool | None = None
    process_external_meeting_messages: bool | None = None
    all_book_in_policy: bool | None = None
    all_request_in_policy: bool | None = None
    all_request_out_of_policy: bool | None = None
    delete_subject: bool | None = None
    add_organizer_to_subject: bool | None = None
    delete_comments: bool | None = None
    remove_private_property: bool | None = None
    delete_attachments: bool | None = None

    def named(self) -> dict[str, object]:
        """The settings this entry names (its other fields are unset)."""
        return {k: v for k, v in self.model_dump().items() if k in BookingSettings.model_fields and v is not None}


class RoomBooking(BookingSettings):
    """Booking policy for some rooms: the rooms are named, a room list's, or those of access.mailboxes."""

    rooms: list[Ref] = Field(default_factory=list)
    room_list: Ref | None = None
    access_rooms: bool = False
    preset: Literal["integration", "none"] = "integration"

    @model_validator(mode="after")
    def _one_source(self) -> RoomBooking:
        given = sum((bool(self.rooms), self.room_list is not None, self.access_rooms))
        if given != 1:
            raise ValueError(
                "a room_booking entry names its rooms one way: rooms (a list), room_list (a name) or access_rooms: true"
            )
        return self


class Room(Strict):
    """A room's place metadata, what room finders search on (Set-Place; Graph's room resource): only the
    properties named are managed. https://learn.microsoft.com/graph/api/resources/room"""

    room: Ref
    capacity: int | None = Field(default=None, ge=0, le=INT32_MAX)
    building: str | None = Field(default=None, max_length=256)
    floor_number: int | None = Field(default=None, ge=-INT32_MAX - 1, le=INT32_MAX)
    floor_label: str | None = Field(default=None, max_length=256)
    label: str | None = Field(default=None, max_length=256)
    tags: list[Annotated[str, Field(min_length=1, max_length=256)]] | None = None
    is_wheel_chair_accessible: bool | None = None
    audio_device_name: str | None = Field(default=None, max_length=256)
    video_device_name: str | None = Field(default=None, max_length=256)
    display_device_name: str | None = Field(default=None, max_length=256)
    phone: str | None = Field(default=None, max_length=256)

    def named(self) -> dict[str, object]:
        """The properties this entry names."""
        return {k: v for k, v in self.model_dump().items() if k != "room" and v is not None}


class Spec(Strict):
    version: int = Field(ge=1, le=1, description="spec format version; this reconciler reads version 1")
    tenant: Tenant
    target: Target = Target.EXCHANGE_ONLINE
    service_account: ServiceAccount | None = None
    integration: Integration | None = None
    access: Access | None = None
    room_lists: list[RoomList] = Field(default_factory=list)
    calendar_permissions: list[CalendarPermission] = Field(default_factory=list)
    role_assignments: list[RoleAssignment] = Field(default_factory=list)
    exchange_server: ExchangeServer | None = None
    lifecycle: Lifecycle = Lifecycle()
    backend: Backend = Backend()
    room_booking: list[RoomBooking] = Field(default_factory=list)
    rooms: list[Room] = Field(default_factory=list)


# -- descriptions (the JSON Schema `reconciler schema` writes; editors show them) -------------------------------
# Set on the models' fields (FieldInfo.description) so every property of the schema says what it is for.
DESCRIPTIONS: dict[type[BaseModel], dict[str, str]] = {
    Spec: {
        "tenant": "Which Microsoft 365 tenant (or simulated one) and how reconciler signs in to it.",
        "target": "exchange_online (Graph and the Exchange admin API) or exchange_server (EWS only).",
        "service_account": "The integration's service account (guide steps 1-6).",
        "integration": "The integration's own Entra app (Exchange Online): its app id and how it is restricted.",
        "access": "The access preset: which mailboxes the integration may reach, and how.",
        "room_lists": "Room lists and their rooms, so room finders see them.",
        "calendar_permissions": "Explicit Calendar-folder permissions beyond the access preset.",
        "role_assignments": "Explicit management role assignments beyond the access preset.",
        "lifecycle": "Objects a plan may never destroy or replace.",
        "exchange_server": "How to reach Exchange Server's EWS (target exchange_server only).",
        "backend": "Where state lives: a local file (default) or Azure Blob Storage.",
        "room_booking": "Rooms' booking policy (Set-CalendarProcessing): only the settings named are managed.",
        "rooms": "Rooms' place metadata for room finders (Set-Place): only the properties named are managed.",
    },
    Tenant: {
        "id": "The tenant id (a GUID); with domain alone the id is looked up.",
        "domain": "A verified domain of the tenant, e.g. contoso.onmicrosoft.com.",
        "cloud": "The Microsoft cloud: global, usgov, usgovhigh, usdod or china (sets the endpoints).",
        "endpoints": "Explicit endpoint overrides (rarely needed).",
        "auth": "How reconciler itself signs in (an app registration, certificate, managed or workload identity).",
        "simulator": "A simulated tenant: its file (relative to the spec) or a loopback URL; never a real tenant.",
    },
    Endpoints: {
        "graph": "Microsoft Graph base URL (https://host).",
        "exchange": "Exchange Online admin API base URL (https://host).",
        "login": "Microsoft Entra login host (https://host), used as it is (no instance discovery).",
    },
    Auth: {
        "method": "default, client_secret, certificate, managed_identity or workload_identity.",
        "client_id": "reconciler's app registration's client (application) id.",
        "client_secret": "Its secret, as ${env:NAME} or ${file:PATH}; never stored.",
        "certificate_path": "A PEM/PFX certificate file for method certificate.",
        "certificate_password": "The certificate's password, as ${env:NAME} or ${file:PATH}.",
    },
    ServiceAccount: {
        "user_principal_name": "The account's user principal name (at most 113 characters, 64 before the @).",
        "display_name": "Its display name (at most 256 characters).",
        "given_name": "Its given name (at most 64 characters).",
        "surname": "Its surname (at most 64 characters).",
        "mail_nickname": "Its mail alias (at most 64 characters; Exchange alias characters).",
        "account_enabled": "Whether the account may sign in.",
        "password": "Its password, as ${env:NAME} or ${file:PATH}; only to create it or change its sign-in flag.",
        "force_change_password_next_sign_in": "Whether it must change its password at next sign-in.",
        "usage_location": "Two-letter country code; needed to assign licenses.",
        "licenses": "SKU part numbers it keeps ([] removes every license; folder permissions need an Exchange one).",
        "mailbox": "true: the account must own a mailbox (refused together with licenses: []).",
    },
    Integration: {
        "app_id": "The integration's Entra app id (Cronofy Enterprise Connect: 10bb7e5b-...).",
        "display_name": "Its name as registered in Exchange (New-ServicePrincipal).",
        "restriction": "rbac_for_applications (scope + role assignment) or application_access_policy.",
        "uses_ews": "true: the integration still calls EWS in Exchange Online (manages the EWS allow list).",
        "client_secret": "The integration's own secret, only for verify's real calendar read; never stored.",
    },
    MailboxSources: {
        "addresses": "Mailbox addresses or aliases.",
        "csv": "The guide's CSV (an alias column), relative to the spec; what Excel writes is read.",
        "room_list": "A room list whose rooms get the permissions (one the spec makes too).",
        "group": "A group whose members get the permissions.",
    },
    Access: {
        "level": "full (every mailbox), restricted (the scope group, read/write) or free_busy.",
        "scope_group": "The group that limits the integration (a mail-enabled security group for an access policy).",
        "scope_name": "The management scope's name (at most 64 characters).",
        "assignment_name": "The role assignment's name (at most 64 characters).",
        "mailboxes": "Mailboxes for folder permissions (default: the scope group's members).",
        "allow_organization_wide": "Must be true for access to every mailbox (level full, or no scope group).",
    },
    RoomList: {
        "name": "The room list's name (at most 64 characters).",
        "rooms": "Its rooms by name, alias or address.",
        "exclusive": "true: members the spec does not list are removed.",
    },
    CalendarPermission: {
        "mailbox": "The mailbox whose Calendar folder is shared.",
        "grantee": "Who gets the permission (a mail-enabled user or group).",
        "access_rights": "The folder permission level (Editor, Reviewer, AvailabilityOnly, ...).",
        "sharing_permission_flags": "Delegate, CanViewPrivateItems (Editor only; Exchange Online only).",
    },
    RoleAssignment: {
        "name": "The assignment's name (at most 64 characters).",
        "role": "The management role, e.g. Application Calendars.Read.",
        "app_id": "The app it is assigned to (Exchange Online, RBAC for Applications).",
        "user": "The user it is assigned to (Exchange Server: the service account).",
        "scope": "The management scope that limits it (none: every mailbox).",
    },
    ExchangeServer: {
        "ews_url": "The EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx.",
        "username": "An account that may impersonate the mailboxes reconciler manages.",
        "password": "Its password, as ${env:NAME} or ${file:PATH}.",
        "auth": "ntlm or basic.",
    },
    Lifecycle: {
        "prevent_destroy": "Addresses (patterns) a plan may never destroy or replace, e.g. user.service_account.",
    },
    Backend: {
        "type": "local (a file) or azure_blob.",
        "container": "The blob container (azure_blob).",
        "key": "The blob name, e.g. contoso.json (azure_blob).",
        "account_url": "The storage account URL, signed in with azure-identity (azure_blob).",
        "connection_string": "Or a connection string, as ${env:NAME}; never stored or shown.",
        "lease_seconds": "The lock's lease (15-60 s): a killed run frees the lock after this long.",
    },
}
_BOOKING_SETTINGS = {
    "automate_processing": "None, AutoUpdate or AutoAccept (Set-CalendarProcessing -AutomateProcessing).",
    "allow_conflicts": "Whether conflicting meeting requests are accepted (-AllowConflicts).",
    "allow_recurring_meetings": "Whether recurring meetings are allowed (-AllowRecurringMeetings).",
    "booking_window_in_days": "How many days ahead the room can be booked: 0 (today) to 1080.",
    "maximum_duration_in_minutes": "The longest meeting in minutes (0: unlimited).",
    "conflict_percentage_allowed": "Conflicts a new recurring series may have, in percent (0-100).",
    "maximum_conflict_instances": "Conflicting occurrences a new recurring series may have.",
    "enforce_scheduling_horizon": "Whether a series reaching past the booking window is declined.",
    "schedule_only_during_work_hours": "Whether requests outside the room's working hours are declined.",
    "process_external_meeting_messages": "Whether requests from outside the organization are processed.",
    "all_book_in_policy": "Whether in-policy requests from everyone are accepted automatically.",
    "all_request_in_policy": "Whether everyone may submit in-policy requests needing a delegate's approval.",
    "all_request_out_of_policy": "Whether everyone may submit out-of-policy requests (delegate approval).",
    "delete_subject": "Whether the subject of incoming requests is removed.",
    "add_organizer_to_subject": "Whether the organizer's name replaces the subject.",
    "delete_comments": "Whether the body of incoming requests is removed.",
    "remove_private_property": "Whether the private flag of incoming requests is cleared.",
    "delete_attachments": "Whether attachments of incoming messages are removed.",
}
DESCRIPTIONS.update(  # room booking (kind room_booking); RoomBooking holds the settings too
    {
        BookingSettings: _BOOKING_SETTINGS,
        RoomBooking: {
            **_BOOKING_SETTINGS,
            "rooms": "Rooms by name, alias or address.",
            "room_list": "A room list whose rooms get the settings (one the spec makes too).",
            "access_rooms": "true: the rooms among access.mailboxes get the settings.",
            "preset": "integration (default): rooms get what the integration's mode needs (free_busy: Cronofy's "
            "auto-accept settings) unless named here; none: only the settings named here.",
        },
        Room: {
            "room": "The room by name, alias or address.",
            "capacity": "How many people it seats.",
            "building": "Its building's name or number.",
            "floor_number": "The floor it is on (Set-Place -Floor).",
            "floor_label": "A label for its floor.",
            "label": "A label for the room, e.g. its number.",
            "tags": "Its features (view, furniture, ...); the list replaces the room's tags.",
            "is_wheel_chair_accessible": "Whether it is wheelchair accessible.",
            "audio_device_name": "Its audio device.",
            "video_device_name": "Its video device.",
            "display_device_name": "Its display device.",
            "phone": "Its telephone number.",
        },
    }
)
for _model, _fields in DESCRIPTIONS.items():
    for _name, _text in _fields.items():
        if _model.model_fields[_name].description is None:
            _model.model_fields[_name].description = _text
_NESTED_FIRST: tuple[type[BaseModel], ...] = (  # each model after the models it holds, so it takes their new schema
    Endpoints,
    Auth,
    Tenant,
    ServiceAccount,
    Integration,
    MailboxSources,
    Access,
    RoomList,
    CalendarPermission,
    RoleAssignment,
    ExchangeServer,
    Lifecycle,
    Backend,
    BookingSettings,
    RoomBooking,
    Room,
    Spec,
)
for _model in _NESTED_FIRST:
    _model.model_rebuild(force=True)
