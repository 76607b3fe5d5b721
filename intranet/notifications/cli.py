"""``flask notifications test-mail ADDRESS``: check the SMTP settings."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from intranet.core.mail import EMAIL_RE, queue_mail
from intranet.extensions import db

cli = AppGroup("notifications", help="Notifications et courriel.")


@cli.command("test-mail")
@click.argument("address")
def test_mail(address: str):
    """Met en file un e-mail de test pour ADDRESS (envoyé par le worker)."""
    if not EMAIL_RE.match(address):
        # In French from start to end (click's own "Error: Invalid value" would be in English).
        click.echo(f"Erreur : « {address} » n'est pas une adresse e-mail valide ; rien n'est envoyé.", err=True)
        raise click.exceptions.Exit(2)
    site = current_app.config["SITE_NAME"]
    msg = queue_mail(address, f"Test d'envoi de l'intranet {site}",
                     f"Bonjour,\n\nCe message de test confirme que l'intranet {site} sait envoyer des e-mails.\n\n"
                     f"--\n{current_app.config['AGENCY_NAME']}\n",
                     f"<p>Bonjour,</p><p>Ce message de test confirme que l'intranet {site} sait envoyer des "
                     f"e-mails.</p>")
    db.session.commit()
    click.echo(f"E-mail de test n°{msg.id} en file pour {address} ; lancez « flask worker --once » "
               f"(ou attendez le worker) pour l'envoyer.")
