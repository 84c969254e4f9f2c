"""pytest plugin of braket-async: a local Amazon Braket service for the tests of your code.

Registered through the ``pytest11`` entry point; see :mod:`braket_async_pytest.plugin` and
``docs/testing.md``. A top-level package so that loading the plugin imports neither
``braket_async`` (aiobotocore) nor the local service until a fixture is used.
"""

__all__: list[str] = []
