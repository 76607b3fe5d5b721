"""Reference data of Flux Vision deliveries: categories, provenances, departments (INSEE codes and
regions), countries (ISO codes, French names), age bands, Geolife segments with their CSP groups,
stay lengths — and the normalisation that maps the labels found in files to them.

Labels are compared folded (accents, case, non-breaking and repeated spaces, hyphens and
apostrophes ignored), through the names below and their aliases. A label that matches nothing is
reported by the importer, never created.
"""

from __future__ import annotations

import gettext
import re
import unicodedata

CATEGORIES = {  # code: label
    "Touriste": "Touriste",
    "Excursionniste": "Excursionniste",
    "ExcursionnisteRecurrent": "Excursionniste récurrent",
    "Resident": "Résident",
    "HabituellementPresent": "Habituellement présent",
    "Transit": "En transit",
}
CATEGORY_ALIASES = {"excursionniste recurrent": "ExcursionnisteRecurrent", "excursionnistes": "Excursionniste",
                    "touristes": "Touriste", "residents": "Resident", "habituellement present": "HabituellementPresent",
                    "transit": "Transit", "en transit": "Transit", "touriste en transit": "Transit"}

PROVENANCES = {"Local": "Local", "NonLocal": "Français (hors local)", "Etranger": "Étranger"}
PROVENANCE_ALIASES = {"non local": "NonLocal", "nonlocal": "NonLocal", "francais": "NonLocal",
                      "etranger": "Etranger", "etrangers": "Etranger", "local": "Local"}

# INSEE region codes (regions since 2016).
REGIONS = {
    "84": "Auvergne-Rhône-Alpes", "27": "Bourgogne-Franche-Comté", "53": "Bretagne", "24": "Centre-Val de Loire",
    "94": "Corse", "44": "Grand Est", "32": "Hauts-de-France", "11": "Île-de-France", "28": "Normandie",
    "75": "Nouvelle-Aquitaine", "76": "Occitanie", "52": "Pays de la Loire", "93": "Provence-Alpes-Côte d'Azur",
    "01": "Guadeloupe", "02": "Martinique", "03": "Guyane", "04": "La Réunion", "06": "Mayotte",
}

# INSEE department code: (name, region code).
DEPARTMENTS = {
    "01": ("Ain", "84"), "02": ("Aisne", "32"), "03": ("Allier", "84"), "04": ("Alpes-de-Haute-Provence", "93"),
    "05": ("Hautes-Alpes", "93"), "06": ("Alpes-Maritimes", "93"), "07": ("Ardèche", "84"), "08": ("Ardennes", "44"),
    "09": ("Ariège", "76"), "10": ("Aube", "44"), "11": ("Aude", "76"), "12": ("Aveyron", "76"),
    "13": ("Bouches-du-Rhône", "93"), "14": ("Calvados", "28"), "15": ("Cantal", "84"), "16": ("Charente", "75"),
    "17": ("Charente-Maritime", "75"), "18": ("Cher", "24"), "19": ("Corrèze", "75"), "2A": ("Corse-du-Sud", "94"),
    "2B": ("Haute-Corse", "94"), "21": ("Côte-d'Or", "27"), "22": ("Côtes-d'Armor", "53"), "23": ("Creuse", "75"),
    "24": ("Dordogne", "75"), "25": ("Doubs", "27"), "26": ("Drôme", "84"), "27": ("Eure", "28"),
    "28": ("Eure-et-Loir", "24"), "29": ("Finistère", "53"), "30": ("Gard", "76"), "31": ("Haute-Garonne", "76"),
    "32": ("Gers", "76"), "33": ("Gironde", "75"), "34": ("Hérault", "76"), "35": ("Ille-et-Vilaine", "53"),
    "36": ("Indre", "24"), "37": ("Indre-et-Loire", "24"), "38": ("Isère", "84"), "39": ("Jura", "27"),
    "40": ("Landes", "75"), "41": ("Loir-et-Cher", "24"), "42": ("Loire", "84"), "43": ("Haute-Loire", "84"),
    "44": ("Loire-Atlantique", "52"), "45": ("Loiret", "24"), "46": ("Lot", "76"), "47": ("Lot-et-Garonne", "75"),
    "48": ("Lozère", "76"), "49": ("Maine-et-Loire", "52"), "50": ("Manche", "28"), "51": ("Marne", "44"),
    "52": ("Haute-Marne", "44"), "53": ("Mayenne", "52"), "54": ("Meurthe-et-Moselle", "44"), "55": ("Meuse", "44"),
    "56": ("Morbihan", "53"), "57": ("Moselle", "44"), "58": ("Nièvre", "27"), "59": ("Nord", "32"),
    "60": ("Oise", "32"), "61": ("Orne", "28"), "62": ("Pas-de-Calais", "32"), "63": ("Puy-de-Dôme", "84"),
    "64": ("Pyrénées-Atlantiques", "75"), "65": ("Hautes-Pyrénées", "76"), "66": ("Pyrénées-Orientales", "76"),
    "67": ("Bas-Rhin", "44"), "68": ("Haut-Rhin", "44"), "69": ("Rhône", "84"), "70": ("Haute-Saône", "27"),
    "71": ("Saône-et-Loire", "27"), "72": ("Sarthe", "52"), "73": ("Savoie", "84"), "74": ("Haute-Savoie", "84"),
    "75": ("Paris", "11"), "76": ("Seine-Maritime", "28"), "77": ("Seine-et-Marne", "11"), "78": ("Yvelines", "11"),
    "79": ("Deux-Sèvres", "75"), "80": ("Somme", "32"), "81": ("Tarn", "76"), "82": ("Tarn-et-Garonne", "76"),
    "83": ("Var", "93"), "84": ("Vaucluse", "93"), "85": ("Vendée", "52"), "86": ("Vienne", "75"),
    "87": ("Haute-Vienne", "75"), "88": ("Vosges", "44"), "89": ("Yonne", "27"), "90": ("Territoire de Belfort", "27"),
    "91": ("Essonne", "11"), "92": ("Hauts-de-Seine", "11"), "93": ("Seine-Saint-Denis", "11"),
    "94": ("Val-de-Marne", "11"), "95": ("Val-d'Oise", "11"), "971": ("Guadeloupe", "01"), "972": ("Martinique", "02"),
    "973": ("Guyane", "03"), "974": ("La Réunion", "04"), "976": ("Mayotte", "06"),
}
DEPARTMENT_ALIASES = {"reunion": "974", "corse du sud": "2A", "haute corse": "2B", "territoire-de-belfort": "90"}

AGE_BANDS = {"18-24": "18-24 ans", "25-34": "25-34 ans", "35-44": "35-44 ans", "45-54": "45-54 ans",
             "55-64": "55-64 ans", "65+": "65 ans et +"}
AGE_ALIASES = {"65 ans et plus": "65+", "65 et +": "65+", "plus de 65 ans": "65+"}

# Orange's 11 Geolife segments, grouped by agencies into three CSP groups. The segment names are
# reconstructed (no public sample): a delivery with other names shows them as unknown labels,
# which an observatory maps with an alias.
GEOLIFE = {  # code: (label, CSP group)
    "urbain-aise": ("Urbains aisés", "CSP+"),
    "periurbain-aise": ("Familles aisées périurbaines", "CSP+"),
    "senior-aise": ("Seniors aisés", "CSP+"),
    "jeune-urbain": ("Jeunes urbains", "en croissance"),
    "famille-active": ("Familles actives", "en croissance"),
    "rural-dynamique": ("Ruraux dynamiques", "en croissance"),
    "banlieue-croissance": ("Banlieues en croissance", "en croissance"),
    "rural-modeste": ("Ruraux modestes", "populaire"),
    "urbain-modeste": ("Urbains modestes", "populaire"),
    "senior-rural": ("Seniors ruraux", "populaire"),
    "famille-populaire": ("Familles populaires", "populaire"),
}

# Stay lengths: « 1 nuit » … « 13 nuits et plus » (the open class counts as 13 nights).
STAY_LENGTHS = {str(n): (f"{n} nuit" if n == 1 else f"{n} nuits") for n in range(1, 13)}
STAY_LENGTHS["13"] = "13 nuits et plus"

# Countries as Orange names them that ISO's French names spell otherwise; grouped entries.
COUNTRY_ALIASES = {
    "coree du sud": "KR", "coree": "KR", "coree du nord": "KP", "russie": "RU", "republique tcheque": "CZ",
    "tchequie": "CZ", "vietnam": "VN", "taiwan": "TW", "iran": "IR", "syrie": "SY", "bolivie": "BO",
    "venezuela": "VE", "tanzanie": "TZ", "moldavie": "MD", "macedoine": "MK", "macedoine du nord": "MK",
    "laos": "LA", "vatican": "VA", "brunei": "BN", "cap vert": "CV", "congo rdc": "CD",
    "republique democratique du congo": "CD", "etats unis": "US", "usa": "US", "grande bretagne": "GB",
    "angleterre": "GB", "hollande": "NL", "palestine": "PS", "micronesie": "FM", "kosovo": "XK",
    "guadeloupe, martinique": "GP+MQ", "guadeloupe martinique": "GP+MQ", "reunion, mayotte": "RE+YT",
    "reunion mayotte": "RE+YT", "autres pays": "ZZ", "autre pays": "ZZ", "indetermine": "ZZ",
}
GROUPED_COUNTRIES = {"GP+MQ": "Guadeloupe, Martinique", "RE+YT": "La Réunion, Mayotte", "XK": "Kosovo",
                     "ZZ": "Autres pays"}
TOTAL_LABELS = {"cumul", "total", "ensemble"}
# The dimensions as a report names them (unknown labels are grouped by dimension).
DIMENSION_LABELS = {"category": "catégorie", "provenance": "provenance", "department": "département",
                    "country": "pays", "region": "région", "age": "tranche d'âge", "geolife": "segment Geolife",
                    "stay": "durée de séjour"}

_SPACES_RE = re.compile(r"[\s\u00a0\u202f\u2007]+")
_PUNCT_RE = re.compile(r"[-'’_]")


def fold(label: object) -> str:
    """« Puy-de-Dôme » → « puy de dome »: what label comparisons see."""
    text = "" if label is None else str(label)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().replace("œ", "oe")
    text = _PUNCT_RE.sub(" ", text)
    return _SPACES_RE.sub(" ", text).strip()


def _countries() -> dict[str, str]:
    import pycountry

    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)
    names = {}
    for country in pycountry.countries:
        name = french.gettext(country.name)
        names[country.alpha_2] = name
    names.update(GROUPED_COUNTRIES)
    return names


# ISO's French names put some countries as « Corée, République de »: shown as people say them.
SHORT_NAMES = {"KR": "Corée du Sud", "KP": "Corée du Nord", "RU": "Russie", "VN": "Viêt Nam", "TW": "Taïwan",
               "IR": "Iran", "SY": "Syrie", "BO": "Bolivie", "VE": "Venezuela", "TZ": "Tanzanie", "MD": "Moldavie",
               "MK": "Macédoine du Nord", "LA": "Laos", "VA": "Vatican", "CD": "République démocratique du Congo",
               "FM": "Micronésie", "PS": "Palestine", "GB": "Royaume-Uni", "US": "États-Unis", "CZ": "Tchéquie"}
ISO_NAMES: dict[str, str] = _countries()
COUNTRIES: dict[str, str] = {**ISO_NAMES, **SHORT_NAMES}  # ISO alpha-2 (or a grouped code): French name


def _index(names: dict[str, object], aliases: dict[str, str], label_of=lambda v: v) -> dict[str, str]:
    index: dict[str, str] = {}
    for code, value in names.items():
        label = label_of(value)
        index[fold(label)] = code
        index[fold(code)] = code
        # « Bolivie, l'État plurinational de » and « Taïwan (Province de Chine) »: also their first part.
        short = re.split(r"[,(]", str(label))[0]
        index.setdefault(fold(short), code)
    for alias, code in aliases.items():
        index[fold(alias)] = code
    return index


INDEXES: dict[str, dict[str, str]] = {
    "category": _index(CATEGORIES, CATEGORY_ALIASES),
    "provenance": _index(PROVENANCES, PROVENANCE_ALIASES),
    "department": _index(DEPARTMENTS, DEPARTMENT_ALIASES, label_of=lambda v: v[0]),
    "country": _index(COUNTRIES, {**{fold(name): code for code, name in ISO_NAMES.items()}, **COUNTRY_ALIASES}),
    "region": _index(REGIONS, {}),
    "age": _index(AGE_BANDS, AGE_ALIASES),
    "geolife": _index(GEOLIFE, {}, label_of=lambda v: v[0]),
    "stay": _index(STAY_LENGTHS, {"13 nuits et +": "13", "13 nuits ou plus": "13", "plus de 13 nuits": "13"}),
}


def _numeric_codes() -> dict[str, str]:
    import pycountry

    return {c.alpha_2: c.numeric for c in pycountry.countries}


# ISO alpha-2 → ISO numeric (« DE » → « 276 »): the ids of the world map's shapes (world-atlas).
COUNTRY_NUMERIC: dict[str, str] = _numeric_codes()


def label_of(dimension: str, code: str) -> str:
    """The French name of a code (« 63 » → « Puy-de-Dôme »)."""
    if dimension == "department":
        return DEPARTMENTS.get(code, (code, ""))[0]
    table = {"country": COUNTRIES, "category": CATEGORIES, "provenance": PROVENANCES, "region": REGIONS,
             "age": AGE_BANDS, "stay": STAY_LENGTHS}.get(dimension)
    if dimension == "geolife":
        return GEOLIFE.get(code, (code, ""))[0]
    return table.get(code, code) if table else code
