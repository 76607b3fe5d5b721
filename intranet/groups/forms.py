"""Forms of the groups plugin."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from intranet.core.forms import REQUIRED

VISIBILITY_CHOICES = [
    SelectChoice("public", _l("Publique : tout le réseau voit le groupe et son contenu")),
    SelectChoice("private", _l("Privée : le groupe est listé, son contenu est réservé aux membres")),
    SelectChoice("secret", _l("Secrète : seuls les membres savent que le groupe existe")),
]
JOIN_CHOICES = [
    SelectChoice("open", _l("Ouvert : chacun peut rejoindre")),
    SelectChoice("request", _l("Sur demande : un administrateur du groupe accepte les demandes")),
    SelectChoice("invitation", _l("Sur invitation seulement")),
]


class GroupForm(FlaskForm):
    name = StringField(_l("Nom du groupe"), validators=[DataRequired(REQUIRED), Length(max=150)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    visibility = RadioField(_l("Visibilité"), choices=VISIBILITY_CHOICES, default="public")
    join_policy = RadioField(_l("Adhésion"), choices=JOIN_CHOICES, default="open")
    image = FileField(_l("Image"))


class InviteMemberForm(FlaskForm):
    person = StringField(_l("Personne à inviter (nom ou adresse e-mail)"),
                         validators=[DataRequired(_l("Choisissez une personne.")), Length(max=254)])
