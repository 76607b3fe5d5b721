"""Core commands: ``flask plugins``, ``flask worker``, ``flask setup``."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app

from intranet.core.plugins import current_registry
from intranet.extensions import db


def init_cli(app: Flask) -> None:
    @app.cli.command("plugins")
    def plugins_command():
        """Liste les plugins chargés, dans l'ordre."""
        for p in current_registry().plugins.values():
            prefix = p.url_prefix if p.url_prefix is not None else f"/{p.name}"
            click.echo(f"{p.name:<15} {p.title!s:<30} url={prefix or '/'} requires={','.join(p.requires) or '-'} "
                       f"permissions={len(p.permissions)} widgets={len(p.widgets)} jobs={len(p.jobs)}")

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Exécute ce qui est dû puis s'arrête.")
    @click.option("--retry-now", is_flag=True, help="Envoie tout le courrier en attente sans attendre.")
    def worker_command(once: bool, retry_now: bool):
        """Exécute les tâches de fond (courriel, tâches planifiées, imports)."""
        from intranet.core import jobs
        from intranet.core.mail import deliver_outbox

        if retry_now:
            click.echo(f"courriel : {deliver_outbox(ignore_backoff=True)}")
        if once:
            click.echo(f"tâches : {jobs.run_once()}")
            return
        jobs.run_forever()

    @app.cli.command("setup")
    def setup_command():
        """Écrit les permissions par défaut et, en mode démo, charge le réseau de démonstration si la base est vide."""
        from intranet.core.models import User
        from intranet.core.permissions import sync_permissions

        added = sync_permissions()
        db.session.commit()
        click.echo(f"permissions : {added} nouvelle(s) clé(s)")
        if current_app.config["DEMO"]:
            if db.session.scalar(sa.select(sa.func.count(User.id))) == 0:
                from intranet.core.demo import load_demo

                summary = load_demo()
                # Then each plugin's demo content (groups, posts…), in load order.
                for plugin in current_app.extensions["intranet_registry"].plugins.values():
                    if plugin.demo is not None:
                        summary += f", {plugin.demo()}"
                db.session.commit()
                click.echo(f"démo : {summary}")
            else:
                click.echo("démo : la base contient déjà des comptes, rien n'est chargé")
            from intranet.core.demo import DEMO_PASSWORD, demo_accounts

            click.echo(f"Comptes de démonstration (mot de passe « {DEMO_PASSWORD} ») :")
            for email in demo_accounts():
                click.echo(f"  {email}")
