"""Contactlab Contacthub (customer data platform, REST): customers of one node. See connector.py."""
