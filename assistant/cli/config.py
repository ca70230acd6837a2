"""`assistant config`: the effective configuration and where each value came from."""

from __future__ import annotations

import click


@click.command()
@click.pass_obj
def config(state) -> None:
    """Print the effective configuration, secrets masked, with each value's origin."""
    settings = state.settings
    click.echo(f"# config file: {settings.config_file or 'none (defaults, environment and flags only)'}")
    for key, (value, origin) in settings.as_display().items():
        click.echo(f"{key} = {value!s}    # {origin}")
    from ..logs import mask_env

    for name, value in mask_env().items():
        click.echo(f"{name} = {value}    # env")
