"""Summary quality: ROUGE (rouge-score) on DialogSum test dialogues and CNN/DM and XSum articles from FRANK.

The summarizers behind /summarize are run on the same fixed-seed sample of texts: extractive (the
sentences closest to the text's centre in all-MiniLM-L6-v2 space), abstractive (the chat model with
the summarize adapter when installed, map-reduce when a text does not fit one prompt) and auto (what
/summarize picks; it reuses the summary of the method it picks, so its seconds are only the choice),
built as /summarize builds them. "lead" (the text's first sentences, as many as
extractive keeps) is the classic baseline for news, for scale.

    python bench/summarize_rouge.py --limit 20 [--datasets dialogsum,cnndm,xsum] [--style short] [--adapter none|auto|NAME]

ROUGE-L F is the headline figure (ROUGE-1/2 F alongside), with Porter stemming, against the
references: DialogSum's three (each metric takes the best-matching one, rouge-score's
``score_multi``), CNN/DM highlights (3-4 sentences) and the XSum one-sentence summary (lower-cased
and tokenised as FRANK distributes it; ROUGE lower-cases and tokenises anyway).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import common

DATASETS = ("dialogsum", "cnndm", "xsum")
# FRANK's XSum documents lost the line break between sentences ("...the community.Dr Venter has..."):
# put a space back, or no sentence splitter can find them.
GLUED_SENTENCES = re.compile(r"(?<=[a-z0-9%)][.!?])(?=[\"“‘']?[A-Z])|(?<=[a-z0-9%)][.!?][\"”’'])(?=[A-Z])")
METRICS = ("rouge1", "rouge2", "rougeL")


@dataclass(frozen=True)
class Article:
    dataset: str
    id: str
    document: str
    references: tuple[str, ...]


def load_articles(data: Path, dataset: str) -> list[Article]:
    if dataset == "dialogsum":
        return [Article(dataset, r["fname"], r["dialogue"], tuple(r[f"summary{i}"] for i in (1, 2, 3) if r.get(f"summary{i}")))
                for r in common.read_jsonl(data / "dialogsum" / "dialogsum.test.jsonl")]
    return [Article(dataset, str(r["id"]), GLUED_SENTENCES.sub(" ", r["document"]), (r["summary"],))
            for r in common.read_jsonl(data / "frank_summ" / f"{dataset}.jsonl")]


def lead(text: str, style: str) -> str:
    from assistant.skills.summarize import SENTENCES_FOR, layout
    from assistant.text import paragraphs, sentences

    return layout([s for p in paragraphs(text) for s in sentences(p)][: SENTENCES_FOR[style]], style)


@dataclass
class Summary:
    dataset: str
    id: str
    method: str
    output: str
    rouge1: float
    rouge2: float
    rougeL: float
    seconds: float


def scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)


def summarize(methods: dict[str, Callable[[str], str]], articles: Iterable[Article], progress: bool = False) -> list[Summary]:
    rouge = scorer()
    results = []
    for article in articles:
        for method, run in methods.items():
            started = time.perf_counter()
            output = run(article.document).strip()
            seconds = time.perf_counter() - started
            scores = rouge.score_multi(list(article.references), output)
            results.append(Summary(article.dataset, article.id, method, output,
                                   *(scores[m].fmeasure for m in METRICS), seconds=seconds))
            if progress:
                print(f"  {article.dataset} {article.id[:12]} {method:11} RL {scores['rougeL'].fmeasure:.3f} "
                      f"{seconds:5.1f}s {output[:70]!r}", flush=True)
    return results


def rows(results: Sequence[Summary]) -> list[dict]:
    table = []
    for dataset in dict.fromkeys(r.dataset for r in results):
        for method in dict.fromkeys(r.method for r in results):
            chosen = [r for r in results if r.dataset == dataset and r.method == method]
            table.append({"dataset": dataset, "method": method, "articles": len(chosen),
                          "ROUGE-L F": common.mean([r.rougeL for r in chosen]),
                          "ROUGE-1 F": common.mean([r.rouge1 for r in chosen]),
                          "ROUGE-2 F": common.mean([r.rouge2 for r in chosen]),
                          "words": common.mean([len(r.output.split()) for r in chosen]),
                          "s/article": common.mean([r.seconds for r in chosen])})
    return table


def methods_for(model, embed, style: str, adapter: str | None) -> dict[str, Callable[[str], str]]:
    from assistant.skills.summarize import AbstractiveSummarizer, AutoSummarizer, ExtractiveSummarizer, end_at_sentence

    extractive, abstractive = ExtractiveSummarizer(embed), AbstractiveSummarizer(model, adapter=adapter)
    auto = AutoSummarizer(abstractive, extractive)

    # Each text once per summarizer: "auto" reuses the summary of the one it picks (greedy decoding).
    @functools.lru_cache(maxsize=4)
    def run(summarizer, text: str) -> str:
        # /summarize trims what the token budget cut off mid-sentence; so does the bench.
        return end_at_sentence("".join(summarizer.summarize(text, style)))

    return {
        "lead": lambda text: lead(text, style),
        "extractive": lambda text: run(extractive, text),
        "abstractive": lambda text: run(abstractive, text),
        "auto": lambda text: run(auto.choose(text, style), text),
    }


def main() -> None:
    from assistant.skills.summarize import STYLES

    parser = common.base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=20, help="articles per dataset (default: %(default)s)")
    parser.add_argument("--style", choices=STYLES, default="short", help="summary style, as in /summarize (default: %(default)s)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="default: %(default)s")
    parser.add_argument("--methods", default="lead,extractive,abstractive,auto", help="default: %(default)s")
    parser.add_argument("--quiet", action="store_true", help="no line per article")
    args = parser.parse_args()

    from assistant.runtime import Runtime, choose_adapter

    data = common.data_dir(args.data)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if unknown := [d for d in datasets if d not in DATASETS]:
        parser.error(f"--datasets: unknown {', '.join(unknown)} (known: {', '.join(DATASETS)})")
    articles = [a for d in datasets for a in common.sample(load_articles(data, d), args.limit, args.seed)]
    report = common.Report("summarize_rouge")
    with common.work_dir() as tmp:
        settings = common.settings_for(args, Path(tmp))
        runtime = Runtime(settings)
        model, adapter = runtime.chat_model, choose_adapter(settings, "summarize")
        print(f"model: {model.name}, summarize adapter: {adapter}, embedder: {settings.embedder}, style: {args.style}", flush=True)
        # The same embedding path as the manager's extractive summarizer: the knowledge base's embedder.
        methods = methods_for(model, runtime.knowledge.embed, args.style, adapter)
        if unknown := [m for m in args.methods.split(",") if m not in methods]:
            parser.error(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(methods)})")
        methods = {m: methods[m] for m in args.methods.split(",")}
        results = summarize(methods, articles, progress=not args.quiet)
    report.info.update({"data": f"{data}/dialogsum, {data}/frank_summ", "model": model.name, "summarize adapter": adapter,
                        "embedder": settings.embedder, "style": args.style, "seed": args.seed})
    report.table(f"ROUGE F by dataset and method (style {args.style})", rows(results))
    report.finish(args.json, [asdict(r) for r in results])


if __name__ == "__main__":
    main()
