"""Makes every *.invalid name fail to resolve inside this process, without asking a DNS server.

Tests put this folder on PYTHONPATH for a subprocess so that "host does not resolve" is tested
with the real httpx stack and no traffic leaving the machine.
"""

import socket

_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
