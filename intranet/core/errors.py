"""French error pages, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Requête invalide"), _l("La demande n'a pas pu être traitée. Rechargez la page et réessayez.")),
    401: (_l("Connexion requise"), _l("Connectez-vous pour accéder à cette page.")),
    403: (_l("Accès refusé"), _l("Vous n'avez pas les droits nécessaires pour voir cette page.")),
    404: (_l("Page introuvable"), _l("Cette page n'existe pas ou n'est plus disponible.")),
    405: (_l("Action impossible"), _l("Cette action n'est pas permise ici.")),
    413: (_l("Fichier trop volumineux"),
          _l("Le fichier ou le formulaire envoyé dépasse la taille autorisée.")),
    429: (_l("Trop de tentatives"), _l("Patientez quelques minutes avant de réessayer.")),
    500: (_l("Erreur du serveur"),
          _l("Une erreur inattendue s'est produite. L'équipe technique a été prévenue ; réessayez plus tard.")),
}


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    if request.accept_mimetypes.best == "application/json" or request.path == "/healthz":
        return jsonify(error=str(title), message=str(detail or message)), code
    return render_template("errors/error.html", code=code, title=title, message=detail or message), code


def init_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, str(_l("Le formulaire a expiré ou n'est pas valide (jeton de sécurité "
                                        "manquant). Rechargez la page et réessayez.")))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        body, code = render_error(exc.code)
        response = current_app.make_response((body, code))
        # Keep the headers the exception carries (Allow on a 405, WWW-Authenticate…), not its body.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("unexpected error on %s", request.path)
        try:
            from intranet.extensions import db
            db.session.rollback()
        except Exception:  # the database itself may be the problem  # noqa: S110
            log.debug("rollback failed", exc_info=True)
        return render_error(InternalServerError.code)
