"""The "Groupes" section of a member's page. A membership is part of a group's member list, so
it shows only where the viewer may see that list: public groups, and the viewer's own groups."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from intranet.core.textfold import french
from intranet.extensions import db
from intranet.groups import services
from intranet.groups.models import Group, Membership


def groups_section(user) -> str:
    query = services.groups_with_visible_content(current_user).join(Membership, Membership.group_id == Group.id).where(
        Membership.user_id == user.id).order_by(french(Group.name))
    groups = db.session.scalars(query.limit(50)).all()
    return render_template("groups/profile_section.html", groups=groups, person=user)
