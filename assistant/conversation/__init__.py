"""The conversation manager: one entry point for every front-end."""
