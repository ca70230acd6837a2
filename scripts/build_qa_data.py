"""Build the grounded-QA training and evaluation data from XQuAD English (CC BY-SA 4.0).

The articles are split first, so no question, passage or distractor of an evaluation article is
ever trained on. Each question becomes one example: its gold paragraph among distractor
paragraphs (the best BM25 matches for the question within the same split, i.e. what a retriever
would bring back) in shuffled order, answered with the answer span and the gold passage's number,
like ``Pittsburgh Steelers [2]`` (``--target sentence``: the passage's sentence that holds the
answer, ``The Broncos beat the Pittsburgh Steelers [2].``); or, for a share of the questions, the
same without the gold paragraph, answered exactly NO_ANSWER. On the held-out articles the span
targets did better (adapters/grounded-qa/README.md): the sentence-trained adapter copied the wrong
sentence or declined more often.
Prompts come from `assistant.skills.prompts.qa_messages`, the function the QA skill uses at run time.

The evaluation file also holds plain-chat examples (French and German Tatoeba sentences to
translate into English) to check that the adapter does not make ordinary chat worse. With
``--replay N``, the training file also gets N prompts of each of three plain kinds (Spanish and
Chinese sentences to translate, questions with no passages) answered by the base model itself,
so that the adapter learns to leave plain chat as it was.

    python scripts/build_qa_data.py                       # writes ~/.cache/assistant/data/grounded-qa/
    python scripts/build_qa_data.py --out DIR --eval-articles 10 --seed 0 --replay 20
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
from pathlib import Path

import bm25s
from training_data import DATA_CACHE, DEFAULT_SHARED, write_jsonl

from assistant.retrieval.base import Passage
from assistant.skills.prompts import NO_ANSWER, qa_messages

DEFAULT_OUT = DATA_CACHE / "grounded-qa"
PASSAGE_COUNTS = (1, 2, 3, 3)  # training: mostly several passages, sometimes the gold one alone
EVAL_PASSAGES = 3
EVAL_UNANSWERABLE = 0.3  # fixed, so adapters trained with other --unanswerable shares meet the same questions


def normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


SENTENCE_END = re.compile(r'[.!?]["\u201d\u2019)\]]*\s+(?=[A-Z0-9"\u201c(])')
LONGEST_SENTENCE = 50  # words; longer ones are cut to the clauses around the answer


def answer_sentence(context: str, start: int, answer: str) -> str:
    """The sentence (or sentences) of the context that hold the answer span."""
    bounds = [0] + [m.end() for m in SENTENCE_END.finditer(context)] + [len(context)]
    first = max(i for i in range(len(bounds) - 1) if bounds[i] <= start)
    last = min(i for i in range(1, len(bounds)) if bounds[i] >= start + len(answer))
    sentence = context[bounds[first] : bounds[last]].strip()
    if len(sentence.split()) <= LONGEST_SENTENCE:
        return sentence
    offset = start - bounds[first] - (len(context[bounds[first] : bounds[last]]) - len(context[bounds[first] : bounds[last]].lstrip()))
    cut_start = max(sentence.rfind(", ", 0, offset), sentence.rfind("; ", 0, offset))
    cut_end = min((i for i in (sentence.find(", ", offset + len(answer)), sentence.find("; ", offset + len(answer))) if i >= 0), default=len(sentence))
    return sentence[cut_start + 2 if cut_start >= 0 else 0 : cut_end].strip()


def cite(sentence: str, number: int) -> str:
    """'... round.' -> '... round [2].'"""
    body = sentence.rstrip()
    if body[-1:] in ".!?":
        return f"{body[:-1]} [{number}]{body[-1]}"
    return f"{body} [{number}]"


def load_articles(path: Path) -> list[dict]:
    """[{title, paragraphs: [text], questions: [(id, question, [answers], paragraph index, answer sentence)]}]"""
    articles = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        paragraphs, questions = [], []
        for p_index, paragraph in enumerate(article["paragraphs"]):
            paragraphs.append(paragraph["context"])
            for qa in paragraph["qas"]:
                answers = list(dict.fromkeys(a["text"] for a in qa["answers"]))
                first = qa["answers"][0]
                sentence = answer_sentence(paragraph["context"], first["answer_start"], first["text"])
                questions.append((qa["id"], qa["question"], answers, p_index, sentence))
        articles.append({"title": article["title"].replace("_", " "), "paragraphs": paragraphs, "questions": questions})
    return articles


def split_articles(articles: list[dict], eval_count: int, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """(training articles, held-out articles): `eval_count` articles drawn with `rng`, the same for the same seed.
    scripts/train_answer_reranker.py holds out the same ones."""
    order = list(range(len(articles)))
    rng.shuffle(order)
    eval_ids = set(order[:eval_count])
    return ([a for i, a in enumerate(articles) if i not in eval_ids], [a for i, a in enumerate(articles) if i in eval_ids])


class Split:
    """The paragraphs of one split's articles, searchable with BM25 for distractors."""

    def __init__(self, articles: list[dict]) -> None:
        self.articles = articles
        self.paragraphs = [(a_index, p_index) for a_index, a in enumerate(articles) for p_index in range(len(a["paragraphs"]))]
        corpus = [self.text(key) for key in self.paragraphs]
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)

    def text(self, key: tuple[int, int]) -> str:
        return self.articles[key[0]]["paragraphs"][key[1]]

    def passage(self, key: tuple[int, int]) -> Passage:
        article = self.articles[key[0]]
        return Passage(text=self.text(key), source=f"xquad/{article['title']}", title=article["title"])

    def distractors(self, question: str, gold: tuple[int, int], answers: list[str], count: int) -> list[tuple[int, int]]:
        """The best BM25 paragraphs for the question that are not the gold one and hold no answer."""
        if count <= 0:
            return []
        hits, _ = self.bm25.retrieve(bm25s.tokenize([question], stopwords="en", show_progress=False), k=min(len(self.paragraphs), count + 8), show_progress=False)
        normalized_answers = [normalize(a) for a in answers]
        chosen = []
        for hit in hits[0]:
            key = self.paragraphs[int(hit)]
            if key == gold or any(a and a in normalize(self.text(key)) for a in normalized_answers):
                continue
            chosen.append(key)
            if len(chosen) == count:
                break
        return chosen


def make_example(split: Split, a_index: int, question_row, answerable: bool, count: int, rng: random.Random, target: str) -> dict | None:
    qid, question, answers, p_index, sentence = question_row
    gold = (a_index, p_index)
    keys = split.distractors(question, gold, answers, count - 1 if answerable else count)
    if answerable:
        keys.append(gold)
    if not keys:
        return None
    rng.shuffle(keys)
    passages = [split.passage(k) for k in keys]
    gold_number = keys.index(gold) + 1 if answerable else None
    return {
        "id": qid,
        "question": question,
        "answers": answers,
        "gold": gold_number,
        "passages": [{"text": p.text, "source": p.source, "title": p.title} for p in passages],
        "messages": qa_messages(question, passages),
        "target": NO_ANSWER if not answerable else cite(sentence if target == "sentence" else answers[0], gold_number),
    }


def build_split(articles: list[dict], unanswerable: float, counts, rng: random.Random, target: str = "span") -> list[dict]:
    split = Split(articles)
    examples = []
    for a_index, article in enumerate(articles):
        for row in article["questions"]:
            answerable = rng.random() >= unanswerable
            example = make_example(split, a_index, row, answerable, rng.choice(counts), rng, target)
            if example:
                examples.append(example)
    rng.shuffle(examples)
    return examples


def chat_examples(tatoeba: Path, per_language: int, rng: random.Random) -> list[dict]:
    """Plain chat with no passages: short translations into English with a reference."""
    records = []
    for code, language in (("fra", "French"), ("deu", "German")):
        sources = (tatoeba / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        references = (tatoeba / f"tatoeba.{code}-eng.eng").read_text(encoding="utf-8").splitlines()
        for i in rng.sample(range(len(sources)), per_language):
            records.append({
                "kind": "chat",
                "messages": [{"role": "user", "content": f"Translate this {language} sentence into English: {sources[i]}"}],
                "reference": references[i],
            })
    return records


def replay_examples(shared: Path, articles: list[dict], per_kind: int, rng: random.Random) -> list[dict]:
    """Plain prompts (no passages) answered by the base model itself, greedily, to train on as they are."""
    from assistant.config import Settings
    from assistant.llm.base import BASE, GenerationOptions
    from assistant.llm.local_factory import create

    prompts = []
    for code, language in (("spa", "Spanish"), ("cmn", "Chinese")):
        sources = (shared / "tatoeba_laser" / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        prompts += [f"Translate this {language} sentence into English: {sources[i]}" for i in rng.sample(range(len(sources)), per_kind)]
    prompts += rng.sample([q[1] for article in articles for q in article["questions"]], per_kind)
    model = create(Settings(adapter=BASE))
    options = GenerationOptions(max_new_tokens=128)
    records = []
    for prompt in prompts:
        messages = [{"role": "user", "content": prompt}]
        stream = model.stream(messages, options, adapter=BASE)
        reply = stream.text().strip()
        if reply and stream.usage.completion_tokens < options.max_new_tokens:  # only replies that ended by themselves
            records.append({"messages": [*messages, {"role": "assistant", "content": reply}], "id": "replay"})
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write train.jsonl, eval.jsonl and split.json")
    parser.add_argument("--eval-articles", type=int, default=10, help="articles held out for evaluation")
    parser.add_argument("--unanswerable", type=float, default=0.15, help="share of training questions whose gold passage is removed")
    parser.add_argument("--target", choices=("span", "sentence"), default="span", help="what an answerable example is answered with")
    parser.add_argument("--chat-per-language", type=int, default=20, help="plain-chat translation examples per language")
    parser.add_argument("--replay", type=int, default=0, help="plain prompts per kind answered by the base model (loads it)")
    parser.add_argument("--threads", type=int, help="CPU threads for --replay (1 is fastest on a busy machine)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    articles = load_articles(args.shared / "xquad" / "xquad.en.json")
    train_articles, eval_articles = split_articles(articles, args.eval_articles, rng)

    train = build_split(train_articles, args.unanswerable, PASSAGE_COUNTS, rng, args.target)
    eval_rng = random.Random(args.seed + 2)  # its own stream: the training options never change the held-out questions
    held_out = build_split(eval_articles, EVAL_UNANSWERABLE, (EVAL_PASSAGES,), eval_rng)
    train_records = [{"messages": [*e["messages"], {"role": "assistant", "content": e["target"]}], "id": e["id"]} for e in train]
    if args.replay:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        replay_rng = random.Random(args.seed + 1)  # its own stream: the evaluation data stays the same with or without it
        replay = replay_examples(args.shared, train_articles, args.replay, replay_rng)
        print(f"replay: {len(replay)} plain-chat examples answered by the base model")
        train_records += replay
        replay_rng.shuffle(train_records)
    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "train.jsonl", train_records)
    eval_records = [{"kind": "qa", **{k: e[k] for k in ("id", "question", "answers", "gold", "passages")}} for e in held_out]
    write_jsonl(args.out / "eval.jsonl", eval_records + chat_examples(args.shared / "tatoeba_laser", args.chat_per_language, eval_rng))
    (args.out / "split.json").write_text(json.dumps({
        "source": "XQuAD English (google-deepmind/xquad), CC BY-SA 4.0",
        "seed": args.seed,
        "train_articles": [a["title"] for a in train_articles],
        "eval_articles": [a["title"] for a in eval_articles],
    }, indent=1))
    unanswerable_train = sum(1 for e in train if e["gold"] is None)
    unanswerable_eval = sum(1 for e in held_out if e["gold"] is None)
    print(f"train: {len(train)} examples ({unanswerable_train} unanswerable) from {len(train_articles)} articles -> {args.out / 'train.jsonl'}")
    print(f"eval: {len(held_out)} QA examples ({unanswerable_eval} unanswerable) from {len(eval_articles)} articles, "
          f"{2 * args.chat_per_language} plain-chat examples -> {args.out / 'eval.jsonl'}")


if __name__ == "__main__":
    main()
