"""Thin adapters over Microsoft's services, each taking its base URL and credential.

graph.py        Microsoft Graph through msgraph-sdk (users, licenses)
endpoints.py    endpoints per national cloud
credentials.py  azure-identity credentials; the loopback credential for the simulator
session.py      Clients: the set of adapters one run uses
"""
