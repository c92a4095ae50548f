"""Issue 21, point 25: on `make run`'s development settings every app of the catalogue
connects in the browser without setting anything. Salesforce and Google (and Mailchimp's
"Sign in with") go through their OAuth emulators, with the clients development configures
(config/development.py); the API-key apps take what their sandbox's
``POST /_sandbox/<vendor>/accounts`` answers; CardDAV takes a Radicale book, and Google
Contacts reaches one through the sandbox's Google CardDAV host. Each ends marked OK on the
apps page, checked against the app (the connect checks before it stores)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings

from config.development import sandbox_settings
from connectors.google.tests.conftest import google_carddav_host
from connectors.registry import VENDORS
from connectors.sandbox.control import SandboxControl
from connectors.sandbox.server import SandboxServer
from sync.models import Account, AppAuthorization, Health, Tier
from tests.browser.conftest import screenshot
from tests.plugins.personas import PERSONA_PASSWORD
from tests.plugins.radicale import RadicaleServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def development(
    sandbox: SandboxControl,
    sandbox_server: SandboxServer,
    radicale: RadicaleServer,
    settings: Any,
) -> SandboxControl:
    """What `make run` sets up: the sandbox with its demo accounts (``manage.py sandbox``
    creates them, the OAuth clients among them), every development value of
    config/development.py as config/settings.py applies it, PBX names on the sandbox, and a
    Radicale book behind the Google CardDAV host (bin/run's second Radicale user)."""
    for mount in sandbox_server.mounts.values():
        with mount.emulator.lock:
            mount.emulator.demo()
    for _variable, setting, value in sandbox_settings(sandbox.url):
        setattr(settings, setting, value)
    settings.WILDIX_PBX_URL_TEMPLATE = sandbox.url + "/wildix/{name}"
    assert django_settings.ALLOW_PRIVATE_HOSTS  # development's default: loopback books
    google_carddav_host(sandbox, radicale)
    return sandbox


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Connections").wait_for()


def open_connect(page: Any, base: str, label: str, link: str = "Connect") -> None:
    page.goto(f"{base}/apps/")
    page.get_by_role("link", name=f"{link} {label}", exact=True).click()


def fill_and_connect(page: Any, label: str, values: dict[str, str]) -> None:
    """The connect form: a label, then each field the connector declares, by name."""
    page.get_by_label("Label").fill(label)
    for name, value in values.items():
        page.locator(f'form [name="{name}"]').fill(value)
    page.get_by_role("button", name="Connect", exact=True).click()


def api_key_app(vendor: str, fields: Callable[[dict[str, Any]], dict[str, str]]) -> Any:
    """Connect ``vendor`` with what its sandbox's accounts endpoint answers."""

    def connect(page: Any, base: str, sandbox: SandboxControl, radicale: RadicaleServer) -> None:
        created = sandbox.create_account(vendor, name=f"dev-{vendor}")  # a PBX name too
        cls_label = label_of(vendor)
        open_connect(page, base, cls_label)
        fill_and_connect(page, f"Dev {vendor}", fields(created))
        connected(page, f"{cls_label} is connected as “Dev {vendor}”.")

    return connect


def connected(page: Any, message: str) -> None:
    """The apps page says ``message``; else what the connect page said instead."""
    page.wait_for_load_state()
    assert page.get_by_text(message).count() == 1, page.locator("main").inner_text()


def label_of(vendor: str) -> str:
    from connectors.registry import connector_class

    return connector_class(vendor).label


def connect_sellf(page: Any, base: str, sandbox: SandboxControl, radicale: RadicaleServer) -> None:
    """Sellf's key serves a whole team: after the key, whose contacts it syncs."""
    created = sandbox.create_account("sellf", name="Dev sellf")
    open_connect(page, base, "Sellf")
    fill_and_connect(page, "Dev sellf", {"api_key": created["api_key"]})
    page.get_by_role("heading", name="Which Sellf user is this for?").wait_for()
    page.get_by_label("All team members").check()
    page.get_by_role("button", name="Use this user").click()
    page.get_by_role("heading", name="Apps", exact=True).wait_for()


def connect_carddav(
    page: Any, base: str, sandbox: SandboxControl, radicale: RadicaleServer
) -> None:
    """A Radicale book, as bin/run offers one: its server URL, user and password."""
    radicale.create_addressbook()
    open_connect(page, base, "CardDAV address book")
    fill_and_connect(
        page,
        "Dev book",
        {"url": f"{radicale.url}/", "username": radicale.username, "password": radicale.password},
    )
    connected(page, "CardDAV address book is connected as “Dev book”.")


def through_oauth(label: str, link: str = "Connect") -> Any:
    """Press Connect (or Sign in with), Continue: the browser goes to the emulator's
    consent screen, which allows for the demo user signed in there, and comes back."""

    def connect(page: Any, base: str, sandbox: SandboxControl, radicale: RadicaleServer) -> None:
        open_connect(page, base, label, link)
        page.get_by_role("button", name=f"Continue to {label}").click()
        page.get_by_text(f"{label} is connected").first.wait_for()
        assert page.url.startswith(f"{base}/apps/"), page.url

    return connect


CONNECT: dict[str, Any] = {
    "getresponse": api_key_app("getresponse", lambda a: {"api_key": a["api_key"]}),
    "carddav": connect_carddav,
    "salesforce": through_oauth("Salesforce"),
    "google": through_oauth("Google Contacts"),
    "sellf": connect_sellf,
    "mailchimp": api_key_app("mailchimp", lambda a: {"api_key": a["api_key"]}),
    "wildix": api_key_app(
        "wildix",
        lambda a: {"pbx": a["pbx"], "username": a["username"], "password": a["password"]},
    ),
    "contactsend": api_key_app(
        "contactsend", lambda a: {"api_key": a["api_key"], "user_key": a["user_key"]}
    ),
    "contacthub": api_key_app(
        "contacthub",
        lambda a: {"token": a["token"], "workspace_id": a["workspace_id"], "node_id": a["node_id"]},
    ),
    "forcemanager": api_key_app(
        "forcemanager",
        lambda a: {"public_key": a["public_key"], "private_key": a["private_key"]},
    ),
}


def test_every_app_of_the_catalogue_connects_on_the_development_settings(
    page: Any,
    live_server: Any,
    development: SandboxControl,
    radicale: RadicaleServer,
    owner: Any,
    account: Account,
) -> None:
    assert set(CONNECT) == set(VENDORS), "a vendor of the catalogue is not tried here"
    account.tier = Tier.BUSINESS  # as the demo tenant: ForceManager is on that plan only
    account.save(update_fields=["tier"])
    base = live_server.url
    sign_in(page, base)
    for vendor, connect in CONNECT.items():
        connect(page, base, development, radicale)
        auth = AppAuthorization.objects.filter(account=account, vendor=vendor).latest("pk")
        assert auth.health == Health.OK, (vendor, auth.health, auth.health_message)
    # Mailchimp's other way in: its OAuth emulator, with development's client.
    through_oauth("Mailchimp", link="Sign in with")(page, base, development, radicale)

    page.goto(f"{base}/apps/")
    cards = page.locator("li.card.auth")
    assert cards.count() == len(VENDORS) + 1
    for index in range(cards.count()):
        card = cards.nth(index)
        assert card.locator(".health").inner_text() == Health.OK.label, card.inner_text()
    assert set(AppAuthorization.objects.values_list("vendor", flat=True)) == set(VENDORS)
    assert not AppAuthorization.objects.exclude(health=Health.OK).exists()
    screenshot(page, "21-25-every-app-connected")
