"""The tenant simulator: a loopback HTTP server that plays a Microsoft 365 tenant.

It speaks Microsoft Graph v1.0's JSON wire format (``/v1.0/...``) so the real msgraph-sdk
client can be pointed at it unchanged. It imports nothing from the rest of ``reconciler``:
it is the tenant, not the tool.

Modules: ``store`` (the tenant file and its journal; ``read_tenant`` is how anything outside a running
simulator reads the tenant as it is now), ``journal`` (change tracking), ``seed`` (``init_tenant``),
``tokens`` (unsigned JWTs),
``server`` (HTTP server + :class:`Simulator`, one or several tenants per process), ``outlook`` (how many requests
of a ``$batch`` Outlook runs at a time, ``--outlook-batch-concurrency``), ``graph`` (auth, faults, routes, ``$batch``),
``graph_users`` (user, licence and SKU handlers), ``graph_calendar`` (calendar, calendarPermissions,
places, servicePrincipals), ``odata`` (query options), ``exchange_model`` (the Exchange organization
shared by every view), ``exchange_admin`` (``/adminapi`` + ``run_cmdlet``/``parse_cmdlet_line``) with
``exchange_cmdlets``/``exchange_rbac``/``exchange_errors``, ``exchange_calendar`` (Get-/Set-CalendarProcessing),
``exchange_places`` (Get-/Set-Place, the metadata ``graph_places`` shows), ``seed_exchange``.
"""

from reconciler.simulator.seed import init_tenant
from reconciler.simulator.server import Simulator
from reconciler.simulator.shell import ShellError, run_shell_line, run_shell_lines
from reconciler.simulator.store import compact_tenant, read_tenant
from reconciler.simulator.tokens import make_token

__all__ = [
    "ShellError",
    "Simulator",
    "compact_tenant",
    "init_tenant",
    "make_token",
    "read_tenant",
    "run_shell_line",
    "run_shell_lines",
]
