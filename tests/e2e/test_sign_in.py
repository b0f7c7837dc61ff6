"""A sign-in or network failure is an error naming the host and the cause: exit 1, no raw library log line,
never "internal error" (here the spec's own login host is a closed port on this machine)."""

from __future__ import annotations

from tests.conftest import Workspace

SPEC = """\
version: 1
tenant:
  id: 6972eeb0-1bf6-5393-8f32-08076f624a10
  domain: contoso.onmicrosoft.com
  endpoints: {login: "https://127.0.0.1:9", graph: "https://127.0.0.1:9", exchange: "https://127.0.0.1:9"}
  auth:
    method: client_secret
    client_id: 6972eeb0-1bf6-5393-8f32-08076f624a11
    client_secret: ${env:RC_TEST_SECRET}
service_account:
  user_principal_name: cronofy-svc@contoso.onmicrosoft.com
  display_name: Svc
"""


def test_unreachable_login_host_is_a_plain_error(ws: Workspace) -> None:
    ws.write_spec(text=SPEC)
    result = ws.cli("plan", str(ws.spec), env={"RC_TEST_SECRET": "test-only-secret-value"})
    assert result.exit_code == 1, result.output
    assert "could not sign in" in result.stderr and "127.0.0.1" in result.stderr
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert "get_token" not in result.output  # azure-identity's own log line is not printed
    assert "test-only-secret-value" not in result.output
    assert not ws.state.exists()
