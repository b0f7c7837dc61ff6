"""Resource kinds: one module per kind, each a `ResourceKind` (see base.py), listed here in dependency order.

Adding a kind is one module plus one line in KINDS.
"""

from reconciler.resources.application_access_policy import ApplicationAccessPolicyKind
from reconciler.resources.base import Context, Desired, Observed, ResourceKind
from reconciler.resources.calendar_permission import CalendarPermissionKind
from reconciler.resources.entra_consent import EntraConsentKind
from reconciler.resources.ews_access import EwsAccessKind
from reconciler.resources.license_assignment import LicenseAssignmentKind
from reconciler.resources.management_scope import ManagementScopeKind
from reconciler.resources.role_assignment import RoleAssignmentKind
from reconciler.resources.room import RoomKind
from reconciler.resources.room_booking import RoomBookingKind
from reconciler.resources.room_list import RoomListKind
from reconciler.resources.service_principal import ServicePrincipalKind
from reconciler.resources.user import UserKind

KINDS: dict[str, ResourceKind] = {
    kind.kind: kind
    for kind in (
        UserKind(),
        LicenseAssignmentKind(),
        ManagementScopeKind(),
        ServicePrincipalKind(),
        RoleAssignmentKind(),
        ApplicationAccessPolicyKind(),
        EntraConsentKind(),
        RoomListKind(),
        RoomBookingKind(),
        RoomKind(),
        CalendarPermissionKind(),
        EwsAccessKind(),
    )
}

__all__ = ["KINDS", "Context", "Desired", "Observed", "ResourceKind"]
