"""Training data: JSONL files of chat or instruction examples, checked line by line, and turned
into token ids with the loss on the assistant's tokens only.

Two formats, one JSON object per line:

    {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
    {"instruction": "...", "input": "...", "output": "..."}      ("input" is optional)
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError, UsageError
from ..llm.base import Message

IGNORE = -100  # label value that the loss skips
ROLES = ("system", "user", "assistant")
EXAMPLE_LINE = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}'


@dataclass(frozen=True)
class Example:
    messages: list[Message]
    line: int  # where it came from, for messages about it


@dataclass(frozen=True)
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]  # IGNORE where the loss is off (everything the assistant did not say)

    @property
    def target_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def jsonl_records(path: Path, missing: str) -> Iterator[tuple[Any, int, str]]:
    """(record, line number, "file, line N") for each record of a JSONL file; a UsageError naming the
    bad line, or saying ``missing`` when there is no such file."""
    if not path.is_file():
        raise UsageError(missing)
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                where = f"{path.name}, line {number}"
                try:
                    # Without its line break: an error at the end of the line would otherwise be
                    # reported at "line 2, column 1" of this one-line document.
                    record = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as error:
                    raise UsageError(f"{where}: not valid JSON ({error.msg} at column {error.colno}).") from None
                yield record, number, where
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}).") from None


def load_examples(path: Path) -> list[Example]:
    """Every example in a JSONL file, or a UsageError naming the first bad line and what is wrong."""
    examples = [Example(parse_record(record, where), number)
                for record, number, where in jsonl_records(path, f"Data file {path} does not exist.")]
    if not examples:
        raise UsageError(f"{path} has no examples. Write one JSON object per line, e.g. {EXAMPLE_LINE}")
    return examples


def parse_record(record: object, where: str) -> list[Message]:
    """The conversation in one JSONL record, in either format."""
    if not isinstance(record, dict):
        raise UsageError(f"{where}: expected a JSON object, got {type(record).__name__}.")
    if "messages" in record:
        return _chat_messages(record["messages"], where)
    if "instruction" in record or "output" in record:
        return _instruction_messages(record, where)
    raise UsageError(
        f"{where}: has neither \"messages\" nor \"instruction\"/\"output\" (keys: {', '.join(sorted(record)) or 'none'})."
    )


def _chat_messages(messages: object, where: str) -> list[Message]:
    if not isinstance(messages, list) or not messages:
        raise UsageError(f"{where}: \"messages\" must be a non-empty list of {{\"role\", \"content\"}} objects.")
    checked: list[Message] = []
    for index, message in enumerate(messages, 1):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise UsageError(f"{where}: message {index} needs a \"role\" and a text \"content\".")
        if message.get("role") not in ROLES:
            raise UsageError(f"{where}: message {index} has role {message.get('role')!r}; use one of {', '.join(ROLES)}.")
        checked.append({"role": message["role"], "content": message["content"]})
    if not any(m["role"] == "assistant" and m["content"].strip() for m in checked):
        raise UsageError(f"{where}: no assistant message with content, so there is nothing to learn.")
    return checked


def _instruction_messages(record: dict, where: str) -> list[Message]:
    instruction, extra, output = record.get("instruction"), record.get("input", ""), record.get("output")
    if not isinstance(instruction, str) or not instruction.strip():
        raise UsageError(f"{where}: \"instruction\" must be non-empty text.")
    if not isinstance(extra, str):
        raise UsageError(f"{where}: \"input\" must be text.")
    if not isinstance(output, str) or not output.strip():
        raise UsageError(f"{where}: \"output\" must be non-empty text.")
    prompt = f"{instruction.strip()}\n\n{extra.strip()}" if extra.strip() else instruction.strip()
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": output}]


# --- tokens -------------------------------------------------------------------------------


def render_ids(tokenizer, messages: Sequence[Message], generation_prompt: bool) -> list[int]:
    """Token ids of a conversation exactly as the engine renders it at serving time."""
    if tokenizer.chat_template:
        encoded = tokenizer.apply_chat_template(list(messages), add_generation_prompt=generation_prompt, tokenize=True)
        return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)
    # No chat template: the engine's plain "Role: text" format. Replies end with the end-of-sequence
    # token so that the model learns to stop where the engine stops generating.
    eos = tokenizer.eos_token or ""
    text = "".join(
        f"{m['role'].capitalize()}: {m['content']}{eos if m['role'] == 'assistant' else ''}\n" for m in messages
    )
    return tokenizer(text + ("Assistant:" if generation_prompt else ""))["input_ids"]


def tokenize_example(tokenizer, messages: Sequence[Message]) -> TokenizedExample:
    """Ids of the whole conversation up to its last reply; labels on the replies' tokens only.

    Each reply's tokens are what the full rendering adds after the rendering of the prompt before
    it, so a template's special tokens around replies are learned exactly as it writes them.
    """
    ids: list[int] = []
    labels: list[int] = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = render_ids(tokenizer, messages[:index], generation_prompt=True)
        full = render_ids(tokenizer, messages[: index + 1], generation_prompt=False)
        if prompt[: len(ids)] != ids or full[: len(prompt)] != prompt:
            raise ModelError(
                "This model's chat template does not render a conversation as a prefix of its continuation, "
                "so the reply tokens cannot be told apart. Use single-turn examples or another model."
            )
        labels += [IGNORE] * (len(prompt) - len(ids)) + full[len(prompt) :]
        ids = full
    return TokenizedExample(ids, labels)


def tokenize_all(tokenizer, examples: Sequence[Example], max_length: int) -> tuple[list[TokenizedExample], list[int]]:
    """Tokenized examples that fit in max_length, and the line numbers of those that did not.

    Long examples are skipped, not cut: cutting would drop the reply, or the passages it relies on.
    """
    kept, too_long = [], []
    for example in examples:
        tokenized = tokenize_example(tokenizer, example.messages)
        if len(tokenized.input_ids) > max_length:
            too_long.append(example.line)
        elif tokenized.target_tokens:
            kept.append(tokenized)
    return kept, too_long


def split_eval(items: list, fraction: float, seed: int) -> tuple[list, list]:
    """A fixed random held-out part for the eval loss (at least one example when fraction > 0)."""
    if fraction <= 0 or len(items) < 2:
        return items, []
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    held = max(1, int(len(items) * fraction))
    held_set = set(order[:held])
    return [x for i, x in enumerate(items) if i not in held_set], [items[i] for i in order[:held]]


def length_buckets(lengths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """Batches of example indices in a random order, each holding examples of similar length.

    Sorting within windows of 50 batches keeps padding small while the order stays shuffled.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lengths.__getitem__)
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches
