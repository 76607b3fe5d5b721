"""Forms of the accounts pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from intranet.core.forms import REQUIRED, email_address

# SelectChoice, not tuples: WTForms 3.3 deprecates tuple choices (an error under the test suite's warnings).
ROLE_CHOICES = [SelectChoice("membre", _l("Membre")), SelectChoice("animateur", _l("Animateur")),
                SelectChoice("admin", _l("Administrateur"))]


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(REQUIRED), Length(max=500)])


class ChoosePasswordForm(FlaskForm):
    password = PasswordField(_l("Nouveau mot de passe"), validators=[DataRequired(REQUIRED), Length(max=500)])
    confirm = PasswordField(_l("Confirmez le mot de passe"), validators=[
        DataRequired(REQUIRED), EqualTo("password", message=_l("Les deux mots de passe ne correspondent pas."))])


class ChangePasswordForm(ChoosePasswordForm):
    current = PasswordField(_l("Mot de passe actuel"), validators=[DataRequired(REQUIRED), Length(max=500)])


class ForgotForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(REQUIRED),
                                                          email_address(), Length(max=254)])


class ProfileForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(REQUIRED), Length(max=200)])
    job_title = StringField(_l("Fonction"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=50)])
    bio = TextAreaField(_l("Présentation courte"), validators=[Optional(), Length(max=2000)])
    locale = SelectField(_l("Langue"), choices=[SelectChoice("fr", "Français"), SelectChoice("en", "English")])
    photo = FileField(_l("Photo"))


class InviteForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(REQUIRED), Length(max=200)])
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(REQUIRED),
                                                          email_address(), Length(max=254)])
    organization_id = SelectField(_l("Organisation"), coerce=int)
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES, default="membre")


class UserAdminForm(FlaskForm):
    organization_id = SelectField(_l("Organisation"), coerce=int)
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES)


class CsvImportForm(FlaskForm):
    file = FileField(_l("Fichier CSV (nom;email;organisation;role)"))
