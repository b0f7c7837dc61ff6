"""The documented parameters of every emulated Exchange cmdlet: one table, taken from Microsoft's pages.

Each cmdlet's page is https://learn.microsoft.com/powershell/module/exchangepowershell/<cmdlet, lower case>
(source: github.com/MicrosoftDocs/office-docs-powershell, exchange/exchange-ps/ExchangePowerShell/<Cmdlet>.md,
as of 2026-08-21). :data:`PAGES` holds, per cmdlet, what its SYNTAX and PARAMETERS sections say: the
parameter sets, and for each parameter its type, where it exists, the sets it belongs to, the sets in which it
is mandatory, its position and aliases. Every page also takes PowerShell's common parameters
(:data:`COMMON_PARAMETERS`, the page's "CommonParameters" section).

Table format (``_TABLE``): a cmdlet line ``<Cmdlet> <where> [1=<Set> 2=<Set> ...]`` (continued on indented lines),
then one line per parameter: ``  <Name> <Type> <where> [sets=1,2] [required=*|1,2] [pos=N] [aliases=a,b]``.
``where`` is O (Exchange Online), S (Exchange Server, on-premises), OS (both) or - (neither: e.g. Security &
Compliance only), from the page's "Applicable:" line. No ``sets=`` means every set; ``required=*`` means
mandatory in every set the parameter belongs to. ``#`` starts a comment.
"""

from __future__ import annotations

from dataclasses import dataclass

ONLINE, SERVER = "O", "S"
DOC = "https://learn.microsoft.com/powershell/module/exchangepowershell/"
COMMON_PARAMETERS = (
    "Debug",
    "ErrorAction",
    "ErrorVariable",
    "InformationAction",
    "InformationVariable",
    "OutVariable",
    "OutBuffer",
    "PipelineVariable",
    "Verbose",
    "WarningAction",
    "WarningVariable",
)


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    where: str  # "O", "S", "OS" or "" (see the module docstring)
    sets: frozenset[str]  # the parameter sets it belongs to
    mandatory: frozenset[str]  # the sets in which it is mandatory
    position: int | None
    aliases: tuple[str, ...]

    @property
    def switch(self) -> bool:
        return self.type == "SwitchParameter"


@dataclass(frozen=True)
class Page:
    cmdlet: str
    where: str
    sets: tuple[str, ...]  # in the page's order
    parameters: dict[str, Parameter]  # in the page's order, by name

    @property
    def url(self) -> str:
        return DOC + self.cmdlet.lower()

    def available(self, online: bool) -> dict[str, Parameter]:
        """The parameters that exist in Exchange Online (``online``) or in Exchange Server."""
        where = ONLINE if online else SERVER
        return {k: v for k, v in self.parameters.items() if where in v.where}


def _parse(table: str) -> dict[str, Page]:
    pages: dict[str, Page] = {}
    head: list[str] = []
    rows: list[list[str]] = []

    def flush() -> None:
        if not head:
            return
        cmdlet, where, *numbered = head
        sets = tuple(item.split("=", 1)[1] for item in numbered) or ("Default",)
        parameters = {}
        for name, kind, place, *options in rows:
            opts = dict(option.split("=", 1) for option in options)
            member = [sets[int(i) - 1] for i in opts["sets"].split(",")] if "sets" in opts else list(sets)
            required = opts.get("required", "")
            mandatory = member if required == "*" else [sets[int(i) - 1] for i in required.split(",") if i]
            parameters[name] = Parameter(
                name=name,
                type=kind,
                where="" if place == "-" else place,
                sets=frozenset(member),
                mandatory=frozenset(mandatory),
                position=int(opts["pos"]) if "pos" in opts else None,
                aliases=tuple(a for a in opts.get("aliases", "").split(",") if a),
            )
        pages[cmdlet] = Page(cmdlet, "" if where == "-" else where, sets, parameters)

    for raw in table.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not line.startswith(" "):
            flush()
            head, rows = line.split(), []
        elif line.startswith("    "):
            head += line.split()
        else:
            rows.append(line.split())
    flush()
    return pages


_TABLE = """
Get-Mailbox OS 1=AnrSet 2=DatabaseSet 3=Identity 4=ServerSet 5=MailboxPlanSet
  Identity                                                      MailboxIdParameter            OS sets=3 pos=1
  Anr                                                           String                        OS sets=1
  Arbitration                                                   SwitchParameter               S sets=1,2,3,4
  Archive                                                       SwitchParameter               OS
  AuditLog                                                      SwitchParameter               S sets=1,2,3,4
  AuxAuditLog                                                   SwitchParameter               S sets=1,2,3,4
  Credential                                                    PSCredential                  S sets=1,2,3,4
  Database                                                      DatabaseIdParameter           S sets=2
  DomainController                                              Fqdn                          S sets=1,2,3,4
  Filter                                                        String                        OS
  GroupMailbox                                                  SwitchParameter               OS
  IgnoreDefaultScope                                            SwitchParameter               S sets=1,2,3,4
  InactiveMailboxOnly                                           SwitchParameter               O sets=1,3,5
  IncludeAcceptMessagesOnlyFromDLMembersWithDisplayNames        SwitchParameter               O sets=1,3,5
  IncludeAcceptMessagesOnlyFromSendersOrMembersWithDisplayNames SwitchParameter               O sets=1,3,5
  IncludeAcceptMessagesOnlyFromWithDisplayNames                 SwitchParameter               O sets=1,3,5
  IncludeEmailAddressDisplayNames                               SwitchParameter               O sets=1,3,5
  IncludeForwardingAddressWithDisplayNames                      SwitchParameter               O sets=1,3,5
  IncludeGrantSendOnBehalfToWithDisplayNames                    SwitchParameter               O sets=1,3,5
  IncludeInactiveMailbox                                        SwitchParameter               O sets=1,3,5
  MailboxPlan                                                   MailboxPlanIdParameter        O sets=5
  Migration                                                     SwitchParameter               OS
  Monitoring                                                    SwitchParameter               S sets=1,2,3,4
  OrganizationalUnit                                            OrganizationalUnitIdParameter OS
  PublicFolder                                                  SwitchParameter               OS
  ReadFromDomainController                                      SwitchParameter               S sets=1,2,3,4
  RecipientTypeDetails                                          RecipientTypeDetails[]        OS
  RemoteArchive                                                 SwitchParameter               S sets=1,2,3,4
  ResultSize                                                    Unlimited                     OS
  Server                                                        ServerIdParameter             S sets=4
  SoftDeletedMailbox                                            SwitchParameter               O sets=1,3,5
  SortBy                                                        String                        OS
  SupervisoryReviewPolicy                                       SwitchParameter               S sets=1,2,3,4
Remove-Mailbox OS 1=Identity 2=StoreMailboxIdentity 3=Default
  Identity                                MailboxIdParameter      OS sets=1,3 required=* pos=1
  Database                                DatabaseIdParameter     S sets=2 required=*
  StoreMailboxIdentity                    StoreMailboxIdParameter S sets=2 required=*
  Arbitration                             SwitchParameter         S sets=1,2
  AuditLog                                SwitchParameter         S sets=1,2
  AuxAuditLog                             SwitchParameter         S sets=1,2
  Confirm                                 SwitchParameter         OS aliases=cf
  DomainController                        Fqdn                    S sets=1,2
  Force                                   SwitchParameter         OS
  IgnoreDefaultScope                      SwitchParameter         S sets=1,2
  IgnoreLegalHold                         SwitchParameter         S sets=1,2
  Migration                               SwitchParameter         OS
  Permanent                               Boolean                 S sets=1
  PermanentlyDelete                       SwitchParameter         O sets=3
  PublicFolder                            SwitchParameter         OS
  RemoveArbitrationMailboxWithOABsAllowed SwitchParameter         S sets=1,2
  RemoveCNFPublicFolderMailboxPermanently SwitchParameter         O sets=3
  RemoveLastArbitrationMailboxAllowed     SwitchParameter         S sets=1,2
  SupervisoryReviewPolicy                 SwitchParameter         S sets=1,2
  WhatIf                                  SwitchParameter         OS aliases=wi
Get-Recipient OS 1=AnrSet 2=Identity 3=DatabaseSet 4=RecipientPreviewFilterSet
  Identity                      RecipientIdParameter          OS sets=2 pos=1
  Anr                           String                        OS sets=1
  AuthenticationType            AuthenticationType            O sets=1,2,4
  BookmarkDisplayName           String                        OS sets=2
  Capabilities                  MultiValuedProperty           O sets=1,2,4
  Credential                    PSCredential                  S
  Database                      DatabaseIdParameter           S sets=1,3
  DomainController              Fqdn                          S
  Filter                        String                        OS
  IgnoreDefaultScope            SwitchParameter               S
  IncludeBookmarkObject         Boolean                       OS sets=2
  IncludeManagerWithDisplayName SwitchParameter               O sets=1,2,4
  IncludeSoftDeletedRecipients  SwitchParameter               OS
  OrganizationalUnit            OrganizationalUnitIdParameter OS
  Properties                    String[]                      OS
  PropertySet                   PropertySet                   OS
  ReadFromDomainController      SwitchParameter               S
  RecipientPreviewFilter        String                        OS sets=4
  RecipientType                 RecipientType[]               OS
  RecipientTypeDetails          RecipientTypeDetails[]        OS
  ResultSize                    Unlimited                     OS
  SortBy                        String                        OS
Get-MailboxFolderPermission OS
  Identity         MailboxFolderIdParameter     OS required=* pos=1
  DomainController Fqdn                         S
  GroupMailbox     SwitchParameter              OS
  ResultSize       Unlimited                    O
  SkipCount        Int32                        O
  UseCustomRouting SwitchParameter              O
  User             MailboxFolderUserIdParameter OS
Add-MailboxFolderPermission OS
  Identity               MailboxFolderIdParameter     OS required=* pos=1
  AccessRights           MailboxFolderAccessRight[]   OS required=*
  User                   MailboxFolderUserIdParameter OS required=*
  Confirm                SwitchParameter              OS aliases=cf
  DomainController       Fqdn                         S
  SendNotificationToUser Boolean                      O
  SharingPermissionFlags MailboxFolderPermissionFlags O
  WhatIf                 SwitchParameter              OS aliases=wi
Set-MailboxFolderPermission OS
  Identity               MailboxFolderIdParameter     OS required=* pos=1
  AccessRights           MailboxFolderAccessRight[]   OS required=*
  User                   MailboxFolderUserIdParameter OS required=*
  Confirm                SwitchParameter              OS aliases=cf
  DomainController       Fqdn                         S
  SendNotificationToUser Boolean                      O
  SharingPermissionFlags MailboxFolderPermissionFlags O
  WhatIf                 SwitchParameter              OS aliases=wi
Remove-MailboxFolderPermission OS 1=Default 2=Identity 3=ResetDelegateUserCollection
  Identity                    MailboxFolderIdParameter     OS required=* pos=1
  User                        MailboxFolderUserIdParameter OS sets=1,2 required=*
  Confirm                     SwitchParameter              OS aliases=cf
  DomainController            Fqdn                         S sets=1
  Force                       SwitchParameter              O sets=2,3
  ResetDelegateUserCollection SwitchParameter              OS sets=3
  SendNotificationToUser      Boolean                      O sets=2,3
  WhatIf                      SwitchParameter              OS aliases=wi
Get-DistributionGroup OS 1=AnrSet 2=Identity 3=ManagedBySet
  Identity                                                      DistributionGroupIdParameter  OS sets=2 pos=1
  Anr                                                           String                        OS sets=1
  Credential                                                    PSCredential                  OS
  DomainController                                              Fqdn                          S
  Filter                                                        String                        OS
  IgnoreDefaultScope                                            SwitchParameter               S
  IncludeAcceptMessagesOnlyFromDLMembersWithDisplayNames        SwitchParameter               O
  IncludeAcceptMessagesOnlyFromSendersOrMembersWithDisplayNames SwitchParameter               O
  IncludeAcceptMessagesOnlyFromWithDisplayNames                 SwitchParameter               O
  IncludeBypassModerationFromSendersOrMembersWithDisplayNames   SwitchParameter               O
  IncludeGrantSendOnBehalfToWithDisplayNames                    SwitchParameter               O
  IncludeManagedByWithDisplayNames                              SwitchParameter               O
  IncludeModeratedByWithDisplayNames                            SwitchParameter               O
  ManagedBy                                                     GeneralRecipientIdParameter   OS sets=3
  OrganizationalUnit                                            OrganizationalUnitIdParameter OS
  ReadFromDomainController                                      SwitchParameter               S
  RecipientTypeDetails                                          RecipientTypeDetails[]        OS
  ResultSize                                                    Unlimited                     OS
  SortBy                                                        String                        OS
New-DistributionGroup OS
  Name                               String                               OS required=* pos=1
  Alias                              String                               OS
  ArbitrationMailbox                 MailboxIdParameter                   S
  BccBlocked                         Boolean                              O
  BypassNestedModerationEnabled      Boolean                              OS
  Confirm                            SwitchParameter                      OS aliases=cf
  CopyOwnerToMember                  SwitchParameter                      OS
  Description                        MultiValuedProperty                  O
  DisplayName                        String                               OS
  DomainController                   Fqdn                                 S
  HiddenGroupMembershipEnabled       SwitchParameter                      O
  IgnoreNamingPolicy                 SwitchParameter                      OS
  ManagedBy                          MultiValuedProperty                  OS
  MemberDepartRestriction            MemberUpdateType                     OS
  MemberJoinRestriction              MemberUpdateType                     OS
  Members                            MultiValuedProperty                  OS
  ModeratedBy                        MultiValuedProperty                  OS
  ModerationEnabled                  Boolean                              OS
  Notes                              String                               OS
  OrganizationalUnit                 OrganizationalUnitIdParameter        OS
  PrimarySmtpAddress                 SmtpAddress                          OS
  RequireSenderAuthenticationEnabled Boolean                              OS
  RoomList                           SwitchParameter                      OS
  SamAccountName                     String                               S
  SendModerationNotifications        TransportModerationNotificationFlags OS
  Type                               GroupType                            OS
  WhatIf                             SwitchParameter                      OS aliases=wi
Set-DistributionGroup OS
  Identity                               DistributionGroupIdParameter         OS required=* pos=1
  AcceptMessagesOnlyFrom                 MultiValuedProperty                  OS
  AcceptMessagesOnlyFromDLMembers        MultiValuedProperty                  OS
  AcceptMessagesOnlyFromSendersOrMembers MultiValuedProperty                  OS
  Alias                                  String                               OS
  ArbitrationMailbox                     MailboxIdParameter                   S
  BccBlocked                             Boolean                              O
  BypassModerationFromSendersOrMembers   MultiValuedProperty                  OS
  BypassNestedModerationEnabled          Boolean                              OS
  BypassSecurityGroupManagerCheck        SwitchParameter                      OS
  Confirm                                SwitchParameter                      OS aliases=cf
  CreateDTMFMap                          Boolean                              S
  CustomAttribute1                       String                               OS
  CustomAttribute10                      String                               OS
  CustomAttribute11                      String                               OS
  CustomAttribute12                      String                               OS
  CustomAttribute13                      String                               OS
  CustomAttribute14                      String                               OS
  CustomAttribute15                      String                               OS
  CustomAttribute2                       String                               OS
  CustomAttribute3                       String                               OS
  CustomAttribute4                       String                               OS
  CustomAttribute5                       String                               OS
  CustomAttribute6                       String                               OS
  CustomAttribute7                       String                               OS
  CustomAttribute8                       String                               OS
  CustomAttribute9                       String                               OS
  Description                            MultiValuedProperty                  O
  DisplayName                            String                               OS
  DomainController                       Fqdn                                 S
  EmailAddresses                         ProxyAddressCollection               OS
  EmailAddressPolicyEnabled              Boolean                              S
  ExpansionServer                        String                               S
  ExtensionCustomAttribute1              MultiValuedProperty                  OS
  ExtensionCustomAttribute2              MultiValuedProperty                  OS
  ExtensionCustomAttribute3              MultiValuedProperty                  OS
  ExtensionCustomAttribute4              MultiValuedProperty                  OS
  ExtensionCustomAttribute5              MultiValuedProperty                  OS
  ForceUpgrade                           SwitchParameter                      OS
  GrantSendOnBehalfTo                    MultiValuedProperty                  OS
  HiddenFromAddressListsEnabled          Boolean                              OS
  HiddenGroupMembershipEnabled           SwitchParameter                      O
  IgnoreDefaultScope                     SwitchParameter                      S
  IgnoreNamingPolicy                     SwitchParameter                      OS
  MailTip                                String                               OS
  MailTipTranslations                    MultiValuedProperty                  OS
  ManagedBy                              MultiValuedProperty                  OS
  MaxReceiveSize                         Unlimited                            S
  MaxSendSize                            Unlimited                            S
  MemberDepartRestriction                MemberUpdateType                     OS
  MemberJoinRestriction                  MemberUpdateType                     OS
  ModeratedBy                            MultiValuedProperty                  OS
  ModerationEnabled                      Boolean                              OS
  Name                                   String                               OS
  PrimarySmtpAddress                     SmtpAddress                          OS
  RejectMessagesFrom                     MultiValuedProperty                  OS
  RejectMessagesFromDLMembers            MultiValuedProperty                  OS
  RejectMessagesFromSendersOrMembers     MultiValuedProperty                  OS
  ReportToManagerEnabled                 Boolean                              OS
  ReportToOriginatorEnabled              Boolean                              OS
  RequireSenderAuthenticationEnabled     Boolean                              OS
  ResetMigrationToUnifiedGroup           SwitchParameter                      O
  RoomList                               SwitchParameter                      OS
  SamAccountName                         String                               S
  SendModerationNotifications            TransportModerationNotificationFlags OS
  SendOofMessageToOriginatorEnabled      Boolean                              OS
  SimpleDisplayName                      String                               OS
  UMDtmfMap                              MultiValuedProperty                  S
  UpdateMemberCount                      SwitchParameter                      O
  WhatIf                                 SwitchParameter                      OS aliases=wi
  WindowsEmailAddress                    SmtpAddress                          OS
Remove-DistributionGroup OS
  Identity                        DistributionGroupIdParameter OS required=* pos=1
  BypassSecurityGroupManagerCheck SwitchParameter              OS
  Confirm                         SwitchParameter              OS aliases=cf
  DomainController                Fqdn                         S
  IgnoreDefaultScope              SwitchParameter              S
  WhatIf                          SwitchParameter              OS aliases=wi
Get-DistributionGroupMember OS
  Identity                  DistributionGroupMemberIdParameter OS required=* pos=1
  Credential                PSCredential                       OS
  DomainController          Fqdn                               S
  IgnoreDefaultScope        SwitchParameter                    S
  IncludeSoftDeletedObjects SwitchParameter                    O
  ReadFromDomainController  SwitchParameter                    S
  ResultSize                Unlimited                          OS
Add-DistributionGroupMember OS
  Identity                        DistributionGroupIdParameter        OS required=* pos=1
  BypassSecurityGroupManagerCheck SwitchParameter                     OS
  Confirm                         SwitchParameter                     OS aliases=cf
  DomainController                Fqdn                                S
  Member                          RecipientWithAdUserGroupIdParameter OS
  WhatIf                          SwitchParameter                     OS aliases=wi
Remove-DistributionGroupMember OS
  Identity                        DistributionGroupIdParameter OS required=* pos=1
  BypassSecurityGroupManagerCheck SwitchParameter              OS
  Confirm                         SwitchParameter              OS aliases=cf
  DomainController                Fqdn                         S
  Member                          GeneralRecipientIdParameter  OS
  WhatIf                          SwitchParameter              OS aliases=wi
Get-CalendarProcessing OS
  Identity                 MailboxIdParameter OS required=* pos=1
  DomainController         Fqdn               S
  ReadFromDomainController SwitchParameter    S
  ResultSize               Unlimited          OS
Set-CalendarProcessing OS
  Identity                             MailboxIdParameter      OS required=* pos=1
  AddAdditionalResponse                Boolean                 OS
  AdditionalResponse                   String                  OS
  AddNewRequestsTentatively            Boolean                 OS
  AddOrganizerToSubject                Boolean                 OS
  AllBookInPolicy                      Boolean                 OS
  AllowConflicts                       Boolean                 OS
  AllowRecurringMeetings               Boolean                 OS
  AllRequestInPolicy                   Boolean                 OS
  AllRequestOutOfPolicy                Boolean                 OS
  AutomateProcessing                   CalendarProcessingFlags OS
  BookingType                          ResourceBookingType     O
  BookingWindowInDays                  Int32                   OS
  BookInPolicy                         RecipientIdParameter[]  OS
  Confirm                              SwitchParameter         OS aliases=cf
  ConflictPercentageAllowed            Int32                   OS
  DeleteAttachments                    Boolean                 OS
  DeleteComments                       Boolean                 OS
  DeleteNonCalendarItems               Boolean                 OS
  DeleteSubject                        Boolean                 OS
  DomainController                     Fqdn                    S
  EnableAutoRelease                    Boolean                 O
  EnableResponseDetails                Boolean                 OS
  EnforceCapacity                      Boolean                 O
  EnforceSchedulingHorizon             Boolean                 OS
  ForwardRequestsToDelegates           Boolean                 OS
  IgnoreDefaultScope                   SwitchParameter         OS
  MaximumConflictInstances             Int32                   OS
  MaximumDurationInMinutes             Int32                   OS
  MinimumDurationInMinutes             Int32                   O
  OrganizerInfo                        Boolean                 OS
  PostReservationMaxClaimTimeInMinutes Int32                   O
  ProcessExternalMeetingMessages       Boolean                 OS
  RemoveCanceledMeetings               Boolean                 O
  RemoveForwardedMeetingNotifications  Boolean                 OS
  RemoveOldMeetingMessages             Boolean                 OS
  RemovePrivateProperty                Boolean                 OS
  RequestInPolicy                      RecipientIdParameter[]  OS
  RequestOutOfPolicy                   RecipientIdParameter[]  OS
  ResourceDelegates                    RecipientIdParameter[]  OS
  ScheduleOnlyDuringWorkHours          Boolean                 OS
  TentativePendingApproval             Boolean                 OS
  WhatIf                               SwitchParameter         OS aliases=wi
Get-Place O 1=Identity 2=AllPlaces
  Identity               RecipientIdParameter O sets=1 pos=1
  Confirm                SwitchParameter      O aliases=cf
  ResultSize             Unlimited            O
  Type                   GetPlaceType         O sets=2
  WhatIf                 SwitchParameter      O aliases=wi
Set-Place O
  Identity               RecipientIdParameter O required=* pos=1
  AudioDeviceName        String               O
  Building               String               O
  Capacity               System.Int32         O
  City                   String               O
  Confirm                SwitchParameter      O aliases=cf
  CountryOrRegion        CountryInfo          O
  DisplayDeviceName      String               O
  Floor                  System.Int32         O
  FloorLabel             String               O
  GeoCoordinates         GeoCoordinates       O
  IsWheelChairAccessible Boolean              O
  Label                  String               O
  MTREnabled             Boolean              O
  ParentId               String               O
  Phone                  String               O
  PostalCode             String               O
  State                  String               O
  Street                 String               O
  Tags                   String[]             O
  VideoDeviceName        String               O
  WhatIf                 SwitchParameter      O aliases=wi
Get-AcceptedDomain OS
  Identity         AcceptedDomainIdParameter OS pos=1
  DomainController Fqdn                      S
  ResultSize       Unlimited                 O
Get-ManagementScope OS
  Identity         ManagementScopeIdParameter OS pos=1
  DomainController Fqdn                       S
  Exclusive        Boolean                    OS
  Orphan           SwitchParameter            OS
New-ManagementScope OS 1=DatabaseList 2=DatabaseFilter 3=RecipientFilter 4=ServerList 5=ServerFilter
  Name                       String                        OS required=* pos=1
  DatabaseList               DatabaseIdParameter[]         S sets=1 required=*
  DatabaseRestrictionFilter  String                        S sets=2 required=*
  RecipientRestrictionFilter String                        OS sets=3 required=*
  ServerList                 ServerIdParameter[]           S sets=4 required=*
  ServerRestrictionFilter    String                        S sets=5 required=*
  Confirm                    SwitchParameter               OS aliases=cf
  DomainController           Fqdn                          S
  Exclusive                  SwitchParameter               OS
  Force                      SwitchParameter               OS
  RecipientRoot              OrganizationalUnitIdParameter OS sets=3
  WhatIf                     SwitchParameter               OS aliases=wi
Set-ManagementScope OS 1=DatabaseFilter 2=ServerFilter 3=RecipientFilter
  Identity                   ManagementScopeIdParameter    OS required=* pos=1
  DatabaseRestrictionFilter  String                        S sets=1 required=*
  ServerRestrictionFilter    String                        S sets=2 required=*
  Confirm                    SwitchParameter               OS aliases=cf
  DomainController           Fqdn                          S
  Force                      SwitchParameter               O
  Name                       String                        OS
  RecipientRestrictionFilter String                        OS sets=3
  RecipientRoot              OrganizationalUnitIdParameter OS sets=3
  WhatIf                     SwitchParameter               OS aliases=wi
Remove-ManagementScope OS
  Identity         ManagementScopeIdParameter OS required=* pos=1
  Confirm          SwitchParameter            OS aliases=cf
  DomainController Fqdn                       S
  Force            SwitchParameter            O
  WhatIf           SwitchParameter            OS aliases=wi
Get-ManagementRoleAssignment OS 1=Identity 2=RoleAssignee
  Identity                         RoleAssignmentIdParameter     OS sets=1 pos=1
  AssignmentMethod                 AssignmentMethod[]            OS sets=2
  ConfigWriteScope                 ConfigWriteScopeType          OS
  CustomConfigWriteScope           ManagementScopeIdParameter    S
  CustomRecipientWriteScope        ManagementScopeIdParameter    OS
  Delegating                       Boolean                       OS
  DomainController                 Fqdn                          S
  Enabled                          Boolean                       OS
  Exclusive                        Boolean                       OS
  ExclusiveConfigWriteScope        ManagementScopeIdParameter    S
  ExclusiveRecipientWriteScope     ManagementScopeIdParameter    OS
  GetEffectiveUsers                SwitchParameter               OS
  RecipientAdministrativeUnitScope AdministrativeUnitIdParameter OS
  RecipientGroupScope              GroupIdParameter              O
  RecipientOrganizationalUnitScope OrganizationalUnitIdParameter OS
  RecipientWriteScope              RecipientWriteScopeType       OS
  Role                             RoleIdParameter               OS sets=2
  RoleAssignee                     RoleAssigneeIdParameter       OS sets=2
  RoleAssigneeType                 RoleAssigneeType              OS
  WritableDatabase                 DatabaseIdParameter           S
  WritableRecipient                GeneralRecipientIdParameter   OS
  WritableServer                   ServerIdParameter             S
New-ManagementRoleAssignment OS 1=App 2=Computer 3=Policy 4=SecurityGroup 5=User
  Name                             String                        OS pos=1
  App                              ServicePrincipalIdParameter   O sets=1 required=*
  Computer                         ComputerIdParameter           S sets=2 required=*
  Policy                           MailboxPolicyIdParameter      OS sets=3 required=*
  Role                             RoleIdParameter               OS required=*
  SecurityGroup                    SecurityGroupIdParameter      OS sets=4 required=*
  User                             UserIdParameter               OS sets=5 required=*
  Confirm                          SwitchParameter               OS aliases=cf
  CustomConfigWriteScope           ManagementScopeIdParameter    S sets=2,3,4,5
  CustomRecipientWriteScope        ManagementScopeIdParameter    OS sets=2,3,4,5
  CustomResourceScope              ManagementScopeIdParameter    O sets=1
  Delegating                       SwitchParameter               OS sets=1,4,5
  DomainController                 Fqdn                          S sets=2,3,4,5
  ExclusiveConfigWriteScope        ManagementScopeIdParameter    S sets=2,3,4,5
  ExclusiveRecipientWriteScope     ManagementScopeIdParameter    OS sets=2,3,4,5
  Force                            SwitchParameter               O
  RecipientAdministrativeUnitScope AdministrativeUnitIdParameter OS
  RecipientGroupScope              GroupIdParameter              O
  RecipientOrganizationalUnitScope OrganizationalUnitIdParameter OS sets=2,3,4,5
  RecipientRelativeWriteScope      RecipientWriteScopeType       OS sets=2,3,4,5
  UnScopedTopLevel                 SwitchParameter               S sets=2,3,4,5
  WhatIf                           SwitchParameter               OS aliases=wi
Set-ManagementRoleAssignment OS 1=RelativeRecipientWriteScope 2=CustomRecipientWriteScope
    3=RecipientOrganizationalUnitScope 4=ExclusiveScope 5=RecipientAdministrativeUnitScope
    6=App 7=RecipientGroupScope
  Identity                         RoleAssignmentIdParameter     OS required=* pos=1
  RecipientAdministrativeUnitScope AdministrativeUnitIdParameter OS sets=5 required=*
  RecipientGroupScope              GroupIdParameter              O sets=7 required=*
  Confirm                          SwitchParameter               OS aliases=cf
  CustomConfigWriteScope           ManagementScopeIdParameter    S sets=1,2,3
  CustomRecipientWriteScope        ManagementScopeIdParameter    OS sets=2
  CustomResourceScope              ManagementScopeIdParameter    O sets=6
  DomainController                 Fqdn                          S sets=1,2,3,4,5
  Enabled                          Boolean                       OS
  ExclusiveConfigWriteScope        ManagementScopeIdParameter    S sets=4
  ExclusiveRecipientWriteScope     ManagementScopeIdParameter    OS sets=4
  Force                            SwitchParameter               O
  RecipientOrganizationalUnitScope OrganizationalUnitIdParameter OS sets=3
  RecipientRelativeWriteScope      RecipientWriteScopeType       OS sets=1
  WhatIf                           SwitchParameter               OS aliases=wi
Remove-ManagementRoleAssignment OS
  Identity         RoleAssignmentIdParameter OS required=* pos=1
  Confirm          SwitchParameter           OS aliases=cf
  DomainController Fqdn                      S
  Force            SwitchParameter           O
  WhatIf           SwitchParameter           OS aliases=wi
Get-ServicePrincipal O
  Identity     ServicePrincipalIdParameter O pos=0
  Organization OrganizationIdParameter     O
New-ServicePrincipal O
  AppId        String                  O required=*
  # ObjectId and ServiceId are both marked Required, though ServiceId "is being deprecated. Use the ObjectId
  # parameter instead": one of the two is needed (the handler checks).
  ObjectId     String                  O
  ServiceId    String                  O
  Confirm      SwitchParameter         O aliases=cf
  DisplayName  String                  O
  Organization OrganizationIdParameter -
  WhatIf       SwitchParameter         O aliases=wi
Set-ServicePrincipal O
  Identity                             ServicePrincipalIdParameter O required=*
  Confirm                              SwitchParameter             O aliases=cf
  DisplayName                          String                      O
  OverrideEnforceExoAppRbacPermissions Boolean                     O
  WhatIf                               SwitchParameter             O aliases=wi
Remove-ServicePrincipal O
  Identity ServicePrincipalIdParameter O required=* pos=0
  Confirm  SwitchParameter             O aliases=cf
  WhatIf   SwitchParameter             O aliases=wi
Get-ApplicationAccessPolicy O
  Identity ApplicationAccessPolicyIdParameter O pos=1
New-ApplicationAccessPolicy O
  AccessRight        ApplicationAccessPolicyIdParameter O required=*
  AppId              String[]                           O required=*
  PolicyScopeGroupId RecipientIdParameter               O required=*
  Confirm            SwitchParameter                    O aliases=cf
  Description        String                             O
  WhatIf             SwitchParameter                    O aliases=wi
Set-ApplicationAccessPolicy O
  Identity    ApplicationAccessPolicyIdParameter O required=* pos=1
  Description String                             O
  Confirm     SwitchParameter                    O aliases=cf
  WhatIf      SwitchParameter                    O aliases=wi
Remove-ApplicationAccessPolicy O
  Identity ApplicationAccessPolicyIdParameter O required=* pos=1
  Confirm  SwitchParameter                    O aliases=cf
  WhatIf   SwitchParameter                    O aliases=wi
Test-ApplicationAccessPolicy O
  Identity RecipientIdParameter O required=* pos=1
  AppId    String               O required=*
Test-ServicePrincipalAuthorization O
  Identity ServicePrincipalIdParameter O required=* pos=0
  Confirm  SwitchParameter             O aliases=cf
  Resource UserIdParameter             O
  WhatIf   SwitchParameter             O aliases=wi
Set-CASMailbox OS
  Identity                                MailboxIdParameter       OS required=* pos=1
  ActiveSyncAllowedDeviceIDs              MultiValuedProperty      OS
  ActiveSyncBlockedDeviceIDs              MultiValuedProperty      OS
  ActiveSyncDebugLogging                  Boolean                  OS
  ActiveSyncEnabled                       Boolean                  OS
  ActiveSyncMailboxPolicy                 MailboxPolicyIdParameter OS
  ActiveSyncSuppressReadReceipt           Boolean                  OS
  Confirm                                 SwitchParameter          OS aliases=cf
  DisplayName                             String                   S
  DomainController                        Fqdn                     S
  ECPEnabled                              Boolean                  S
  EmailAddresses                          ProxyAddressCollection   S
  EwsAllowEntourage                       Boolean                  OS
  EwsAllowList                            MultiValuedProperty      OS
  EwsAllowMacOutlook                      Boolean                  OS
  EwsAllowOutlook                         Boolean                  OS
  EwsApplicationAccessPolicy              EwsApplicationAccessPolicy OS
  EwsBlockList                            MultiValuedProperty      OS
  EwsEnabled                              Boolean                  OS
  HasActiveSyncDevicePartnership          Boolean                  S
  IgnoreDefaultScope                      SwitchParameter          S
  ImapEnabled                             Boolean                  OS
  ImapEnableExactRFC822Size               Boolean                  S
  ImapForceICalForCalendarRetrievalOption Boolean                  OS
  ImapMessagesRetrievalMimeFormat         MimeTextFormat           OS
  ImapSuppressReadReceipt                 Boolean                  OS
  ImapUseProtocolDefaults                 Boolean                  OS
  IsOptimizedForAccessibility             Boolean                  OS
  MacOutlookEnabled                       Boolean                  O
  MAPIBlockOutlookNonCachedMode           Boolean                  S
  MAPIBlockOutlookExternalConnectivity    Boolean                  S
  MAPIBlockOutlookRpcHttp                 Boolean                  S
  MAPIBlockOutlookVersions                String                   S
  MAPIEnabled                             Boolean                  OS
  MapiHttpEnabled                         Boolean                  S
  Name                                    String                   S
  OneWinNativeOutlookEnabled              Boolean                  O
  OutlookMobileEnabled                    Boolean                  O
  OWAEnabled                              Boolean                  OS
  OWAforDevicesEnabled                    Boolean                  OS
  OwaMailboxPolicy                        MailboxPolicyIdParameter OS
  PopEnabled                              Boolean                  OS
  PopEnableExactRFC822Size                Boolean                  S
  PopForceICalForCalendarRetrievalOption  Boolean                  OS
  PopMessagesRetrievalMimeFormat          MimeTextFormat           OS
  PopSuppressReadReceipt                  Boolean                  OS
  PopUseProtocolDefaults                  Boolean                  OS
  PrimarySmtpAddress                      SmtpAddress              S
  # the page's YAML names two sets of Set-OrganizationConfig here; its SYNTAX has one set, which holds it
  PublicFolderClientAccess                Boolean                  OS
  ResetAutoBlockedDevices                 SwitchParameter          S
  SamAccountName                          String                   S
  ShowGalAsDefaultView                    Boolean                  OS
  SmtpClientAuthenticationDisabled        Boolean                  O
  UniversalOutlookEnabled                 Boolean                  O
  WhatIf                                  SwitchParameter          OS aliases=wi
Get-OrganizationConfig OS
  DomainController Fqdn S
  # documented on the Set-OrganizationConfig page (EwsAllowedAppIDs), not on this one:
  RetrieveEwsOperationAccessPolicy SwitchParameter O
Set-OrganizationConfig OS 1=ShortenEventScopeParameter 2=AdfsAuthenticationParameter
    3=AdfsAuthenticationRawConfiguration 4=DelayedDelicensingParameterSet 5=Identity
  ShortenEventScopeDefault                                  ShortenEventScopeMode                    O sets=1 required=*
  ACLableSyncedObjectEnabled                                Boolean                                  S sets=2,3
  ActionableMessagesExtenalAccessTokenEnabled               Boolean                                  O sets=1,4
  ActivityBasedAuthenticationTimeoutEnabled                 Boolean                                  OS
  ActivityBasedAuthenticationTimeoutInterval                EnhancedTimeSpan                         OS
  ActivityBasedAuthenticationTimeoutWithSingleSignOnEnabled Boolean                                  OS
  AdfsAudienceUris                                          MultiValuedProperty                      S sets=2
  AdfsAuthenticationConfiguration                           String                                   S sets=3
  AdfsEncryptCertificateThumbprint                          String                                   S sets=2
  AdfsIssuer                                                Uri                                      S sets=2
  AdfsSignCertificateThumbprints                            MultiValuedProperty                      S sets=2
  AppsForOfficeEnabled                                      Boolean                                  OS sets=1,2,3,4
  AsyncSendEnabled                                          Boolean                                  OS sets=1,2,3,4
  AuditDisabled                                             Boolean                                  O sets=1,4
  AutoArchivingThresholdPercentage                          Int16                                    O
  AutodiscoverPartialDirSync                                Boolean                                  O sets=1,4
  AutoEnableArchiveMailbox                                  Boolean                                  O sets=1,4
  AutoExpandingArchive                                      SwitchParameter                          O sets=1,4
  AutomaticForcedReadReceiptEnabled                         Boolean                                  O sets=1,4
  BlockMoveMessagesForGroupFolders                          Boolean                                  O sets=1,4
  BookingsAddressEntryRestricted                            Boolean                                  O sets=1,4
  BookingsAuthEnabled                                       Boolean                                  O sets=1,4
  BookingsBlockedWordsEnabled                               Boolean                                  O sets=1,4
  BookingsCreationOfCustomQuestionsRestricted               Boolean                                  O sets=1,4
  BookingsEnabled                                           Boolean                                  O sets=1,4
  BookingsExposureOfStaffDetailsRestricted                  Boolean                                  O sets=1,4
  BookingsMembershipApprovalRequired                        Boolean                                  O sets=1,4
  BookingsNamingPolicyEnabled                               Boolean                                  O sets=1,4
  BookingsNamingPolicyPrefix                                String                                   O sets=1,4
  BookingsNamingPolicyPrefixEnabled                         Boolean                                  O sets=1,4
  BookingsNamingPolicySuffix                                String                                   O sets=1,4
  BookingsNamingPolicySuffixEnabled                         Boolean                                  O sets=1,4
  BookingsNotesEntryRestricted                              Boolean                                  O sets=1,4
  BookingsPaymentsEnabled                                   Boolean                                  O sets=1,4
  BookingsPhoneNumberEntryRestricted                        Boolean                                  O sets=1,4
  BookingsSearchEngineIndexDisabled                         Boolean                                  O sets=1,4
  BookingsSmsMicrosoftEnabled                               Boolean                                  O sets=1,4
  BookingsSocialSharingRestricted                           Boolean                                  O sets=1,4
  ByteEncoderTypeFor7BitCharsets                            Int32                                    OS
  CalendarVersionStoreEnabled                               Boolean                                  O sets=1,4
  ComplianceMLBgdCrawlEnabled                               Boolean                                  O sets=1,4
  Confirm                                                   SwitchParameter                          OS aliases=cf
  ConnectorsActionableMessagesEnabled                       Boolean                                  OS sets=1,2,3,4
  ConnectorsEnabled                                         Boolean                                  OS sets=1,2,3,4
  ConnectorsEnabledForOutlook                               Boolean                                  O sets=1,4
  ConnectorsEnabledForSharepoint                            Boolean                                  O sets=1,4
  ConnectorsEnabledForTeams                                 Boolean                                  O sets=1,4
  ConnectorsEnabledForYammer                                Boolean                                  O sets=1,4
  CustomerFeedbackEnabled                                   Boolean                                  S sets=2,3,5
  CustomerLockboxEnabled                                    Boolean                                  O sets=1,4
  DataClassifications                                       String                                   S sets=2,3
  DefaultAuthenticationPolicy                               AuthPolicyIdParameter                    OS
  DefaultFolderPermissionRestricted                         Boolean                                  O
  DefaultGroupAccessType                                    ModernGroupObjectType                    O sets=1,4
  DefaultMinutesToReduceLongEventsBy                        Int32                                    O sets=1
  DefaultMinutesToReduceShortEventsBy                       Int32                                    O sets=1
  DefaultPublicFolderAgeLimit                               EnhancedTimeSpan                         OS sets=1,2,3,4
  DefaultPublicFolderDeletedItemRetention                   EnhancedTimeSpan                         OS sets=1,2,3,4
  DefaultPublicFolderIssueWarningQuota                      Unlimited                                OS sets=1,2,3,4
  DefaultPublicFolderMaxItemSize                            Unlimited                                OS sets=1,2,3,4
  DefaultPublicFolderMovedItemRetention                     EnhancedTimeSpan                         OS sets=1,2,3,4
  DefaultPublicFolderProhibitPostQuota                      Unlimited                                OS sets=1,2,3,4
  DelayedDelicensingEnabled                                 Boolean                                  O sets=4
  DirectReportsGroupAutoCreationEnabled                     Boolean                                  O sets=1,4
  DisablePlusAddressInRecipients                            Boolean                                  O sets=1,4
  DistributionGroupDefaultOU                                OrganizationalUnitIdParameter            OS
  DistributionGroupNameBlockedWordsList                     MultiValuedProperty                      OS
  DistributionGroupNamingPolicy                             DistributionGroupNamingPolicy            OS
  DLPViaDcsEnabled                                          Boolean                                  O
  DLPWaitOnSendEnabled                                      Boolean                                  O sets=1,4
  DLPWaitOnSendTimeout                                      Int16                                    O sets=1,4
  DomainController                                          Fqdn                                     S sets=2,3,5
  ElcProcessingDisabled                                     Boolean                                  O sets=1,4
  EmptyAddressBookForNonExchangeUsers                       SwitchParameter                          S sets=2,3
  EnableAuthAdminReadSession                                SwitchParameter                          S sets=2,3
  EnableDownloadDomains                                     Boolean                                  S sets=2,3
  EnableForwardingAddressSyncForMailboxes                   Boolean                                  O sets=1,4
  EnableOrgWidePermissionOnScopedRoles                      SwitchParameter                          S sets=2,3
  EnableOutlookEvents                                       Boolean                                  O sets=1,4
  EndUserDLUpgradeFlowsDisabled                             Boolean                                  O sets=1,4
  EndUserMailNotificationForDelayedDelicensingEnabled       Boolean                                  O sets=4
  EnforceExoAppRbacPermissions                              Boolean                                  O
  EnforceShortenEventSetting                                SwitchParameter                          O sets=1
  EwsAllowEntourage                                         Boolean                                  OS
  EwsAllowList                                              MultiValuedProperty                      OS
  EwsAllowMacOutlook                                        Boolean                                  OS
  EwsAllowOutlook                                           Boolean                                  OS
  EwsAllowedAppIDs                                          String                                   O sets=1,4
  EwsApplicationAccessPolicy                                EwsApplicationAccessPolicy               OS
  EwsBlockList                                              MultiValuedProperty                      OS
  EwsEnabled                                                Boolean                                  OS
  ExchangeAttributesCloudManagedByDefault                   SwitchParameter                          O
  ExchangeAttributesServerManagedByDefault                  SwitchParameter                          O
  ExchangeNotificationEnabled                               Boolean                                  O sets=1,4
  ExchangeNotificationRecipients                            MultiValuedProperty                      O sets=1,4
  FindTimeAttendeeAuthenticationEnabled                     Boolean                                  O sets=1,4
  FindTimeAutoScheduleDisabled                              Boolean                                  O sets=1,4
  FindTimeLockPollForAttendeesEnabled                       Boolean                                  O sets=1,4
  FindTimeOnlineMeetingOptionDisabled                       Boolean                                  O sets=1,4
  FocusedInboxOn                                            Boolean                                  O sets=1,4
  Force                                                     SwitchParameter                          S sets=5
  HierarchicalAddressBookRoot                               UserContactGroupIdParameter              OS
  HybridRSVPEnabled                                         Boolean                                  O sets=1,4
  Industry                                                  IndustryType                             S sets=2,3,5
  InRegionRoutingEnabled                                    Boolean                                  O sets=1,4
  IPListBlocked                                             MultiValuedProperty                      O sets=1,4
  IsAgendaMailEnabled                                       Boolean                                  OS sets=1,2,3,4
  IsExcludedFromOffboardMigration                           Boolean                                  S sets=2,3
  IsExcludedFromOnboardMigration                            Boolean                                  S sets=2,3
  IsFfoMigrationInProgress                                  Boolean                                  S sets=2,3
  IsGroupFoldersAndRulesEnabled                             Boolean                                  O sets=1,4
  IsGroupMemberAllowedToEditContent                         Boolean                                  O sets=1,4
  LeanPopoutEnabled                                         Boolean                                  OS sets=1,2,3,4
  LinkPreviewEnabled                                        Boolean                                  OS sets=1,2,3,4
  MailboxDataEncryptionEnabled                              SwitchParameter                          S sets=2,3
  MailTipsAllTipsEnabled                                    Boolean                                  OS
  MailTipsExternalRecipientsTipsEnabled                     Boolean                                  OS
  MailTipsGroupMetricsEnabled                               Boolean                                  OS
  MailTipsLargeAudienceThreshold                            UInt32                                   OS
  MailTipsMailboxSourcedTipsEnabled                         Boolean                                  OS
  ManagedFolderHomepage                                     String                                   S sets=2,3,5
  MapiHttpEnabled                                           Boolean                                  S sets=2,3
  MaskClientIpInReceivedHeadersEnabled                      Boolean                                  O sets=1,4
  MatchSenderOrganizerProperties                            Boolean                                  O sets=1,4
  MaxConcurrentMigrations                                   Unlimited                                S sets=2,3
  MessageHighlightsEnabled                                  Boolean                                  O sets=1,4
  MessageRecallAlertRecipientsEnabled                       Boolean                                  O sets=1
  MessageRecallAlertRecipientsReadMessagesOnlyEnabled       Boolean                                  O sets=1
  MessageRecallEnabled                                      System.Boolean                           O sets=1,4
  MessageRecallMaxRecallableAge                             Microsoft.Exchange.Data.EnhancedTimeSpan O sets=1
  MessageRemindersEnabled                                   Boolean                                  O sets=1,4
  MicrosoftExchangeRecipientEmailAddresses                  ProxyAddressCollection                   S sets=2,3,5
  MicrosoftExchangeRecipientEmailAddressPolicyEnabled       Boolean                                  S sets=2,3,5
  MicrosoftExchangeRecipientPrimarySmtpAddress              SmtpAddress                              S sets=2,3,5
  MicrosoftExchangeRecipientReplyRecipient                  RecipientIdParameter                     S sets=2,3,5
  MitigationsEnabled                                        Boolean                                  S sets=2,3
  MobileAppEducationEnabled                                 Boolean                                  O sets=1,4
  OabShadowDistributionOldestFileAgeLimit                   EnhancedTimeSpan                         S sets=2,3,5
  OAuth2ClientProfileEnabled                                Boolean                                  OS sets=1,2,3,4
  OnlineMeetingsByDefaultEnabled                            Boolean                                  O sets=1,4
  OrganizationSummary                                       MultiValuedProperty                      S sets=2,3,5
  OutlookGifPickerDisabled                                  Boolean                                  O sets=1,4
  OutlookMobileGCCRestrictionsEnabled                       Boolean                                  O sets=1,4
  OutlookMobileHelpShiftEnabled                             Boolean                                  O sets=1,4
  OutlookMobileSingleAccountEnabled                         Boolean                                  O sets=1,4
  OutlookPayEnabled                                         Boolean                                  O sets=1,4
  OutlookTextPredictionDisabled                             Boolean                                  O sets=1,4
  PermanentlyDeleteDisabled                                 Boolean                                  S sets=5
  PerTenantSwitchToESTSEnabled                              Boolean                                  O sets=1,4
  PostponeRoamingSignaturesUntilLater                       Boolean                                  O sets=1,4
  PreferredInternetCodePageForShiftJis                      Int32                                    OS
  PublicComputersDetectionEnabled                           Boolean                                  OS sets=1,2,3,4
  PublicFolderContentReplicationDisabled                    Boolean                                  S sets=5
  PublicFolderMailboxesLockedForNewConnections              Boolean                                  S sets=2,3
  PublicFolderMailboxesMigrationComplete                    Boolean                                  S sets=2,3
  PublicFolderMigrationComplete                             Boolean                                  S sets=2,3,5
  PublicFoldersEnabled                                      PublicFoldersDeployment                  OS sets=1,2,3,4
  PublicFolderShowClientControl                             Boolean                                  OS sets=1,2,3,4
  PublicFoldersLockedForMigration                           Boolean                                  S sets=2,3,5
  ReadTrackingEnabled                                       Boolean                                  OS
  RecallReadMessagesEnabled                                 System.Boolean                           O sets=1,4
  RefreshSessionEnabled                                     Boolean                                  OS sets=1,2,3,4
  RejectDirectSend                                          Boolean                                  O sets=1
  RecipientDelimiters                                       Boolean                                  O
  RemotePublicFolderMailboxes                               MultiValuedProperty                      OS sets=1,2,3,4
  RequiredCharsetCoverage                                   Int32                                    OS
  SCLJunkThreshold                                          Int32                                    S sets=2,3,5
  SendFromAliasEnabled                                      Boolean                                  O sets=1,4
  SharedDomainEmailAddressFlowEnabled                       Boolean                                  O sets=1,4
  SiteMailboxCreationURL                                    Uri                                      OS sets=1,2,3,4
  SmtpActionableMessagesEnabled                             Boolean                                  OS sets=1,2,3,4
  TenantAdminNotificationForDelayedDelicensingEnabled       Boolean                                  O sets=4
  TwoClickMailPreviewEnabled                                Boolean                                  O sets=1,4
  UMAvailableLanguages                                      MultiValuedProperty                      S sets=2,3
  UnblockUnsafeSenderPromptEnabled                          Boolean                                  OS sets=1,2,3,4
  UseIcsSyncStateStreaming                                  SwitchParameter                          S sets=2,3
  VisibleMeetingUpdateProperties                            String                                   O sets=1,4
  WACDiscoveryEndpoint                                      String                                   S sets=2,3
  WebPushNotificationsDisabled                              Boolean                                  O sets=1,4
  WebSuggestedRepliesDisabled                               Boolean                                  O sets=1,4
  WhatIf                                                    SwitchParameter                          OS aliases=wi
  WorkspaceTenantEnabled                                    Boolean                                  O sets=1,4
New-RoleGroup OS 1=CrossForest 2=Default
  Name                             String                            OS required=* pos=1
  LinkedDomainController           String                            S sets=1 required=*
  LinkedForeignGroup               UniversalSecurityGroupIdParameter S sets=1 required=*
  Confirm                          SwitchParameter                   OS aliases=cf
  CustomConfigWriteScope           ManagementScopeIdParameter        S
  CustomRecipientWriteScope        ManagementScopeIdParameter        OS
  Description                      String                            OS
  DisplayName                      String                            OS
  DomainController                 Fqdn                              S
  Force                            SwitchParameter                   O
  Id                               Guid                              - sets=2
  LinkedCredential                 PSCredential                      S sets=1
  ManagedBy                        MultiValuedProperty               OS
  Members                          MultiValuedProperty               OS
  RecipientOrganizationalUnitScope OrganizationalUnitIdParameter     S
  Roles                            RoleIdParameter[]                 OS
  SamAccountName                   String                            S
  WellKnownObject                  String                            O
  WhatIf                           SwitchParameter                   OS aliases=wi
"""

PAGES: dict[str, Page] = _parse(_TABLE)
