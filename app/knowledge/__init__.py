"""The FAQ knowledge base: articles, review workflow, votes, search."""
