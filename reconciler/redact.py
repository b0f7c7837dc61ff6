"""Secrets never leave the process: every resolved secret is registered here and scrubbed from output.

This is the last line of defence; secrets are also kept out of plans, state and errors by design.
"""

from __future__ import annotations

_SECRETS: set[str] = set()
MASK = "(sensitive)"


def register(secret: str) -> None:
    if len(secret) >= 4:
        _SECRETS.add(secret)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
