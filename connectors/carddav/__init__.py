"""CardDAV connector: any CardDAV address book, with Google Contacts as a preset."""
