"""The terminal UI (`assistant tui`): thin Textual widgets over the conversation manager."""
