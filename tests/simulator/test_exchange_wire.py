"""The admin API's envelope and objects as live tenants answer them, and the distribution-group parameters
Microsoft documents (New-/Set-DistributionGroup, Add-/Remove-DistributionGroupMember)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.simulator import Simulator, make_token
from reconciler.simulator import exchange_views as xv
from reconciler.simulator.exchange_cmdlets import MORE_RESULTS_WARNING
from tests.simulator.test_exchange_admin import ADMIN_APP, AMBIGUOUS, BINDING, NOT_FOUND, Exo

RECIPIENT_TASK = "Microsoft.Exchange.Configuration.Tasks.RecipientTaskException"


@pytest.fixture
def exo(sim: Simulator) -> Iterator[Exo]:
    token = make_token(sim.tenant_id, ADMIN_APP, ["Exchange.ManageAsAppV2"])
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        yield Exo(client, sim.tenant_id)


def test_success_envelope_and_annotations(exo: Exo) -> None:
    response = exo.post("Get-Mailbox", Identity="alice@contoso.com")
    assert response.headers["content-type"] == (
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
    )
    body = response.json()
    assert list(body) == ["@odata.context", "adminapi.warnings@odata.type", "@adminapi.warnings", "value"]
    assert body["@odata.context"].endswith(
        f"/adminapi/beta/{exo.tenant_id}/$metadata#Collection(Exchange.GenericHashTable)"
    )
    assert body["adminapi.warnings@odata.type"] == "#Collection(String)" and body["@adminapi.warnings"] == []
    [row] = body["value"]
    assert row["EmailAddresses@odata.type"] == "#Collection(String)" and row["EmailAddresses"] == [
        "SMTP:alice@contoso.com"
    ]
    assert (row["Guid@data.type"], row["Guid@odata.type"]) == ("System.Guid", "#Guid")
    assert [k for k in row if "@" not in k] == list(xv.MAILBOX)
    assert row["RecipientTypeDetails"] == "UserMailbox" and row["ObjectClass"] == [
        "top",
        "person",
        "organizationalPerson",
        "user",
    ]
    assert row["IsResource"] is False and row["Languages"] == [] and row["LitigationHoldEnabled"] is None
    [room] = exo.call("Get-Mailbox", "Mailbox", Identity="boardroom@contoso.com")
    assert (room["IsResource"], room["ResourceType"]) == (True, "Room")


def test_each_get_writes_the_whole_object(exo: Exo) -> None:
    [recipient] = exo.call("Get-Recipient", Identity="cronofy-scope@contoso.com")
    assert tuple(recipient) == xv.RECIPIENT
    [group] = exo.call("Get-DistributionGroup", Identity="cronofy-scope@contoso.com")
    assert tuple(group) == xv.DISTRIBUTION_GROUP and group["GroupType"] == "Universal"
    members = exo.call("Get-DistributionGroupMember", "DistributionGroupMember", Identity="cronofy-scope@contoso.com")
    assert all(tuple(m) == xv.RECIPIENT for m in members)
    domains = exo.call("Get-AcceptedDomain", "AcceptedDomain")
    assert all(tuple(d) == xv.ACCEPTED_DOMAIN for d in domains)
    assert [d["InitialDomain"] for d in domains] == [True, False]
    [org] = exo.call("Get-OrganizationConfig", "OrganizationConfig")
    assert tuple(org) == xv.ORGANIZATION and org["EwsEnabled"] is None
    [org] = exo.call("Get-OrganizationConfig", "OrganizationConfig", RetrieveEwsOperationAccessPolicy=True)
    assert tuple(org) == (*xv.ORGANIZATION, "EwsAllowedAppIDs")
    refused = exo.post("Set-OrganizationConfig", EwsApplicationAccessPolicy="EnforceAllowList")
    assert refused.status_code == 501 and "set-organizationconfig" in refused.text


def test_select_result_size_and_paging(exo: Exo) -> None:
    url = f"/adminapi/v2.0/{exo.tenant_id}/Mailbox?$select=Name,PrimarySmtpAddress"
    body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"ResultSize": "Unlimited"}}}
    first = exo.client.post(url, json=body, headers={"Prefer": "odata.maxpagesize=5"}).json()
    assert [set(r) for r in first["value"]] == [{"Name", "PrimarySmtpAddress"}] * 5
    following = exo.client.post(first["@odata.nextLink"], json=body, headers={"Prefer": "odata.maxpagesize=5"}).json()
    assert set(following["value"][0]) == {"Name", "PrimarySmtpAddress"}
    cut = exo.post("Get-Mailbox", ResultSize=2).json()
    assert len(cut["value"]) == 2 and cut["@adminapi.warnings"] == [MORE_RESULTS_WARNING]


def test_error_envelopes(exo: Exo) -> None:
    missing = exo.post("Get-Mailbox", Identity="nobody@contoso.com")
    error = missing.json()["error"]
    assert missing.status_code == 404 and error["code"] == "NotFound" and error["message"] == "Error executing cmdlet"
    [detail] = error["details"]
    assert detail["code"] == "Client" and detail["target"] == ""
    assert detail["message"].startswith(f"Ex6F9304|{NOT_FOUND}|The operation couldn't be performed because object")
    inner = error["innererror"]
    assert inner["type"] == "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
    assert (
        inner["internalexception"]["type"]
        == "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException"
    )
    assert error["adminapi.warnings@odata.type"] == "#Collection(String)" and error["@adminapi.warnings"] == []
    unknown = exo.post("Get-Mailbox", BogusParameter=1).json()["error"]
    assert (unknown["code"], unknown["message"]) == ("BadRequest", "Invalid Operation")
    assert unknown["innererror"]["internalexception"] == {
        "message": "Parameter set cannot be resolved using the specified named parameters. Invalid cmdlet parameters "
        "specified. BogusParameter",
        "type": AMBIGUOUS,
        "stacktrace": "",
    }


def test_what_if_changes_nothing(exo: Exo) -> None:
    assert exo.call("New-DistributionGroup", Name="Dry run", WhatIf=True) == []
    exo.fail(404, NOT_FOUND, "Get-DistributionGroup", Identity="Dry run")


def test_distribution_group_parameters(exo: Exo) -> None:
    [group] = exo.call(
        "New-DistributionGroup",
        Name="Cronofy Access 2",
        Type="Security",
        Members=["alice", "bob@contoso.com"],
        ManagedBy="carol@contoso.com",
        CopyOwnerToMember=True,
        Notes="made by the test",
        Description="for RBAC",
        RequireSenderAuthenticationEnabled=False,
        MemberJoinRestriction="Closed",
        Confirm=False,
    )
    assert (
        group["RecipientTypeDetails"] == "MailUniversalSecurityGroup"
        and group["GroupType"] == "Universal, SecurityEnabled"
    )
    assert (group["ManagedBy"], group["Notes"], group["Description"]) == (["carol"], "made by the test", ["for RBAC"])
    assert group["RequireSenderAuthenticationEnabled"] is False
    assert (group["MemberJoinRestriction"], group["MemberDepartRestriction"]) == ("Closed", "Closed")  # the defaults
    members = exo.call("Get-DistributionGroupMember", Identity="Cronofy Access 2")
    assert {m["Name"] for m in members} == {"alice", "bob", "carol"}  # CopyOwnerToMember
    text = exo.fail(400, BINDING, "New-DistributionGroup", Name="Odd", Type="Dynamic")
    assert "Specify one of the following enumerator names and try again: Distribution, Security" in text
    exo.fail(400, RECIPIENT_TASK, "Set-DistributionGroup", Identity="Cronofy Access 2", MemberDepartRestriction="Open")
    # membership changes take the documented switches
    assert (
        exo.call(
            "Remove-DistributionGroupMember",
            Identity="Cronofy Access 2",
            Member="carol",
            BypassSecurityGroupManagerCheck=True,
            Confirm=False,
        )
        == []
    )
    assert (
        exo.call(
            "Add-DistributionGroupMember",
            Identity="Cronofy Access 2",
            Member="dave",
            BypassSecurityGroupManagerCheck=True,
        )
        == []
    )
    assert exo.call("Add-DistributionGroupMember", Identity="Cronofy Access 2") == []  # Member is optional
    assert {m["Name"] for m in exo.call("Get-DistributionGroupMember", Identity="Cronofy Access 2")} == {
        "alice",
        "bob",
        "dave",
    }
    # Set-: rename, owners, stored settings
    assert (
        exo.call(
            "Set-DistributionGroup",
            Identity="Cronofy Access 2",
            Name="Cronofy Access Two",
            ManagedBy=["alice", "bob"],
            CustomAttribute1="x",
            HiddenFromAddressListsEnabled=True,
            BypassSecurityGroupManagerCheck=True,
        )
        == []
    )
    [renamed] = exo.call("Get-DistributionGroup", Identity="Cronofy Access Two")
    assert (renamed["ManagedBy"], renamed["CustomAttribute1"], renamed["HiddenFromAddressListsEnabled"]) == (
        ["alice", "bob"],
        "x",
        True,
    )
    assert [g["Name"] for g in exo.call("Get-DistributionGroup", ManagedBy="alice")] == ["Cronofy Access Two"]
    # New-DistributionGroup -RoomList with members, and the room-list rule
    [rooms] = exo.call(
        "New-DistributionGroup", Name="Rooms", RoomList=True, Members=["Board room", "Conference room A"]
    )
    assert rooms["RecipientTypeDetails"] == "RoomList"
    exo.fail(400, RECIPIENT_TASK, "New-DistributionGroup", Name="Bad rooms", RoomList=True, Members=["alice"])
    assert (
        exo.call("Remove-DistributionGroup", Identity="Rooms", BypassSecurityGroupManagerCheck=True, Confirm=False)
        == []
    )
