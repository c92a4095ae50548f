"""Tests of normalization, field mapping and rule evaluation (sync/engine)."""
