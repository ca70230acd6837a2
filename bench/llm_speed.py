"""Speed of the local backend on the embedded model, with llama.cpp on the same GGUF as the yardstick.

    python bench/llm_speed.py [--runs 3] [--new-tokens 128] [--threads N] [--json out.json]

Prints, for this machine:
- start-up, each in a fresh process: cold (an empty cache folder, so the GGUF is converted and
  the weights quantized) and warm (the same folder again), with the first answer after start-up,
  as `assistant chat` would give it;
- time to first token and decode tokens/s for a 45-token prompt and exactly 128 new tokens, greedy
  (end-of-sequence ignored), for our engine (the fast decoder), transformers' generate() (the
  engine before it) and llama.cpp (llama-cpp-python, 2 threads, and 1 thread), all fed the same token ids.
The CPU may be shared: the load average is printed with the figures, and each figure is the median
of --runs runs (best in brackets).
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

PROMPT_TOKENS = 45
LLAMA_THREADS = (2, 1)  # 2 is the yardstick; 1 is what a busy, shared CPU leaves it
TEXT = (
    "Explain how a bicycle stays upright while it moves, what role the rider's small steering corrections "
    "play, and why a stationary bicycle falls over, in words a curious child would understand."
)
FIRST_QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def load_model(cache_dir: Path, engine: str = "auto"):
    from assistant.llm.local import LocalChatModel
    from assistant.llm.models import resolve_model

    return LocalChatModel(resolve_model("smollm2-135m"), cache_dir=cache_dir, adapters_dir=cache_dir / "adapters", engine=engine)


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


def run_ours(model, messages, new_tokens: int) -> dict:
    from assistant.llm.base import GenerationOptions

    stream = model.stream(messages, GenerationOptions(max_new_tokens=new_tokens), ignore_eos=True)
    stream.text()
    usage = stream.usage
    assert usage.completion_tokens == new_tokens, usage
    return {"ttft_s": usage.time_to_first_token_s, "tokens_per_s": usage.decode_tokens_per_s}


def run_llama_cpp(llm, prompt: list[int], new_tokens: int) -> dict:
    started, first = time.perf_counter(), None
    for count, _token in enumerate(llm.generate(prompt, temp=0.0, reset=True), start=1):
        first = first or time.perf_counter()
        if count == new_tokens:  # end-of-sequence is ignored: exactly new_tokens tokens
            break
    return {"ttft_s": first - started, "tokens_per_s": (new_tokens - 1) / (time.perf_counter() - first)}


def engines(model, baseline, messages, prompt: list[int], figures: dict) -> dict:
    """name -> run(new_tokens), for every engine this machine has."""
    runs = {"ours": lambda n: run_ours(model, messages, n)}
    if baseline is not None:
        runs["generate"] = lambda n: run_ours(baseline, messages, n)
    try:
        from llama_cpp import Llama
    except ImportError as error:
        figures["llama.cpp_error"] = f"llama-cpp-python is not installed ({error})"
        return runs
    for threads in LLAMA_THREADS:
        llm = Llama(model.source.location, n_threads=threads, n_ctx=2048, verbose=False)
        runs[f"llama.cpp/{threads}"] = lambda n, llm=llm: run_llama_cpp(llm, prompt, n)
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
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child-start", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child_start:
        print(json.dumps(start_up(args.child_start)))
        return

    figures: dict = {"load_average_before": os.getloadavg(), "torch_threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory(prefix="llm-speed-") as tmp:
        cache = Path(tmp)
        figures["cold"] = start_up_in_child(cache, args.threads)
        figures["warm"] = start_up_in_child(cache, args.threads)
        model = load_model(cache)
        baseline = None if args.skip_generate else load_model(cache, engine="generate")
        messages = bench_prompt(model)
        prompt = model.encode_chat(messages)
        figures["prompt_tokens"] = len(prompt)
        runs = engines(model, baseline, messages, prompt, figures)
        for run in runs.values():
            run(8)  # warm-up
        for name in runs:
            figures[name] = []
        for _ in range(args.runs):  # engines take turns, so a change in the machine's load hits them all
            for name, run in runs.items():
                figures[name].append(run(args.new_tokens))
        figures["ours_threads"] = model.fast.threads.chosen
    figures["load_average_after"] = os.getloadavg()
    report(figures, args.new_tokens)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def report(figures: dict, new_tokens: int) -> None:
    load = " / ".join(f"{a:.1f}" for a in figures["load_average_before"][:1] + figures["load_average_after"][:1])
    print(f"smollm2-135m (SmolLM2-135M-Instruct Q4_1 GGUF) on {os.cpu_count()} CPUs, torch threads "
          f"{figures['torch_threads']}, load average before/after {load}")
    print("\nstart-up (fresh process)     import     load   first answer: TTFT    total   start to answer")
    for name in ("cold", "warm"):
        f = figures[name]
        whole = f["import_s"] + f["load_s"] + f["first_total_s"]
        print(f"  {name:<24} {f['import_s']:7.2f}s {f['load_s']:7.2f}s {f['first_ttft_s']:18.2f}s {f['first_total_s']:7.2f}s {whole:10.2f}s")
    print(f"  (cold = empty cache: GGUF conversion and quantization included; first answer: {figures['warm']['first_answer']!r})")
    print(f"\n{figures['prompt_tokens']}-token prompt, {new_tokens} new tokens, greedy{'':<20}TTFT   decode tokens/s median [best]")
    rows = [(f"ours (fast decoder, decoding with {figures['ours_threads']} thread(s))", "ours"),
            ("transformers generate()", "generate")]
    rows += [(f"llama.cpp ({n} thread{'s' if n > 1 else ''})", f"llama.cpp/{n}") for n in LLAMA_THREADS]
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
            print(f"  ours / llama.cpp ({n} thread{'s' if n > 1 else ''}) decode speed: {ours / ref:.2f}x (best runs: {ours_best / ref_best:.2f}x)")
    if "generate" in figures:
        before, _ = summary(figures["generate"], "tokens_per_s")
        print(f"  ours / generate() decode speed: {ours / before:.2f}x")


if __name__ == "__main__":
    main()
