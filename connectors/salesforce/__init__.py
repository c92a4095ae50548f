"""The Salesforce connector: Contacts or Leads over OAuth (see connector.py)."""
