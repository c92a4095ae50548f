"""Wildix PBX phonebooks (connectors/wildix/connector.py)."""
