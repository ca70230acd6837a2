"""Decoding speed of the embedded model with each adapter active, against the base model.

An active adapter's LoRA side paths run on every decoding step, so a larger rank costs speed; this
prints by how much (median tokens/s of --runs greedy generations of the same translation prompt):

    python bench/adapter_speed.py                         # the base model and every installed adapter
    python bench/adapter_speed.py --adapters translate,/tmp/my-adapter --runs 7 --threads 1
"""

from __future__ import annotations

import argparse

import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapters", help="comma-separated names or folders (default: every installed adapter)")
    parser.add_argument("--runs", type=int, default=5, help="timed generations per adapter (default: %(default)s)")
    parser.add_argument("--new-tokens", type=int, default=64, help="(default: %(default)s)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    args = parser.parse_args()

    import torch

    from assistant.config import Settings
    from assistant.llm.adapters import list_adapters, read_adapter
    from assistant.llm.base import BASE, GenerationOptions
    from assistant.llm.local import LocalChatModel
    from assistant.llm.models import resolve_model
    from assistant.llm.plan import this_cpu
    from assistant.skills.translate import find_language, translate_messages

    if args.threads:
        torch.set_num_threads(args.threads)
    adapters_dir = common.REPO / "adapters"
    names = args.adapters.split(",") if args.adapters else [a.name for a in list_adapters(adapters_dir)]
    report = common.Report("adapter_speed")
    model = LocalChatModel(resolve_model("smollm2-135m"), cache_dir=Settings().cache_dir, adapters_dir=adapters_dir)
    text = ("The meeting is moved to Thursday at ten. Please bring the quarterly figures and the draft of the "
            "new travel policy, and tell Anna that the room on the second floor is booked for the whole afternoon.")
    messages = translate_messages(text, find_language("en"), find_language("fr"))
    options = GenerationOptions(max_new_tokens=args.new_tokens)
    rows = []
    for name in [BASE, *names]:
        loaded = name if name == BASE else model.load_adapter(name)
        rank = None if name == BASE else read_adapter(name, adapters_dir).rank
        rates, tokens = [], []
        for run in range(args.runs + 1):  # the first run warms the adapter's side paths up
            stream = model.stream(messages, options, adapter=loaded)
            stream.text()
            if run:
                rates.append(stream.usage.decode_tokens_per_s)
                tokens.append(stream.usage.completion_tokens)
        rows.append({"adapter": name, "rank": rank, "tokens": common.median(tokens), "tokens/s": common.median(rates)})
    base_rate = rows[0]["tokens/s"]
    for row in rows:
        row["vs base"] = row["tokens/s"] / base_rate if base_rate else None
    report.info.update({"cpu": this_cpu().describe(), "torch threads": torch.get_num_threads(),
                        "engine": model.engine_reason, "runs": args.runs})
    report.table("Decoding with each adapter active (medians)", rows)
    report.finish()


if __name__ == "__main__":
    main()
