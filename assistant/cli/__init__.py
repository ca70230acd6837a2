"""The `assistant` command line. Commands live in their own modules and are imported when used."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys

import click

from ..config import load_settings
from ..errors import AssistantError
from ..logs import setup_logging

log = logging.getLogger("assistant")

# name -> (module:attribute, one-line help). A command whose module is absent is not listed.
COMMANDS: dict[str, tuple[str, str]] = {
    "chat": ("assistant.cli.chat:chat", "Chat in the terminal, line by line; slash commands work."),
    "tui": ("assistant.tui.cli:tui", "Open the terminal UI (what `make run` starts)."),
    "ask": ("assistant.cli.skills:ask", "Answer a question from the knowledge base, with sources."),
    "translate": ("assistant.cli.skills:translate", "Translate text into another language."),
    "summarize": ("assistant.cli.skills:summarize", "Summarize text, a file or an indexed document."),
    "generate": ("assistant.cli.generate:generate", "Generate a reply to one prompt with the model alone."),
    "index": ("assistant.cli.index:index", "Add, remove, sync and search documents in the knowledge base."),
    "train": ("assistant.cli.train:train", "Fine-tune a LoRA adapter on a JSONL file."),
    "adapters": ("assistant.cli.adapters:adapters", "List, show, remove or merge LoRA adapters."),
    "eval": ("assistant.cli.eval:eval_command", "Compare the model with and without an adapter on held-out questions."),
    "telegram": ("assistant.telegram.cli:telegram", "Run the Telegram bot."),
    "models": ("assistant.cli.models:models", "List the models and adapters available."),
    "config": ("assistant.cli.config:config", "Print the effective configuration (secrets masked)."),
}


def _available(target: str) -> bool:
    module = target.split(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (target, _) in COMMANDS.items() if _available(target)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not _available(COMMANDS[name][0]):
            return None
        module_name, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class State:
    """What the group's options set up, handed to every command as ``ctx.obj``."""

    def __init__(self, settings, debug: bool) -> None:
        self.settings = settings
        self.debug = debug
        self._runtime = None

    @property
    def runtime(self):
        if self._runtime is None:
            from ..runtime import Runtime

            self._runtime = Runtime(self.settings)
        return self._runtime


_debug = False
_log_path = None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config file (default: ./assistant.toml).")
@click.option("--model", help="smollm2-135m (embedded), a .gguf file, a model folder or a Hugging Face id.")
@click.option("--adapter", help="LoRA adapter NAME or path; 'none' for the base model; 'auto' lets each skill pick.")
@click.option("--index", type=click.Path(file_okay=False), help="Knowledge base folder (default: ./index).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where histories, logs and caches live.")
@click.option("--backend", help="Model backend: local (default) or openai.")
@click.option("--base-url", help="Server URL for the openai backend, e.g. http://127.0.0.1:8080/v1.")
@click.option("--device", help="auto (default), cpu, cuda or cuda:N.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="assistant")
@click.pass_context
def cli(ctx: click.Context, config_file, verbose: int, debug: bool, **flags) -> None:
    """A self-hosted assistant over your own documents: chat, cited answers, translation and summaries."""
    global _debug, _log_path
    _debug = debug
    settings = load_settings(flags, config_file)
    _log_path = setup_logging(settings.data_dir, verbose, debug)
    ctx.obj = State(settings, debug)


def main() -> None:
    try:
        result = cli.main(prog_name="assistant", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except AssistantError as error:
        if _debug:
            raise
        log.debug("command failed", exc_info=True)
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as error:
        if _debug:
            raise
        log.exception("unexpected error", extra={"file_only": True})
        where = f"details in {_log_path}; " if _log_path else ""
        click.echo(f"Error: unexpected {type(error).__name__}: {error} ({where}--debug shows the traceback)", err=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
