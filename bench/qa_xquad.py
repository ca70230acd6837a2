"""Grounded QA end to end on XQuAD-en: retrieval, answers, citations, and "I don't know" when the passage is gone.

The 240 English XQuAD paragraphs are indexed as one Markdown file each (`<article>_<paragraph>.md`,
headed by the article title) into a knowledge base of the assistant's own making; a fixed-seed sample
of the questions is then asked through the ConversationManager (`/ask <question>`) exactly as a user
would. A second sample is asked with each question's gold paragraph hidden from search: the right
reply there is "I don't know".

    python bench/qa_xquad.py --limit 100 --limit-unanswerable 50 [--adapter none|grounded-qa|auto] [--k 4] [--reranker none]

Figures (SQuAD v1.1 normalisation for answers):
- hit@1 / hit@k: the gold paragraph is the first / among the k passages retrieved for the question;
- exact match, token F1, contains: the reply (citations stripped) against the gold answers; a declined
  reply scores 0; "contains" is the normalised gold answer appearing in the normalised reply;
- answered: share not declined; citation correct: of those answered, a cited passage is the gold one;
  cites [n]: of those answered, the text carries an explicit [n] citation;
- I don't know (unanswerable sample): share declined, and why (nothing relevant retrieved, the model
  said so, or the grounding check rejected its answer).
"""

from __future__ import annotations

import collections
import re
import string
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import common

# --- data -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Paragraph:
    id: str  # "<article>_<paragraph>", as in xquad_en_beir/corpus.jsonl
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answers: tuple[str, ...]
    paragraph: str  # the gold paragraph's id


def load_xquad(data: Path) -> tuple[list[Paragraph], list[Question]]:
    """The BEIR-format XQuAD-en: paragraphs, and questions with their answers and gold paragraph."""
    folder = data / "xquad_en_beir"
    paragraphs = [Paragraph(r["_id"], r.get("title", "").replace("_", " "), r["text"]) for r in common.read_jsonl(folder / "corpus.jsonl")]
    gold: dict[str, str] = {}
    for line in common.read_lines(folder / "qrels" / "test.tsv")[1:]:
        query_id, corpus_id, score = line.split("\t")
        if int(score) > 0:
            gold[query_id] = corpus_id
    questions = [
        Question(r["_id"], r["text"], tuple(r["metadata"]["answers"]), gold[r["_id"]])
        for r in common.read_jsonl(folder / "queries.jsonl")
        if r["_id"] in gold
    ]
    return paragraphs, questions


def held_out(questions: Sequence[Question], paragraphs: Sequence[Paragraph], split_file: Path) -> list[Question]:
    """Only the questions of the articles a training split held out (``eval_articles`` in the split.json
    that scripts/build_qa_data.py writes), so an adapter is never scored on what it was trained on."""
    import json

    titles = set(json.loads(split_file.read_text(encoding="utf-8"))["eval_articles"])
    article = {p.id: p.title for p in paragraphs}
    unknown = titles - set(article.values())
    if unknown:
        raise SystemExit(f"{split_file}: eval_articles not in XQuAD-en: {', '.join(sorted(unknown))}")
    return [q for q in questions if article[q.paragraph] in titles]


def split_samples(questions: Sequence[Question], answerable: int, unanswerable: int, seed: int) -> tuple[list[Question], list[Question]]:
    """Two disjoint fixed-seed samples: questions to answer, and questions whose paragraph will be hidden."""
    first = common.sample(questions, answerable, seed)
    taken = {q.id for q in first}
    rest = [q for q in questions if q.id not in taken]
    return first, common.sample(rest, unanswerable, seed + 1)


def write_paragraphs(paragraphs: Iterable[Paragraph], folder: Path) -> list[Path]:
    """One Markdown file per paragraph; files already there with the same text are left alone (and so not re-indexed)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for paragraph in paragraphs:
        path = folder / f"{paragraph.id}.md"
        content = f"# {paragraph.title}\n\n{paragraph.text}\n"
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
        paths.append(path)
    return paths


def paragraph_id(passage) -> str:
    """The XQuAD paragraph a retrieved passage comes from (its file's stem)."""
    return Path(passage.source).stem


# --- SQuAD v1.1 answer scoring (the official evaluate-v1.1.py normalisation) ---------------

def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common_tokens = collections.Counter(predicted) & collections.Counter(expected)
    overlap = sum(common_tokens.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def contains(prediction: str, gold: str) -> float:
    """The gold answer appears in the reply as whole words (so "1" is not found in "136")."""
    answer = normalize_answer(gold)
    return float(bool(answer) and f" {answer} " in f" {normalize_answer(prediction)} ")


def best(metric, prediction: str, answers: Sequence[str]) -> float:
    return max((metric(prediction, a) for a in answers), default=0.0)


# --- the knowledge base as the manager sees it ---------------------------------------------

class BenchKnowledge:
    """The real knowledge base, with some paragraphs hidden from search and the last search remembered.

    Hiding a paragraph per question stands in for rebuilding the index without it: the manager then
    gets the next-best passages, exactly as if the paragraph had never been indexed (BM25 statistics
    aside, which one paragraph in 240 barely moves).
    """

    def __init__(self, knowledge) -> None:
        self.knowledge = knowledge
        self.hidden: set[str] = set()
        self.last_found: list = []

    def search(self, query: str, k: int = 5) -> list:
        if not self.hidden:
            found = self.knowledge.search(query, k)
        else:
            # A paragraph may be several chunks: ask for enough to still have k after hiding it.
            found = [p for p in self.knowledge.search(query, k + 8) if paragraph_id(p) not in self.hidden][:k]
        self.last_found = found
        return found

    def __getattr__(self, name: str):
        return getattr(self.knowledge, name)


class RecordingModel:
    """The chat model, keeping the raw text of the reader's answer to the question asked (``last``, the one reading
    that streams) and of the second reading after it (``reread``): the QA skill replaces an answer that fails its
    checks with a decline, and the bench wants to know whether that answer was right. ``forget()`` before each
    question."""

    def __init__(self, model) -> None:
        self.model = model
        self.forget()

    def forget(self) -> None:
        self.last = self.reread = ""
        self.read = False  # whether the reader has streamed for this question (a follow-up's rewrite comes before)

    def stream(self, messages, options=None, *, adapter=None, cancel=None):
        stream = self.model.stream(messages, options, adapter=adapter, cancel=cancel)
        self.last, self.reread, self.read = "", "", True

        def tap(pieces):
            for piece in pieces:
                self.last += piece
                yield piece

        stream.pieces = tap(stream.pieces)
        return stream

    def generate(self, messages, options=None, *, adapter=None, cancel=None) -> str:
        text = self.model.generate(messages, options, adapter=adapter, cancel=cancel)
        if self.read:
            self.reread = text
        return text

    def __getattr__(self, name: str):
        return getattr(self.model, name)


def open_index(settings, paragraphs: Sequence[Paragraph], folder: Path):
    """The knowledge base over the paragraphs, built on first use and reused from ``folder`` afterwards."""
    from assistant.retrieval import open_knowledge_base

    paths = write_paragraphs(paragraphs, folder / "paragraphs")
    knowledge = open_knowledge_base(settings)
    started = time.perf_counter()
    knowledge.add([folder / "paragraphs"])
    stats = knowledge.stats()
    if stats.get("documents", 0) != len(paths):
        raise SystemExit(f"The index at {settings.index} holds {stats.get('documents')} documents, expected {len(paths)}: "
                         f"delete it or pick another --index-dir.")
    return knowledge, time.perf_counter() - started, stats


# --- asking ---------------------------------------------------------------------------------

@dataclass
class Outcome:
    question: str
    id: str
    gold: str
    answers: tuple[str, ...]
    unanswerable: bool
    reply: str
    raw: str  # what the model said, before the QA skill's checks ("" when it was not asked)
    reread: str  # what its second reading of the best sentence said ("" when there was none)
    declined: bool
    why: str  # answered | quoted | not_found | model_declined | ungrounded | error
    retrieved: list[str] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)
    explicit_citation: bool = False
    seconds: float = 0.0


SHOWN = ("answered", "quoted")  # the outcomes that give the user an answer


def decline_reason(reply) -> str:
    from assistant.skills.qa import NOT_FOUND

    if reply.error:
        return "error"
    if reply.quoted:
        return "quoted"
    if not reply.declined:
        return "answered"
    if reply.grounded is False:
        return "ungrounded"
    return "not_found" if reply.text == NOT_FOUND else "model_declined"


def ask(manager, knowledge: BenchKnowledge, question: Question, unanswerable: bool) -> Outcome:
    from assistant.skills.grounding import CITATION

    knowledge.hidden = {question.paragraph} if unanswerable else set()
    knowledge.last_found = []
    recorder = manager.qa.model if isinstance(manager.qa.model, RecordingModel) else None
    if recorder:
        recorder.forget()
    started = time.perf_counter()
    reply = manager.handle("bench-qa", "/ask " + question.text, remember=False)
    seconds = time.perf_counter() - started
    why = decline_reason(reply)
    return Outcome(
        question=question.text, id=question.id, gold=question.paragraph, answers=question.answers,
        unanswerable=unanswerable, reply=reply.text, raw=recorder.last.strip() if recorder else "",
        reread=recorder.reread.strip() if recorder else "",
        declined=why not in SHOWN, why=why,
        retrieved=[paragraph_id(p) for p in knowledge.last_found],
        cited=[paragraph_id(p) for p in reply.sources] if why in SHOWN else [],
        explicit_citation=bool(CITATION.search(reply.text)) and why in SHOWN,
        seconds=seconds,
    )


def answerable_figures(outcomes: Sequence[Outcome]) -> dict:
    from assistant.skills.grounding import strip_citations

    n = len(outcomes)
    answered = [o for o in outcomes if not o.declined]
    predictions = [strip_citations(o.reply) if not o.declined else "" for o in outcomes]
    return {
        "questions": n,
        "hit@1": common.mean([float(o.retrieved[:1] == [o.gold]) for o in outcomes]),
        "hit@k": common.mean([float(o.gold in o.retrieved) for o in outcomes]),
        "exact match": common.mean([best(exact_match, p, o.answers) for p, o in zip(predictions, outcomes)]),
        "token F1": common.mean([best(token_f1, p, o.answers) for p, o in zip(predictions, outcomes)]),
        "contains": common.mean([best(contains, p, o.answers) for p, o in zip(predictions, outcomes)]),
        # The model's own answer, before the grounding check could turn it into a decline.
        "raw contains": common.mean([best(contains, o.raw, o.answers) for o in outcomes]),
        "answered": len(answered) / n if n else None,
        "citation correct": common.mean([float(o.gold in o.cited) for o in answered]),
        "cites [n]": common.mean([float(o.explicit_citation) for o in answered]),
        "s/question": common.mean([o.seconds for o in outcomes]),
    }


REASONS = {"answered": "answered", "quoted": "passage quoted", "not_found": "nothing relevant", "model_declined": "model declined",
           "ungrounded": "ungrounded", "error": "error"}


def reasons(outcomes: Sequence[Outcome]) -> dict:
    """The share of each way a question ended: answered, or declined and why."""
    counts = collections.Counter(o.why for o in outcomes)
    return {label: counts[why] / len(outcomes) if outcomes else None for why, label in REASONS.items()}


def unanswerable_figures(outcomes: Sequence[Outcome]) -> dict:
    return {
        "questions": len(outcomes),
        "I don't know": common.mean([float(o.declined) for o in outcomes]),
        **reasons(outcomes),
        "s/question": common.mean([o.seconds for o in outcomes]),
    }


def run(manager, knowledge: BenchKnowledge, answerable: Sequence[Question], unanswerable: Sequence[Question],
        progress: bool = False) -> tuple[list[Outcome], list[Outcome]]:
    outcomes: list[list[Outcome]] = [[], []]
    for group, (questions, hidden) in enumerate(((answerable, False), (unanswerable, True))):
        for i, question in enumerate(questions, 1):
            outcome = ask(manager, knowledge, question, hidden)
            outcomes[group].append(outcome)
            if progress:
                label = "unanswerable" if hidden else "answerable"
                print(f"  {label} {i}/{len(questions)} {outcome.why:14} {outcome.seconds:5.1f}s  "
                      f"{question.text[:60]!r} -> {outcome.reply[:60]!r}", flush=True)
    return outcomes[0], outcomes[1]


def relevance_gate(knowledge: BenchKnowledge, questions: Sequence[Question], k: int,
                   thresholds: Sequence[float] = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5)) -> tuple[dict, list[dict]]:
    """Retrieval alone (no model): hit@1/hit@k, and how a ``min_relevance`` gate on the best of the k
    passages would keep answerable questions and turn away the same questions with their paragraph hidden."""
    hits1, hitsk, with_gold, without_gold = [], [], [], []
    for question in questions:
        knowledge.hidden = set()
        found = knowledge.search(question.text, k)
        ids = [paragraph_id(p) for p in found]
        hits1.append(float(ids[:1] == [question.paragraph]))
        hitsk.append(float(question.paragraph in ids))
        with_gold.append(max((p.relevance or 0.0 for p in found), default=0.0))
        knowledge.hidden = {question.paragraph}
        without_gold.append(max((p.relevance or 0.0 for p in knowledge.search(question.text, k)), default=0.0))
    knowledge.hidden = set()
    summary = {"questions": len(questions), "hit@1": common.mean(hits1), f"hit@{k}": common.mean(hitsk)}
    gate = [{"min_relevance": t, "answerable kept": common.mean([float(r >= t) for r in with_gold]),
             "hidden turned away": common.mean([float(r < t) for r in without_gold])} for t in thresholds]
    return summary, gate


def main() -> None:
    parser = common.base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=100, help="answerable questions to ask (default: %(default)s)")
    parser.add_argument("--limit-unanswerable", type=int, default=50,
                        help="questions asked with their gold paragraph hidden (default: %(default)s)")
    parser.add_argument("--k", type=int, default=4, help="passages retrieved per question (default: %(default)s, the QA skill's)")
    parser.add_argument("--reranker", help="[qa] reranker: a name, a folder, or none (default: the QA skill's own)")
    common.add_qa_settings(parser)
    parser.add_argument("--index-dir", help="keep the paragraph files and the index here and reuse them on the next run")
    parser.add_argument("--split", type=Path, metavar="SPLIT_JSON",
                        help="ask only questions of the held-out articles in this split.json (scripts/build_qa_data.py); "
                             "all 240 paragraphs are still indexed")
    parser.add_argument("--quiet", action="store_true", help="no line per question")
    parser.add_argument("--retrieval-only", action="store_true",
                        help="no model: hit@1/hit@k over --limit questions and the min_relevance trade-off")
    args = parser.parse_args()

    from assistant.runtime import Runtime, load_chat_model

    data = common.data_dir(args.data)
    paragraphs, questions = load_xquad(data)
    if args.split:
        questions = held_out(questions, paragraphs, args.split.expanduser())
    answerable, unanswerable = split_samples(questions, args.limit, args.limit_unanswerable, args.seed)
    report = common.Report("qa_xquad")
    with common.work_dir() as tmp:
        work = Path(tmp)
        folder = Path(args.index_dir).expanduser().resolve() if args.index_dir else work
        qa = {"k": args.k, **({"reranker": args.reranker} if args.reranker else {}), **common.qa_settings(args)}
        settings = common.settings_for(args, work, index=folder / "index", sections={"qa": qa})
        knowledge, index_s, stats = open_index(settings, paragraphs, folder)
        print(f"index: {stats.get('documents')} paragraphs, {stats.get('chunks')} chunks ({index_s:.0f} s) at {settings.index}")
        bench_knowledge = BenchKnowledge(knowledge)
        if args.retrieval_only:
            summary, gate = relevance_gate(bench_knowledge, answerable, args.k)
            report.info.update({"data": str(data / "xquad_en_beir"), "embedder": stats.get("embedder"), "seed": args.seed})
            report.table(f"Retrieval, k={args.k}", [summary])
            report.table("Relevance gate: the best passage's relevance against min_relevance", gate)
            report.finish(args.json)
            return
        runtime = Runtime(settings, knowledge=bench_knowledge, chat_model=RecordingModel(load_chat_model(settings)))
        manager = runtime.manager
        status = manager.status()
        reranker = getattr(manager.qa, "reranker", None)
        print(f"model: {status['model']}, QA adapter: {status['adapters']['qa']}, reranker: {reranker.name if reranker else 'none'}; "
              f"{len(answerable)} answerable + {len(unanswerable)} unanswerable questions", flush=True)
        outcomes, hidden = run(manager, bench_knowledge, answerable, unanswerable, progress=not args.quiet)

    report.info.update({
        "data": str(data / "xquad_en_beir"), "questions from": f"held-out articles of {args.split}" if args.split else "all articles",
        "model": status["model"], "QA adapter": status["adapters"]["qa"], "reranker": reranker.name if reranker else "none",
        "k": args.k, "seed": args.seed, "index": f"{stats.get('documents')} paragraphs, {stats.get('chunks')} chunks",
    })
    report.table(f"Answerable (gold paragraph indexed), k={args.k}", [answerable_figures(outcomes)])
    report.table("Unanswerable (gold paragraph hidden)", [unanswerable_figures(hidden)])
    report.table("Answerable: how each question ended", [reasons(outcomes)])
    report.finish(args.json, [asdict(o) for o in outcomes + hidden])


if __name__ == "__main__":
    main()
