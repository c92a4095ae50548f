"""Issue 19, the Python side: forms, the wizard's and the lifecycle's refusals, the
dashboard's messages and rule sentences, and counts come out in Italian and Polish
(Polish with its three plural forms); the API keeps answering in English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from sync import lifecycle, setup
from sync.models import Account, Connection, ConnectionState, RuleAction, RuleFilter, SyncRun
from sync.web.charts import segment_title
from sync.web.forms import ActionForm, FilterForm, OptionsForm, ScopesForm
from sync.web.views.connections import run_summary
from tests.api.conftest import token_client
from tests.i18n.python_strings import compiled_catalogues
from tests.web.conftest import auth_a, auth_b, connection, web_apps

# The page fixtures: the fake vendor's two apps of Acme and a connection between them.
__all__ = ["auth_a", "auth_b", "connection", "web_apps"]


@pytest.fixture(autouse=True, scope="module")
def catalogues() -> Iterator[None]:
    """The .mo files as the .po files say (what `make install` does)."""
    compiled_catalogues()
    yield


def text_of(html: str) -> str:
    """The page's words without tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_filter_form_labels_and_errors_are_italian() -> None:
    with translation.override("it"):
        form = FilterForm(data={"kind": "field", "operator": "equals"})
        assert not form.is_valid()
        assert form.fields["kind"].label == "Se"
        assert form.fields["negate"].label == "Non"
        assert form.errors["field"] == ["Scegli il campo da confrontare."]
        assert form.errors["value"] == ["Inserisci il valore con cui confrontare."]
        assert ("has_tag", "Ha il tag") in form.fields["kind"].choices


def test_action_form_error_and_scopes_form_label_are_polish() -> None:
    with translation.override("pl"):
        form = ActionForm(data={"kind": "add_tag"})
        assert not form.is_valid()
        assert form.errors["value"] == ["Podaj, który tag, listę, właściciela lub status."]
        scopes = ScopesForm(a_choices=[], b_choices=[], labels=("Shop", "CRM"))
        assert scopes.fields["a_scope"].label == "W Shop (strona A) synchronizuj"
        assert ("a_to_b", "Jednokierunkowa: Shop → CRM") in scopes.fields["direction"].choices


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (1, "odstęp 1 minuty lub dłuższy"),
        (2, "odstęp 2 minut lub dłuższy"),
        (5, "odstęp 5 minut lub dłuższy"),
    ],
)
def test_options_form_says_the_plans_interval_in_polish(
    connection: Connection, account: Account, minutes: int, words: str
) -> None:
    account.min_interval_minutes = minutes
    account.save()
    with translation.override("pl"):
        form = OptionsForm(instance=Connection.objects.get(pk=connection.pk))
        assert words in str(form.fields["interval_minutes"].help_text)


def test_wizard_refusal_from_setup_is_italian(connection: Connection) -> None:
    connection.direction = "a_to_b"
    with translation.override("it"), pytest.raises(setup.Invalid) as refused:
        setup.check_rule(connection, "b_to_a", [], [], apps={})
    assert refused.value.message == (
        "Questa connessione sincronizza solo a_to_b; una regola b_to_a non verrebbe mai eseguita."
    )


def test_lifecycle_refusal_is_polish(connection: Connection) -> None:
    with translation.override("pl"), pytest.raises(lifecycle.Refused) as refused:
        lifecycle.start(connection)
    assert str(refused.value) == "To połączenie zostało już uruchomione."


def test_dashboard_message_after_pausing_is_italian(
    owner_client: Client, connection: Connection
) -> None:
    response = owner_client.post(
        reverse("web:connection_pause", args=[connection.pk]),
        follow=True,
        HTTP_ACCEPT_LANGUAGE="it",
    )

    assert response.status_code == 200
    assert "In pausa. Nulla viene sincronizzato finché non riprendi." in text_of(
        response.content.decode()
    )
    connection.refresh_from_db()
    assert connection.state == ConnectionState.PAUSED


def _rule_with_not(connection: Connection) -> None:
    rule = connection.rules.get(direction="a_to_b")
    RuleFilter.objects.create(rule=rule, kind="has_tag", value="vip", negate=True)
    RuleFilter.objects.create(rule=rule, kind="field", field="company", operator="not_empty")
    RuleAction.objects.create(rule=rule, kind="add_tag", value="from_crm")


def test_dashboard_reads_a_rule_with_not_as_an_italian_sentence(
    member_client: Client, connection: Connection
) -> None:
    _rule_with_not(connection)

    page = text_of(
        member_client.get(
            reverse("web:connection", args=[connection.pk]), HTTP_ACCEPT_LANGUAGE="it"
        ).content.decode()
    )

    assert (
        "I contatti di Fake app · Acme CRM che non hanno il tag “vip” e il cui campo Company "
        "non è vuoto vanno in Fake app · Acme newsletter; poi aggiungi il tag “from_crm” in "
        "Fake app · Acme newsletter." in page
    )
    assert "do not have" not in page


def test_dashboard_reads_a_rule_with_not_as_a_polish_sentence(
    member_client: Client, connection: Connection
) -> None:
    _rule_with_not(connection)

    page = text_of(
        member_client.get(
            reverse("web:connection", args=[connection.pk]), HTTP_ACCEPT_LANGUAGE="pl"
        ).content.decode()
    )

    assert (
        "Kontakty z Fake app · Acme CRM, które nie mają tagu „vip” i których pole Company nie "
        "jest puste, trafiają do Fake app · Acme newsletter; następnie dodaj tag „from_crm” w "
        "Fake app · Acme newsletter." in page
    )


@pytest.mark.parametrize(
    ("count", "errors", "summary"),
    [
        (1, "1 błąd", "Cofnięto uruchomienie 7: przywrócono 1 zapis"),
        (3, "3 błędy", "Cofnięto uruchomienie 7: przywrócono 3 zapisy"),
        (5, "5 błędów", "Cofnięto uruchomienie 7: przywrócono 5 zapisów"),
        (22, "22 błędy", "Cofnięto uruchomienie 7: przywrócono 22 zapisy"),
    ],
)
def test_counts_take_polish_three_plural_forms(count: int, errors: str, summary: str) -> None:
    with translation.override("pl"):
        assert segment_title("errors", date(2026, 12, 2), count).endswith(f": {errors}")
        assert run_summary(SyncRun(trigger="undo", undo_of_id=7, writes=count)) == summary


def test_counts_stay_english_in_english() -> None:
    with translation.override("en"):
        assert run_summary(SyncRun(trigger="undo", undo_of_id=7, writes=3)) == (
            "Undid run 7: 3 writes put back"
        )
        assert segment_title("errors", date(2026, 12, 2), 1) == "02 Dec: 1 error"


def test_api_refusal_answers_in_english_whatever_the_browser_asks(
    owner: Any, account: Account, connection: Connection
) -> None:
    api = token_client(owner, account)
    url = f"/api/v1/connections/{connection.pk}/pause/"
    assert api.post(url, HTTP_ACCEPT_LANGUAGE="it").status_code == 200

    response = api.post(url, HTTP_ACCEPT_LANGUAGE="it")

    assert response.status_code == 409
    assert response.json()["detail"] == "This connection is paused already."


def test_dashboard_names_the_last_runs_skip_reasons_in_polish(
    member_client: Client, connection: Connection
) -> None:
    SyncRun.objects.create(
        connection=connection,
        trigger="manual",
        status="succeeded",
        match_summary={"skipped": {"no email": 2, "out of scope": 1}},
    )

    page = text_of(
        member_client.get(
            reverse("web:connection", args=[connection.pk]), HTTP_ACCEPT_LANGUAGE="pl"
        ).content.decode()
    )

    assert "Brak adresu e-mail: 2" in page
    assert "Poza zakresem: 1" in page


def test_invitation_mail_is_written_in_the_inviters_italian(owner_client: Client) -> None:
    response = owner_client.post(
        reverse("web:team"),
        {"email": "dan@acme.test", "role": "member"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="it",
    )

    assert "È stato inviato un invito a dan@acme.test." in text_of(response.content.decode())
    sent = mail.outbox[-1]
    assert sent.subject == "Sei invitato in Acme"
    assert sent.body.startswith("alice ti invita a unirti a Acme con il ruolo: membro.")
    assert "Accetta entro 14 giorni: http://testserver/invitations/" in sent.body


def test_ops_console_names_itself_and_its_tables_in_polish(admin_client: Client) -> None:
    page = text_of(admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="pl").content.decode())

    assert "Synchronizacja kontaktów — konsola operacyjna" in page
    assert "Wszyscy klienci" in page
    assert "Autoryzacje aplikacji" in page
    assert "Uruchomienia synchronizacji" in page
