"""The twin's pure parts: answer shapes and their comparison, consistent redaction, the request log's operations."""

from __future__ import annotations

import json
from typing import Any

from reconciler.clients.recorder import Read, ews_key, graph_operation
from reconciler.engine.twin import compare, redact, render_markdown, shape
from reconciler.simulator.tally import is_write, operations
from reconciler.simulator.wire import HttpRequest


def read(
    body: Any, *, key: str = "Get-Mailbox {}", page: int = 0, status: int = 200, protocol: str = "exchange"
) -> Read:
    return Read(protocol, "POST", key.split(" ", 1)[0], key, page, status, body)


def test_a_shape_keeps_property_names_and_json_types_not_values() -> None:
    assert shape({"b": 1, "a": ["x", "y"], "c": None, "d": True}) == {
        "a": ["string"],
        "b": "number",
        "c": "null",
        "d": "boolean",
    }
    assert shape([{"a": 1}, {"b": "x"}]) == [{"a": "number", "b": "string"}]  # the union of the elements


def test_the_same_shapes_with_other_values_compare_equal() -> None:
    real = [read({"value": [{"Name": "alice", "Guid": "1"}]})]
    twin = [read({"value": [{"Name": "pseudonym", "Guid": "2"}, {"Name": "b", "Guid": "3"}]})]
    assert compare(real, twin) == []


def test_property_sets_types_status_and_paging_are_each_reported() -> None:
    real = [
        read({"value": [{"Name": "a", "WhenChanged": "2024-01-01"}], "@odata.nextLink": "x"}),
        read({"value": [{"Name": "b", "WhenChanged": "2024-01-01"}]}, page=1),
        read({"error": {"code": "NotFound"}}, key="Get-Recipient {}", status=404),
    ]
    twin = [
        read({"value": [{"Name": "a", "WhenChanged": 20240101, "Extra": 1}]}),
        read({"error": {"code": "x", "message": "y"}}, key="Get-Recipient {}", status=400),
    ]
    found = {(d.key, d.where): (d.real, d.twin) for d in compare(real, twin)}
    assert found[("Get-Mailbox {}", "$.value[] properties")] == ("-", "Extra")
    assert found[("Get-Mailbox {}", "$.value[].WhenChanged type")] == ("string", "number")
    assert found[("Get-Mailbox {}", "(paging) page 2")] == ("answered", "not made")
    assert found[("Get-Recipient {}", "(status)")] == ("HTTP 404", "HTTP 400")
    assert found[("Get-Recipient {}", "$.error properties")] == ("-", "message")
    report = render_markdown(compare(real, twin), "spec.yaml", "twin.json", 3)
    assert report.startswith("# The twin answers differently (5 differences)")
    row = "| `exchange` | `Get-Mailbox` | `Get-Mailbox {}` | `$.value[].WhenChanged type` | `string` | `number` |"
    assert row in report


def test_ews_answers_compare_by_elements_and_attributes() -> None:
    envelope = '<s:Envelope xmlns:s="s"><s:Body>{}</s:Body></s:Envelope>'
    real = envelope.format('<m:R xmlns:m="m" ResponseClass="Success"><m:Name>a</m:Name></m:R>')
    twin = envelope.format('<m:R xmlns:m="m"><m:Name>b</m:Name><m:Id>1</m:Id></m:R>')
    found = compare([read(real, protocol="ews", key="k")], [read(twin, protocol="ews", key="k")])
    assert [(d.where, d.real, d.twin) for d in found] == [("$.Body.R properties", "@ResponseClass", "Id")]


def test_redaction_is_consistent_and_keeps_domains_and_ids() -> None:
    body = {
        "value": [
            {
                "Name": "alice",
                "DisplayName": "Alice Smith",
                "PrimarySmtpAddress": "alice@contoso.com",
                "DistinguishedName": "CN=alice,OU=Users,DC=contoso,DC=com",
                "Guid": "0c5f8a8e-1111-2222-3333-444455556666",
            },
        ]
    }
    reads = [read(body).to_json()]
    snapshot = {"format": 1, "tenant": {"id": "t"}, "accounts": ["alice@contoso.com"], "reads": reads}
    text = json.dumps(redact(snapshot))
    assert "alice" not in text.lower() and "Smith" not in text
    assert "contoso.com" in text and "0c5f8a8e-1111-2222-3333-444455556666" in text
    row = redact(snapshot)["reads"][0]["body"]["value"][0]
    pseudonym = row["PrimarySmtpAddress"].split("@")[0]
    assert row["Name"] == pseudonym and row["DistinguishedName"].startswith(f"CN={pseudonym},")


def test_request_keys_ignore_the_host_and_the_soap_header() -> None:
    assert graph_operation("GET", "/users/a@b.com/calendar/calendarPermissions?$select=id") == (
        "GET /users/{id}/calendar/calendarPermissions"
    )
    header = "<s:Header><t:RequestServerVersion Version='Exchange2016'/></s:Header>"
    one = f"<s:Envelope>{header}<s:Body><m:GetRooms/></s:Body></s:Envelope>"
    other = one.replace("Exchange2016", "Exchange2019")
    assert ews_key(one) == ews_key(other)


def test_the_request_log_names_reads_and_writes_per_protocol() -> None:
    batch = {"requests": [{"id": "1", "method": "GET", "url": "/users/a"}, {"id": "2", "method": "PATCH", "url": "/x"}]}
    assert operations(HttpRequest("POST", "/v1.0/$batch", "", {}, json.dumps(batch).encode())) == [
        "graph GET",
        "graph PATCH",
    ]
    cmdlet = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}
    assert operations(HttpRequest("POST", "/adminapi/beta/t/InvokeCommand", "", {}, json.dumps(cmdlet).encode())) == [
        "exchange Get-Mailbox"
    ]
    soap = b"<soap:Envelope><soap:Body><m:UpdateFolder/></soap:Body></soap:Envelope>"
    assert operations(HttpRequest("POST", "/EWS/Exchange.asmx", "", {}, soap)) == ["ews UpdateFolder"]
    assert [is_write(op) for op in ("graph GET", "graph PATCH", "exchange Get-Mailbox", "exchange Set-Mailbox")] == [
        False,
        True,
        False,
        True,
    ]
    assert not is_write("ews GetFolder") and is_write("ews UpdateFolder")
