"""The Salesforce connector: Contacts or Leads over OAuth (see connector.py)."""

# The social-auth backends of this vendor, put into Django's AUTHENTICATION_BACKENDS by
# connectors/registry.py (strings only: settings read this before Django is set up).
AUTHENTICATION_BACKENDS = (
    "connectors.salesforce.oauth.SalesforceOAuth",
    "connectors.salesforce.oauth.SalesforceSandboxOAuth",
)
