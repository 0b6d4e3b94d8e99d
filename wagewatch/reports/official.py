"""Word documents in the layout of a government document (党政机关公文格式, GB/T 9704): A4, 37/35/28/26 mm
margins, the title in 方正小标宋 二号, body in 仿宋_GB2312 三号 on a 28-point line, first-level headings in
黑体 and second-level in 楷体_GB2312, the issuing office and date at the end, “— 1 —” page numbers.

Fonts are named the way government machines have them; each also gets an East Asian attribute (w:eastAsia, or
Word keeps the Latin font for Chinese text) and an alternative name in the document's font table, so a
machine without the GB2312 fonts falls back to 仿宋/楷体/宋体 instead of a default sans-serif.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from lxml import etree

TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
BODY_FONT = "仿宋_GB2312"
LATIN_FONT = "Times New Roman"
# Font-table fallbacks (w:altName), then what LibreOffice/Word substitute when neither is installed.
FALLBACKS = {
    TITLE_FONT: "华文中宋",
    HEADING_FONT: "SimHei",
    SUBHEADING_FONT: "楷体",
    BODY_FONT: "仿宋",
}
SIZE_TITLE = Pt(22)  # 二号
SIZE_BODY = Pt(16)  # 三号
SIZE_TABLE = Pt(12)  # 小四
SIZE_PAGE_NUMBER = Pt(14)  # 四号
LINE = Pt(28)  # 22 lines a page
TEXT_WIDTH = Mm(210 - 28 - 26)


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _fonts(run, name: str, size) -> None:
    run.font.name = LATIN_FONT
    run.font.size = size
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)
    fonts.set(qn("w:hint"), "eastAsia")


def new_document() -> DocumentObject:
    """An empty A4 portrait document with the official margins, body style and page numbers."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(20)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = LATIN_FONT, SIZE_BODY
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = LINE
    normal.paragraph_format.space_before = normal.paragraph_format.space_after = Pt(0)
    _page_numbers(section.footer.paragraphs[0])
    _font_table(doc)
    return doc


def _page_numbers(paragraph: Paragraph) -> None:
    """“— 1 —” centred in the footer: a PAGE field between two dashes."""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(paragraph.add_run("— "), "宋体", SIZE_PAGE_NUMBER)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    paragraph._p.append(field)
    run = Paragraph(paragraph._p, paragraph._parent).add_run("1")
    field.append(run._r)  # the cached value, replaced by the page number when laid out
    _fonts(run, "宋体", SIZE_PAGE_NUMBER)
    _fonts(paragraph.add_run(" —"), "宋体", SIZE_PAGE_NUMBER)


def _font_table(doc: DocumentObject) -> None:
    """Declare each Chinese font with its alternative name, so a missing GB2312 font is substituted sensibly.
    python-docx keeps the font table as an opaque part: it is edited as XML."""
    part = next(rel.target_part for rel in doc.part.rels.values() if rel.reltype == RT.FONT_TABLE)
    table = etree.fromstring(part.blob)
    for name, alt in FALLBACKS.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (("w:altName", alt), ("w:charset", "86")):  # 86: GB2312
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
        table.append(font)
    part._blob = etree.tostring(table, xml_declaration=True, encoding="UTF-8", standalone=True)


def paragraph(doc: DocumentObject, text: str, font: str = BODY_FONT, *, indent: bool = True, align=None, size=None):
    """A body paragraph: two-character first-line indent unless `indent` is False."""
    p = doc.add_paragraph()
    if indent:
        p.paragraph_format.first_line_indent = Pt(32)
    if align is not None:
        p.alignment = align
    _fonts(p.add_run(text), font, size or SIZE_BODY)
    return p


def title(doc: DocumentObject, text: str) -> None:
    p = paragraph(doc, text, TITLE_FONT, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, size=SIZE_TITLE)
    p.paragraph_format.line_spacing = Pt(36)
    p.paragraph_format.space_after = Pt(28)


def red_header(doc: DocumentObject, issuer: str) -> None:
    """The issuing office's name in red above a red rule (发文机关标志), on one line: a long name gets a smaller
    size so it fits the 156 mm text width."""
    size = Pt(min(26, int(TEXT_WIDTH.pt / max(len(issuer), 1))))
    p = paragraph(doc, issuer, TITLE_FONT, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, size=size)
    p.paragraph_format.line_spacing = Pt(40)
    p.runs[0].font.color.rgb = RGBColor(0xE6, 0x00, 0x12)
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "18"), ("space", "8"), ("color", "E60012")):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    p._p.get_or_add_pPr().append(border)
    p.paragraph_format.space_after = Pt(24)


def heading(doc: DocumentObject, text: str) -> None:
    """一、... in 黑体."""
    paragraph(doc, text, HEADING_FONT)


def subheading(doc: DocumentObject, text: str) -> None:
    """（一）... in 楷体."""
    paragraph(doc, text, SUBHEADING_FONT)


def signature(doc: DocumentObject, issuer: str, day: date) -> None:
    """The issuing office and the date, right-aligned four characters in from the margin."""
    doc.add_paragraph()
    for text in (issuer, chinese_date(day)):
        p = paragraph(doc, text, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(64)


def table(doc: DocumentObject, headers: list[str], rows: list[list[object]]) -> None:
    """A ruled table in 仿宋 小四, header row in 黑体, repeated at the top of each page."""
    t = doc.add_table(rows=1, cols=len(headers))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(t.rows[0].cells, headers, strict=False):
        _cell(cell, text, HEADING_FONT)
    header_props = t.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_props.append(repeat)
    for values in rows:
        for cell, value in zip(t.add_row().cells, values, strict=False):
            _cell(cell, str(value), BODY_FONT)


def _cell(cell, text: str, font: str) -> None:
    cell.text = ""
    p = cell.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Pt(0)
    p.paragraph_format.line_spacing = Pt(18)
    _fonts(p.add_run(text), font, SIZE_TABLE)


def save(doc: DocumentObject, path: Path) -> Path:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    doc.save(tmp)
    tmp.replace(path)
    return path
