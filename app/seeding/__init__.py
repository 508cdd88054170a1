"""Loads the demo data set in seeds/ into the database, idempotently."""
