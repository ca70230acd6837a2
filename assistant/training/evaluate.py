"""Held-out evaluation of an adapter against its base model, on the prompts the skills send.

An evaluation file is JSONL with two kinds of records:

    {"kind": "qa", "question": "...", "passages": [{"text", "title", "source"}], "answers": ["..."], "gold": 2}
    {"kind": "chat", "messages": [{"role": "user", "content": "..."}], "reference": "..."}

``gold`` is the 1-based number of the passage holding the answer, or null when the answer was
removed and the right reply is "I don't know". QA prompts are rebuilt with `qa_messages`, exactly
as the QA skill builds them. `scripts/build_qa_data.py` writes such a file from XQuAD.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..llm.base import BASE, ChatModel, GenerationOptions, Message
from ..retrieval.base import Passage
from ..skills.prompts import qa_messages
from .data import jsonl_records


@dataclass(frozen=True)
class QAItem:
    question: str
    passages: list[Passage]
    answers: list[str]
    gold: int | None  # None: the answer is not in the passages

    @property
    def messages(self) -> list[Message]:
        return qa_messages(self.question, self.passages)


@dataclass(frozen=True)
class ChatItem:
    messages: list[Message]
    reference: str


@dataclass
class EvalSet:
    qa: list[QAItem] = field(default_factory=list)
    chat: list[ChatItem] = field(default_factory=list)

    def limited(self, limit: int | None) -> EvalSet:
        """The first `limit` QA items and at most `limit` chat items (the builder shuffles them)."""
        return self if not limit else EvalSet(self.qa[:limit], self.chat[:limit])


def load_eval_set(path: Path) -> EvalSet:
    found = EvalSet()
    missing = f"Evaluation file {path} does not exist. Build one with scripts/build_qa_data.py."
    for record, _, where in jsonl_records(path, missing):
        try:
            if record.get("kind", "qa") == "qa":
                gold = record["gold"]
                passages = [Passage(text=p["text"], source=p.get("source", ""), title=p.get("title", ""))
                            for p in record["passages"]]
                if gold is not None and not 1 <= int(gold) <= len(passages):
                    raise ValueError(f"gold {gold} is not a passage number (1-{len(passages)})")
                found.qa.append(QAItem(record["question"], passages, [str(a) for a in record["answers"]], gold))
            elif record["kind"] == "chat":
                found.chat.append(ChatItem(record["messages"], record["reference"]))
            else:
                raise ValueError(f"unknown kind {record['kind']!r} (qa or chat)")
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise UsageError(f"{where}: not an evaluation record ({error}).") from None
    if not found.qa and not found.chat:
        raise UsageError(f"{path} has no evaluation records.")
    return found


# --- scoring --------------------------------------------------------------------------------

CITATION = re.compile(r"\[(\d+)\]")
# Any clear way of declining counts, so the base model is not marked down for its wording.
ABSTAIN = re.compile(
    r"((?:do|does|did)(?: not|n't) (?:know|contain|mention|say|provide|include|specify)"
    r"|not (?:mentioned|stated|provided|specified|given|included)|no information"
    r"|(?:cannot|can't|unable to) (?:answer|determine|find))",
    re.IGNORECASE,
)


def citations(text: str) -> set[int]:
    return {int(n) for n in CITATION.findall(text)}


def says_no_answer(text: str) -> bool:
    return bool(ABSTAIN.search(text.replace("\u2019", "'")))


def normalize(text: str) -> str:
    """SQuAD's answer normalization: lower case, no punctuation, articles or extra spaces."""
    text = CITATION.sub(" ", text.lower().replace("\u2019", "'"))
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def token_f1(prediction: str, truth: str) -> float:
    predicted, expected = normalize(prediction).split(), normalize(truth).split()
    common = sum((Counter(predicted) & Counter(expected)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def _percent(hits: float, total: int) -> float | None:
    return round(100 * hits / total, 1) if total else None


def score_qa(items: Sequence[QAItem], outputs: Sequence[str]) -> dict[str, float | None]:
    answerable = [(item, out) for item, out in zip(items, outputs) if item.gold is not None]
    unanswerable = [out for item, out in zip(items, outputs) if item.gold is None]
    contains = sum(any(normalize(a) and normalize(a) in normalize(out) for a in item.answers) for item, out in answerable)
    f1 = sum(max(token_f1(out, a) for a in item.answers) for item, out in answerable)
    cites_gold = sum(item.gold in citations(out) for item, out in answerable)
    cites_only_gold = sum(citations(out) == {item.gold} for item, out in answerable)
    return {
        "answer_contains": _percent(contains, len(answerable)),
        "answer_f1": _percent(f1, len(answerable)),
        "cites_gold": _percent(cites_gold, len(answerable)),
        "cites_only_gold": _percent(cites_only_gold, len(answerable)),
        "refuses_answerable": _percent(sum(says_no_answer(out) for _, out in answerable), len(answerable)),
        "idk_unanswerable": _percent(sum(says_no_answer(out) for out in unanswerable), len(unanswerable)),
    }


def score_chat(items: Sequence[ChatItem], outputs: Sequence[str]) -> dict[str, float | None]:
    return {
        "chat_f1": _percent(sum(token_f1(out, item.reference) for item, out in zip(items, outputs)), len(items)),
        "chat_leaks": _percent(sum(says_no_answer(out) or bool(citations(out)) for out in outputs), len(items)),
    }


METRICS = (
    ("answer_contains", "Answer contains the gold answer (answerable)", True),
    ("answer_f1", "Answer token F1 (answerable)", True),
    ("cites_gold", "Cites the gold passage (answerable)", True),
    ("cites_only_gold", "Cites only the gold passage (answerable)", True),
    ("idk_unanswerable", "\"I don't know\" when the answer was removed", True),
    ("refuses_answerable", "\"I don't know\" although the answer is there", False),
    ("chat_f1", "Plain chat: token F1 against the reference translation", True),
    ("chat_leaks", "Plain chat: replies with a refusal or a citation", False),
)


@dataclass
class Comparison:
    adapter: str
    counts: dict[str, int]
    base: dict[str, float | None]
    tuned: dict[str, float | None]
    outputs: list[dict]


def compare(
    model: ChatModel,
    data: EvalSet,
    adapter: str,
    options: GenerationOptions,
    on_item: Callable[[], None] = lambda: None,
) -> Comparison:
    """Generate every reply with the base model and with the adapter, then score both."""
    replies: dict[str, list[str]] = {BASE: [], adapter: []}
    outputs = []
    items: list[QAItem | ChatItem] = [*data.qa, *data.chat]
    for item in items:
        row: dict[str, Any] = {"kind": "qa" if isinstance(item, QAItem) else "chat"}
        for name in (BASE, adapter):
            text = model.generate(item.messages, options, adapter=name).strip()
            replies[name].append(text)
            row["base" if name == BASE else "adapter"] = text
        if isinstance(item, QAItem):
            row.update(question=item.question, answers=item.answers, gold=item.gold)
        else:
            row.update(prompt=item.messages[-1]["content"], reference=item.reference)
        outputs.append(row)
        on_item()
    n_qa = len(data.qa)

    def scores(name: str) -> dict[str, float | None]:
        return {**score_qa(data.qa, replies[name][:n_qa]), **score_chat(data.chat, replies[name][n_qa:])}

    counts = {
        "answerable": sum(1 for i in data.qa if i.gold is not None),
        "unanswerable": sum(1 for i in data.qa if i.gold is None),
        "chat": len(data.chat),
    }
    return Comparison(adapter, counts, scores(BASE), scores(adapter), outputs)


def render_table(result: Comparison) -> str:
    lines = [f"| metric | base model | with {result.adapter} | change |", "|---|---:|---:|---:|"]
    for key, label, _ in METRICS:
        before, after = result.base.get(key), result.tuned.get(key)
        if before is None or after is None:
            continue
        lines.append(f"| {label} | {before:.1f} | {after:.1f} | {after - before:+.1f} |")
    counts = result.counts
    lines.append("")
    lines.append(
        f"Percentages over {counts['answerable']} answerable and {counts['unanswerable']} unanswerable questions "
        f"and {counts['chat']} plain-chat prompts; greedy decoding."
    )
    return "\n".join(lines)
