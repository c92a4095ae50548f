"""The sandbox fixtures, also when this folder is run on its own (tests/conftest.py is
then not loaded)."""

from connectors.sandbox.fixtures import sandbox, sandbox_server  # noqa: F401
