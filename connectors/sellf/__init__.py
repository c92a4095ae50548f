"""Sellf (Italian sales CRM): people of one team, per team user, by API key. See connector.py."""
