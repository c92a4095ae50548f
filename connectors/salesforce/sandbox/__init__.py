"""Emulator of the Salesforce subset the connector uses (mounted at /salesforce), one
module per concern:

- ``login``: the OAuth 2.0 web-server flow on the login hosts (production at the root,
  sandbox orgs under ``/test``) and the identity URL, on connectors/sandbox/oauth.py.
- ``describe``: the API versions (any other answers 404 ``NOT_FOUND``), the global
  describe and ``/sobjects/{Obj}/describe`` (``keyPrefix``, ``queryable``,
  ``updateable``, ``deletable``, ``replicateable``…), and ``/limits``.
- ``query``: SOQL with ``nextRecordsUrl`` paging, and the deleted-records feed. A quoted
  datetime literal is ``MALFORMED_QUERY``; strict mode also refuses literals of the wrong
  type, filters on long text areas and malformed ids, as Salesforce does.
- ``writes``: sObject Collections create / update / delete with per-record errors, and
  single records (``POST /sobjects/{Obj}``, ``GET|PATCH|DELETE /sobjects/{Obj}/{id}``).
- ``control``: the control API (orgs, seeds of every object, users' edits in the app, a
  stoppable ``clock`` so that many changes share one second).

Objects: Contact, Lead, Account, Opportunity, Task and Event (``AccountId``, ``OwnerId``,
and the polymorphic ``WhoId``/``WhatId``), and User. Datetimes are stored as Salesforce
stores them, UTC in whole seconds, so records changed together share a ``SystemModstamp``.
- ``base``: sessions, API usage (``Sforce-Limit-Info: api-usage=N/M`` on every REST
  answer; past the daily allowance, 403 ``REQUEST_LIMIT_EXCEEDED``) and error shapes;
  ``schema``: the objects, their fields, and the wire format of ids and datetimes.

Facts from ../shared/apis (section 1) are followed as written; each module names its
UNCONFIRMED choices.

State is plain JSON: ``{"seq", "apps", "codes", "browser", "orgs": {orgId: {...}}}``;
record fields are stored as on the wire (datetimes as ``2024-01-31T10:00:00.000+0000``).
"""

from __future__ import annotations

from connectors.salesforce.sandbox.control import Control
from connectors.salesforce.sandbox.describe import Describe
from connectors.salesforce.sandbox.login import LoginHost


class SalesforceEmulator(Control, Describe, LoginHost):
    """Salesforce orgs: users, Contacts, Leads, Accounts, OAuth tokens, API usage."""


EMULATOR = SalesforceEmulator

__all__ = ["EMULATOR", "SalesforceEmulator"]
