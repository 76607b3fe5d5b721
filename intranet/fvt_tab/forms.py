"""Forms of the FVT data pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from intranet.core.forms import REQUIRED
from intranet.fvt_tab.reading import FAMILIES
from intranet.fvt_tab.reference import CATEGORIES, PROVENANCES


class UploadForm(FlaskForm):
    file = FileField(_l("Livraison (ZIP d'Orange, CSV ou classeur Excel)"),
                     validators=[FileRequired(_l("Choisissez un fichier."))])
    provisional = BooleanField(_l("Données provisoires (remplacées par la livraison définitive)"))
    profile_id = SelectField(_l("Profil de lecture (feuilles Excel mises en forme)"), coerce=int, default=0)


class DecimalDegreesField(FloatField):
    """A decimal number typed as a French keyboard does (« 45,139 ») or with a point."""

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0].strip():
            try:
                self.data = float(valuelist[0].strip().replace(",", ".").replace(" ", ""))
            except ValueError:
                self.data = None
                raise ValueError(_l("Nombre décimal attendu (par exemple 45,139).")) from None
        else:
            self.data = None


class ZoneForm(FlaskForm):
    name = StringField(_l("Nom de la zone"), validators=[DataRequired(REQUIRED), Length(max=200)])
    territory_id = SelectField(_l("Territoire"), coerce=int)
    new_alias = StringField(_l("Ajouter un autre nom (alias)"), validators=[Length(max=200)])
    # The territory's place on the network map (its main town), in decimal degrees.
    latitude = DecimalDegreesField(_l("Latitude"),
                                   validators=[Optional(), NumberRange(-90, 90, _l("Entre -90 et 90."))])
    longitude = DecimalDegreesField(_l("Longitude"),
                                    validators=[Optional(), NumberRange(-180, 180, _l("Entre -180 et 180."))])


class MappingProfileForm(FlaskForm):
    name = StringField(_l("Nom du profil"), validators=[DataRequired(REQUIRED), Length(max=100)])
    sheet = StringField(_l("Feuille (vide : toutes)"), validators=[Length(max=100)])
    header_row = IntegerField(_l("Ligne d'en-tête"), default=1, validators=[NumberRange(1, 1000)])
    date_column = StringField(_l("Colonne de la date"), validators=[Length(max=100)])
    zone_column = StringField(_l("Colonne de la zone"), validators=[Length(max=100)])
    value_column = StringField(_l("Colonne de la valeur"), validators=[Length(max=100)])
    period_columns = StringField(_l("Colonnes de période à dépivoter (séparées par ;)"),
                                 validators=[Optional(), Length(max=2000)])
    family = SelectField(_l("Famille"), choices=sorted(FAMILIES), default="Nuitee")
    category = SelectField(_l("Catégorie"), choices=list(CATEGORIES), default="Touriste")
    provenance = SelectField(_l("Provenance"), choices=list(PROVENANCES), default="NonLocal")
    zone_code = StringField(_l("Code de zone (si la feuille n'a pas de colonne zone)"), validators=[Length(max=50)])
