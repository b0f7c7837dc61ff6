"""One TLS context for every httpx client of the process (Graph, the Exchange admin API, the tenant id look-up).

Building an `ssl.SSLContext` loads the CA bundle, some 20-40 ms of CPU each time; httpx builds one per client unless
it is given one, so a fleet drift over 100 tenants paid for 200. The context is httpx's own default (certifi's
bundle, or SSL_CERT_FILE / SSL_CERT_DIR), verified as before; only its construction is shared.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl


@functools.cache
def tls_context() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()
