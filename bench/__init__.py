"""`make bench`: plan time, requests and peak memory on simulated tenants of 100, 1,000 and 10,000 rooms."""

# The bench's spec: the free/busy preset over the scope group of the tenant `sim serve` serves (`{tenant_id}`,
# `{url}`); the service account's password from BENCH_SVC_PASSWORD. Shared by the bench's parts and the tests.
SPEC: str = """\
version: 1
tenant:
  id: {tenant_id}
  domain: contoso.onmicrosoft.com
  simulator: {url}
target: exchange_online
service_account:
  user_principal_name: cronofy-svc@contoso.onmicrosoft.com
  display_name: Cronofy Service Account
  password: ${{env:BENCH_SVC_PASSWORD}}
  usage_location: US
  licenses: [EXCHANGESTANDARD]
integration:
  app_id: 10bb7e5b-b80b-4e6e-a209-f78581dbc79e
access:
  level: free_busy
  scope_group: cronofy-scope@contoso.com
  mailboxes:
    group: cronofy-scope@contoso.com
"""
