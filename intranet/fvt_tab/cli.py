"""`flask fvt …`: import deliveries, print a zone's summary, write demo deliveries."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import force_locale

from intranet.extensions import db

fvt = AppGroup("fvt", help="Données Flux Vision Tourisme.")


@fvt.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--provisional", is_flag=True, help="Livraison provisoire (remplacée par la définitive).")
def import_command(paths, provisional):
    """Importe des livraisons (ZIP, CSV ou Excel). Chaque fichier est tout ou rien."""
    from intranet.fvt_tab.importer import ImportFailed, format_report, run_import
    from intranet.fvt_tab.models import Import

    failed = False
    with force_locale("fr"):
        for raw in paths:
            path = Path(raw)
            try:
                data = path.read_bytes()
            except OSError as exc:
                reason = "fichier introuvable" if isinstance(exc, FileNotFoundError) else "accès refusé" if isinstance(
                    exc, PermissionError) else "erreur de lecture"
                click.echo(f"Erreur : impossible de lire {path} ({reason}).", err=True)
                failed = True
                continue
            imp = Import(filename=path.name, sha256="", is_provisional=provisional, status="running")
            db.session.add(imp)
            db.session.flush()
            try:
                run_import(imp, data)
                db.session.commit()
            except ImportFailed as exc:
                db.session.rollback()
                click.echo(f"Erreur : {path.name} : {exc}", err=True)
                failed = True
                continue
            click.echo(format_report(imp))
    sys.exit(1 if failed else 0)


@fvt.command("summary")
@click.option("--zone", "code", required=True, help="Code de la zone, par exemple SALERS0.")
@click.option("--year", required=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Un objet JSON (le seul format pour l'instant).")
@click.option("--include-local", is_flag=True, help="Compter aussi la provenance Local.")
def summary_command(code, year, as_json, include_local):
    """Les indicateurs d'une zone pour une année, avec N-1."""
    from intranet.fvt_tab.models import Zone
    from intranet.fvt_tab.summary import summary

    zone = db.session.scalar(sa.select(Zone).where(Zone.code == code))
    if zone is None:
        click.echo(f"Erreur : zone inconnue : {code}", err=True)
        sys.exit(1)
    click.echo(json.dumps(summary(zone, year, include_local), ensure_ascii=False))


@fvt.command("demo-data")
@click.option("--years", default="2023-2025", help="Années, par exemple 2023-2025.")
@click.argument("outdir", type=click.Path(file_okay=False))
def demo_data_command(years, outdir):
    """Écrit des livraisons fictives au format Orange (ZIP par zone et bimestre)."""
    from intranet.fvt_tab.demo import write_deliveries

    first, _sep, last = years.partition("-")
    try:
        span = range(int(first), int(last or first) + 1)
    except ValueError:
        click.echo("Erreur : --years attend par exemple 2023-2025.", err=True)
        sys.exit(2)
    files = write_deliveries(Path(outdir), list(span))
    click.echo(f"{len(files)} livraisons écrites dans {outdir}")
