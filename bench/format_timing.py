"""Does the engine plan's timing of one layer predict a new token's matmuls through the whole model?

The plan (`assistant/llm/plan.py`) times each matmul format on the first layer only, with its
weights pushed out of the CPU's caches first ("cold"), because a new token reads every layer in
turn: far more bytes than the caches hold. This prints, per format, milliseconds a layer for one
token: through all layers of the embedded model, and for the first layer alone hot and cold
(medians, one thread by default). The plan is right when the cold column orders the formats as the
whole-model column does:

    python bench/format_timing.py [--threads N]
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 python bench/format_timing.py
"""

from __future__ import annotations

import argparse

from common import REPO  # also puts the repository on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: %(default)s)")
    args = parser.parse_args()

    import torch

    from assistant.config import Settings
    from assistant.llm.fast import fused_weights
    from assistant.llm.kernels import FORMATS, time_format
    from assistant.llm.local import LocalChatModel
    from assistant.llm.models import resolve_model
    from assistant.llm.plan import this_cpu
    from assistant.torch_threads import TORCH

    model = LocalChatModel(resolve_model("smollm2-135m"), cache_dir=Settings().cache_dir, adapters_dir=REPO / "adapters", engine="generate")

    def measure() -> None:  # on the torch thread, all of it: a parallel op elsewhere slows every later one
        torch.set_num_threads(args.threads)
        weights = fused_weights(model.model)
        layers = [[torch.cat(parts).float() for name, parts in weights.items() if name.startswith(f"{index}.")]
                  for index in range(len(model.model.model.layers))]
        print(f"smollm2-135m on {this_cpu().describe()}, {args.threads} thread(s); ms a layer for one token")
        print(f"{'format':<10}{'all layers':>12}{'one, hot':>10}{'one, cold':>11}")
        every = [w for layer in layers for w in layer]
        for fmt in FORMATS:
            whole = time_format(every, fmt, tokens=1, repeats=9)
            hot = time_format(layers[0], fmt, tokens=1, repeats=9)
            cold = time_format(layers[0], fmt, tokens=1, repeats=9, cold=True)
            print(f"{fmt:<10}{whole / len(layers) * 1000:>12.3f}{hot * 1000:>10.3f}{cold * 1000:>11.3f}", flush=True)

    TORCH.run(measure)


if __name__ == "__main__":
    main()
