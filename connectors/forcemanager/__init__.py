"""ForceManager (field-sales CRM, now Sage Sales Management): contacts by key pair.

See connector.py; entities.py declares every entity type it offers."""
