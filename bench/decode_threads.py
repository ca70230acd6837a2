"""Decoding speed of the fast path by thread count, on the torch thread alone and beside a second
thread that has run torch too.

Everything torch computes in the process runs on one thread (`assistant/torch_threads.py`) because
OpenMP's parallel regions cost more once two threads each hold a team. This prints how much, for one
decoding step of the embedded model and for its largest int4 matmul alone (medians):

    python bench/decode_threads.py [--steps 60]
"""

from __future__ import annotations

import argparse
import statistics
import threading

from common import REPO  # also puts the repository on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="decoding steps timed per case (default: %(default)s)")
    args = parser.parse_args()

    import torch

    from assistant.config import Settings
    from assistant.llm.kernels import matmul, pack, timed_seconds
    from assistant.llm.local import LocalChatModel
    from assistant.llm.models import resolve_model
    from assistant.llm.plan import this_cpu
    from assistant.torch_threads import TORCH

    most = torch.get_num_threads()
    model = LocalChatModel(resolve_model("smollm2-135m"), cache_dir=Settings().cache_dir, adapters_dir=REPO / "adapters")
    decoder = model.fast
    if decoder is None:
        raise SystemExit(f"no fast path here: {model.engine_reason}")
    prompt = model.encode_chat([{"role": "user", "content": "Tell me a long story about a dragon."}])
    token = torch.tensor([42])
    # Made on the torch thread: a parallel op here on the main thread would be the bystander below.
    packed = TORCH.run(pack, torch.randn(1536, 576, generator=torch.Generator().manual_seed(0)), "int4")
    row = torch.randn(1, 576)
    print(f"smollm2-135m on {this_cpu().describe()}, plan: {decoder.plan.describe()}")
    print(f"{'':<22}{'threads':>8}{'step ms':>10}{'tokens/s':>10}{'int4 matmul us':>16}")

    def measure(case: str) -> None:
        with torch.inference_mode():
            decoder.prefill(prompt, None)
            for threads in sorted({1, most}):
                torch.set_num_threads(threads)
                position = len(prompt)

                def step() -> None:
                    nonlocal position
                    decoder.forward(token, position, None)
                    position += 1

                step_ms = statistics.median(timed_seconds(step, args.steps)) * 1000
                matmul_us = statistics.median(timed_seconds(lambda: matmul(row, packed), 1000)) * 1e6
                print(f"{case:<22}{threads:>8}{step_ms:>10.2f}{1000 / step_ms:>10.1f}{matmul_us:>16.1f}", flush=True)
        torch.set_num_threads(most)

    TORCH.run(measure, "torch thread alone")
    # A second thread that runs one parallel op and stays alive, as a front-end thread would that
    # computed something itself: its OpenMP team lives as long as it does.
    computed, done = threading.Event(), threading.Event()

    def other() -> None:
        torch.randn(512, 512) @ torch.randn(512, 512)
        computed.set()
        done.wait()

    bystander = threading.Thread(target=other)
    bystander.start()
    computed.wait()
    TORCH.run(measure, "beside another thread")
    done.set()
    bystander.join()


if __name__ == "__main__":
    main()
