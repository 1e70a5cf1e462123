#!/usr/bin/python3
"""Writes the inputs of bench/ingest_bench.cc: a 300-page PDF (ReportLab, DejaVu Sans, 48 lines
a page) and a DOCX of about 10 MB (paragraphs of varied words, some lists and tables, deflated).
Usage: make_ingest_bench_docs.py OUTDIR"""
import io
import os
import random
import sys
import zipfile

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
words = ("glyph render page image token vision language model context window compression "
         "reader layout font line paragraph document report contract table figure section "
         "summary question answer citation offset character width height margin").split()


def sentence():
    return " ".join(rng.choice(words) + (str(rng.randint(0, 999)) if rng.random() < 0.1 else "")
                    for _ in range(rng.randint(6, 14))).capitalize() + "."


pdfmetrics.registerFont(TTFont("DejaVu", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
c = canvas.Canvas(os.path.join(out, "300_pages.pdf"), invariant=1)
for page in range(300):
    c.setFont("DejaVu", 10)
    y = 770
    for _ in range(48):
        c.drawString(50, y, sentence()[:95])
        y -= 15
    c.showPage()
c.save()

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
parts = []
size = 0
i = 0
while size < 66_000_000:  # about 10 MB once deflated
    i += 1
    if i % 50 == 0:
        row = "".join(f"<w:tc><w:p><w:r><w:t>{rng.choice(words)} {rng.randint(0, 99999)}</w:t></w:r></w:p></w:tc>" for _ in range(4))
        p = f"<w:tbl><w:tr>{row}</w:tr><w:tr>{row}</w:tr></w:tbl>"
    else:
        text = " ".join(sentence() for _ in range(rng.randint(2, 6)))
        p = f'<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:lang w:val="en-US"/></w:rPr><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'
    parts.append(p)
    size += len(p)
doc = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {W}><w:body>{"".join(parts)}</w:body></w:document>'
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
    z.writestr("word/document.xml", doc)
with open(os.path.join(out, "10mb.docx"), "wb") as f:
    f.write(buf.getvalue())
print("ok")
