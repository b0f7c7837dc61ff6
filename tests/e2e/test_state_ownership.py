"""State belongs to one spec: two specs named contoso.yaml in different folders of one repository keep separate
states and never touch each other's objects; a state another spec owns is refused (naming the owner) unless
`--take-over-state` or `reconciler state migrate` says otherwise; older states are claimed and moved along."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from reconciler.simulator import Simulator, init_tenant
from tests.conftest import SPEC_TEMPLATE, Workspace

CREATED = "user.service_account will be created"
UPDATED = "user.service_account will be updated in place"
TEAMS = {"a": "Team A Calendar Sync", "b": "Team B Calendar Sync"}


def _upn(team: str) -> str:
    return f"cronofy-{team}@contoso.onmicrosoft.com"


@dataclass
class Repo:
    """A repository with state/ at its root and teams/a/contoso.yaml, teams/b/contoso.yaml for one served tenant."""

    ws: Workspace
    sim: Simulator

    @property
    def root(self) -> Path:
        return self.ws.root

    def spec(self, team: str, name: str = "contoso") -> str:
        return f"teams/{team}/{name}.yaml"

    def state(self, relative: str) -> Path:
        return self.root / "state" / relative

    def state_data(self, relative: str) -> Any:
        return json.loads(self.state(relative).read_text(encoding="utf-8"))

    def cli(self, *args: str) -> tuple[int, str, int]:
        """Exit code, output, and the requests the tenant served meanwhile."""
        before = self.sim.requests_served
        result = self.ws.cli(*args)
        return result.exit_code, result.output, self.sim.requests_served - before

    def display_name(self, team: str) -> str:
        return str(self.ws.graph_json(f"/users/{_upn(team)}?$select=displayName")["displayName"])


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    tenant = tmp_path / "tenant.json"
    data = init_tenant(tenant)
    ws = Workspace(tmp_path, tenant, data["tenant"]["id"])
    (tmp_path / "state").mkdir()
    with Simulator(tenant) as sim:
        for team, display_name in TEAMS.items():
            text = SPEC_TEMPLATE.format(
                tenant_id=ws.tenant_id, simulator=sim.base_url, upn=_upn(team), display_name=display_name, licenses="[]"
            ).replace("mail_nickname: cronofy-svc", f"mail_nickname: cronofy-{team}")
            path = tmp_path / "teams" / team / "contoso.yaml"
            path.parent.mkdir(parents=True)
            path.write_text(text, encoding="utf-8")
        yield Repo(ws, sim)
    ws.assert_no_secret_on_disk()


def _applied(repo: Repo, team: str, *args: str) -> None:
    code, output, _ = repo.cli("apply", repo.spec(team), "--auto-approve", *args)
    assert code == 0, output


def _refused(repo: Repo, *args: str) -> str:
    """The run is refused before the tenant is contacted; state and tenant are as they were."""
    states = {p: p.read_bytes() for p in (repo.root / "state").rglob("*") if p.is_file()}
    tenant = repo.ws.tenant.read_bytes()
    code, output, requests = repo.cli(*args)
    assert code == 1, output
    assert requests == 0
    assert {p: p.read_bytes() for p in (repo.root / "state").rglob("*") if p.is_file()} == states
    assert repo.ws.tenant.read_bytes() == tenant
    assert "Traceback" not in output
    return output


def test_two_specs_of_one_name_in_different_folders_keep_their_own_states(repo: Repo) -> None:
    _applied(repo, "a")
    code, output, _ = repo.cli("plan", repo.spec("b"))
    assert code == 0 and CREATED in output and "0 to change, 0 to destroy" in output, output
    _applied(repo, "b")

    a, b = repo.state_data("teams/a/contoso.json"), repo.state_data("teams/b/contoso.json")
    assert a["owner"] == {"spec": "teams/a/contoso.yaml", "tenant": repo.ws.tenant_id, "workspace": "default"}
    assert b["owner"]["spec"] == "teams/b/contoso.yaml"
    assert a["lineage"] != b["lineage"]
    assert a["resources"][0]["id"] != b["resources"][0]["id"]
    assert not repo.state("contoso.json").exists()
    assert (repo.display_name("a"), repo.display_name("b")) == (TEAMS["a"], TEAMS["b"])
    for team in TEAMS:
        code, output, _ = repo.cli("plan", repo.spec(team), "--detailed-exitcode")
        assert code == 0 and "No changes." in output, output


def test_a_state_owned_by_another_spec_is_refused_naming_the_owner(repo: Repo) -> None:
    _applied(repo, "a")
    theirs = "state/teams/a/contoso.json"
    for command in (["plan"], ["apply", "--auto-approve"], ["drift"]):
        output = _refused(repo, command[0], repo.spec("b"), *command[1:], "--state", theirs)
        assert "belongs to the spec teams/a/contoso.yaml" in output and "not to teams/b/contoso.yaml" in output
        assert "--take-over-state" in output and f"reconciler state migrate --spec {repo.spec('b')}" in output
    assert repo.display_name("a") == TEAMS["a"]

    _applied(repo, "a", "--workspace", "shared")  # a workspace name two specs happen to share
    output = _refused(repo, "plan", repo.spec("b"), "--workspace", "shared")
    assert "belongs to the spec teams/a/contoso.yaml (workspace shared), not to teams/b/contoso.yaml" in output


def test_take_over_state_makes_the_state_this_specs(repo: Repo) -> None:
    _applied(repo, "a")
    theirs = "state/teams/a/contoso.json"
    code, output, _ = repo.cli("plan", repo.spec("b"), "--state", theirs, "--take-over-state")
    assert code == 0 and UPDATED in output, output  # the account it would take over
    assert repo.state_data("teams/a/contoso.json")["owner"]["spec"] == "teams/a/contoso.yaml"  # plan wrote nothing

    lineage = repo.state_data("teams/a/contoso.json")["lineage"]
    _applied(repo, "b", "--state", theirs, "--take-over-state")
    taken = repo.state_data("teams/a/contoso.json")
    assert (taken["owner"]["spec"], taken["lineage"]) == ("teams/b/contoso.yaml", lineage)
    # what taking over means: b now manages (here: renamed) the account a made
    assert repo.ws.graph("GET", f"/users/{_upn('a')}").exit_code == 1
    assert repo.display_name("b") == TEAMS["b"]
    output = _refused(repo, "plan", repo.spec("a"))
    assert "belongs to the spec teams/b/contoso.yaml" in output


def test_state_migrate_takes_a_moved_specs_state_along(repo: Repo) -> None:
    _applied(repo, "a")
    before = repo.state_data("teams/a/contoso.json")
    (repo.root / repo.spec("a")).rename(repo.root / repo.spec("a", "prod"))
    code, output, _ = repo.cli("plan", repo.spec("a", "prod"))  # a new state would adopt a's account as not made here
    assert code == 0 and "state/teams/a/contoso.json is the state of teams/a/contoso.yaml, which is gone" in output
    assert "reconciler state migrate --spec teams/a/prod.yaml --from state/teams/a/contoso.json" in output
    code, output, requests = repo.cli(
        "state", "migrate", "--spec", repo.spec("a", "prod"), "--from", "state/teams/a/contoso.json"
    )
    assert code == 0 and requests == 0, output
    assert "teams/a/prod.yaml" in output and "was teams/a/contoso.yaml" in output
    moved = repo.state_data("teams/a/prod.json")
    assert (moved["lineage"], moved["serial"], moved["resources"]) == (
        before["lineage"],
        before["serial"],
        before["resources"],
    )
    assert moved["owner"]["spec"] == "teams/a/prod.yaml"
    assert not repo.state("teams/a/contoso.json").exists()  # no other spec can pick the old file up
    assert repo.state("teams/a/contoso.json.backup").exists()
    code, output, _ = repo.cli("plan", repo.spec("a", "prod"), "--detailed-exitcode")
    assert code == 0 and "No changes." in output, output


def test_state_migrate_without_from_claims_the_state_in_place(repo: Repo) -> None:
    _applied(repo, "a", "--workspace", "shared")
    _refused(repo, "plan", repo.spec("b"), "--workspace", "shared")
    code, output, requests = repo.cli("state", "migrate", "--spec", repo.spec("b"), "--workspace", "shared")
    assert code == 0 and requests == 0 and "was teams/a/contoso.yaml" in output, output
    owner = repo.state_data("shared.json")["owner"]
    assert (owner["spec"], owner["workspace"]) == ("teams/b/contoso.yaml", "shared")
    code, output, _ = repo.cli("plan", repo.spec("b"), "--workspace", "shared", "--out", "b.plan.json")
    assert code == 0 and UPDATED in output, output
    code, output, _ = repo.cli("apply", "b.plan.json")  # the plan's state file, whose owner names the workspace
    assert code == 0, output
    assert repo.state_data("shared.json")["owner"] == owner

    code, output, _ = repo.cli("state", "migrate", "--spec", repo.spec("a"), "--workspace", "none")
    assert code == 1 and "no state at" in output and "--from PATH" in output


def test_an_old_state_without_owner_is_claimed_by_the_first_run_that_writes(repo: Repo) -> None:
    _applied(repo, "a")
    path = repo.state("teams/a/contoso.json")
    old = repo.state_data("teams/a/contoso.json")
    del old["owner"]  # as written before owners existed
    path.write_text(json.dumps(old), encoding="utf-8")

    code, output, _ = repo.cli("drift", repo.spec("a"))
    assert code == 0, output
    assert "owner" not in repo.state_data("teams/a/contoso.json")  # read-only commands claim nothing
    _applied(repo, "a")
    claimed = repo.state_data("teams/a/contoso.json")
    assert claimed["owner"]["spec"] == "teams/a/contoso.yaml" and claimed["serial"] == old["serial"] + 1
    assert claimed["resources"] == old["resources"]


def test_the_old_state_location_moves_to_the_specs_own_and_is_never_shared(repo: Repo) -> None:
    _applied(repo, "a")
    old = repo.state_data("teams/a/contoso.json")
    del old["owner"]
    repo.state("contoso.json").write_text(json.dumps(old), encoding="utf-8")  # where an older reconciler kept it
    repo.state("teams/a/contoso.json").unlink()

    code, output, _ = repo.cli("plan", repo.spec("a"), "--detailed-exitcode", "--out", "a.plan.json")
    assert code == 0 and "No changes." in output, output  # the old file is this spec's state
    assert not repo.state("teams/a/contoso.json").exists()  # plan moves nothing
    code, output, _ = repo.cli("apply", "a.plan.json")  # the saved plan names the new place
    assert code == 0, output
    moved = repo.state_data("teams/a/contoso.json")
    assert moved["lineage"] == old["lineage"] and moved["owner"]["spec"] == "teams/a/contoso.yaml"
    assert not repo.state("contoso.json").exists()
    assert json.loads(repo.state("teams/a/contoso.json.backup").read_text(encoding="utf-8")) == old

    moved_back = {**moved}  # an old-place file that another spec owns is never used by this one
    repo.state("contoso.json").write_text(json.dumps(moved_back), encoding="utf-8")
    code, output, _ = repo.cli("plan", repo.spec("b"))
    assert code == 0 and CREATED in output and "0 to change, 0 to destroy" in output, output
    assert repo.state_data("contoso.json") == moved_back
    _applied(repo, "b")
    assert repo.state_data("teams/b/contoso.json")["owner"]["spec"] == "teams/b/contoso.yaml"
    assert repo.state_data("contoso.json") == moved_back
    assert repo.display_name("a") == TEAMS["a"]


BACKEND = """
backend:
  type: azure_blob
  container: {container}
  key: contoso.json
  connection_string: ${{env:AZURE_STORAGE_CONNECTION_STRING}}
"""


def test_a_blob_two_specs_name_is_refused_to_the_second_and_migrate_claims_it(
    repo: Repo, azurite: str, azure_container: str
) -> None:
    """The blob's key is the spec's choice; two specs that chose the same one never share it silently."""
    for team in TEAMS:
        path = repo.root / repo.spec(team)
        path.write_text(path.read_text(encoding="utf-8") + BACKEND.format(container=azure_container), "utf-8")
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite}
    assert repo.ws.cli("apply", repo.spec("a"), "--auto-approve", env=env).exit_code == 0
    with BlobServiceClient.from_connection_string(azurite) as service:
        blob = service.get_blob_client(azure_container, "contoso.json")
        stored = blob.download_blob().readall()
        assert json.loads(stored)["owner"]["spec"] == "teams/a/contoso.yaml"

        before = repo.sim.requests_served
        refused = repo.ws.cli("plan", repo.spec("b"), env=env)
        assert refused.exit_code == 1 and repo.sim.requests_served == before
        assert f"state azure_blob://{azure_container}/contoso.json belongs to the spec teams/a/contoso.yaml" in (
            refused.output
        )
        assert blob.download_blob().readall() == stored

        claimed = repo.ws.cli("state", "migrate", "--spec", repo.spec("b"), env=env)
        assert claimed.exit_code == 0 and "was teams/a/contoso.yaml" in claimed.output, claimed.output
        assert json.loads(blob.download_blob().readall())["owner"]["spec"] == "teams/b/contoso.yaml"
    assert repo.ws.cli("plan", repo.spec("b"), env=env).exit_code == 0
    assert repo.ws.cli("plan", repo.spec("a"), env=env).exit_code == 1
