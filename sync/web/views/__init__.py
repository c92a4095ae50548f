"""Views of the tenant pages, one module per area."""
