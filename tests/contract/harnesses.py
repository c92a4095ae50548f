"""The connectors the contract suite runs against: name -> "module:factory".

A factory takes pytest's ``request`` (so it can use fixtures, e.g.
``request.getfixturevalue("sandbox")``) and returns a ``tests.contract.harness.Harness``.
Adding a connector to the suite is one line here; see tests/contract/README.md.
"""

from __future__ import annotations

HARNESSES: dict[str, str] = {
    "carddav": "connectors.carddav.tests.harness:make_harness",
    "contacthub": "connectors.contacthub.tests.harness:make_harness",
    "contactsend": "connectors.contactsend.tests.harness:make_harness",
    "getresponse": "connectors.getresponse.tests.harness:make_harness",
    "google": "connectors.google.tests.harness:make_harness",
    "mailchimp": "connectors.mailchimp.tests.harness:make_harness",
    "salesforce": "connectors.salesforce.tests.harness:make_harness",
    "sellf": "connectors.sellf.tests.harness:make_harness",
    "wildix": "connectors.wildix.tests.harness:make_harness",
}
