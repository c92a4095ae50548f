"""Fixtures of the ForceManager tests: the sandbox server and the personas, also when this
folder is run on its own (tests/conftest.py is then not loaded)."""

from tests.plugins.personas import account, member, owner, owner_client  # noqa: F401
from tests.plugins.sandbox import sandbox, sandbox_server  # noqa: F401
