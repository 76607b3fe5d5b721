"""Dashboard widgets of the accounts plugin: welcome, my organization, newest members."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from intranet.core.models import User
from intranet.extensions import db


def welcome() -> str:
    return render_template("accounts/widget_welcome.html", user=current_user)


def my_organization() -> str:
    org = current_user.organization
    count = db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.organization_id == org.id, User.is_active_account.is_(True)))
    return render_template("accounts/widget_organization.html", org=org, count=count)


def newest_members() -> str:
    users = db.session.scalars(
        sa.select(User).where(User.is_active_account.is_(True), User.password_hash.is_not(None))
        .order_by(User.created_at.desc(), User.id.desc()).limit(5)).all()
    return render_template("accounts/widget_newest.html", users=users)
