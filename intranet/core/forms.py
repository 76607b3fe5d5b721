"""Forms of the core admin pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import EmailField, SelectChoice, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, Length, Optional, Regexp

from intranet.core.mail import EMAIL_RE
from intranet.core.models import ORG_KINDS

REQUIRED = _l("Ce champ est obligatoire.")
KIND_LABELS = {"agence": _l("Agence"), "office": _l("Office de tourisme"), "partenaire": _l("Partenaire")}


def email_address():
    return Regexp(EMAIL_RE, message=_l("Adresse e-mail invalide."))


class OrganizationForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(_l("Type"), choices=[SelectChoice(k, KIND_LABELS[k]) for k in ORG_KINDS])
    territory_id = SelectField(_l("Territoire"), coerce=int)
    address = TextAreaField(_l("Adresse"), validators=[Optional(), Length(max=1000)])
    website = URLField(_l("Site web"), validators=[Optional(), URL(message=_l("Adresse web invalide.")),
                                                   Length(max=300)])
    email = EmailField(_l("E-mail de contact"), validators=[Optional(), email_address(),
                                                           Length(max=254)])
    logo = FileField(_l("Logo (image)"))


class TerritoryForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(REQUIRED), Length(max=200)])
    code = StringField(_l("Code"), validators=[
        DataRequired(REQUIRED), Length(max=50),
        Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Lettres, chiffres, tirets et soulignés seulement."))])
    parent_id = SelectField(_l("Territoire parent"), coerce=int)


class HelpForm(FlaskForm):
    body = TextAreaField(_l("Contenu (markdown)"), validators=[Length(max=100_000)])
