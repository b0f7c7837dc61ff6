"""What the Get-* cmdlets write: every property the real objects carry, in their order, not a chosen few.

Microsoft's cmdlet pages do not list output properties, so the lists come from real tenants' answers:

* ``MAILBOX``: a Get-Mailbox answer of Exchange Online's InvokeCommand (an HTTP capture of 2024-05-22 published in
  a public PowerShell script), plus the four properties a 2026-08-30 app-only survey of a live tenant also showed
  (GrantSendOnBehalfToWithDisplayNames, ForwardingAddressWithDisplayNames, UniqueUnrestrictedGroupsLimitEnabled,
  UniqueRecipientsCountLimitLevel).
* ``ROLE_ASSIGNMENT``, ``ROLE_GROUP``: that survey's Get-ManagementRoleAssignment and Get-RoleGroup rows (complete).
* ``RECIPIENT``, ``DISTRIBUTION_GROUP``, ``ACCEPTED_DOMAIN``, ``ORGANIZATION``: the survey's rows for Get-Recipient,
  Get-DistributionGroup, Get-AcceptedDomain and Get-OrganizationConfig, which it printed truncated: the printed
  properties, then the directory-object properties every Exchange object ends with (:data:`DIRECTORY`).

A property the simulator does not model is ``null`` (``[]`` when it is a collection), as an unset one is in
Exchange's answers. ``annotate`` adds the JSON type annotations the admin API puts beside collections, Guids and
dates (the 2024 capture: ``"Languages@odata.type": "#Collection(String)"``, ``"Guid@data.type": "System.Guid"``,
``"Guid@odata.type": "#Guid"``, ``"WhenCreated@data.type": "System.DateTime"``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

JsonObject = dict[str, Any]


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# The properties every Exchange directory object ends with (survey: Get-RoleGroup, Get-ManagementRole, ...).
DIRECTORY = (
    "Identity",
    "Id",
    "IsValid",
    "ExchangeVersion",
    "DirectoryObjectVersion",
    "Name",
    "DistinguishedName",
    "ObjectCategory",
    "ObjectClass",
    "WhenChanged",
    "WhenCreated",
    "WhenChangedUTC",
    "WhenCreatedUTC",
    "ExchangeObjectId",
    "OrganizationalUnitRoot",
    "OrganizationId",
    "Guid",
    "OriginatingServer",
    "ObjectState",
)

# The same, in the order configuration objects print them (survey: Get-ManagementRole, Get-AuthServer, ...).
CONFIGURATION = (
    *_names("ExchangeVersion DirectoryObjectVersion Name DistinguishedName Identity ObjectCategory ObjectClass"),
    *_names("WhenChanged WhenCreated WhenChangedUTC WhenCreatedUTC ExchangeObjectId OrganizationalUnitRoot"),
    *_names("OrganizationId Id Guid OriginatingServer IsValid ObjectState"),
)

_CUSTOM = tuple(f"CustomAttribute{i}" for i in (1, 10, 11, 12, 13, 14, 15, 2, 3, 4, 5, 6, 7, 8, 9))
_EXTENSION = tuple(f"ExtensionCustomAttribute{i}" for i in range(1, 6))

MAILBOX = (
    *_names(
        "AcceptMessagesOnlyFromWithDisplayNames AcceptMessagesOnlyFromSendersOrMembersWithDisplayNames "
        "AcceptMessagesOnlyFromDLMembersWithDisplayNames GrantSendOnBehalfToWithDisplayNames "
        "ForwardingAddressWithDisplayNames Database DatabaseGuid MailboxProvisioningConstraint IsMonitoringMailbox "
        "MailboxRegion MailboxRegionLastUpdateTime MailboxRegionSuffix MessageRecallProcessingEnabled "
        "UniqueUnrestrictedGroupsLimitEnabled UniqueRecipientsCountLimitLevel MessageCopyForSentAsEnabled "
        "MessageCopyForSendOnBehalfEnabled MailboxProvisioningPreferences UseDatabaseRetentionDefaults "
        "RetainDeletedItemsUntilBackup DeliverToMailboxAndForward IsExcludedFromServingHierarchy IsHierarchyReady "
        "IsHierarchySyncEnabled IsPublicFolderSystemMailbox HasSnackyAppData LitigationHoldEnabled "
        "SingleItemRecoveryEnabled RetentionHoldEnabled EndDateForRetentionHold StartDateForRetentionHold "
        "RetentionComment RetentionUrl LitigationHoldDate LitigationHoldOwner ElcProcessingDisabled "
        "ComplianceTagHoldApplied WasInactiveMailbox DelayHoldApplied DelayReleaseHoldApplied PitrEnabled "
        "PitrCopyIntervalInSeconds PitrPaused PitrPausedTimestamp PitrOffboardedTimestamp PitrState "
        "InactiveMailboxRetireTime OrphanSoftDeleteTrackingTime LitigationHoldDuration ManagedFolderMailboxPolicy "
        "RetentionPolicy AddressBookPolicy CalendarRepairDisabled ExchangeGuid MailboxContainerGuid UnifiedMailbox "
        "MailboxLocations AggregatedMailboxGuids ExchangeSecurityDescriptor ExchangeUserAccountControl "
        "AdminDisplayVersion MessageTrackingReadStatusEnabled ExternalOofOptions ForwardingAddress "
        "ForwardingSmtpAddress RetainDeletedItemsFor IsMailboxEnabled Languages OfflineAddressBook ProhibitSendQuota "
        "ProhibitSendReceiveQuota RecoverableItemsQuota RecoverableItemsWarningQuota CalendarLoggingQuota "
        "DowngradeHighPriorityMessagesEnabled ProtocolSettings RecipientLimits ImListMigrationCompleted SiloName "
        "IsResource IsLinked IsShared IsRootPublicFolderMailbox LinkedMasterAccount ResetPasswordOnNextLogon "
        "ResourceCapacity ResourceCustom ResourceType RoomMailboxAccountEnabled SamAccountName SCLDeleteThreshold "
        "SCLDeleteEnabled SCLRejectThreshold SCLRejectEnabled SCLQuarantineThreshold SCLQuarantineEnabled "
        "SCLJunkThreshold SCLJunkEnabled AntispamBypassEnabled ServerLegacyDN ServerName UseDatabaseQuotaDefaults "
        "IssueWarningQuota RulesQuota Office UserPrincipalName UMEnabled MaxSafeSenders MaxBlockedSenders NetID "
        "ReconciliationId WindowsLiveID MicrosoftOnlineServicesID ThrottlingPolicy RoleAssignmentPolicy "
        "DefaultPublicFolderMailbox EffectivePublicFolderMailbox SharingPolicy RemoteAccountPolicy MailboxPlan "
        "ArchiveDatabase ArchiveDatabaseGuid ArchiveGuid ArchiveName JournalArchiveAddress ArchiveQuota "
        "ArchiveWarningQuota ArchiveDomain ArchiveStatus ArchiveState AutoExpandingArchiveEnabled "
        "DisabledMailboxLocations RemoteRecipientType DisabledArchiveDatabase DisabledArchiveGuid QueryBaseDN "
        "QueryBaseDNRestrictionEnabled MailboxMoveTargetMDB MailboxMoveSourceMDB MailboxMoveFlags "
        "MailboxMoveRemoteHostName MailboxMoveBatchName MailboxMoveStatus MailboxRelease ArchiveRelease "
        "IsPersonToPersonTextMessagingEnabled IsMachineToPersonTextMessagingEnabled UserSMimeCertificate "
        "UserCertificate CalendarVersionStoreDisabled ImmutableId PersistedCapabilities SKUAssigned AuditEnabled "
        "AuditLogAgeLimit AuditAdmin AuditDelegate AuditOwner DefaultAuditSet WhenMailboxCreated SourceAnchor "
        "UsageLocation IsSoftDeletedByRemove IsSoftDeletedByDisable IsInactiveMailbox IncludeInGarbageCollection "
        "WhenSoftDeleted RecipientSoftDeletedStatus InPlaceHolds GeneratedOfflineAddressBooks AccountDisabled "
        "StsRefreshTokensValidFrom NonCompliantDevices EnforcedTimestamps DataEncryptionPolicy "
        "MessageCopyForSMTPClientSubmissionEnabled RecipientThrottlingThreshold SharedEmailDomainTenant "
        "SharedEmailDomainState SharedWithTargetSmtpAddress SharedEmailDomainStateLastModified "
        "EmailAddressDisplayNames ResourceProvisioningOptions Extensions HasPicture HasSpokenName IsDirSynced "
        "AcceptMessagesOnlyFrom AcceptMessagesOnlyFromDLMembers AcceptMessagesOnlyFromSendersOrMembers "
        "AddressListMembership AdministrativeUnits Alias ArbitrationMailbox BypassModerationFromSendersOrMembers "
        "OrganizationalUnit"
    ),
    *_CUSTOM,
    *_EXTENSION,
    *_names(
        "DisplayName EmailAddresses GrantSendOnBehalfTo ExternalDirectoryObjectId HiddenFromAddressListsEnabled "
        "LastExchangeChangedTime LegacyExchangeDN MaxSendSize MaxReceiveSize ModeratedBy ModerationEnabled "
        "PoliciesIncluded PoliciesExcluded EmailAddressPolicyEnabled PrimarySmtpAddress RecipientType "
        "RecipientTypeDetails RejectMessagesFrom RejectMessagesFromDLMembers RejectMessagesFromSendersOrMembers "
        "RequireSenderAuthenticationEnabled SimpleDisplayName SendModerationNotifications UMDtmfMap "
        "WindowsEmailAddress MailTip MailTipTranslations"
    ),
    *DIRECTORY,
)

RECIPIENT = (
    *_names("Identity Alias ArchiveGuid AuthenticationType City Notes Company CountryOrRegion PostalCode"),
    *(f"CustomAttribute{i}" for i in range(1, 16)),
    *_EXTENSION,
    *_names(
        "Database ArchiveDatabase DatabaseName Department ExternalDirectoryObjectId ManagedFolderMailboxPolicy "
        "EmailAddresses ExpansionServer ExternalEmailAddress DisplayName FirstName PrimarySmtpAddress RecipientType "
        "RecipientTypeDetails"
    ),
    *(name for name in DIRECTORY if name != "Identity"),
)

DISTRIBUTION_GROUP = (
    *_names(
        "GroupType SamAccountName BypassNestedModerationEnabled IsDirSynced ManagedBy MemberJoinRestriction "
        "MemberDepartRestriction MigrationToUnifiedGroupInProgress HiddenGroupMembershipEnabled ExpansionServer "
        "AcceptMessagesOnlyFromWithDisplayNames AcceptMessagesOnlyFromSendersOrMembersWithDisplayNames "
        "ManagedByWithDisplayName AcceptMessagesOnlyFromDLMembersWithDisplayNames "
        "BypassModerationFromSendersOrMembersWithDisplayNames GrantSendOnBehalfToWithDisplayNames "
        "ModeratedByWithDisplayNames RejectMessagesFromSendersOrMembersWithDisplayNames ReportToManagerEnabled "
        "ReportToOriginatorEnabled SendOofMessageToOriginatorEnabled Description BccBlocked AcceptMessagesOnlyFrom"
    ),
    # Set-DistributionGroup's settable properties and the recipient identity properties (not printed by the survey)
    *_names(
        "AcceptMessagesOnlyFromDLMembers AcceptMessagesOnlyFromSendersOrMembers Alias "
        "BypassModerationFromSendersOrMembers DisplayName EmailAddresses GrantSendOnBehalfTo "
        "HiddenFromAddressListsEnabled MailTip MailTipTranslations ModeratedBy ModerationEnabled Notes "
        "PrimarySmtpAddress RecipientType RecipientTypeDetails RejectMessagesFrom RejectMessagesFromDLMembers "
        "RejectMessagesFromSendersOrMembers RequireSenderAuthenticationEnabled SendModerationNotifications "
        "SimpleDisplayName WindowsEmailAddress ExternalDirectoryObjectId"
    ),
    *(f"CustomAttribute{i}" for i in range(1, 16)),
    *_EXTENSION,
    *DIRECTORY,
)

ROLE_ASSIGNMENT = (
    *_names(
        "DataObject User App AssignmentMethod Identity EffectiveUserName AssignmentChain RoleAssigneeType "
        "RoleAssignee Role RoleAssignmentDelegationType CustomRecipientWriteScope CustomResourceScope "
        "CustomConfigWriteScope RecipientReadScope ConfigReadScope RecipientWriteScope ConfigWriteScope Enabled "
        "RoleAssigneeName"
    ),
    *(name for name in DIRECTORY if name != "Identity"),
)

ROLE_GROUP = (
    *_names(
        "ManagedBy RoleAssignments Roles DisplayName ExternalDirectoryObjectId Members SamAccountName Description "
        "RoleGroupType LinkedGroup Capabilities LinkedPartnerGroupId LinkedPartnerOrganizationId WellKnownObject"
    ),
    *DIRECTORY,
)

ACCEPTED_DOMAIN = (
    *_names(
        "DomainName CatchAllRecipientID DomainType MatchSubDomains AddressBookEnabled Default EmailOnly "
        "ExternallyManaged RawAuthenticationType AuthenticationType LiveIdInstanceType PendingRemoval "
        "PendingCompletion FederatedOrganizationLink MailFlowPartner OutboundOnly PendingFederatedAccountNamespace "
        "PendingFederatedDomain IsCoexistenceDomain PerimeterDuplicateDetected IsDefaultFederatedDomain "
        "EnableNego2Authentication CanHaveCloudCache SendingFromDomainDisabled SendingToDomainDisabled "
        "SmtpDaneStatus MailFlowRegion AzureProvisioningRegion MoeraDnsProvisioningMode InitialDomain "
        "AdminDisplayName"
    ),
    *CONFIGURATION,
)

# Get-OrganizationConfig: the survey's first properties, then the EWS settings (Get-OrganizationConfig's page,
# example 3: "Format-List EwsApplicationAccessPolicy,Ews*List"; Set-OrganizationConfig's Ews* parameters).
ORGANIZATION = (
    "OrganizationId",
    "Name",
    "Identity",
    "Guid",
    "ObjectVersion",
    "EwsAllowEntourage",
    "EwsAllowList",
    "EwsAllowMacOutlook",
    "EwsAllowOutlook",
    "EwsApplicationAccessPolicy",
    "EwsBlockList",
    "EwsEnabled",
)

# Properties that are collections (answered as [] when empty) and Guids / dates (type-annotated).
COLLECTIONS = frozenset(
    _names(
        "AcceptMessagesOnlyFromWithDisplayNames AcceptMessagesOnlyFromSendersOrMembersWithDisplayNames "
        "AcceptMessagesOnlyFromDLMembersWithDisplayNames GrantSendOnBehalfToWithDisplayNames "
        "ForwardingAddressWithDisplayNames MailboxProvisioningPreferences MailboxLocations AggregatedMailboxGuids "
        "Languages ProtocolSettings ResourceCustom ArchiveName UserSMimeCertificate UserCertificate "
        "PersistedCapabilities AuditAdmin AuditDelegate AuditOwner DefaultAuditSet InPlaceHolds "
        "GeneratedOfflineAddressBooks NonCompliantDevices EmailAddressDisplayNames ResourceProvisioningOptions "
        "Extensions AcceptMessagesOnlyFrom AcceptMessagesOnlyFromDLMembers AcceptMessagesOnlyFromSendersOrMembers "
        "AddressListMembership AdministrativeUnits BypassModerationFromSendersOrMembers EmailAddresses "
        "GrantSendOnBehalfTo ModeratedBy PoliciesIncluded PoliciesExcluded RejectMessagesFrom "
        "RejectMessagesFromDLMembers RejectMessagesFromSendersOrMembers UMDtmfMap MailTipTranslations ObjectClass "
        "ExtensionCustomAttribute1 ExtensionCustomAttribute2 ExtensionCustomAttribute3 ExtensionCustomAttribute4 "
        "ExtensionCustomAttribute5 ManagedBy ManagedByWithDisplayName ModeratedByWithDisplayNames "
        "BypassModerationFromSendersOrMembersWithDisplayNames RejectMessagesFromSendersOrMembersWithDisplayNames "
        "Description RoleAssignments Roles Members Capabilities AssignmentChain EwsAllowList EwsBlockList"
    )
)
GUIDS = frozenset(
    _names("Guid ExchangeObjectId ExchangeGuid DatabaseGuid ArchiveGuid ArchiveDatabaseGuid DisabledArchiveGuid")
)
DATES = frozenset(_names("WhenChanged WhenCreated WhenChangedUTC WhenCreatedUTC WhenMailboxCreated"))


def now() -> str:
    """A timestamp as Exchange writes WhenCreated (``2022-06-29T17:57:03.0000000+00:00``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000+00:00")


def shape(names: tuple[str, ...], known: JsonObject) -> JsonObject:
    """An object with every property of ``names`` in order: the known values, else null / []."""
    return {name: known.get(name, [] if name in COLLECTIONS else None) for name in names}


def annotate(row: JsonObject) -> JsonObject:
    """The row as the admin API writes it, with type annotations before collections, Guids and dates."""
    out: JsonObject = {}
    for key, value in row.items():
        if isinstance(value, list):
            out[f"{key}@odata.type"] = "#Collection(String)"
        elif key in GUIDS and value is not None:
            out[f"{key}@data.type"] = "System.Guid"
            out[f"{key}@odata.type"] = "#Guid"
        elif key in DATES and value is not None:
            out[f"{key}@data.type"] = "System.DateTime"
        out[key] = value
    return out
