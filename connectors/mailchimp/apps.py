"""Django app of the Mailchimp connector; its label is the registry key."""

from __future__ import annotations

from django.apps import AppConfig


class MailchimpConfig(AppConfig):
    """The Mailchimp connector app (label ``mailchimp``)."""

    name = "connectors.mailchimp"
    label = "mailchimp"
    verbose_name = "Mailchimp"
