#!/usr/bin/env bash
# The whole story on the embedded simulated tenant: plan, apply, plan again (no changes), a change
# made behind reconciler's back, drift (exit 2, also as Markdown), export, apply to restore, drift clean.
set -euo pipefail
cd "$(dirname "$0")/.."
R=.venv/bin/reconciler
SPEC=specs/example.yaml
TENANT=state/simulated-tenant.json
SVC=cronofy-svc@contoso.onmicrosoft.com
export CRONOFY_SVC_PASSWORD="${CRONOFY_SVC_PASSWORD:-Demo-only-$(date +%s)-Pw!}"

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi  # no escapes when piped
step() { printf '\n%s== %s%s\n$ %s\n' "$BOLD" "$1" "$PLAIN" "$2"; }

rm -f state/specs/example.json state/specs/example.json.backup state/example.json state/example.json.backup
step "A fresh simulated tenant" "reconciler sim init $TENANT"
$R sim init "$TENANT"

step "Validate the spec" "reconciler validate $SPEC"
$R validate "$SPEC"

step "Verify before apply: the integration cannot reach the calendars yet" "reconciler verify $SPEC"
$R verify "$SPEC" || echo "(verify failed, as expected before apply)"

step "Plan: service account (Exchange Online Plan 1: folder permissions need a mailbox), scope, app role assignment, room list, calendar permissions" "reconciler plan $SPEC"
$R plan "$SPEC"

step "The same plan as PowerShell, for a change board (first lines)" "reconciler plan $SPEC --format powershell"
$R plan "$SPEC" --format powershell | sed -n '1,12p;/New-ManagementScope/p;/New-DistributionGroup/p'

step "Apply" "reconciler apply $SPEC --auto-approve"
$R apply "$SPEC" --auto-approve

step "Plan again" "reconciler plan $SPEC --detailed-exitcode"
$R plan "$SPEC" --detailed-exitcode

step "Verify after apply: in scope allowed, outside refused" "reconciler verify $SPEC"
$R verify "$SPEC"

step "Behind reconciler's back: an admin gives the account an extra E3 license and downgrades a calendar permission" \
     "POST /users/$SVC/assignLicense; Set-MailboxFolderPermission alice:\\Calendar AvailabilityOnly"
$R sim request "$TENANT" POST "/v1.0/users/$SVC/assignLicense" \
   --body '{"addLicenses": [{"disabledPlans": [], "skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900"}], "removeLicenses": []}' >/dev/null
$R sim ems "$TENANT" "Set-MailboxFolderPermission -Identity 'alice@contoso.com:\\Calendar' -User $SVC -AccessRights AvailabilityOnly"
echo "(license assigned, permission downgraded)"

step "Drift (exit 2 means drift)" "reconciler drift $SPEC"
set +e
$R drift "$SPEC"
code=$?
set -e
echo "drift exit code: $code"
[ "$code" -eq 2 ] || { echo "expected drift (exit 2)"; exit 1; }

step "The drift as Markdown, for a CI job summary" "reconciler drift $SPEC --format markdown"
$R drift "$SPEC" --format markdown || true

step "The tenant as a spec (export), which plans to no changes" "reconciler export $SPEC --out specs/exported.yaml --force"
$R export "$SPEC" --out specs/exported.yaml --force
$R plan specs/exported.yaml --workspace example --lock=false | tail -3 || true
rm -f specs/exported.yaml

step "Restore the spec: the extra license removed again, the permission set back in place" "reconciler apply $SPEC --auto-approve"
$R apply "$SPEC" --auto-approve

step "Drift again" "reconciler drift $SPEC"
$R drift "$SPEC"

# -- rooms that accept the integration's bookings (examples/rooms.yaml) -----------------------------------------
ROOMS=examples/rooms.yaml
ROOMS_TENANT=state/simulated-rooms.json
rm -f state/rooms.json state/rooms.json.backup
step "Rooms: a fresh tenant whose Board room was made in PowerShell before 2018 (AutoUpdate: it never answers)" \
     "reconciler sim init $ROOMS_TENANT; Set-CalendarProcessing -Identity boardroom@contoso.com -AutomateProcessing AutoUpdate"
$R sim init "$ROOMS_TENANT" >/dev/null
$R sim ems "$ROOMS_TENANT" "Set-CalendarProcessing -Identity boardroom@contoso.com -AutomateProcessing AutoUpdate"

step "Plan: every room of the room list gets Cronofy's free/busy settings (the preset, and why), plus room metadata" \
     "reconciler plan $ROOMS"
$R plan "$ROOMS" | sed -n '/room_booking "boardroom/,/^    }/p;/room "boardroom/,/^    }/p;/^Warning: room_booking/p;/^Plan:/p'

step "The same changes as PowerShell" "reconciler plan $ROOMS --format powershell"
$R plan "$ROOMS" --format powershell | grep -E '^(Set-CalendarProcessing|Set-Place)'

step "Apply" "reconciler apply $ROOMS --auto-approve"
$R apply "$ROOMS" --auto-approve | tail -1

step "The Board room now auto-accepts, external invitations included" \
     "sim ems: Get-CalendarProcessing -Identity boardroom@contoso.com"
$R sim ems "$ROOMS_TENANT" "Get-CalendarProcessing -Identity boardroom@contoso.com" \
   | .venv/bin/python -c 'import json, sys; row = json.loads(sys.stdin.readline())
for key in ("AutomateProcessing", "AllowConflicts", "ProcessExternalMeetingMessages", "BookingWindowInDays"):
    print(f"{key}: {row[key]}")'

step "Plan again" "reconciler plan $ROOMS --detailed-exitcode"
$R plan "$ROOMS" --detailed-exitcode | tail -1
