"""Which Graph requests Outlook serves, and how many of one ``$batch`` it runs at a time (``sim serve
--outlook-batch-concurrency N``).

Microsoft Graph "dispatches up to four individual requests from a batch to the Outlook service simultaneously,
irrespective of the target mailboxes" (https://learn.microsoft.com/en-us/answers/questions/1660054/send-4-reqeusts-at-the-same-time-but-still-get-app,
and https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits: four concurrent requests per
app and mailbox; the Outlook resources are a mailbox's mail, calendars, contacts and settings). With the option on,
a ``$batch`` is answered after ceil(k / N) rounds of the simulator's latency, k being its requests to Outlook
(at least one round); off (the default) every request, a batch too, takes one round.
"""

from __future__ import annotations

import json
import math
import re

from reconciler.simulator.wire import HttpRequest

GRAPH_BATCH = "/v1.0/$batch"
# A mailbox's Outlook resources under /users/{id} or /me (and a group's calendar and events).
OUTLOOK_PATH = re.compile(
    r"^/?(?:(?:users|groups)/[^/]+|me)/(?:calendars?|calendarGroups|calendarView|events|mailFolders|messages|"
    r"contacts|contactFolders|mailboxSettings|outlook|inferenceClassification|findMeetingTimes|getMailTips|"
    r"sendMail)(?:[/?(]|$)",
    re.IGNORECASE,
)


def outlook_requests(request: HttpRequest) -> int:
    """How many requests inside a Graph ``$batch`` go to Outlook (0 for anything but a ``$batch``)."""
    if request.method != "POST" or request.path.rstrip("/").lower() != GRAPH_BATCH.lower():
        return 0
    try:
        body = json.loads(request.body) if request.body else {}
    except ValueError:
        return 0
    inner = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(inner, list):
        return 0
    return sum(1 for item in inner if isinstance(item, dict) and OUTLOOK_PATH.match(str(item.get("url", ""))))


def rounds(request: HttpRequest, concurrency: int) -> int:
    """Rounds of latency a request takes: 1, or for a ``$batch`` with ``concurrency`` > 0, ceil(k / concurrency)."""
    if concurrency <= 0:
        return 1
    return max(1, math.ceil(outlook_requests(request) / concurrency))
