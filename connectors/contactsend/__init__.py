"""Contactlab ContactSend (email marketing, SOAP): subscribers of one userdb. See connector.py."""
