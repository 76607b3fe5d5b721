"""What every template can use: navigation from the registry, permission checks, markdown."""

from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from intranet.core.permissions import can
from intranet.core.plugins import current_registry


def nav_entries(area: str = "main"):
    # The sorted menu is computed once per request (every page draws four areas of it).
    from flask import g

    menu = g.get("_nav_sorted")
    if menu is None:
        menu = g._nav_sorted = current_registry().nav
    out = []
    for entry in menu:
        if entry.area != area:
            continue
        if entry.permission and not can(current_user, entry.permission):
            continue
        out.append(entry)
    return out


def page_url(page: int) -> str:
    args = dict(request.view_args or {})
    args.update(request.args.to_dict())
    args["page"] = page
    return url_for(request.endpoint, **args)


def init_templating(app: Flask) -> None:
    from intranet.core.mail import format_context
    from intranet.core.markup import excerpt, render_markdown
    from intranet.core.storage import format_size

    app.jinja_env.globals.update(can=can, nav_entries=nav_entries, page_url=page_url,
                                 format_notification=lambda template, ctx: format_context(template, ctx or {}))
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["excerpt"] = excerpt
    app.jinja_env.filters["filesize"] = format_size
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def site():
        return {
            "site_name": current_app.config["SITE_NAME"],
            "agency_name": current_app.config["AGENCY_NAME"],
            "demo_mode": current_app.config["DEMO"],
        }
