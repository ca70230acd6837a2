"""Does the fast decoder compute what transformers computes? A teacher-forced comparison of logits.

Both run the same token sequences: a chat prompt, then a fixed reply fed one token at a time
(teacher forcing, so one early difference cannot snowball). The reference is the model's own
forward in its own precision (float32 on the CPU by default); the fast path's prompt pass and its
decoding steps are both compared. A greedy token that wins by a hair can flip under any rounding,
so top-1 agreement is also counted where the reference's best token wins clearly (by CLEAR logits):
there, a disagreement means a wrong kernel, not rounding; and up to ties, where a token within TIE
logits of the reference's best counts as agreeing: a tie that close is a coin flip for any format
that rounds (int4 weights and bfloat16 activations are ~1% off in their logits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

CLEAR = 1.0  # logits between the reference's best and second-best token
TIE = 0.1  # logits: a token this close to the reference's best is a tie with it
MIN_CLEAR_TOP1 = 0.95  # a plan passes when it agrees this often where the reference is clear,
MAX_RELATIVE_ERROR = 0.1  # and its logits are this close to the reference's (L2, mean over positions)
# Logits are compared over the reference's best tokens, the ones sampling can pick: the fast path
# computes those exactly from its hidden state, and only approximates the long tail.
COMPARED = 64

# (user message, the reply fed back token by token): everyday requests of the kinds the skills make.
PROBES: tuple[tuple[str, str], ...] = (
    ("What is the capital of France?", "The capital of France is Paris, a city on the Seine."),
    ("Translate into German: The train leaves at nine.", "Der Zug fährt um neun Uhr ab."),
    ("Summarize: The meeting moved to Tuesday because the room was booked.", "The meeting is now on Tuesday."),
    ("Write a haiku about autumn rain.", "Cold rain on the roof,\nleaves drift down the empty street,\nthe lamps glow softly."),
    ("How do I reset my router?", "Hold the reset button for ten seconds, then wait for the lights to blink."),
    ("Which is larger, 17 or 71?", "71 is larger than 17."),
    ("Give me three tips for better sleep.", "1. Keep a regular schedule.\n2. Avoid screens before bed.\n3. Keep the room cool."),
    ("What does the passage say about the budget? [1] The budget for 2024 is 3 million euros.", "The budget for 2024 is 3 million euros [1]."),
    ("Explain recursion in one sentence.", "Recursion is when a function solves a problem by calling itself on smaller parts of it."),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet."),
    ("Translate into French: Good morning, see you tomorrow.", "Bonjour, à demain."),
    ("What is 12 times 12?", "12 times 12 is 144."),
    ("Name a healthy breakfast.", "Oatmeal with fresh berries and a spoon of yogurt is a healthy breakfast."),
    ("Is it safe to eat raw chicken?", "No. Raw chicken can carry salmonella; cook it to 75 °C."),
    ("Write a Python function that adds two numbers.", "def add(a, b):\n    return a + b"),
    ("What is the boiling point of water?", "Water boils at 100 degrees Celsius at sea level."),
    ("Why is the sky blue?", "Sunlight scatters off air molecules, and blue light scatters the most."),
    ("Suggest a name for a cat.", "How about Miso? It is short, sweet and easy to call."),
    ("What is photosynthesis?", "Photosynthesis is how plants turn light, water and carbon dioxide into sugar and oxygen."),
    ("Tell me a fun fact about octopuses.", "An octopus has three hearts and blue blood."),
)
STARTUP_PROBES = 2  # every start re-checks the plan on these: well under a second on a small model
PLAN_PROBES = 8  # choosing a plan (first start on a CPU) looks closer
TARGET_TOP1 = 0.99  # a plan is chosen for speed among those that agree this often (up to ties) with the reference


@dataclass(frozen=True)
class Agreement:
    positions: int
    top1: float  # share of positions where the fast path's best token is the reference's
    clear_top1: float  # the same, over positions where the reference's best wins by CLEAR
    tied_top1: float  # share of positions where the fast path's best token is the reference's or ties with it
    max_logit_diff: float  # the largest absolute difference of one of the COMPARED logits, over all positions
    relative_error: float  # L2 of the COMPARED logits' difference over L2 of the reference's, mean over positions

    @property
    def passed(self) -> bool:
        return self.clear_top1 >= MIN_CLEAR_TOP1 and self.relative_error <= MAX_RELATIVE_ERROR

    def rank(self) -> tuple[float, float, float]:
        """Higher is closer to the reference: where it is clear, up to ties, then in all its logits (a tie
        broken the other way says less about a format than its error does)."""
        return (self.clear_top1, self.tied_top1, -self.relative_error)

    def describe(self) -> str:
        return (
            f"top-1 {self.top1:.1%} ({self.tied_top1:.1%} up to ties within {TIE} logits, {self.clear_top1:.1%} where the "
            f"reference is clear) over {self.positions} positions, "
            f"largest logit difference {self.max_logit_diff:.3f}, relative error {self.relative_error:.2%}"
        )

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def probe_sequences(encode_chat: Callable[[list], list[int]], tokenize: Callable[[str], list[int]], count: int) -> list[tuple[list[int], int]]:
    """(token ids, prompt length) for the first ``count`` probes."""
    sequences = []
    for question, reply in PROBES[:count]:
        prompt = encode_chat([{"role": "user", "content": question}])
        sequences.append((prompt + tokenize(reply), len(prompt)))
    return sequences


@torch.inference_mode()
def compare(
    reference: Callable[[list[int]], torch.Tensor],
    fast_forward: Callable[[list[int], int, bool], torch.Tensor],
    sequences: Sequence[tuple[list[int], int]],
    step: int = 1,
) -> Agreement:
    """``reference(ids)``: logits at every position; ``fast_forward(ids, start, every)``: logits after the
    last of ids, or with ``every`` after each of them (a row each). The reply is fed ``step`` tokens a
    pass: one, as plain decoding, or several, as prompt lookup checks a draft in one pass."""
    agree = tied = clear = clear_agree = positions = 0
    max_diff = relative_sum = 0.0
    for ids, prompt_length in sequences:
        expected = reference(ids).float()
        got = [fast_forward(ids[:prompt_length], 0, False)]  # the prompt pass, then the decoding passes
        for start in range(prompt_length, len(ids) - 1, step):
            got += list(fast_forward(ids[start : min(start + step, len(ids) - 1)], start, True))
        for position, logits in zip(range(prompt_length - 1, len(ids) - 1), got):
            want = expected[position]
            top2 = want.topk(2)
            picked = int(logits.argmax())
            same = picked == int(top2.indices[0])
            positions += 1
            agree += same
            tied += float(want[picked]) >= float(top2.values[0]) - TIE
            if float(top2.values[0] - top2.values[1]) >= CLEAR:
                clear += 1
                clear_agree += same
            best = want.topk(min(COMPARED, len(want))).indices
            difference = (logits.float()[best] - want[best]).abs()
            max_diff = max(max_diff, float(difference.max()))
            relative_sum += float(difference.norm() / want[best].norm())
    return Agreement(
        positions=positions,
        top1=agree / max(positions, 1),
        clear_top1=clear_agree / clear if clear else 1.0,
        tied_top1=tied / max(positions, 1),
        max_logit_diff=max_diff,
        relative_error=relative_sum / max(positions, 1),
    )
