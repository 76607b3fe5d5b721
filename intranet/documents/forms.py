"""Forms of the library."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from intranet.core.audience_field import AudienceField
from intranet.core.forms import REQUIRED
from intranet.documents.models import MAX_NAME, MAX_NOTE, MAX_TAGS

TOO_LONG = _l("Ce texte est trop long (%(max)d caractères au plus).")


class FolderForm(FlaskForm):
    name = StringField(_l("Nom du dossier"),
                       validators=[DataRequired(REQUIRED), Length(max=MAX_NAME, message=TOO_LONG)])
    description = TextAreaField(_l("Description"), validators=[Length(max=MAX_NOTE, message=TOO_LONG)])
    audience = AudienceField()


class UploadForm(FlaskForm):
    files = MultipleFileField(_l("Fichiers"))
    note = TextAreaField(_l("Note explicative (markdown)"), validators=[Length(max=MAX_NOTE, message=TOO_LONG)])
    tags = StringField(_l("Mots-clés (séparés par des virgules)"), validators=[Length(max=MAX_TAGS, message=TOO_LONG)])
    valid_until = DateField(_l("À jour jusqu'au"), validators=[Optional()])
    needs_confirmation = BooleanField(_l("Demander à chaque lecteur de confirmer « lu et approuvé »"))


class VersionForm(FlaskForm):
    file = FileField(_l("Nouveau fichier"))
    note = StringField(_l("Ce qui change"), validators=[Length(max=500, message=TOO_LONG)])


class EditForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(REQUIRED), Length(max=MAX_NAME, message=TOO_LONG)])
    note = TextAreaField(_l("Note explicative (markdown)"), validators=[Length(max=MAX_NOTE, message=TOO_LONG)])
    tags = StringField(_l("Mots-clés (séparés par des virgules)"), validators=[Length(max=MAX_TAGS, message=TOO_LONG)])
    valid_until = DateField(_l("À jour jusqu'au"), validators=[Optional()])
    folder_id = SelectField(_l("Dossier"), coerce=int)
    audience = AudienceField()
