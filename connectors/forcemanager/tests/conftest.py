"""Fixtures of the ForceManager tests: the sandbox server, the personas and the fake
vendor, also when this folder is run on its own (tests/conftest.py is then not loaded)."""

from tests.plugins.fake import fake_vendor  # noqa: F401
from tests.plugins.personas import account, member, owner, owner_client  # noqa: F401
from tests.plugins.sandbox import sandbox, sandbox_server  # noqa: F401
