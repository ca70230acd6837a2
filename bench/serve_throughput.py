"""Throughput of N concurrent chats: the openai backend (through a server) against the local backend.

Each chat is a thread sending its requests one after another, as a Telegram user would; the chats
run at once. Every run answers the same prompts, shared out among its chats. Prints requests/s,
p50/p95 latency and generated tokens/s for each backend and number of chats.

    .venv/bin/python bench/serve_throughput.py                       # starts a llama.cpp server itself
    .venv/bin/python bench/serve_throughput.py --base-url http://gpu-box:8000/v1 --backends server
    .venv/bin/python bench/serve_throughput.py --chats 1,4,8 --requests 32 --max-new-tokens 48 --threads 1

Without --base-url it serves the embedded GGUF with `python -m llama_cpp.server` on a free port
(`make test-server` installs it). Prompts are XQuAD questions from the shared evaluation data.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.config import Settings  # noqa: E402
from assistant.llm import GenerationOptions  # noqa: E402
from assistant.llm.models import embedded_file  # noqa: E402

DATA = next((p for p in (REPO.parent / "shared" / "data", Path("/work/shared/data")) if p.is_dir()), None)


def questions(count: int) -> list[str]:
    if DATA is None:
        raise SystemExit("The shared evaluation data (../shared/data) is missing: the prompts come from XQuAD.")
    squad = json.loads((DATA / "xquad" / "xquad.en.json").read_text(encoding="utf-8"))
    found = [qa["question"] for article in squad["data"] for p in article["paragraphs"] for qa in p["qas"]]
    return found[:count]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def llama_server(threads: int, context: int):
    """The embedded GGUF served by llama-cpp-python's OpenAI-compatible server, for the length of the block."""
    gguf = embedded_file("smollm2-135m")
    if gguf is None:
        raise SystemExit("The embedded model is not installed: run `make install`.")
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "smollm2-135m",
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context),
               "--n_threads", str(threads), "--n_threads_batch", str(threads),
               "--interrupt_requests", "False"]  # queue concurrent requests instead of cutting off the one running
    log = tempfile.NamedTemporaryFile("w+", prefix="llama-server-", suffix=".log")  # a pipe would fill and block it
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                log.seek(0)
                raise SystemExit(f"llama_cpp.server exited: {log.read()[-2000:]}\n(`make test-server` installs it)")
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError as error:
                if time.monotonic() > deadline:
                    raise SystemExit("llama_cpp.server did not start within 120s") from error
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def run(model, prompts: list[str], chats: int, options: GenerationOptions) -> dict:
    """``chats`` threads share the prompts round-robin; returns the figures for this run."""
    latencies: list[float] = []
    tokens: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def chat(mine: list[str]) -> None:
        for prompt in mine:
            started = time.perf_counter()
            try:
                stream = model.stream([{"role": "user", "content": prompt}], options)
                stream.text()
            except Exception as error:  # a failed request is counted, not fatal to the benchmark
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                continue
            with lock:
                latencies.append(time.perf_counter() - started)
                tokens.append(stream.usage.completion_tokens)

    workers = [threading.Thread(target=chat, args=(prompts[i::chats],)) for i in range(chats)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "chats": chats,
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "wall_s": wall,
        "requests_per_s": len(latencies) / wall if wall else 0.0,
        "p50_s": statistics.median(ordered) if ordered else float("nan"),
        "p95_s": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan"),
        "tokens_per_s": sum(tokens) / wall if wall else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", default="1,4", help="comma-separated numbers of concurrent chats (default 1,4)")
    parser.add_argument("--requests", type=int, default=16, help="requests per run, shared out among the chats (default 16)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--backends", default="server,local", help="server, local or both (default server,local)")
    parser.add_argument("--base-url", help="an OpenAI-compatible server that is already running")
    parser.add_argument("--model", help="served model name (default: the one the server serves)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                        help="CPU threads for both backends (on a busy machine, fewer than its cores: llama.cpp's "
                             "threads spin-wait, and lose badly to other processes)")
    parser.add_argument("--json", action="store_true", help="one JSON line per run instead of a table")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    chat_counts = [int(n) for n in args.chats.split(",")]
    backends = [b.strip() for b in args.backends.split(",")]
    options = GenerationOptions(max_new_tokens=args.max_new_tokens)
    prompts = questions(args.requests)
    results: list[dict] = []

    def measure(label: str, model) -> None:
        model.generate([{"role": "user", "content": "Hello"}], GenerationOptions(max_new_tokens=4))  # warm up
        for n in chat_counts:
            figures = {"backend": label, **run(model, prompts, n, options)}
            results.append(figures)
            report(figures, args.json)

    print(f"# {len(prompts)} requests per run, {args.max_new_tokens} new tokens at most, greedy; "
          f"{args.threads} CPU threads; machine has {os.cpu_count()} cores", flush=True)
    if not args.json:
        print(f"{'backend':<22}{'chats':>6}{'req':>5}{'err':>5}{'req/s':>8}{'p50 s':>8}{'p95 s':>8}{'tok/s':>8}", flush=True)
    if "server" in backends:
        from assistant.llm.openai_backend import OpenAIChatModel

        def served(url: str, label: str) -> None:
            model = OpenAIChatModel(url, model=args.model, tokenizer="estimate", timeout=600)
            measure(label, model)

        if args.base_url:
            served(args.base_url, "server")
        else:
            import torch

            torch.set_num_threads(1)  # this process only sends requests; the server gets the cores
            with llama_server(args.threads, 2048) as url:
                served(url, "server (llama.cpp)")
    if "local" in backends:
        import torch

        from assistant.llm.local_factory import create

        torch.set_num_threads(args.threads)
        measure("local (transformers)", create(Settings(adapter="none", max_new_tokens=args.max_new_tokens)))


def report(figures: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}), flush=True)
        return
    print(f"{figures['backend']:<22}{figures['chats']:>6}{figures['requests']:>5}{figures['errors']:>5}"
          f"{figures['requests_per_s']:>8.2f}{figures['p50_s']:>8.2f}{figures['p95_s']:>8.2f}{figures['tokens_per_s']:>8.1f}",
          flush=True)
    if figures["first_error"]:
        print(f"  first error: {figures['first_error']}", flush=True)


if __name__ == "__main__":
    main()
