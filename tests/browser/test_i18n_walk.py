"""Issue 19 in a browser: a user whose browser asks for Italian signs in, connects two
GetResponse accounts of the sandbox and walks the whole wizard in Italian, starts the
sync; then picks Polski in the header and reads the dashboard and the statistics tab in
Polish, dates and plural forms included. Fields labelled by Python strings (forms,
choices) are found by their names, so the walk holds before and after those strings are
translated. Screenshots go to screenshots/ (it-*.png, pl-*.png)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import dateformat, timezone, translation

from connectors.sandbox.control import SandboxControl
from sync.models import Connection, SyncEvent, UserPreference
from tests.browser.conftest import screenshot
from tests.plugins.personas import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VENDOR = "getresponse"


def choose(page: Any, select: str, text: str) -> None:
    """Pick the option of ``select`` whose text starts with ``text`` (data, not words)."""
    option = page.locator(f"{select} option", has_text=text).first
    page.locator(select).select_option(option.get_attribute("value"))


def month_in(language: str, code: str) -> str:
    """This month's name as ``language``'s date formats write it (``F``, or ``E``: the
    genitive Polish uses after a day)."""
    with translation.override(language):
        return dateformat.format(timezone.localtime(), code)


def connect(page: Any, base: str, label: str, key: str) -> None:
    page.goto(f"{base}/apps/")
    page.get_by_role("link", name="Collega GetResponse").click()
    page.locator("input[name=label]").fill(label)
    page.locator("input[name=api_key]").fill(key)
    page.get_by_role("button", name="Collega", exact=True).click()
    page.get_by_role("heading", name="Le tue app autorizzate").wait_for()


def test_the_wizard_in_italian_then_the_dashboard_and_statistics_in_polish(
    browser: Any, live_server: Any, sandbox: SandboxControl, owner: Any
) -> None:
    base = live_server.url
    shop = sandbox.create_account(VENDOR, name="Shop", lists=["shop_customers"])
    news = sandbox.create_account(VENDOR, name="News", lists=["newsletter"])
    sandbox.seed(VENDOR, shop["account_id"], 6, seed=1)
    sandbox.seed(VENDOR, news["account_id"], 4, seed=2)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="it-IT")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        # Sign in: the browser's language chooses Italian.
        page.goto(f"{base}/accounts/login/")
        assert page.locator("html").get_attribute("lang") == "it"
        page.get_by_label("Nome utente").fill("alice")
        page.get_by_label("Password").fill(PERSONA_PASSWORD)
        page.get_by_role("button", name="Accedi").click()
        page.get_by_role("heading", name="Connessioni").wait_for()
        screenshot(page, "it-01-connections")

        connect(page, base, "Shop", shop["api_key"])
        connect(page, base, "News", news["api_key"])
        screenshot(page, "it-02-apps")

        # Step 1: the two apps.
        page.get_by_role("link", name="Connessioni", exact=True).click()
        page.get_by_role("link", name="Nuova connessione").click()
        page.get_by_role("heading", name="Scegli le due app da mantenere sincronizzate").wait_for()
        page.locator("input[name=name]").fill("Shop ⇄ News")
        choose(page, "select[name=a_authorization]", "Shop")
        choose(page, "select[name=b_authorization]", "News")
        screenshot(page, "it-03-wizard-apps")
        page.get_by_role("button", name="Continua →").click()

        # Step 2: lists and direction.
        page.get_by_role("heading", name="Cosa sincronizzare, e in che direzione").wait_for()
        choose(page, "select[name=a_scope]", "shop_customers")
        choose(page, "select[name=b_scope]", "newsletter")
        screenshot(page, "it-04-wizard-scopes")
        page.get_by_role("button", name="Salva e continua →").click()

        # Step 3: a rule action on Shop → News, added in place by htmx.
        rule = page.locator("article.rule").first
        rule.get_by_text("Aggiungi un'azione").click()
        rule.locator("select[id^=a-kind-]").select_option("add_tag")
        rule.locator("input[id^=a-value-]").fill("dal_negozio")
        rule.get_by_role("button", name="Aggiungi l'azione").click()
        page.locator("article.rule").first.get_by_text("“dal_negozio”").wait_for()
        assert page.get_by_text("ALLORA").count() >= 1
        screenshot(page, "it-05-wizard-rules")
        page.get_by_role("button", name="Salva e continua →").click()

        # Step 4: options as they are.
        page.get_by_role("heading", name="Opzioni", exact=True).wait_for()
        screenshot(page, "it-06-wizard-options")
        page.get_by_role("button", name="Salva e continua →").click()

        # Step 5: a custom pair next to the locked defaults.
        page.get_by_role("heading", name="Mappatura dei campi", exact=True).wait_for()
        page.locator("select[name=a_field]").select_option("scoring")
        page.locator("select[name=b_field]").select_option("scoring")
        page.get_by_role("button", name="Aggiungi la coppia").click()
        page.locator("#mapping tr", has_text="Scoring").get_by_text("personalizzata").wait_for()
        screenshot(page, "it-07-wizard-mapping")
        page.get_by_role("button", name="Salva e continua →").click()

        # Preview, then start.
        page.get_by_role("button", name="Esegui l'anteprima").click()
        page.locator("table.preview").wait_for()
        preview = page.locator("#preview-step").inner_text()
        assert "Anteprima del" in preview
        assert month_in("it", "F") in preview  # dates in Italian
        screenshot(page, "it-08-wizard-preview")
        page.get_by_role("button", name="Avvia la sincronizzazione").click()
        page.locator('[data-run-status="succeeded"], [data-run-status="partial"]').wait_for()
        page.locator('[data-state="active"]').wait_for()
        page.get_by_role("heading", name="Attività").wait_for()
        screenshot(page, "it-09-dashboard")

        # Polski, from the header: the same page, in Polish, remembered on the user.
        page.get_by_role("button", name="Polski").click()
        page.get_by_role("heading", name="Aktywność").wait_for()
        assert page.locator("html").get_attribute("lang") == "pl"
        assert UserPreference.objects.get(user=owner).language == "pl"
        dashboard = page.locator("main").inner_text()
        assert "Ostatnie uruchomienia" in dashboard
        assert "0 konfliktów" in dashboard  # Polish plural: 0 takes the third form
        assert month_in("pl", "E") in dashboard  # dates in Polish ("2 grudnia 2026")
        screenshot(page, "pl-01-dashboard")

        page.get_by_role("link", name="Statystyki").click()
        page.get_by_role("heading", name="Ostatnie 100 zsynchronizowanych rekordów").wait_for()
        rows = page.locator("table.records tbody tr")
        rows.first.wait_for()
        connection = Connection.objects.get(name="Shop ⇄ News")
        created = SyncEvent.objects.filter(connection=connection, action="create").count()
        assert created == 10 and rows.count() == created
        stats = page.locator("main").inner_text()
        assert "Według encji i kierunku" in stats and "Filtruj" in stats
        # A one-word cell (an element, an action) is never split inside its word.
        split = page.evaluate(
            """() => [...document.querySelectorAll('td.word')].filter(td => {
                const text = td.textContent.trim();
                if (!text || /\\s/.test(text)) return false;
                const range = document.createRange();
                range.selectNodeContents(td);
                return range.getClientRects().length > 1;
            }).map(td => td.textContent.trim())"""
        )
        assert page.locator("td.word").count() > 0 and split == [], split
        screenshot(page, "pl-02-statistics")
    finally:
        context.close()
