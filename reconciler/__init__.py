"""reconciler: declare the Microsoft 365 / Exchange configuration a calendar integration needs;
plan, apply, detect drift.

Packages (Terraform's nouns):
  spec/       what was written: the YAML spec, its models and loading
  resources/  one module per resource kind: how to read, create, update, delete it
  clients/    thin adapters over Microsoft Graph (msgraph-sdk), the Exchange admin API and EWS
  engine/     refresh, diff, order, plan, apply, drift
  state/      what was recorded: the state file, its format and its lock
  render/     human, JSON output of plans and drift reports
  simulator/  the loopback test tenant (never imported by the product, only started by the CLI)
"""

__version__ = "0.1.0"
