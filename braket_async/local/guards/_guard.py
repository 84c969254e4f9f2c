"""Who may talk to the local service: no web browser, signed API clients, token-holders.

- :func:`browser_refusal`: a request carrying a header only browsers send (``Origin``,
  ``Sec-Fetch-*``), or, on a loopback bind, a ``Host`` that is not a loopback name (DNS
  rebinding), is refused whatever else it carries. No response ever carries CORS headers.
- :class:`BraketAuth`: SigV4 on every Braket request (:mod:`._sigv4`), failures in Braket's
  rest-json codes.
- :func:`check_control_token`: ``/_local/*`` needs ``Authorization: Bearer <token>``.

Shared by the aiohttp server and the WSGI middleware in front of the embedded moto server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from aiohttp import web

from .._errors import (
    AccessDenied,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    ServiceError,
    UnrecognizedClient,
)
from ._sigv4 import (
    AuthFailure,
    FailureKind,
    Received,
    SignedRequest,
    SigV4Verifier,
    constant_time_equal,
    header_lookup,
)

__all__ = [
    "AUTH_ERRORS",
    "BROWSER_HEADERS",
    "BraketAuth",
    "bound_host",
    "browser_refusal",
    "check_control_token",
    "is_loopback",
]

#: Headers that browsers add to requests and API clients do not send.
BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, IPv6 with or without brackets) is loopback."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else host_header
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


def browser_refusal(header: Callable[[str], str | None], listen_host: str) -> str | None:
    """Why this request looks like it came from a web browser (``None``: it does not).

    ``header`` looks up one request header; ``listen_host`` is the address the server listens
    on (the ``Host`` check applies only to loopback binds).
    """
    for name in BROWSER_HEADERS:
        if header(name) is not None:
            return (
                f"Requests from web browsers are refused (the request carries {name}): "
                "the local service accepts only SigV4-signed API clients"
            )
    if is_loopback(listen_host):
        host = header("Host")
        if host is None or not is_loopback(_host_name(host)):
            return (
                f"Host {host!r} is not a loopback name: the local service listens on "
                f"{listen_host} and refuses other names (DNS rebinding)"
            )
    return None


def bound_host(request: web.Request) -> str:
    """The address the server socket that took ``request`` is bound to."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    return str(sockname[0]) if sockname else "127.0.0.1"


def check_control_token(request: web.Request, token: str) -> None:
    """403 AccessDeniedException unless ``Authorization: Bearer <token>`` (constant time)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not constant_time_equal(given.strip(), token):
        raise AccessDenied(
            "The /_local control routes need 'Authorization: Bearer <token>' with the "
            "service's control token (LocalBraket.control_token, or control_token in the "
            "serve ready line)"
        )


#: The error of each SigV4 failure, as AWS's front end answers JSON-protocol services (Braket,
#: ECR, the Events and Logs neighbours): codes and statuses in docs/security.md.
AUTH_ERRORS: dict[FailureKind, type[ServiceError]] = {
    FailureKind.MISSING: MissingAuthenticationToken,
    FailureKind.INCOMPLETE: IncompleteSignature,
    FailureKind.UNKNOWN_KEY: UnrecognizedClient,
    FailureKind.BAD_SIGNATURE: InvalidSignature,
    FailureKind.EXPIRED: InvalidSignature,
    FailureKind.PAYLOAD_MISMATCH: InvalidSignature,
}


def _received(request: web.Request) -> Received:
    path, _, query = request.raw_path.partition("?")
    return Received(
        method=request.method,
        path=path,
        query=query,
        header_values=header_lookup(request.headers.items()),
    )


class BraketAuth:
    """SigV4 for the Braket routes (service name ``braket``), errors as Braket renders them."""

    def __init__(self, verifier: SigV4Verifier) -> None:
        self._verifier = verifier

    def check(self, request: web.Request) -> tuple[Received, SignedRequest]:
        """The claims of ``request`` (before its body is read)."""
        received = _received(request)
        try:
            return received, self._verifier.check(received)
        except AuthFailure as failure:
            raise AUTH_ERRORS[failure.kind](failure.message) from None

    def verify(self, received: Received, signed: SignedRequest, body: bytes) -> None:
        """The signature over the received request and ``body``."""
        try:
            self._verifier.verify(received, signed, body)
        except AuthFailure as failure:
            raise AUTH_ERRORS[failure.kind](failure.message) from None
