"""The event report as HTML (the e-mail and the archive) and as PDF (reportlab; its standard fonts carry French)."""

from __future__ import annotations

import base64
import html
import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from backend.reports.content import Photo, ReportContent

SECTIONS = (("solicitations", "Sollicitations et informations", "Délai depuis la réception"),
            ("answers", "Réponses et comptes rendus", "Délai depuis la sollicitation"),
            ("decisions", "Décisions", ""))


def to_html(c: ReportContent) -> str:
    esc = html.escape

    def pairs(rows):
        return "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)

    def lines(items, delay_title):
        if not items:
            return "<p class='none'>Aucune.</p>"
        head = f"<tr><th>Heure</th><th>Qui</th><th>Quoi</th>{'<th>' + esc(delay_title) + '</th>' if delay_title else ''}</tr>"
        body = "".join(f"<tr><td>{esc(i.at)}</td><td>{esc(i.who)}</td><td>{esc(i.what)}</td>"
                       f"{'<td>' + esc(i.delay) + '</td>' if delay_title else ''}</tr>" for i in items)
        return f"<table class='lines'>{head}{body}</table>"

    sections = "".join(f"<h2>{esc(title)}</h2>{lines(getattr(c, attr), delay)}" for attr, title, delay in SECTIONS)
    sections += _photos_html(c.photos)
    closure = f"<h2>Clôture</h2><table>{pairs(c.closure)}</table>" if c.closure else "<h2>Clôture</h2><p>Événement en cours.</p>"
    chain = "intacte" if c.chain_intact else "ALTÉRÉE — voir la vérification de la main courante"
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>{esc(c.mark)}Rapport {esc(c.number)} — {esc(c.title)}</title>
<style>body{{font-family:'DejaVu Sans',Arial,sans-serif;color:#111;max-width:900px;margin:24px auto;padding:0 12px}}
h1{{font-size:22px;margin-bottom:0}} .sub{{color:#555;margin-top:4px}} h2{{font-size:17px;border-bottom:1px solid #ccc;
padding-bottom:3px;margin-top:22px}} table{{border-collapse:collapse;width:100%}} th,td{{text-align:left;
vertical-align:top;padding:4px 8px;border-bottom:1px solid #eee;font-size:14px}} th{{width:28%;color:#333}}
.lines th{{width:auto;background:#f3f4f6}} figure{{margin:10px 0}} figure img{{max-width:100%;max-height:480px}}
figcaption{{color:#333;font-size:13px}} .none{{color:#666}} footer{{color:#666;font-size:12px;margin-top:24px}}</style>
</head><body><h1>{esc(c.mark)}Rapport d'événement {esc(c.number)}</h1>
<p class="sub">{esc(c.commune)} — {esc(c.title)}</p>
<h2>Réception et qualification</h2><table>{pairs(c.facts)}</table>
{sections}{closure}
<footer>Établi le {esc(c.generated)} à partir de la main courante (chaîne d'intégrité {chain}).</footer>
</body></html>"""


def _label(photo: Photo) -> str:
    return " — ".join(part for part in (photo.at, photo.who, photo.caption and f"« {photo.caption} »") if part)


def _photos_html(photos: list[Photo]) -> str:
    if not photos:
        return ""
    figures = []
    for photo in photos:
        caption = f"<figcaption>{html.escape(_label(photo))}</figcaption>"
        if photo.data is None:
            figures.append(f"<figure><p class='none'>Photo non jointe au rapport (consultable dans la console).</p>{caption}</figure>")
            continue
        source = f"data:{html.escape(photo.content_type)};base64,{base64.b64encode(photo.data).decode()}"
        figures.append(f"<figure><img src=\"{source}\" alt=\"Photo du terrain\">{caption}</figure>")
    return f"<h2>Photos du terrain</h2>{''.join(figures)}"


def _photo_flowable(photo: Photo, width: float, height: float):
    """The photo scaled into width × height, or None when it cannot be drawn."""
    if photo.data is None:
        return None
    try:
        image = Image(io.BytesIO(photo.data))
    except Exception:  # a file reportlab cannot read: the caption still says a photo was sent
        return None
    scale = min(width / image.imageWidth, height / image.imageHeight, 1)
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    return image


def to_pdf(c: ReportContent) -> bytes:
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=8.5, leading=10.5)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title=f"{c.mark}Rapport {c.number}", author="Vigie", lang="fr")
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#cccccc")),
                       ("VALIGN", (0, 0), (-1, -1), "TOP"), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f4f6"))])
    flow = [Paragraph(f"{c.mark}Rapport d'événement {html.escape(c.number)}", styles["Title"]),
            Paragraph(html.escape(f"{c.commune} — {c.title}"), styles["Heading3"]),
            Paragraph("Réception et qualification", styles["Heading2"])]

    def p(text: str) -> Paragraph:
        return Paragraph(html.escape(text), small)

    facts = Table([[p(k), p(v)] for k, v in c.facts], colWidths=[45 * mm, 133 * mm])
    facts.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#cccccc")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    flow.append(facts)
    for attr, title, delay in SECTIONS:
        flow += [Spacer(1, 4 * mm), Paragraph(title, styles["Heading2"])]
        items = getattr(c, attr)
        if not items:
            flow.append(p("Aucune."))
            continue
        head = ["Heure", "Qui", "Quoi"] + ([delay] if delay else [])
        rows = [[p(h) for h in head]] + [[p(i.at), p(i.who), p(i.what)] + ([p(i.delay)] if delay else [])
                                          for i in items]
        widths = [30 * mm, 38 * mm, 82 * mm, 28 * mm] if delay else [30 * mm, 38 * mm, 110 * mm]
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(grid)
        flow.append(table)
    if c.photos:
        flow += [Spacer(1, 4 * mm), Paragraph("Photos du terrain", styles["Heading2"])]
        for photo in c.photos:
            image = _photo_flowable(photo, 120 * mm, 90 * mm)
            flow += [image] if image is not None else [p("Photo non jointe au rapport (consultable dans la console).")]
            flow += [p(_label(photo)), Spacer(1, 3 * mm)]
    flow += [Spacer(1, 4 * mm), Paragraph("Clôture", styles["Heading2"])]
    if c.closure:
        closure = Table([[p(k), p(v)] for k, v in c.closure], colWidths=[45 * mm, 133 * mm])
        closure.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#cccccc"))]))
        flow.append(closure)
    else:
        flow.append(p("Événement en cours."))
    chain = "intacte" if c.chain_intact else "ALTÉRÉE"
    flow += [Spacer(1, 6 * mm), p(f"Établi le {c.generated} à partir de la main courante (chaîne d'intégrité {chain}).")]
    doc.build(flow)
    return buffer.getvalue()
