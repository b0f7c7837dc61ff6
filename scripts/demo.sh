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
