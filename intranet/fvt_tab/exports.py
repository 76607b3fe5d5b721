"""The exports of the FVT tab's current selection: a CSV (UTF-8 with BOM, « ; », French decimals, the
source line) and a PDF report made on the server with ReportLab (KPIs, charts, tables, the method,
the source). Both say « données fictives » for the demo's zones. The views have already checked
the export right (``access.require_export``).
"""

from __future__ import annotations

import csv
import io

from flask_babel import format_decimal

from intranet.core.i18n import gettext as _
from intranet.core.i18n import lazy_gettext as _l
from intranet.fvt_tab.models import Zone
from intranet.fvt_tab.selection import INDICATORS, MOMENTS, PROVENANCES, VISITORS, Selection
from intranet.fvt_tab.summary import SOURCE

# Okabe–Ito: told apart by people with any colour-vision deficiency (the page uses the same).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
FICTITIOUS = _l("Données fictives de démonstration : ces chiffres ne décrivent aucun territoire réel.")


def _fr(value) -> str:
    """A figure as a French spreadsheet reads it: « 1234 », « 3,97 »; empty when there is none."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return str(value)


def _filters(sel: Selection) -> list[tuple[str, str]]:
    return [(_("Visiteurs"), str(VISITORS[sel.visitors][0])), (_("Provenance"), str(PROVENANCES[sel.provenance])),
            (_("Jour / nuit"), str(MOMENTS[sel.moment])), (_("Indicateur"), str(INDICATORS[sel.indicator])),
            (_("Touristes locaux dans les nuitées"), _("oui") if sel.local else _("non"))]


def _kpi_value(k: dict, which: str):
    v = k[which]
    if k["cle"] == "pic_excursionnistes":
        return None if v is None else v["valeur"]
    return v


def selection_csv(zone: Zone, sel: Selection, data: dict, comparison: dict | None) -> str:
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    p = data["periode"]
    w.writerow([_("Territoire"), zone.name, zone.code])
    w.writerow([_("Période"), p["libelle"], p["debut"], p["fin"]])
    if p["n1"]:
        w.writerow([_("Comparée à (N-1)"), p["n1"]["debut"], p["n1"]["fin"]])
    for label, value in _filters(sel):
        w.writerow([label, value])
    w.writerow([])
    w.writerow([_("Indicateur"), "N", "N-1", _("Évolution (%)")] + (
        [comparison["nom"]] if comparison else []))
    for i, k in enumerate(data["indicateurs"]):
        row = [k["libelle"], _fr(_kpi_value(k, "n")), _fr(_kpi_value(k, "n1")), _fr(k["evolution"])]
        if comparison:
            row.append(_fr(_kpi_value(comparison["indicateurs"][i], "n")))
        w.writerow(row)
    if "courbe" in data:
        c = data["courbe"]
        w.writerow([])
        w.writerow([_("Jour")] + [s["nom"] for s in c["series"]] + ([_("N-1 aligné")] if c["n1"] else []))
        for i, day in enumerate(c["jours"]):
            row = [day] + [_fr(s["valeurs"][i]) for s in c["series"]]
            if c["n1"]:
                row.append(_fr(c["n1"]["valeurs"][i]) if i < len(c["n1"]["valeurs"]) else "")
            w.writerow(row)
    if "mois" in data:
        m = data["mois"]
        w.writerow([])
        w.writerow([_("Mois"), _("Nuitées des Français"), _("Nuitées des étrangers"), _("N-1 (total)")])
        for i, label in enumerate(m["mois"]):
            w.writerow([label, _fr(m["francais"][i]), _fr(m["etrangers"][i]), _fr(m["n1"][i])])
    if "origines" in data:
        o = data["origines"]
        for title, rows, with_code in ((_("Département d'origine"), o["departements"], True),
                                       (_("Région d'origine"), o["regions"], True),
                                       (_("Pays d'origine"), o["pays"], True)):
            w.writerow([])
            w.writerow([title, _("Code"), _("Volume")])
            for r in rows:
                w.writerow([r["nom"], r["code"] if with_code else "", _fr(r["valeur"])])
    if "sejours" in data:
        s = data["sejours"]
        w.writerow([])
        w.writerow([_("Durée de séjour")] + [g["nom"] for g in s["groupes"]])
        for i, label in enumerate(s["classes"]):
            w.writerow([label] + [_fr(g["valeurs"][i]) for g in s["groupes"]])
    w.writerow([])
    w.writerow([_("Source : %(source)s", source=SOURCE)])
    if zone.is_fictitious:
        w.writerow([str(FICTITIOUS)])
    return "\ufeff" + out.getvalue()


# -- the PDF --------------------------------------------------------------------------------------------

def _pdf_text(text: str) -> str:
    """ReportLab's built-in fonts draw Latin-1 (WinAnsi): the narrow no-break space that French
    figures take (« 12 345 ») becomes a plain no-break space."""
    return str(text).replace("\u202f", "\u00a0").replace("\u2009", " ")


def _number(value) -> str:
    return "—" if value is None else _pdf_text(format_decimal(value))


def _line_chart(c: dict, width: float, height: float):
    from reportlab.graphics.charts.lineplots import LinePlot
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 45, 30, width - 60, height - 50
    data, names = [], []
    for s in c["series"][:4]:
        points = [(i, v) for i, v in enumerate(s["valeurs"]) if v is not None]
        if points:
            data.append(points)
            names.append(s["nom"])
    if not data:
        return None
    plot.data = data
    for i in range(len(data)):
        plot.lines[i].strokeColor = colors.HexColor(PALETTE[i])
        plot.lines[i].strokeWidth = 1
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, max(len(c["jours"]) - 1, 1)
    step = max(1, len(c["jours"]) // 6)
    plot.xValueAxis.valueSteps = list(range(0, len(c["jours"]), step))
    plot.xValueAxis.labelTextFormat = lambda i: c["jours"][int(i)][5:] if int(i) < len(c["jours"]) else ""
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 6
    plot.yValueAxis.labelTextFormat = lambda v: _pdf_text(format_decimal(int(v)))
    plot.yValueAxis.valueMin = 0  # a curve read against zero, as on the page
    drawing.add(plot)
    x = 45
    for i, name in enumerate(names):
        drawing.add(String(x, height - 12, "— " + name, fontSize=7, fillColor=colors.HexColor(PALETTE[i])))
        x += 8 + 4.2 * len(name) + 12
    return drawing


def _bar_chart(labels: list[str], series: list[tuple[str, list]], width: float, height: float):
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    if not labels or not any(v for _n, values in series for v in values):
        return None
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 45, 30, width - 60, height - 50
    chart.data = [[v or 0 for v in values] for _n, values in series]
    # « avril 2025 »: the whole month's name (the year once, when all bars share it).
    years = {label.rsplit(" ", 1)[-1] for label in labels}
    chart.categoryAxis.categoryNames = [label.rsplit(" ", 1)[0] for label in labels] if len(years) == 1 else labels
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.labelTextFormat = lambda v: _pdf_text(format_decimal(int(v)))
    chart.valueAxis.valueMin = 0
    for i in range(len(series)):
        chart.bars[i].fillColor = colors.HexColor(PALETTE[i])
        chart.bars[i].strokeColor = None
    drawing.add(chart)
    x = 45
    for i, (name, _values) in enumerate(series):
        drawing.add(String(x, height - 12, "— " + name, fontSize=7, fillColor=colors.HexColor(PALETTE[i])))
        x += 8 + 4.2 * len(name) + 12
    return drawing


def selection_pdf(zone: Zone, sel: Selection, data: dict, comparison: dict | None, methodology: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle

    from intranet.fvt_tab.views import fvt_period

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm,
                            bottomMargin=1.5 * cm, title=f"Flux Vision — {zone.name}", author=SOURCE)
    width = A4[0] - 3 * cm
    p = data["periode"]
    story = [Paragraph(_("Flux Vision Tourisme — %(zone)s", zone=_esc(zone.name)), styles["Title"])]
    if zone.is_fictitious:
        story.append(Paragraph(f'<font color="#B00020"><b>{_esc(str(FICTITIOUS))}</b></font>', styles["BodyText"]))
    story.append(Paragraph(_esc(f"{p['libelle']} — {fvt_period(p['debut'], p['fin'])}"), styles["Heading3"]))
    if p["n1"]:
        story.append(Paragraph(_esc(_("Comparée à %(period)s (N-1).", period=fvt_period(p["n1"]["debut"],
                                                                                        p["n1"]["fin"]))), small))
    story.append(Paragraph(_esc(" · ".join(f"{a} : {b}" for a, b in _filters(sel))), small))
    story.append(Spacer(1, 6))
    head = [_("Indicateur"), "N", "N-1", _("Évolution")] + ([comparison["nom"]] if comparison else [])
    rows = [head]
    for i, k in enumerate(data["indicateurs"]):
        change = "" if k["evolution"] is None else (
            f"{'+' if k['evolution'] > 0 else ''}{_pdf_text(format_decimal(k['evolution']))} "
            f"{'pts' if k.get('unite') == 'points' else '%'}")
        row = [k["libelle"], _number(_kpi_value(k, "n")), _number(_kpi_value(k, "n1")), change]
        if comparison:
            row.append(_number(_kpi_value(comparison["indicateurs"][i], "n")))
        rows.append(row)
    story.append(_table(rows, [width * 0.4] + [width * 0.6 / (len(head) - 1)] * (len(head) - 1), TableStyle, colors))
    if "courbe" in data:
        story += [Spacer(1, 8), Paragraph(_("Présence jour par jour"), styles["Heading4"])]
        chart = _line_chart(data["courbe"], width, 170)
        story.append(chart or Paragraph("—", small))
    if "mois" in data:
        m = data["mois"]
        story += [Paragraph(_("Nuitées touristiques par mois"), styles["Heading4"])]
        chart = _bar_chart(m["mois"], [(_("Français"), m["francais"]), (_("Étrangers"), m["etrangers"])], width, 150)
        story.append(chart or Paragraph("—", small))
        rows = [[_("Mois"), _("Français"), _("Étrangers"), _("N-1 (total)")]] + [
            [label, _number(m["francais"][i]), _number(m["etrangers"][i]), _number(m["n1"][i])]
            for i, label in enumerate(m["mois"])]
        story.append(_table(rows, [width / 4] * 4, TableStyle, colors))
    if "origines" in data:
        o = data["origines"]
        story += [Paragraph(_("Origine des visiteurs"), styles["Heading4"])]
        rows = [[_("Département"), _("Volume"), _("Pays"), _("Volume")]]
        deps, countries = o["departements"][:15], o["pays"][:15]
        for i in range(max(len(deps), len(countries))):
            d = deps[i] if i < len(deps) else None
            c = countries[i] if i < len(countries) else None
            rows.append([f"{d['nom']} ({d['code']})" if d else "", _number(d["valeur"]) if d else "",
                         c["nom"] if c else "", _number(c["valeur"]) if c else ""])
        story.append(_table(rows, [width * 0.32, width * 0.18, width * 0.32, width * 0.18], TableStyle, colors))
    story += [Spacer(1, 8), Paragraph(f"<b>{_esc(_('Méthode.'))}</b> {_esc(methodology)}", small),
              Paragraph(f"<b>{_esc(_('Source : %(source)s', source=SOURCE))}</b>", small)]
    doc.build(story)
    return buf.getvalue()


def _esc(text: str) -> str:
    return _pdf_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(rows, widths, table_style, colors):
    from reportlab.platypus import Table

    table = Table([[_pdf_text(c) for c in r] for r in rows], colWidths=widths, repeatRows=1)
    table.setStyle(table_style([("FONTSIZE", (0, 0), (-1, -1), 7), ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
                                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#CCCCCC"))]))
    return table
