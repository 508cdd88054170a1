"""Campaigns with A/B variants, participations and conversions."""
