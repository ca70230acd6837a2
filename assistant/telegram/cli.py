"""`assistant telegram`: run the bot (long polling, or a webhook) until Ctrl-C."""

from __future__ import annotations

import logging
import os
import secrets

import click

from ..errors import ConfigError
from ..logs import add_secret

log = logging.getLogger(__name__)

NOBODY_ALLOWED = (
    "Nobody may use this bot yet: everyone who writes to it is refused and told their user id. "
    "Allow people with --allow USER_ID (repeatable), with allowed_users = [...] or allowed_chats = [...] "
    "under [telegram] in assistant.toml, or let everyone in with --allow-all."
)


@click.command()
@click.option("--allow", type=int, multiple=True, metavar="ID",
              help="Allow this Telegram user id (repeatable); adds to allowed_users under [telegram].")
@click.option("--admin", type=int, multiple=True, metavar="ID",
              help="Make this user id an admin, who may add documents and use /index (repeatable).")
@click.option("--allow-all", is_flag=True, default=None, help="Let anyone who finds the bot use it.")
@click.option("--api-url", envvar="TELEGRAM_API_URL",
              help="A self-hosted Bot API server, e.g. http://127.0.0.1:8081 [env TELEGRAM_API_URL; default: Telegram's].")
@click.option("--local-mode", is_flag=True, default=None,
              help="That server runs with --local: files are read from its disk, with no 20 MB limit.")
@click.option("--webhook-url", help="Receive updates at this public https:// URL instead of long polling.")
@click.option("--listen", help="Address the webhook server listens on (default 127.0.0.1: put a reverse proxy in front).")
@click.option("--port", type=int, help="Port the webhook server listens on (default 8443).")
@click.option("--secret-token", envvar="TELEGRAM_WEBHOOK_SECRET",
              help="Secret Telegram sends with every webhook call [env TELEGRAM_WEBHOOK_SECRET; default: a new random one].")
@click.pass_obj
def telegram(state, allow, admin, allow_all, api_url, local_mode, webhook_url, listen, port, secret_token) -> None:
    """Run the Telegram bot. The token comes from TELEGRAM_BOT_TOKEN (create a bot with @BotFather).

    Other options live under [telegram] in assistant.toml: allowed_users, allowed_chats, admins,
    requests_per_minute, max_file_mb, stream_interval, group_stream_interval.
    See docs/telegram.md.
    """
    from telegram.error import InvalidToken, NetworkError

    from .bot import TelegramBot
    from .config import load_bot_config

    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise ConfigError("Set TELEGRAM_BOT_TOKEN to the token @BotFather gave you: export TELEGRAM_BOT_TOKEN=123456:ABC...")
    add_secret(token)
    settings = state.settings
    overrides = {"allow_all": allow_all, "api_url": api_url, "local_mode": local_mode, "webhook_url": webhook_url,
                 "listen": listen, "port": port, "secret_token": secret_token}
    config = load_bot_config(settings.section("telegram"), settings.data_dir, allow=allow, admin=admin, overrides=overrides)
    if config.webhook_url and not config.secret_token:
        # Without a secret anyone who learns the URL could post updates that claim to be from an allowed user.
        config.secret_token = secrets.token_urlsafe(32)
    add_secret(config.secret_token)
    if config.restricted:
        log.warning("no allowlist configured: the bot refuses everyone")
        click.secho(NOBODY_ALLOWED, fg="yellow", err=True)

    click.secho(f"Loading {settings.model}…", dim=True, err=True)
    manager = state.runtime.manager
    try:
        bot = TelegramBot(manager, config, token)
    except InvalidToken:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not a valid bot token: copy it again from @BotFather.") from None
    mode = f"webhook {config.webhook_url}" if config.webhook_url else "long polling"
    server = f" via {config.api_url}" if config.api_url else ""

    def ready(username: str) -> None:
        click.secho(f"@{username} is running ({mode}{server}). Ctrl-C stops it.", fg="green", err=True)

    try:
        bot.run(ready=ready)
    except InvalidToken:
        raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN: copy the token from @BotFather again.") from None
    except NetworkError as error:
        where = config.api_url or "api.telegram.org"
        detail = str(error).replace(token, "****")
        raise ConfigError(f"Cannot reach the Bot API at {where} ({detail}). Check the network or --api-url.") from None
    click.secho("Stopped.", dim=True, err=True)
