"""assistant: a self-hosted chat and question-answering assistant over your own documents."""

__version__ = "0.1.0"
