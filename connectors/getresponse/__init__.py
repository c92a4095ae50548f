"""GetResponse (email marketing): contacts of one list, by API key. See connector.py."""
