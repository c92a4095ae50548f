"""ContactSend: zeep against the sandbox's WSDL unchanged, and the connector's session,
subscriptions, typed values and duplicate handling over real SOAP."""

from __future__ import annotations

from typing import Any

import pytest
import zeep
import zeep.exceptions

from connectors.base import AuthError, Change, Credentials
from connectors.contactsend.connector import ContactSendConnector
from connectors.contactsend.tests.harness import point_at_sandbox
from connectors.http import Http
from connectors.sandbox.control import SandboxControl


@pytest.fixture
def account(sandbox: SandboxControl, settings: Any) -> dict[str, Any]:
    point_at_sandbox(settings, sandbox)
    return sandbox.create_account("contactsend", name="Shop")


def connector(account: dict[str, Any], **secrets: str) -> ContactSendConnector:
    keys = {"api_key": account["api_key"], "user_key": account["user_key"], **secrets}
    return ContactSendConnector(
        Credentials(secrets=keys, settings={}), str(account["userdb_id"]), Http(retries=1)
    )


def test_plain_zeep_works_against_the_sandbox_wsdl(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    sandbox.seed("contactsend", account["account_id"], 20, subscribed=["newsletter"])
    client = zeep.Client(sandbox.vendor_url("contactsend", "/soap/services?wsdl"))
    token = client.service.borrowToken(account["api_key"], account["user_key"])
    source = client.service.getSubscriberSource(token, account["userdb_id"])
    assert source.subscriberIdentifierFieldName == "EMAIL"
    assert {f.name: f.type for f in source.fields}["birthDate"] == "DATE"
    prefs = {"matchingMode": "CONTAINS", "sortingMode": "ASCENDING", "pageNumber": 1}
    first = client.service.findSubscribers(
        token, account["userdb_id"], {"key": "EMAIL", "value": ""}, prefs
    )
    second = client.service.findSubscribers(
        token, account["userdb_id"], {"key": "EMAIL", "value": ""}, {**prefs, "pageNumber": 2}
    )
    third = client.service.findSubscribers(
        token, account["userdb_id"], {"key": "EMAIL", "value": ""}, {**prefs, "pageNumber": 3}
    )
    assert [len(first.currentPageItems), len(second.currentPageItems)] == [15, 5]
    assert not third.currentPageItems
    assert client.service.invalidateToken(token) is True
    with pytest.raises(zeep.exceptions.Fault, match="Invalid or expired token"):
        client.service.getSubscriberSource(token, account["userdb_id"])


def test_bad_keys_are_an_auth_error_with_the_fault_text(account: dict[str, Any]) -> None:
    with pytest.raises(AuthError, match="Invalid apiKey or userKey"):
        connector(account, user_key="wrong").check()


def test_a_value_that_does_not_fit_its_type_is_refused_for_that_record_only(
    account: dict[str, Any],
) -> None:
    good, bad = connector(account).push(
        [
            Change("create", "good", fields={"EMAIL": "a@example.it", "birthDate": "1990-02-03"}),
            Change("create", "bad", fields={"EMAIL": "b@example.it", "birthDate": "soon"}),
        ]
    )
    assert good.error is None and good.id
    assert bad.error is not None and bad.error.permanent and "DATE" in str(bad.error)


def test_values_come_back_typed(account: dict[str, Any]) -> None:
    app = connector(account)
    fields = {"EMAIL": "t@example.it", "loyaltyPoints": 42, "vip": True, "birthDate": "1980-01-31"}
    [created] = app.push([Change("create", "t", fields=fields)])
    [record] = [r for page in app.fetch(None) for r in page.records]
    assert record.id == created.id
    assert (record.fields["loyaltyPoints"], record.fields["vip"]) == (42, True)
    assert record.fields["birthDate"] == "1980-01-31"


def test_an_update_changes_only_the_attributes_passed(account: dict[str, Any]) -> None:
    app = connector(account)
    [created] = app.push([Change("create", "c", fields={"EMAIL": "u@example.it", "city": "Roma"})])
    app.push([Change("update", "u", id=created.id, fields={"firstName": "Gianna"})])
    [record] = [r for page in app.fetch(None) for r in page.records]
    assert (record.fields["firstName"], record.fields["city"]) == ("Gianna", "Roma")


def test_a_create_of_an_existing_email_links_it_instead_of_a_duplicate(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    app = connector(account)
    [first] = app.push([Change("create", "1", fields={"EMAIL": "d@example.it"})])
    [again] = app.push([Change("create", "2", fields={"EMAIL": "d@example.it", "city": "Bari"})])
    assert again.error is None and again.id == first.id
    subscribers = sandbox.state("contactsend")[account["api_key"]]["userdbs"]
    assert len(subscribers[str(account["userdb_id"])]["subscribers"]) == 1


def test_webform_subscriptions_are_bool_fields_both_ways(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    app = connector(account)
    [created] = app.push(
        [Change("create", "s", fields={"EMAIL": "s@example.it", "subscription:newsletter": True})]
    )
    cursor = list(app.fetch(None))[-1].cursor
    sandbox.action(
        "contactsend", "subscribe", account=account["api_key"], subscriber=created.id,
        webform="newsletter", subscribed=False,
    )  # fmt: skip
    [changed] = [r for page in connector(account).fetch(cursor) for r in page.records]
    assert changed.fields["subscription:newsletter"] is False
    assert changed.fields["subscription:offers"] is False


def test_a_run_borrows_one_token_and_invalidates_it_at_the_end(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    sandbox.seed("contactsend", account["account_id"], 40)
    app = connector(account)
    operations: list[str] = []
    raw = app.client._raw

    def spy(operation: str, *args: Any, **kwargs: Any) -> Any:
        operations.append(operation)
        return raw(operation, *args, **kwargs)

    app.client._raw = spy  # type: ignore[method-assign]
    app.fields()
    list(app.fetch(None))
    token = app.client._token
    app.close()
    assert operations.count("borrowToken") == 1
    assert operations[-1] == "invalidateToken"
    with pytest.raises(zeep.exceptions.Fault, match="Invalid or expired token"):
        raw("getSubscriberSource", token, int(account["userdb_id"]))


def test_deletions_come_from_the_complete_walk(account: dict[str, Any]) -> None:
    app = connector(account)
    results = app.push(
        [Change("create", str(i), fields={"EMAIL": f"w{i}@example.it"}) for i in range(3)]
    )
    cursor = list(app.fetch(None))[-1].cursor
    app.push([Change("delete", "x", id=results[1].id)])
    pages = list(connector(account).fetch(cursor))
    assert pages[-1].deleted == [results[1].id]
    assert not [r for page in pages for r in page.records]


def test_a_long_run_keeps_its_token_alive_instead_of_borrowing_another(
    account: dict[str, Any],
) -> None:
    app = connector(account)
    app.check()
    token = app.client._token
    operations: list[str] = []
    raw = app.client._raw

    def spy(operation: str, *args: Any, **kwargs: Any) -> Any:
        operations.append(operation)
        return raw(operation, *args, **kwargs)

    app.client._raw = spy  # type: ignore[method-assign]
    app.client._borrowed_at -= 11 * 60  # the run has been going for eleven minutes
    list(app.fetch(None))
    assert operations[0] == "keepaliveToken" and "borrowToken" not in operations
    assert app.client._token == token


def test_an_expired_token_is_borrowed_again_once(account: dict[str, Any]) -> None:
    app = connector(account)
    app.check()
    app.client._token = "expired-token"
    assert [p for p in app.fetch(None)][-1].complete
    assert app.client._token != "expired-token"


def test_the_bulk_export_lists_the_same_records_as_the_walk(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    sandbox.seed("contactsend", account["account_id"], 40, subscribed=["offers"])
    app = connector(account)
    app.push([Change("create", "t", fields={"EMAIL": "typed@example.it", "vip": True})])
    walked = list(connector(account).fetch(None))
    exporter = ContactSendConnector(
        Credentials(
            secrets={"api_key": account["api_key"], "user_key": account["user_key"]},
            settings={"bulk_export": True},
        ),
        str(account["userdb_id"]),
        Http(retries=1),
    )
    exported = list(exporter.fetch(None))
    assert exported[-1].complete
    assert exported[-1].cursor == walked[-1].cursor, "the same content hashes"
    records = [r.fields for page in exported for r in page.records]
    assert records == [r.fields for page in walked for r in page.records]
    assert len(records) == 41
    # A delta read through the export after no change yields nothing.
    assert not [r for page in exporter.fetch(walked[-1].cursor) for r in page.records]
