"""Write docs/screenshot.svg: what `make run` shows a new user, with the real model and docs/ indexed.

A fresh data folder and index are used, so the picture never shows anyone's own conversations:

    python scripts/tui_screenshot.py                       # docs/screenshot.svg
    python scripts/tui_screenshot.py --out /tmp/shot.svg --question "how do I train an adapter?"
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from assistant.config import load_settings
from assistant.runtime import Runtime
from assistant.tui.app import AssistantApp
from assistant.tui.widgets import PromptInput, SourcesPanel

ROOT = Path(__file__).resolve().parents[1]


async def until(pilot, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"the TUI did not get there within {timeout:.0f} s")
        await pilot.pause(0.1)


async def shoot(question: str, out: Path, size: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({"data_dir": folder, "index": str(Path(folder) / "index")}, None)
        runtime = Runtime(settings)
        runtime.knowledge.add([ROOT / "docs"])
        app = AssistantApp(runtime)
        async with app.run_test(size=size) as pilot:
            chat = app.chat
            await until(pilot, lambda: app.manager is not None, 300)
            prompt = chat.query_one(PromptInput)
            prompt.cursor_blink = False  # the cursor would be caught on or off at random
            prompt.text = question
            await pilot.press("enter")
            await until(pilot, lambda: chat.job is None and chat.answers and chat.query(".meta"), 300)
            await pilot.press("ctrl+o")
            await until(pilot, lambda: chat.query_one(SourcesPanel).display, 10)
            await pilot.pause(0.5)
            out.write_text(app.export_screenshot(), encoding="utf-8")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.svg")
    parser.add_argument("--question", default="how do I add my documents?")
    parser.add_argument("--size", default="110x38", help="terminal columns x rows")
    args = parser.parse_args()
    columns, rows = (int(n) for n in args.size.split("x"))
    asyncio.run(shoot(args.question, args.out, (columns, rows)))


if __name__ == "__main__":
    main()
