"""NPS and CSAT survey responses."""
