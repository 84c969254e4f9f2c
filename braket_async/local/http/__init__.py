"""The HTTP front of the local Braket service: the aiohttp app that routes Braket's
rest-json operations to the handlers and renders errors, and the ``/_local/*`` control
routes (health, ledger, faults, quotas, reset).
"""
