"""Service endpoints per national cloud.

Graph: https://learn.microsoft.com/en-us/graph/deployments
Sign-in: https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud
Exchange Online: https://learn.microsoft.com/en-us/exchange/reference/exchange-online-protection-and-exchange-online-service-urls
(US Government GCC (moderate) uses the worldwide endpoints; GCC High and DoD have their own.)
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.spec.models import Cloud, Endpoints


@dataclass(frozen=True)
class ServiceEndpoints:
    graph: str
    login: str
    exchange: str

    @property
    def graph_scope(self) -> str:
        return f"{self.graph}/.default"

    @property
    def exchange_scope(self) -> str:
        return f"{self.exchange}/.default"


CLOUDS: dict[Cloud, ServiceEndpoints] = {
    Cloud.GLOBAL: ServiceEndpoints(
        "https://graph.microsoft.com", "https://login.microsoftonline.com", "https://outlook.office365.com"
    ),
    Cloud.USGOV: ServiceEndpoints(
        "https://graph.microsoft.com", "https://login.microsoftonline.com", "https://outlook.office365.com"
    ),
    Cloud.USGOVHIGH: ServiceEndpoints(
        "https://graph.microsoft.us", "https://login.microsoftonline.us", "https://outlook.office365.us"
    ),
    Cloud.DOD: ServiceEndpoints(
        "https://dod-graph.microsoft.us", "https://login.microsoftonline.us", "https://webmail.apps.mil"
    ),
    Cloud.CHINA: ServiceEndpoints(
        "https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn", "https://partner.outlook.cn"
    ),
}


def endpoints_for(cloud: Cloud, overrides: Endpoints) -> ServiceEndpoints:
    base = CLOUDS[cloud]
    return ServiceEndpoints(
        graph=overrides.graph or base.graph,
        login=overrides.login or base.login,
        exchange=overrides.exchange or base.exchange,
    )
