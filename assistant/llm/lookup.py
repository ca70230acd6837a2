"""Draft tokens for greedy decoding from the text so far: prompt lookup decoding.

An answer from passages, a summary or a rewrite copies runs of its prompt: once the last few tokens
generated also stand somewhere earlier, the tokens that followed them there are a good guess at what
comes next. The decoder checks a guess (`fast.DRAFT_TOKENS` tokens at most) in the same forward pass
as the new token and keeps the tokens the model itself would have picked, so greedy output is what
one token a step gives, up to rounding, in fewer passes. As in transformers'
``prompt_lookup_num_tokens`` and vLLM's n-gram speculation.
"""

from __future__ import annotations

from collections.abc import Iterable

# Match the last 3 tokens, else the last 2: one token ("the", ",") recurs too often to predict what follows.
NGRAMS = (3, 2)


class PromptLookup:
    """The token sequence so far, with where each of its n-grams last ended, to draft continuations."""

    def __init__(self, tokens: Iterable[int] = ()) -> None:
        self.tokens: list[int] = []
        self.continues: dict[tuple[int, ...], int] = {}  # n-gram -> the position after its latest occurrence
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        # Index the n-grams that end before ``token``: each is continued by it. The newest n-grams are
        # indexed only once a token follows them, so a draft never points at the end of the sequence.
        for n in NGRAMS:
            if len(self.tokens) >= n:
                self.continues[tuple(self.tokens[-n:])] = len(self.tokens)
        self.tokens.append(token)

    def draft(self, most: int) -> list[int]:
        """Up to ``most`` tokens that followed the latest earlier occurrence of the sequence's last tokens, or []."""
        for n in NGRAMS:
            if len(self.tokens) >= n and (at := self.continues.get(tuple(self.tokens[-n:]))) is not None:
                return self.tokens[at : at + most]
        return []
