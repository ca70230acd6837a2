"""Grounded QA on documents like the ones people keep: a fictional company's handbook, IT help, product
notes, incident reports, price list, in Markdown, HTML (with navigation and scripts), plain text, PDF
and Word.

The corpus (`bench/company_qa/corpus/`, plus a PDF and a .docx built at run time from the text in
`bench/company_qa/binary/`) is indexed into a temporary knowledge base, and every question of
`bench/company_qa/questions.jsonl` is asked through the ConversationManager as a user would
(`/ask <question>`); follow-ups are asked in one conversation, turn after turn.

    python bench/qa_company.py [--split dev|heldout|all] [--adapter none|grounded-qa|auto] [--reranker PATH|none]
    python bench/qa_company.py --set scripts/qa_docs/ledgerly   # another company: its corpus/ and questions.jsonl
    python bench/qa_company.py --set bench/heldout_companies/kestrel-transit   # a company never tuned on
    python bench/qa_company.py --span-choice [--reranker PATH]   # no model: the reranker's choice of sentence

The questions are split by document into a development half (tune and train on it) and a held-out
half (report it, never tune on it). Each has answerable questions (numbers, dates, names, "how do
I" steps, answers spanning two sentences), conversations with follow-ups, and unanswerable questions
about a topic the documents cover but a fact they do not hold (same product, different fact).

Figures, per split:
- answerable: **answered right** (the reply, not a quote, contains the expected fact and cites the
  right file), **quoted right** (a quoted passage holds the fact: counted apart, a quote is a
  fallback), answered wrong (an answer without the fact or with another source), declined;
- unanswerable: **declined** ("I don't know" or "nothing found", with the closest passages),
  quoted (a passage quoted instead), answered (something the documents do not say);
- follow-ups: the same as answerable, for the second and later turns of a conversation.
"""

from __future__ import annotations

import collections
import re
import shutil
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import common
from phrasings import PHRASINGS
from qa_xquad import SHOWN, RecordingModel, contains, decline_reason

HERE = Path(__file__).resolve().parent / "company_qa"
SPLITS = ("dev", "heldout")
PAGE_BREAK = "===PAGE==="


@dataclass(frozen=True)
class Question:
    id: str
    source: str  # the file, relative to the corpus folder, that holds the answer (or the topic, when unanswerable)
    kind: str  # number | date | name | fact | steps | span | unanswerable | conversation | followup
    question: str
    answers: tuple[str, ...]  # any of them is the fact; all of them when `all`
    split: str = "all"  # dev | heldout in bench/company_qa; a set without halves (--set) is "all"
    all: bool = False
    conversation: str = ""
    turn: int = 0
    also: tuple[str, ...] = ()  # other files that state the same fact: citing one of them is right too
    message: str = ""  # what is sent, when it is not the question alone (--phrasing two-in-one)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    @property
    def sources(self) -> set[str]:
        return {self.source, *self.also}


def load_questions(path: Path = HERE / "questions.jsonl") -> list[Question]:
    questions = [Question(**{**row, "answers": tuple(row["answers"]), "also": tuple(row.get("also", ()))})
                 for row in common.read_jsonl(path)]
    by_source: dict[str, set[str]] = collections.defaultdict(set)
    for q in questions:
        for source in q.sources:
            by_source[source].add(q.split)
    mixed = sorted(source for source, splits in by_source.items() if len(splits) > 1)
    if mixed:  # the halves are split by document, so nothing learned on one half is about the other's documents
        raise SystemExit(f"{path}: documents in both halves: {', '.join(mixed)}")
    return questions


# --- the corpus: text files as they are, a PDF and a .docx built from plain text ---------------

def build_corpus(folder: Path, question_set: Path = HERE) -> Path:
    """The corpus of ``question_set`` in `folder`: the committed files, plus each `binary/X.pdf.txt` / `X.docx.txt`
    built as X.pdf / X.docx."""
    shutil.copytree(question_set / "corpus", folder, dirs_exist_ok=True)
    for source in sorted((question_set / "binary").rglob("*.txt")):
        target = folder / source.relative_to(question_set / "binary").with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        if target.suffix == ".pdf":
            target.write_bytes(pdf_bytes([page.strip().splitlines() for page in text.split(PAGE_BREAK)]))
        elif target.suffix == ".docx":
            write_docx(text, target)
        else:
            raise SystemExit(f"{source}: only .pdf.txt and .docx.txt are built")
    return folder


def write_docx(text: str, path: Path) -> None:
    """'# ' and '## ' lines become Heading 1/2, '| a | b |' lines a table, anything else a paragraph."""
    import docx

    document = docx.Document()
    rows: list[list[str]] = []

    def flush_table() -> None:
        if rows:
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for cells, row in zip(rows, table.rows):
                for value, cell in zip(cells, row.cells):
                    cell.text = value
            rows.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            continue
        flush_table()
        if line.startswith("## "):
            document.add_heading(line[3:], level=2)
        elif line.startswith("# "):
            document.add_heading(line[2:], level=1)
        elif line.strip():
            document.add_paragraph(line.strip())
    flush_table()
    document.core_properties.title = next(line[2:] for line in text.splitlines() if line.startswith("# "))
    # A fixed date, so the file (and its hash) is the same on every run.
    from datetime import datetime

    document.core_properties.created = document.core_properties.modified = datetime(2026, 3, 3)
    document.save(str(path))


def pdf_bytes(pages: Sequence[Sequence[str]], width: int = 88) -> bytes:
    """A minimal valid PDF (Helvetica, one text line per PDF line, wrapped at `width` characters) of these pages."""
    import textwrap

    def escape(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                            b"<< /Title (%s) >>" % escape(pages[0][0]).encode("latin-1")]
    kids = []
    for lines in pages:
        wrapped = [piece for line in lines for piece in (textwrap.wrap(line, width) or [""])]
        stream = "BT /F1 11 Tf 14 TL 56 780 Td " + " ".join(f"({escape(line)}) Tj T*" for line in wrapped) + " ET"
        content = zlib.compress(stream.encode("latin-1"))
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> >> >>" % len(objects))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join(f"{k} 0 R" for k in kids).encode(), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- asking ---------------------------------------------------------------------------------

class RecordingKnowledge:
    """The knowledge base, remembering the passages of its last search."""

    def __init__(self, knowledge) -> None:
        self.knowledge = knowledge
        self.last_found: list = []

    def search(self, query: str, k: int = 5) -> list:
        self.last_found = self.knowledge.search(query, k)
        return self.last_found

    def __getattr__(self, name: str):
        return getattr(self.knowledge, name)


@dataclass
class Outcome:
    id: str
    split: str
    kind: str
    question: str
    source: str
    answers: tuple[str, ...]
    reply: str
    raw: str  # the reader's own answer before the QA skill's checks ("" when it was not asked)
    reread: str  # what its second reading of the best sentence said ("" when there was none)
    why: str  # answered | quoted | not_found | model_declined | ungrounded | error
    notice: str  # the reply's notice: which check declined it, or how it was answered
    has_fact: bool  # the reply holds the expected fact
    cites_source: bool  # a cited (or quoted) passage comes from the expected file
    retrieved: bool  # the expected file was among the passages searched
    seconds: float
    first_text_s: float
    turn: int = 0


# A month's short name beside a day's number ("18 Nov 2024", "Sept. 3"): the date as the expected answer writes it.
SHORT_MONTH = re.compile(r"(?<=\d )(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?(?!\w)|"
                         r"(?<!\w)(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?(?= \d)")
MONTHS = {month[:3]: month for month in ("January February March April June July August September October November "
                                         "December").split()}


def has_fact(text: str, question: Question) -> bool:
    # A dash between two times or days parts words ("22:00–06:00" holds "22:00"); SQuAD's normalisation, which
    # `contains` keeps, drops only ASCII punctuation and would join them. Alike in the expected answer ("12:30 – 21:00"),
    # and a hyphen between numbers is the same dash ("10:00-13:00" is "10:00–13:00").
    # A date is the same date with its month's name short.
    def parted(words: str) -> str:
        return SHORT_MONTH.sub(lambda m: MONTHS[(m[1] or m[2])[:3]], re.sub(r"[–—]|(?<=\d)-(?=\d)", " ", words))

    found = [bool(contains(parted(text), parted(answer))) for answer in question.answers]
    return all(found) if question.all else any(found)


def relative(passage, root: Path) -> str:
    try:
        return Path(passage.source).resolve().relative_to(root).as_posix()
    except ValueError:
        return passage.source


@dataclass(frozen=True)
class Sent:
    """What one message got: the reply, the reader's readings, the passages searched, the seconds."""
    reply: object
    raw: str
    reread: str
    found: tuple
    seconds: float
    first_text_s: float


def send(manager, knowledge: RecordingKnowledge, text: str, conversation: str, remember: bool) -> Sent:
    from assistant.conversation.types import Reply

    knowledge.last_found = []
    recorder = manager.qa.model
    recorder.forget()
    started = time.perf_counter()
    first = None  # seconds to the first streamed text, or to the reply when nothing streams
    for event in manager.stream(conversation, "/ask " + text, remember=remember):
        first = first if first is not None else time.perf_counter() - started
        if isinstance(event, Reply):
            reply = event
    return Sent(reply, recorder.last.strip(), recorder.reread.strip(), tuple(knowledge.last_found),
                time.perf_counter() - started, first)


def scored(root: Path, question: Question, sent: Sent) -> Outcome:
    """The verdict on ``question`` by what ``sent`` got; of a message of two questions answered apart, by the answer to
    it (the whole reply when the message was not read as two)."""
    from assistant.skills.grounding import strip_citations

    reply = sent.reply
    if question.message and len(reply.parts) == 2:
        reply = reply.parts[0 if question.message.startswith(question.question) else 1]
    why = decline_reason(reply)
    shown = why in SHOWN
    return Outcome(
        id=question.id, split=question.split, kind=question.kind, question=question.question, source=question.source,
        answers=question.answers, reply=reply.text, raw=sent.raw, reread=sent.reread, why=why, notice=reply.notice or "",
        has_fact=shown and question.answerable and has_fact(strip_citations(reply.text), question),
        cites_source=shown and bool(question.sources & {relative(p, root) for p in reply.sources}),
        retrieved=bool(question.sources & {relative(p, root) for p in sent.found}),
        seconds=sent.seconds, first_text_s=sent.first_text_s, turn=question.turn,
    )


def two_in_one(questions: Sequence[Question]) -> list[Question]:
    """The single questions asked two in one message ("What is the deposit? How long do I have to give notice?"),
    answerable with answerable and unanswerable with unanswerable, in order within each half (a lone last one is asked
    with the first of its kind). Each is scored on the answer to it when the reply answers them apart, else on the whole
    reply (both must be answered, or both declined)."""
    paired: dict[str, str] = {}
    for split in dict.fromkeys(q.split for q in questions):
        for answerable in (True, False):
            kind = [q for q in questions if q.split == split and not q.conversation and q.answerable == answerable]
            for i in range(0, len(kind) - 1, 2):
                message = f"{kind[i].question} {kind[i + 1].question}"
                paired[kind[i].id] = paired[kind[i + 1].id] = message
            if len(kind) % 2 and len(kind) > 1:
                paired[kind[-1].id] = f"{kind[-1].question} {kind[0].question}"
    return [replace(q, message=paired[q.id]) if q.id in paired else q for q in questions]


ONE_CONVERSATION = "bench-one-after-another"


def run(manager, knowledge: RecordingKnowledge, root: Path, questions: Sequence[Question], progress: bool,
        one_conversation: bool = False) -> list[Outcome]:
    """Each question asked and scored; single questions each alone, or with ``one_conversation`` one after another in
    one conversation, as in a team's group chat (still scored as single questions)."""
    outcomes = []
    sent_before: dict[str, Sent] = {}
    if one_conversation:
        manager.reset(ONE_CONVERSATION)
    for i, question in enumerate(questions, 1):
        if question.conversation:  # turns in order, in a conversation of their own, remembered
            conversation, remember = f"bench-{question.conversation}", True
            if question.turn == 1:
                manager.reset(conversation)
        elif one_conversation:
            conversation, remember = ONE_CONVERSATION, True
        else:
            conversation, remember = f"bench-{question.id}", False
        message = question.message or question.question
        if remember or message not in sent_before:  # a message of two questions is asked once for both
            sent_before[message] = send(manager, knowledge, message, conversation, remember)
        outcome = scored(root, question, sent_before[message])
        outcomes.append(outcome)
        if progress:
            verdict = "ok" if outcome.has_fact and outcome.cites_source else ("-" if question.answerable else "")
            print(f"  {i}/{len(questions)} {question.id:6} {outcome.why:14} {verdict:2} {outcome.seconds:5.1f}s "
                  f"{question.question[:55]!r} -> {outcome.reply[:70]!r}", flush=True)
    return outcomes


# --- figures --------------------------------------------------------------------------------

def answerable_figures(outcomes: Sequence[Outcome]) -> dict:
    n = len(outcomes)
    share = lambda test: common.mean([float(test(o)) for o in outcomes])  # noqa: E731
    return {
        "questions": n,
        "answered right": share(lambda o: o.why == "answered" and o.has_fact and o.cites_source),
        "quoted right": share(lambda o: o.why == "quoted" and o.has_fact and o.cites_source),
        "answered wrong": share(lambda o: o.why == "answered" and not (o.has_fact and o.cites_source)),
        "quoted wrong": share(lambda o: o.why == "quoted" and not (o.has_fact and o.cites_source)),
        "declined": share(lambda o: o.why not in SHOWN),
        "raw has fact": share(lambda o: bool(o.raw) and any(contains(o.raw, a) for a in o.answers)),
        "source retrieved": share(lambda o: o.retrieved),
        "s/question": common.mean([o.seconds for o in outcomes]),
        "s to first text": common.median([o.first_text_s for o in outcomes]),
    }


def unanswerable_figures(outcomes: Sequence[Outcome]) -> dict:
    counts = collections.Counter(o.why for o in outcomes)
    n = len(outcomes)
    return {
        "questions": n,
        "declined": sum(counts[w] for w in counts if w not in SHOWN) / n if n else None,
        "quoted": counts["quoted"] / n if n else None,
        "answered": counts["answered"] / n if n else None,
        "nothing relevant": counts["not_found"] / n if n else None,
        "model declined": counts["model_declined"] / n if n else None,
        "ungrounded": counts["ungrounded"] / n if n else None,
        "s/question": common.mean([o.seconds for o in outcomes]),
    }


def by_kind(outcomes: Sequence[Outcome]) -> list[dict]:
    rows = []
    for kind in sorted({o.kind for o in outcomes if o.kind != "unanswerable"}):
        group = [o for o in outcomes if o.kind == kind]
        rows.append({"kind": kind, **{k: v for k, v in answerable_figures(group).items()
                                      if k in ("questions", "answered right", "quoted right", "declined")}})
    return rows


def gate(manager, root: Path, questions: Sequence[Question],
         thresholds: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) -> tuple[dict, list[dict]]:
    """No model: the QA skill's retrieval (and reranking) alone. How often the expected file is first, and for
    several thresholds on the best passage's relevance (the reranker's score, or the cosine without one), the
    share of answerable questions kept against the share of unanswerable ones turned away."""
    best: list[tuple[bool, float]] = []
    first = []
    for question in questions:
        _, found = manager.qa.retrieve(question.question)
        best.append((question.answerable, max((p.relevance or 0.0 for p in found), default=0.0)))
        if question.answerable:
            first.append(float(bool(found) and relative(found[0], root) in question.sources))
    answerable = [score for ok, score in best if ok]
    unanswerable = [score for ok, score in best if not ok]
    summary = {"answerable": len(answerable), "unanswerable": len(unanswerable), "expected file first": common.mean(first)}
    rows = [{"threshold": t, "answerable kept": common.mean([float(s >= t) for s in answerable]),
             "unanswerable turned away": common.mean([float(s < t) for s in unanswerable])} for t in thresholds]
    return summary, rows


def span_choice(qa, questions: Sequence[Question]) -> dict:
    """No model: of the answerable questions whose best passage passes the reranker's gate and holds the fact, how
    often the span the second reading would read of it (qa.span_read_again) holds the fact too: the reranker's choice of
    sentence, apart from the reader's."""
    from assistant.skills.qa import span_read_again

    reaching = holding = chosen = 0
    for question in questions:
        if not question.answerable:
            continue
        relevant, _ = qa.retrieve(question.question)
        if not qa.answers(relevant):
            continue
        reaching += 1
        if has_fact(relevant[0].text, question):
            holding += 1
            span = span_read_again(qa.reranker, question.question, relevant[:1])[1]
            chosen += has_fact(span, question)
    return {"answerable": sum(q.answerable for q in questions), "past the gate": reaching,
            "best passage holds the fact": holding, "its best span holds it": chosen,
            "share": chosen / holding if holding else None}


def main() -> None:
    parser = common.base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=HERE, dest="question_set",
                        help="a folder with corpus/ (and binary/) and questions.jsonl (default: bench/company_qa; the training "
                             "companies of scripts/qa_docs, never trained on by what ships, are more questions to tune on; "
                             "those of bench/heldout_companies are for reporting only: never tune on them)")
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all", help="which half to ask (default: both, reported apart)")
    parser.add_argument("--reranker", help="[qa] reranker: a folder, or none (default: the QA skill's own)")
    common.add_qa_settings(parser)
    parser.add_argument("--limit", type=int, help="ask only the first N questions of each half (a quick look)")
    parser.add_argument("--conversations", action="store_true", help="ask only the conversations (first turns and follow-ups)")
    parser.add_argument("--one-conversation", action="store_true",
                        help="ask the single questions one after another in one conversation, as in a group chat")
    parser.add_argument("--phrasing", choices=[*PHRASINGS, "two-in-one"], default="as-written",
                        help="ask each single question as people type it in a chat (bench/phrasings.py): 'Hi! ...', '... "
                             "Thanks!', 'Quick question: ...', 'Could you tell me ...', in lower case, without its question mark, with a slip, or two-in-one: two "
                             "questions in one message, each scored on the answer to it")
    parser.add_argument("--quiet", action="store_true", help="no line per question")
    parser.add_argument("--gate-only", action="store_true",
                        help="no model: the expected file ranked first, and answerable kept / unanswerable turned away by thresholds")
    parser.add_argument("--span-choice", action="store_true",
                        help="no model: how often the span read again of a best passage holding the fact holds it too (needs a reranker)")
    args = parser.parse_args()

    from assistant.retrieval import open_knowledge_base
    from assistant.runtime import Runtime, load_chat_model

    questions_file = args.question_set / "questions.jsonl"
    questions = load_questions(questions_file)
    splits = tuple(dict.fromkeys(q.split for q in questions)) if args.split == "all" else (args.split,)
    if not any(q.split in splits for q in questions):
        raise SystemExit(f"{questions_file} has no {args.split} questions; leave out --split")
    wanted = [q if q.conversation or args.phrasing not in PHRASINGS else replace(q, question=PHRASINGS[args.phrasing](q.question))
              for q in questions if q.conversation or not args.conversations]
    if args.phrasing == "two-in-one":
        wanted = two_in_one(wanted)
    asked = [q for split in splits for q in [q for q in wanted if q.split == split][: args.limit]]
    report = common.Report("qa_company")
    with common.work_dir() as tmp:
        work = Path(tmp)
        root = build_corpus(work / "corpus", args.question_set).resolve()
        qa = common.qa_settings(args)
        if args.reranker:
            qa["reranker"] = args.reranker
        settings = common.settings_for(args, work, sections={"qa": qa})
        knowledge = open_knowledge_base(settings)
        started = time.perf_counter()
        added = knowledge.add([root])
        stats = knowledge.stats()
        print(f"index: {added.summary()}; {stats.get('chunks')} chunks in {time.perf_counter() - started:.0f} s", flush=True)
        recording = RecordingKnowledge(knowledge)
        runtime = Runtime(settings, knowledge=recording, chat_model=RecordingModel(load_chat_model(settings)))
        manager = runtime.manager
        status = manager.status()
        reranker = getattr(manager.qa, "reranker", None)
        print(f"model: {status['model']}, QA adapter: {status['adapters']['qa']}, reranker: {reranker.name if reranker else 'none'}; "
              f"{len(asked)} questions", flush=True)
        if args.gate_only:
            for split in splits:
                summary, rows = gate(manager, root, [q for q in asked if q.split == split and q.kind != "followup"])
                report.table(f"{split}: retrieval{' and reranking' if reranker else ''}", [summary])
                report.table(f"{split}: the best passage's relevance against a threshold", rows)
            report.finish(args.json)
            return
        if args.span_choice:
            if reranker is None:
                raise SystemExit("--span-choice measures the reranker's choice of sentence: give it one (--reranker), not none")
            for split in splits:
                report.table(f"{split}: the span read again", [span_choice(manager.qa, [q for q in asked if q.split == split
                                                                                       and q.kind != "followup"])])
            report.finish(args.json)
            return
        outcomes = run(manager, recording, root, asked, progress=not args.quiet, one_conversation=args.one_conversation)

    report.info.update({
        "questions": str(questions_file), "model": status["model"], "QA adapter": status["adapters"]["qa"],
        "reranker": reranker.name if reranker else "none", "[qa]": qa,
        "index": f"{stats.get('documents')} documents, {stats.get('chunks')} chunks",
    })
    for split in splits:
        mine = [o for o in outcomes if o.split == split]
        single = [o for o in mine if o.kind not in ("unanswerable", "followup")]
        report.table(f"{split}: answerable (single questions and first turns)", [answerable_figures(single)])
        report.table(f"{split}: unanswerable (topic covered, fact absent)", [unanswerable_figures([o for o in mine if o.kind == "unanswerable"])])
        followups = [o for o in mine if o.kind == "followup"]
        report.table(f"{split}: follow-ups (second and later turns)", [answerable_figures([o for o in followups if o.answers])])
        if unanswered := [o for o in followups if not o.answers]:
            report.table(f"{split}: follow-ups whose fact is in no document", [unanswerable_figures(unanswered)])
        report.table(f"{split}: answerable by kind", by_kind([o for o in mine if o.kind != "followup"]))
    report.finish(args.json, [asdict(o) for o in outcomes])


if __name__ == "__main__":
    main()
