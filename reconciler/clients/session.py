"""Clients: the adapters one run uses, built from the spec's tenant section."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.clients.credentials import SIMULATOR_APP_ID, LoopbackCredential, azure_credential
from reconciler.clients.endpoints import endpoints_for
from reconciler.clients.graph import GraphClient
from reconciler.spec.loader import LoadedSpec


@dataclass
class Clients:
    graph: GraphClient

    def close(self) -> None:
        self.graph.close()


def connect(loaded: LoadedSpec, simulator_url: str | None = None) -> Clients:
    """Clients for the spec's tenant; for the simulated tenant at `simulator_url` when given.

    The same adapters serve both: only the base URL and the credential differ.
    """
    tenant = loaded.spec.tenant
    endpoints = endpoints_for(tenant.cloud, tenant.endpoints)
    if simulator_url is not None:
        credential = LoopbackCredential(tenant.name, tenant.auth.client_id or SIMULATOR_APP_ID)
        return Clients(graph=GraphClient(simulator_url, credential, f"{simulator_url}/.default"))

    def resolve(reference: str, field: str) -> str:
        return loaded.resolve_env(reference, "tenant", "auth", field)

    real = azure_credential(tenant.auth, tenant.name, endpoints.login, resolve)
    return Clients(graph=GraphClient(endpoints.graph, real, endpoints.graph_scope))
