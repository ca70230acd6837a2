"""Skills the conversation manager routes to: grounded QA, chat, translate, summarize."""
