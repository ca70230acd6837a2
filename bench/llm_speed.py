"""Speed of the local backend on the embedded model, with llama.cpp on the same GGUF as the yardstick.

    python bench/llm_speed.py [--runs 3] [--new-tokens 128] [--threads N] [--json out.json]

Prints, for this machine:
- start-up, each in a fresh process: cold (an empty cache folder, so the GGUF is converted and
  the weights quantized) and warm (the same folder again), with the first answer after start-up,
  as `assistant chat` would give it;
- time to first token and decode tokens/s for a 45-token prompt and exactly 128 new tokens, greedy
  (end-of-sequence ignored), for our engine (the fast decoder: with the thread count ThreadChoice
  picks at a first request, and fixed to 2 and to 1 thread; and one token a step, without prompt
  lookup), transformers' generate() (the engine before it) and llama.cpp (llama-cpp-python, 2
  threads, and 1 thread), all fed the same token ids;
- decode tokens/s of whole answers to the RAG prompts below (up to 64 tokens, end-of-sequence
  honoured), where prompt lookup finds the passages' words: ours with it and without it, llama.cpp;
- time to first token for a RAG prompt (the QA skill's prompt with 4 XQuAD passages, about 630
  tokens), a different question and passages each run so no prefix cache helps anyone: ours from
  scratch, ours with the system prompt kept from the previous request (what a second question
  costs), and llama.cpp;
- the whole path of a question, `/ask` through the ConversationManager over a knowledge base of
  this project's docs/ (retrieval, the prompt, prefill): the time to the first streamed token.
The CPU model, torch's CPU capability and the engine plan are printed with the figures (run under
ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 to see an AVX2 machine). The CPU may be shared:
the load average is printed too, and each figure is the median of --runs runs (best in brackets).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

PROMPT_TOKENS = 45
LLAMA_THREADS = (2, 1)  # 2 is the yardstick; 1 is what a busy, shared CPU leaves it
LLAMA_LABELS = {f"llama.cpp/{n}": f"llama.cpp ({n} thread{'s' if n > 1 else ''})" for n in LLAMA_THREADS}
TEXT = (
    "Explain how a bicycle stays upright while it moves, what role the rider's small steering corrections "
    "play, and why a stationary bicycle falls over, in words a curious child would understand."
)
FIRST_QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


RAG_PASSAGES = 4


def load_model(cache_dir: Path, engine: str = "auto"):
    from assistant.llm.local import LocalChatModel
    from assistant.llm.models import resolve_model

    return LocalChatModel(resolve_model("smollm2-135m"), cache_dir=cache_dir, adapters_dir=cache_dir / "adapters", engine=engine)


def rag_prompts(count: int) -> list[list[dict]]:
    """``count`` QA prompts, each a different XQuAD question with its paragraph and three others."""
    sys.path.insert(0, str(REPO / "bench"))
    import common
    from qa_xquad import load_xquad

    from assistant.retrieval.base import Passage
    from assistant.skills.prompts import qa_messages

    paragraphs, questions = load_xquad(common.data_dir(None))
    by_id = {p.id: p for p in paragraphs}
    prompts = []
    for index, question in enumerate(common.sample(questions, count)):
        chosen = [by_id[question.paragraph]] + [paragraphs[(index * 7 + j * 31) % len(paragraphs)] for j in range(1, RAG_PASSAGES)]
        passages = [Passage(p.text, f"{p.title}.md", p.title) for p in chosen]
        prompts.append(qa_messages(question.text, passages))
    return prompts


def rag_ttft(model, llama_models: dict, prompts: list[list[dict]]) -> dict:
    """Time to first token on fresh RAG prompts: ours from scratch and with the system prompt kept, and llama.cpp's."""
    from assistant.llm.base import GenerationOptions

    one = GenerationOptions(max_new_tokens=1)
    figures: dict = {"tokens": [], "ours_fresh": [], "ours_kept_prefix": []}
    for name in llama_models:
        figures[name] = []
    for messages in prompts:
        ids = model.encode_chat(messages)
        figures["tokens"].append(len(ids))
        model.fast.forget()
        stream = model.stream(messages, one)
        stream.text()
        figures["ours_fresh"].append(stream.usage.time_to_first_token_s)
        # The next question keeps the system prompt: what the QA skill's second question costs.
        model.fast.cached = model.fast.cached[: len(model.encode_chat(messages[:1]))]
        stream = model.stream(messages, one)
        stream.text()
        figures["ours_kept_prefix"].append(stream.usage.time_to_first_token_s)
        for name, llm in llama_models.items():
            figures[name].append(run_llama_cpp(llm, ids, 1)["ttft_s"])
    return figures


def rag_decode(model, llama_models: dict, prompts: list[list[dict]], tokens: int = 64) -> dict:
    """Decode tokens/s of whole answers to RAG prompts: ours with prompt lookup (the default) and one token a
    step, and llama.cpp's (which has no prompt lookup in its plain generate())."""
    from assistant.llm.base import GenerationOptions

    figures: dict = {"ours": [], "ours_one_token_a_step": [], "tokens": [], **{name: [] for name in llama_models}}
    for messages in prompts:
        for key, lookup in (("ours", True), ("ours_one_token_a_step", False)):
            with prompt_lookup(model, lookup):
                stream = model.stream(messages, GenerationOptions(max_new_tokens=tokens))
                stream.text()
            figures[key].append(stream.usage.decode_tokens_per_s)
        figures["tokens"].append(stream.usage.completion_tokens)
        for name, llm in llama_models.items():
            figures[name].append(run_llama_cpp(llm, model.encode_chat(messages), tokens, until_eos=True)["tokens_per_s"])
    return figures


@contextmanager
def prompt_lookup(model, on: bool) -> Iterator[None]:
    """Our fast decoder with prompt lookup's drafts (its default) or without (one token a step), then the default."""
    from assistant.llm.fast import DRAFT_TOKENS

    if model.fast is None:
        yield
        return
    model.fast.draft_tokens = DRAFT_TOKENS if on else 0
    try:
        yield
    finally:
        model.fast.draft_tokens = DRAFT_TOKENS


def format_table(model, prompts: list[list[dict]], steps: int = 40) -> None:
    """CPU seconds of one thread per plan: the RAG prompt's prefill, and one decoding step. CPU time,
    not wall time, so that a shared machine inflates it less."""
    import torch

    from assistant.llm.engine import Planner
    from assistant.llm.plan import EnginePlan

    torch.set_num_threads(1)
    ids_list = [model.encode_chat(m) for m in prompts]
    planner = Planner(model.model, model.context_window, None, [])
    print(f"one thread, CPU seconds; prompts of {', '.join(str(len(i)) for i in ids_list)} tokens")
    for prefill, decode in [("float32", "int4"), ("bfloat16", "int4"), ("float32", "int8"), ("float32", "bfloat16"), ("float32", "float32")]:
        decoder = planner.build(EnginePlan(prefill, decode, "", ""))
        prefills, step_times = [], []
        with torch.inference_mode():
            for ids in ids_list:
                decoder.forget()
                started = time.process_time()
                decoder.prefill(ids, None)
                prefills.append(time.process_time() - started)
            for i in range(steps):
                started = time.process_time()
                decoder.forward(torch.tensor([ids[i]]), len(ids) + i, None)
                step_times.append(time.process_time() - started)
        print(f"  prompt {prefill:<9} tokens {decode:<9} prefill {statistics.median(prefills):5.2f} s   "
              f"decode {statistics.median(step_times) * 1000:5.1f} ms/token")


def ask_ttft(cache_dir: Path, runs: int) -> dict:
    """`/ask` over this project's docs/ through the ConversationManager: seconds to the first streamed token."""
    from assistant.config import Settings
    from assistant.conversation.types import TextDelta
    from assistant.runtime import Runtime

    questions = ["How do I add my documents?", "How do I run the Telegram bot?", "Where are conversations stored?",
                 "How do I train an adapter?", "Which file formats can be indexed?"]
    with tempfile.TemporaryDirectory(prefix="llm-speed-kb-") as tmp:
        settings = Settings(index=Path(tmp) / "index", data_dir=Path(tmp) / "data", cache_dir=cache_dir, adapter="none")
        runtime = Runtime(settings)
        runtime.knowledge.add([REPO / "docs"])
        manager = runtime.manager
        manager.handle("warm-up", "/ask What is this project?", remember=False)
        times = []
        for question in (questions * runs)[: max(runs, len(questions))]:
            started = time.perf_counter()
            for event in manager.stream("bench", "/ask " + question, remember=False):
                if isinstance(event, TextDelta):
                    times.append(time.perf_counter() - started)
                    break
    return {"ttft_s": times}


def start_up(cache_dir: Path) -> dict:
    """In a fresh process: imports, model load, and the first short answer."""
    started = time.perf_counter()
    import torch  # noqa: F401  (timed: part of every start)
    import transformers  # noqa: F401

    from assistant.llm.base import GenerationOptions

    imported = time.perf_counter()
    model = load_model(cache_dir)
    loaded = time.perf_counter()
    stream = model.stream(FIRST_QUESTION, GenerationOptions(max_new_tokens=32))
    answer = stream.text()
    return {
        "import_s": imported - started,
        "load_s": loaded - imported,
        "first_ttft_s": stream.usage.time_to_first_token_s,
        "first_total_s": stream.usage.total_s,
        "first_answer": answer,
    }


def start_up_in_child(cache_dir: Path, threads: int | None) -> dict:
    command = [sys.executable, __file__, "--child-start", str(cache_dir)] + (["--threads", str(threads)] if threads else [])
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_prompt(model) -> list[dict]:
    """The first words of TEXT that make a chat prompt of PROMPT_TOKENS tokens (or just over)."""
    words = TEXT.split()
    for count in range(1, len(words) + 1):
        messages = [{"role": "user", "content": " ".join(words[:count])}]
        if model.count_tokens(messages) >= PROMPT_TOKENS:
            return messages
    raise SystemExit(f"TEXT is too short for a {PROMPT_TOKENS}-token prompt")


def run_ours(model, messages, new_tokens: int, threads: int | None = None, lookup: bool = True) -> dict:
    """Our engine on a fresh thread choice, as at a first request: timed by ThreadChoice, or fixed to ``threads``.
    Fresh, because a choice timed while llama.cpp's workers (same process) were still about is no choice.
    ``lookup``: prompt lookup drafts (the default), or one token a step as llama.cpp decodes."""
    from assistant.llm.base import GenerationOptions
    from assistant.llm.fast import ThreadChoice

    if model.fast is not None:
        model.fast.threads = ThreadChoice()
        if threads:
            model.fast.threads.fix(threads)
    with prompt_lookup(model, lookup):
        stream = model.stream(messages, GenerationOptions(max_new_tokens=new_tokens), ignore_eos=True)
        stream.text()
    usage = stream.usage
    assert usage.completion_tokens == new_tokens, usage
    return {"ttft_s": usage.time_to_first_token_s, "tokens_per_s": usage.decode_tokens_per_s,
            "threads": model.fast.threads.chosen if model.fast is not None else None}


def run_llama_cpp(llm, prompt: list[int], new_tokens: int, until_eos: bool = False) -> dict:
    """llama.cpp on the torch thread: its OpenMP calls bind to torch's runtime in this process, and a
    second thread running OpenMP would slow both engines down (assistant/torch_threads.py)."""
    from assistant.torch_threads import TORCH

    return TORCH.run(_run_llama_cpp, llm, prompt, new_tokens, until_eos)


def _run_llama_cpp(llm, prompt: list[int], new_tokens: int, until_eos: bool) -> dict:
    """Exactly ``new_tokens`` tokens (end-of-sequence ignored), or up to them and the end-of-sequence token."""
    started, first, count = time.perf_counter(), None, 0
    for count, token in enumerate(llm.generate(prompt, temp=0.0, reset=True), start=1):
        first = first or time.perf_counter()
        if count == new_tokens or (until_eos and token == llm.token_eos()):
            break
    elapsed = time.perf_counter() - first
    return {"ttft_s": first - started, "tokens_per_s": (count - 1) / elapsed if count > 1 else 0.0}


def llama_cpp_models(location: str, figures: dict) -> dict:
    try:
        from llama_cpp import Llama
    except ImportError as error:
        figures["llama.cpp_error"] = f"llama-cpp-python is not installed ({error}; `make test-server` installs it)"
        return {}
    from assistant.torch_threads import TORCH

    return {f"llama.cpp/{n}": TORCH.run(Llama, location, n_threads=n, n_ctx=2048, verbose=False) for n in LLAMA_THREADS}


def engines(model, baseline, messages, prompt: list[int], figures: dict) -> dict:
    """name -> run(new_tokens), for every engine this machine has."""
    import torch

    runs = {"ours": lambda n: run_ours(model, messages, n)}
    if model.fast is not None:
        runs |= {f"ours/{t}": lambda n, t=t: run_ours(model, messages, n, threads=t) for t in LLAMA_THREADS if t <= torch.get_num_threads()}
        runs["ours/one_token_a_step"] = lambda n: run_ours(model, messages, n, lookup=False)
    if baseline is not None:
        runs["generate"] = lambda n: run_ours(baseline, messages, n)
    for name, llm in figures["llama_models"].items():
        runs[name] = lambda n, llm=llm: run_llama_cpp(llm, prompt, n)
    return runs


def summary(results: list[dict], key: str, best=max) -> tuple[float, float]:
    values = [r[key] for r in results]
    return statistics.median(values), best(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs per engine (median reported)")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, help="torch threads for our engine (default: torch's own choice)")
    parser.add_argument("--skip-generate", action="store_true", help="skip the slow transformers generate() runs")
    parser.add_argument("--skip-start", action="store_true", help="skip the cold and warm start-up runs")
    parser.add_argument("--skip-rag", action="store_true", help="skip the RAG prompt and the /ask runs")
    parser.add_argument("--formats", action="store_true", help="only: CPU seconds of every matmul format on RAG prompts, one thread")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child-start", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child_start:
        print(json.dumps(start_up(args.child_start)))
        return

    from assistant.llm.plan import this_cpu

    figures: dict = {"load_average_before": os.getloadavg(), "torch_threads": torch.get_num_threads(), "cpu": this_cpu().describe()}
    with tempfile.TemporaryDirectory(prefix="llm-speed-") as tmp:
        cache = Path(tmp)
        if not args.skip_start:
            figures["cold"] = start_up_in_child(cache, args.threads)
            figures["warm"] = start_up_in_child(cache, args.threads)
        model = load_model(cache)
        if args.formats:
            print(f"{figures['cpu']}: {model.engine_reason}")
            format_table(model, rag_prompts(args.runs))
            return
        figures["engine"] = model.engine_reason
        baseline = None if args.skip_generate else load_model(cache, engine="generate")
        messages = bench_prompt(model)
        prompt = model.encode_chat(messages)
        figures["prompt_tokens"] = len(prompt)
        figures["llama_models"] = llama_cpp_models(model.source.location, figures)
        if not args.skip_rag:
            figures["rag"] = rag_ttft(model, figures["llama_models"], rag_prompts(args.runs))
            if model.fast is not None:
                figures["rag_decode"] = rag_decode(model, figures["llama_models"], rag_prompts(args.runs))
            figures["ask"] = ask_ttft(cache, args.runs)
        runs = engines(model, baseline, messages, prompt, figures)
        for run in runs.values():
            run(8)  # warm-up
        for name in runs:
            figures[name] = []
        for _ in range(args.runs):  # engines take turns, so a change in the machine's load hits them all
            for name, run in runs.items():
                figures[name].append(run(args.new_tokens))
        figures["ours_threads"] = "/".join(str(t) for t in sorted({r["threads"] for r in figures["ours"]}))
    del figures["llama_models"]
    figures["load_average_after"] = os.getloadavg()
    report(figures, args.new_tokens)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def report(figures: dict, new_tokens: int) -> None:
    load = " / ".join(f"{a:.1f}" for a in figures["load_average_before"][:1] + figures["load_average_after"][:1])
    print(f"smollm2-135m (SmolLM2-135M-Instruct Q4_1 GGUF) on {figures['cpu']}, {os.cpu_count()} CPUs, torch threads "
          f"{figures['torch_threads']}, load average before/after {load}")
    print(f"engine: {figures['engine']}")
    if "cold" in figures:
        report_start(figures)
    if "rag" in figures:
        report_rag(figures)
    report_decode(figures, new_tokens)


def report_start(figures: dict) -> None:
    print("\nstart-up (fresh process)     import     load   first answer: TTFT    total   start to answer")
    for name in ("cold", "warm"):
        f = figures[name]
        whole = f["import_s"] + f["load_s"] + f["first_total_s"]
        print(f"  {name:<24} {f['import_s']:7.2f}s {f['load_s']:7.2f}s {f['first_ttft_s']:18.2f}s {f['first_total_s']:7.2f}s {whole:10.2f}s")
    print(f"  (cold = empty cache: GGUF conversion, planning and quantization included; first answer: {figures['warm']['first_answer']!r})")


def report_rag(figures: dict) -> None:
    rag = figures["rag"]
    tokens = statistics.median(rag["tokens"])
    print(f"\nRAG prompt ({RAG_PASSAGES} XQuAD passages and a question, median {tokens:.0f} tokens), time to first token, median [best]")
    labels = {"ours_fresh": "ours, from scratch", "ours_kept_prefix": "ours, system prompt kept from the last request"}
    print_medians(rag, labels | LLAMA_LABELS, "{:6.2f} s", min)
    ask = figures["ask"]["ttft_s"]
    print(f"  /ask over docs/ through the manager (retrieval + prompt + prefill) {statistics.median(ask):6.2f} s [{min(ask):.2f}]")
    if "rag_decode" in figures:
        answers = figures["rag_decode"]
        print(f"\nAnswers to those prompts (up to 64 tokens, end-of-sequence honoured; median {statistics.median(answers['tokens']):.0f} tokens), decode tokens/s, median [best]")
        labels = {"ours": "ours, prompt lookup (the default)", "ours_one_token_a_step": "ours, one token a step"}
        print_medians(answers, labels | LLAMA_LABELS, "{:6.1f}", max)


def print_medians(values: dict, labels: dict, form: str, best) -> None:
    """One line per label whose figures were measured: the median, and the best in brackets."""
    for key, label in labels.items():
        if values.get(key):
            print(f"  {label:<52} {form.format(statistics.median(values[key]))} [{form.format(best(values[key])).strip()}]")


def report_decode(figures: dict, new_tokens: int) -> None:
    print(f"\n{figures['prompt_tokens']}-token prompt, {new_tokens} new tokens, greedy{'':<20}TTFT   decode tokens/s median [best]")
    rows = [(f"ours (fast decoder, ThreadChoice picked {figures['ours_threads']} thread(s))", "ours")]
    rows += [(f"ours, {n} thread{'s' if n > 1 else ''}", f"ours/{n}") for n in LLAMA_THREADS]
    rows += [("ours, one token a step (no prompt lookup)", "ours/one_token_a_step")]
    rows += [("transformers generate()", "generate")]
    rows += [(label, key) for key, label in LLAMA_LABELS.items()]
    for label, key in rows:
        if key not in figures:
            if key.startswith("llama.cpp"):
                print(f"  {label:<52} unavailable: {figures.get('llama.cpp_error')}")
            continue
        ttft, _ = summary(figures[key], "ttft_s", best=min)
        speed, best = summary(figures[key], "tokens_per_s")
        print(f"  {label:<52} {ttft * 1000:6.0f} ms {speed:10.1f} [{best:.1f}]")
    ours, ours_best = summary(figures["ours"], "tokens_per_s")
    print()
    for n in LLAMA_THREADS:
        if figures.get(f"llama.cpp/{n}"):
            ref, ref_best = summary(figures[f"llama.cpp/{n}"], "tokens_per_s")
            threads = f"{n} thread{'s' if n > 1 else ''}"
            print(f"  ours / llama.cpp ({threads}) decode speed: {ours / ref:.2f}x (best runs: {ours_best / ref_best:.2f}x)")
            if figures.get(f"ours/{n}"):
                fixed, fixed_best = summary(figures[f"ours/{n}"], "tokens_per_s")
                print(f"  ours / llama.cpp, both on {threads}: {fixed / ref:.2f}x (best runs: {fixed_best / ref_best:.2f}x)")
            if figures.get("ours/one_token_a_step"):
                plain, plain_best = summary(figures["ours/one_token_a_step"], "tokens_per_s")
                print(f"  ours one token a step / llama.cpp ({threads}): {plain / ref:.2f}x (best runs: {plain_best / ref_best:.2f}x)")
    if "generate" in figures:
        before, _ = summary(figures["generate"], "tokens_per_s")
        print(f"  ours / generate() decode speed: {ours / before:.2f}x")


if __name__ == "__main__":
    main()
