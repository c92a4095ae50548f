"""The connectors the contract suite runs against: name -> "module:factory".

A factory takes pytest's ``request`` (so it can use fixtures, e.g.
``request.getfixturevalue("sandbox")``) and returns a ``tests.contract.harness.Harness``.
Every registered vendor with a ``connectors/<vendor>/tests/harness.py`` defining
``make_harness`` is found (connectors/registry.py ``vendor_harnesses``); see
tests/contract/README.md.
"""

from __future__ import annotations

from connectors.registry import vendor_harnesses

# Exceptions only: a harness outside the conventional path, or a further harness of one
# vendor (another entity scope of a connector offering several). (An entry naming the
# conventional path is harmless.)
EXTRA: dict[str, str] = {
    "forcemanager-companies": "connectors.forcemanager.tests.harness:make_company_harness",
    "forcemanager-opportunities": (
        "connectors.forcemanager.tests.harness:make_opportunity_harness"
    ),
    "forcemanager-activities": "connectors.forcemanager.tests.harness:make_activity_harness",
    "forcemanager-tasks": "connectors.forcemanager.tests.harness:make_task_harness",
    # Salesforce serves one object a scope (issue 17): its Accounts and Opportunities too.
    "salesforce-companies": "connectors.salesforce.tests.harness:make_account_harness",
    "salesforce-opportunities": "connectors.salesforce.tests.harness:make_opportunity_harness",
    "salesforce-tasks": "connectors.salesforce.tests.harness:make_task_harness",
}

HARNESSES: dict[str, str] = {**vendor_harnesses(), **EXTRA}
