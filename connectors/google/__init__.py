"""Google Contacts: the CardDAV connector with Google's preset, authorized through OAuth."""
