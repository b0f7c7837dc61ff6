"""Resource kinds: one module per kind, each a `ResourceKind` (see base.py), listed here in dependency order.

Adding a kind is one module plus one line in KINDS.
"""

from reconciler.resources.base import Context, Desired, Observed, ResourceKind
from reconciler.resources.license_assignment import LicenseAssignmentKind
from reconciler.resources.user import UserKind

KINDS: dict[str, ResourceKind] = {kind.kind: kind for kind in (UserKind(), LicenseAssignmentKind())}

__all__ = ["KINDS", "Context", "Desired", "Observed", "ResourceKind"]
