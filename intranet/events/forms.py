"""Forms of the calendar."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, Regexp

from intranet.core.audience_field import AudienceField
from intranet.core.forms import REQUIRED

BAD_URL = _l("Adresse web invalide (elle commence par https://).")
# WTForms' URL check accepts any scheme followed by "://", javascript:// included: only the web.
WEB_ONLY = Regexp(r"^https?://", flags=re.IGNORECASE, message=BAD_URL)
PRICE_CHOICES = [SelectChoice("", _l("Non précisé")), SelectChoice("free", _l("Gratuit")),
                 SelectChoice("amount", _l("Montant")), SelectChoice("text", _l("Texte libre"))]
REPEAT_CHOICES = [SelectChoice("", _l("Ne se répète pas")), SelectChoice("weekly", _l("Chaque semaine")),
                  SelectChoice("monthly", _l("Chaque mois, le même jour de la semaine (ex. 2e mardi)"))]
WEEKDAY_CHOICES = [SelectChoice("MO", _l("lundi")), SelectChoice("TU", _l("mardi")),
                   SelectChoice("WE", _l("mercredi")), SelectChoice("TH", _l("jeudi")),
                   SelectChoice("FR", _l("vendredi")), SelectChoice("SA", _l("samedi")),
                   SelectChoice("SU", _l("dimanche"))]


class EventForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[DataRequired(REQUIRED), Length(max=200)])
    category_id = SelectField(_l("Catégorie"), coerce=int)
    description = TextAreaField(_l("Description"), validators=[Length(max=20_000,
                                message=_l("La description est trop longue (20 000 caractères au plus)."))])
    is_all_day = BooleanField(_l("Toute la journée"))
    start_date = DateField(_l("Début"), validators=[DataRequired(_l("Date de début obligatoire ou invalide."))])
    start_time = TimeField(_l("Heure de début"), validators=[Optional()])
    end_date = DateField(_l("Fin"), validators=[Optional()])
    end_time = TimeField(_l("Heure de fin"), validators=[Optional()])
    tz = StringField(_l("Fuseau horaire"), default="Europe/Paris", validators=[Length(max=64)])
    repeat = SelectField(_l("Répétition"), choices=REPEAT_CHOICES, default="")
    repeat_interval = IntegerField(_l("Toutes les … (semaines ou mois)"), default=1,
                                   validators=[Optional(), NumberRange(1, 12, _l("Entre 1 et 12."))])
    repeat_days = SelectMultipleField(_l("Jours"), choices=WEEKDAY_CHOICES)
    repeat_until = DateField(_l("Jusqu'au"), validators=[Optional()])
    exceptions = TextAreaField(_l("Dates exclues (une par ligne, JJ/MM/AAAA)"), validators=[Length(max=5000)])
    place = StringField(_l("Lieu (adresse)"), validators=[Length(max=300)])
    commune = StringField(_l("Commune"), validators=[Length(max=120)])
    online_url = URLField(_l("Lien de la visioconférence"), validators=[Optional(), URL(message=BAD_URL), WEB_ONLY,
                                                                        Length(max=500)])
    price_kind = RadioField(_l("Tarif"), choices=PRICE_CHOICES, default="")
    price_amount = DecimalField(_l("Montant (€)"), places=2, validators=[
        Optional(), NumberRange(0, 100_000, _l("Montant invalide."))])
    price_text = StringField(_l("Tarif (texte)"), validators=[Length(max=200)])
    # No choice check here: the view answers 403 to an organization one may not propose for.
    organization_id = SelectField(_l("Organisateur"), coerce=int, validate_choice=False)
    contact = StringField(_l("Contact"), validators=[Length(max=300)])
    registration_url = URLField(_l("Lien d'inscription"), validators=[Optional(), URL(message=BAD_URL), WEB_ONLY,
                                                                      Length(max=500)])
    capacity = IntegerField(_l("Nombre de places"), validators=[Optional(), NumberRange(1, 100_000,
                                                                 _l("Au moins une place."))])
    attachment = FileField(_l("Programme (PDF…)"))
    audience = AudienceField()


class ReviewForm(FlaskForm):
    note = TextAreaField(_l("Message au proposant"), validators=[Length(max=2000)])


class ImportForm(FlaskForm):
    file = FileField(_l("Fichier .ics"))
    category_id = SelectField(_l("Catégorie des événements importés"), coerce=int)
    content = TextAreaField()  # the file's text, carried from the preview to the confirmation


class CategoryForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(REQUIRED), Length(max=100)])
    color = StringField(_l("Couleur"), default="#0b5394", validators=[
        Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Une couleur comme #1a7f37."))])
    position = IntegerField(_l("Ordre"), default=0, validators=[Optional()])
    is_active = BooleanField(_l("Proposée dans le formulaire"), default=True)
