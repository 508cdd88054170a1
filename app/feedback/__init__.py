"""Feedback tickets and their workflow: replies, status history, ratings."""
