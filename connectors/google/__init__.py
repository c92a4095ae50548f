"""Google Contacts: the CardDAV connector with Google's preset, authorized through OAuth."""

# The social-auth backends of this vendor, put into Django's AUTHENTICATION_BACKENDS by
# connectors/registry.py (strings only: settings read this before Django is set up).
AUTHENTICATION_BACKENDS = ("connectors.google.oauth.GoogleContactsOAuth",)
