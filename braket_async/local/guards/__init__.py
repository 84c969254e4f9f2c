"""What every request passes before any handler runs: server-side SigV4 verification,
browser refusal and the control token, body limits (size, content type, JSON depth),
and the WSGI guard that lets only signed requests reach the embedded moto
(``docs/security.md``).
"""
