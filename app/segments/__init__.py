"""Rule-based segments: a JSON rule language compiled to SQL."""
