"""Settings for the test suite: config.settings in its ``test`` environment (django-q2
runs tasks synchronously, fast password hashing)."""

import os

os.environ.setdefault("CONTACTSYNC_ENV", "test")

from config.settings import *  # noqa: F403
