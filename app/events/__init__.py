"""Behaviour events ingested in batches, and channel exposures."""
