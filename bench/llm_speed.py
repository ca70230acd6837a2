"""Speed of the local backend on the embedded model, with llama.cpp on the same GGUF as the yardstick.

    python bench/llm_speed.py [--runs 3] [--new-tokens 128] [--threads N] [--json out.json]

Prints, for this machine:
- start-up, each in a fresh process: cold (an empty cache folder, so the GGUF is converted and
  the weights quantized) and warm (the same folder again), with the first answer after start-up,
  as `assistant chat` would give it;
- time to first token and decode tokens/s for a 45-token prompt and exactly 128 new tokens, greedy
  (end-of-sequence ignored), for our engine (the fast decoder), transformers' generate() (the
  engine before it) and llama.cpp (llama-cpp-python, 2 threads), all fed the same token ids.
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
LLAMA_THREADS = 2
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


def measure_ours(model, messages, new_tokens: int, runs: int) -> list[dict]:
    from assistant.llm.base import GenerationOptions

    results = []
    for _ in range(runs):
        stream = model.stream(messages, GenerationOptions(max_new_tokens=new_tokens), ignore_eos=True)
        stream.text()
        usage = stream.usage
        assert usage.completion_tokens == new_tokens, usage
        results.append({"ttft_s": usage.time_to_first_token_s, "tokens_per_s": usage.decode_tokens_per_s})
    return results


def measure_llama_cpp(gguf: str, prompt: list[int], new_tokens: int, runs: int) -> list[dict]:
    from llama_cpp import Llama

    llm = Llama(gguf, n_threads=LLAMA_THREADS, n_ctx=2048, verbose=False)
    results = []
    for _ in range(runs + 1):  # the first run warms up and is not counted
        started = time.perf_counter()
        first = None
        for count, _token in enumerate(llm.generate(prompt, temp=0.0, reset=True), start=1):
            first = first or time.perf_counter()
            if count == new_tokens:  # end-of-sequence is ignored: exactly new_tokens tokens
                break
        ended = time.perf_counter()
        results.append({"ttft_s": first - started, "tokens_per_s": (new_tokens - 1) / (ended - first)})
    return results[1:]


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
        messages = bench_prompt(model)
        prompt = model.encode_chat(messages)
        figures["prompt_tokens"] = len(prompt)
        measure_ours(model, messages, 8, 1)  # warm-up
        figures["ours"] = measure_ours(model, messages, args.new_tokens, args.runs)
        if not args.skip_generate:
            baseline = load_model(cache, engine="generate")
            measure_ours(baseline, messages, 8, 1)
            figures["generate"] = measure_ours(baseline, messages, args.new_tokens, args.runs)
            del baseline
        try:
            figures["llama.cpp"] = measure_llama_cpp(model.source.location, prompt, args.new_tokens, args.runs)
        except ImportError as error:
            figures["llama.cpp"] = None
            figures["llama.cpp_error"] = f"llama-cpp-python is not installed ({error})"
    figures["load_average_after"] = os.getloadavg()
    report(figures, args.new_tokens)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def report(figures: dict, new_tokens: int) -> None:
    load = " / ".join(f"{a:.1f}" for a in figures["load_average_before"][:1] + figures["load_average_after"][:1])
    print(f"smollm2-135m (SmolLM2-135M-Instruct Q4_1 GGUF) on {os.cpu_count()} CPUs, torch threads "
          f"{figures['torch_threads']}, load average before/after {load}")
    print("\nstart-up (fresh process)        import    load   first answer: TTFT   total")
    for name in ("cold", "warm"):
        f = figures[name]
        print(f"  {name:<28} {f['import_s']:6.2f}s {f['load_s']:6.2f}s {f['first_ttft_s']:17.2f}s {f['first_total_s']:6.2f}s")
    print(f"  (cold = empty cache: GGUF conversion and quantization included; first answer: {figures['warm']['first_answer']!r})")
    print(f"\n{figures['prompt_tokens']}-token prompt, {new_tokens} new tokens, greedy   TTFT (median)   decode tokens/s median [best]")
    rows = [("ours (fast decoder)", "ours"), ("transformers generate()", "generate"), (f"llama.cpp ({LLAMA_THREADS} threads)", "llama.cpp")]
    for label, key in rows:
        if key not in figures:
            continue
        if figures[key] is None:
            print(f"  {label:<40} unavailable: {figures.get('llama.cpp_error')}")
            continue
        ttft, _ = summary(figures[key], "ttft_s", best=min)
        speed, best = summary(figures[key], "tokens_per_s")
        print(f"  {label:<40} {ttft * 1000:8.0f} ms {speed:14.1f} [{best:.1f}]")
    if figures.get("llama.cpp"):
        ours, ours_best = summary(figures["ours"], "tokens_per_s")
        ref, ref_best = summary(figures["llama.cpp"], "tokens_per_s")
        print(f"\n  ours / llama.cpp decode speed: {ours / ref:.2f}x (best runs: {ours_best / ref_best:.2f}x)")
        if "generate" in figures:
            before, _ = summary(figures["generate"], "tokens_per_s")
            print(f"  ours / generate() decode speed: {ours / before:.2f}x")


if __name__ == "__main__":
    main()
