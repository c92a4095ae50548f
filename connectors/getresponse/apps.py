"""Django app of the GetResponse connector; its label is the registry key."""

from __future__ import annotations

from django.apps import AppConfig


class GetResponseConfig(AppConfig):
    """The GetResponse connector app (label ``getresponse``)."""

    name = "connectors.getresponse"
    label = "getresponse"
    verbose_name = "GetResponse"
