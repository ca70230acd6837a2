"""The Telegram bot front-end (`assistant telegram`): thin handlers over the conversation manager."""
