"""Knowledge base parts that need no model: loaders, discovery, chunking, fusion, options."""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.retrieval import KnowledgeBase, KnowledgeOptions
from assistant.retrieval.base import Passage
from assistant.retrieval.chunking import chunk_document
from assistant.retrieval.discovery import discover
from assistant.retrieval.document import HEADING, Block, Document, Skipped, Unreadable, decode_text
from assistant.retrieval.fusion import convex, rrf
from assistant.retrieval.loaders import load_document
from assistant.retrieval.spreadsheets import shown


def make_pdf(path: Path, pages: list[str]) -> Path:
    """A minimal valid PDF with one line of Helvetica text per page."""
    objects = {1: "<< /Type /Catalog /Pages 2 0 R >>", 3: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids = []
    for number, text in enumerate(pages):
        page, content = 4 + 2 * number, 5 + 2 * number
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 10 Tf 40 700 Td ({escaped}) Tj ET"
        objects[page] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                         f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>")
        objects[content] = f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream"
        kids.append(f"{page} 0 R")
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    out, offsets = b"%PDF-1.4\n", {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n{objects[number]}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offsets[n]:010d} 00000 n \n" for n in sorted(objects)).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)
    return path


class WordTokenizer:
    """One token per word: enough to test packing without a model."""

    max_tokens = 256

    def count_tokens(self, texts):
        return [len(text.split()) for text in texts]

    def token_windows(self, text, size, overlap):
        words = text.split()
        step = size - overlap
        return [" ".join(words[i : i + size]) for i in range(0, max(1, len(words) - overlap), step)]


# ---------------------------------------------------------------- loaders


def test_html_keeps_visible_text_only(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Cats</title><style>p{color:red}</style><script>var token='scriptsecret';</script></head>"
        "<body><nav><a href='/'>Homelink</a></nav><div class='sidebar'>Sidebarjunk</div>"
        "<main><h1>Cats</h1><p>Cats sleep a lot.</p><h2>Food</h2><p>Feed them <b>twice</b> a day.</p>"
        "<pre>code line 1\ncode line 2</pre><noscript>Enable JS</noscript></main>"
        "<footer>Copyright</footer></body></html>"
    )
    doc = load_document(page)
    text = doc.text
    assert doc.title == "Cats" and doc.format == "html"
    for hidden in ("scriptsecret", "color:red", "Homelink", "Sidebarjunk", "Copyright", "Enable JS"):
        assert hidden not in text
    food = next(b for b in doc.blocks if "twice" in b.text)
    assert food.text == "Feed them twice a day." and food.headings == ("Cats", "Food")
    assert any(b.text == "code line 1\ncode line 2" for b in doc.blocks)


def test_html_a_menu_of_links_is_furniture_a_menu_of_dishes_is_content(tmp_path):
    page = tmp_path / "cafe.html"
    page.write_text(
        "<html><body><ul class='menu'><li><a href='/'>Home</a></li><li><a href='/cafe'>Cafe</a></li></ul>"
        "<div id='main-menu'><a href='/shop'>Shoplink</a> | <a href='/visit'>Visitlink</a></div>"
        "<main><h1>Our cafe</h1><h2>Hot drinks</h2><table class='menu'><tr><th>Drink</th><th>Large</th></tr>"
        "<tr><td>Latte</td><td>£3.70</td></tr></table>"
        "<div class='food-menu'><p>Soup of the day with bread: £5.50</p></div></main></body></html>")
    text = load_document(page).text
    assert "Drink: Latte; Large: £3.70" in text and "Soup of the day with bread: £5.50" in text
    assert "Home" not in text and "Shoplink" not in text


def test_html_table_rows_carry_their_column_headers(tmp_path):
    page = tmp_path / "limits.html"
    page.write_text(
        "<html><body><h1>Limits</h1><table><caption>Limits by plan</caption>"
        "<tr><th>Plan</th><th>Requests per minute</th><th>Notes</th></tr>"
        "<tr><td>Pro</td><td>600</td><td></td></tr><tr><td></td><td></td><td></td></tr>"
        "<tr><td>Business</td><td>1,200</td><td>ask <b>support</b> for more</td></tr>"
        "<tr><td colspan='3'>Prices exclude VAT</td></tr></table>"
        "<table><tr><td>Oslo</td><td>Mondays</td></tr></table><p>After.</p></body></html>")
    rows = [(b.kind, b.text, b.headings) for b in load_document(page).blocks[1:]]
    assert rows == [("lines", "Limits by plan", ("Limits",)), ("lines", "Plan: Pro; Requests per minute: 600", ("Limits",)),
                    ("lines", "Plan: Business; Requests per minute: 1,200; Notes: ask support for more", ("Limits",)),
                    ("lines", "Prices exclude VAT", ("Limits",)),  # a merged cell lines up with no header
                    ("lines", "Oslo | Mondays", ("Limits",)), ("prose", "After.", ("Limits",))]


def test_csv_and_tsv_rows_carry_their_column_headers(tmp_path):
    (tmp_path / "prices.csv").write_text(
        'Item,Supplier,Price (ex VAT)\n"Nitrile gloves, medium",Carrick Medical,£6.40\n'
        '"Sterilisation pouches,\n90 x 230 mm",Pennine Dental,£7.20\n\nAlginate,,£9.10\n', encoding="utf-8")
    rows = [(b.kind, b.text, b.line_start, b.line_end) for b in load_document(tmp_path / "prices.csv").blocks]
    assert rows == [("lines", "Item: Nitrile gloves, medium; Supplier: Carrick Medical; Price (ex VAT): £6.40", 2, 2),
                    ("lines", "Item: Sterilisation pouches, 90 x 230 mm; Supplier: Pennine Dental; Price (ex VAT): £7.20", 3, 4),
                    ("lines", "Item: Alginate; Price (ex VAT): £9.10", 6, 6)]  # a quoted line break, a blank line, an empty cell
    # Semicolons (and decimal commas) as spreadsheets write them in much of Europe; a tab-separated file; no header row.
    (tmp_path / "preise.csv").write_text("Artikel;Preis\nHandschuhe;6,40 €\n", encoding="utf-8")
    (tmp_path / "rota.tsv").write_text("2024-06-03\tEarly\tBram\n2024-06-04\tLate\tSanne\n")
    assert [b.text for b in load_document(tmp_path / "preise.csv").blocks] == ["Artikel: Handschuhe; Preis: 6,40 €"]
    assert [b.text for b in load_document(tmp_path / "rota.tsv").blocks] == ["2024-06-03 | Early | Bram", "2024-06-04 | Late | Sanne"]
    # A field longer than the csv module reads is no table: the file is read as lines of text.
    (tmp_path / "dump.csv").write_text("id,blob\n1," + "x" * 200_000 + "\n")
    assert load_document(tmp_path / "dump.csv").format == "code"


def test_excel_sheets_rows_carry_their_headers_and_values_as_the_sheet_shows_them(tmp_path):
    import datetime

    import openpyxl

    book = openpyxl.Workbook()
    prices = book.active
    prices.title = "Prices 2024"
    prices.append(["Item", "Price", "VAT", "Valid from"])
    prices.append(["Nitrile gloves, medium", 6.4, 0.2, datetime.datetime(2024, 4, 1)])
    prices.append([])
    prices.append(["Alginate", 9, None, None])
    prices["B2"].number_format = prices["B4"].number_format = '"£"#,##0.00'
    prices["C2"].number_format = "0%"
    book.create_sheet("Contacts").append(["Liam Fairclough", "purchasing@brightwell.example"])
    book.save(tmp_path / "prices.xlsx")
    doc = load_document(tmp_path / "prices.xlsx")
    assert [(b.text, b.headings, b.line_start) for b in doc.blocks] == [
        ("Item: Nitrile gloves, medium; Price: £6.40; VAT: 20%; Valid from: 2024-04-01", ("Prices 2024",), 2),
        ("Item: Alginate; Price: £9.00", ("Prices 2024",), 4),  # an empty row skipped, its number kept
        ("Liam Fairclough | purchasing@brightwell.example", ("Contacts",), 1)]  # one row: no header
    assert [shown(0.07, "0%"), shown(0.1 + 0.2), shown(1500, "[$€-2] #,##0.00"), shown(1234567, "#,##0")] == [
        "7%", "0.3", "€1,500.00", "1,234,567"]
    assert Passage("Item: Alginate", str(tmp_path / "prices.xlsx"), "Prices 2024", line_start=2, line_end=4).location.endswith(
        "prices.xlsx › Prices 2024, rows 2-4")  # a sheet's lines are its rows
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(Unreadable, match="not a readable Excel file"):
        load_document(tmp_path / "broken.xlsx")


def test_a_table_that_lays_out_a_page_is_read_cell_by_cell_with_its_headings(tmp_path):
    page = tmp_path / "old.html"
    page.write_text("<html><body><table><tr><td>Home</td><td><h1>Leave</h1><p>Staff get 25 days.</p>"
                    "<h2>Carry-over</h2><p>Up to 5 days.</p></td></tr></table></body></html>")
    assert [(b.kind, b.text, b.headings) for b in load_document(page).blocks] == [
        ("prose", "Home", ()), ("heading", "Leave", ("Leave",)), ("prose", "Staff get 25 days.", ("Leave",)),
        ("heading", "Carry-over", ("Leave", "Carry-over")), ("prose", "Up to 5 days.", ("Leave", "Carry-over"))]


def test_markdown_headings_lines_and_front_matter(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text("---\ntitle: The Guide\n---\n# Intro\n\nHello there.\n\n## Setup\n\nStep one.\nStep two.\n\n```\nmake\n```\n")
    doc = load_document(path)
    assert doc.title == "The Guide"
    setup = next(b for b in doc.blocks if b.text.startswith("Step one"))
    assert setup.headings == ("Intro", "Setup") and (setup.line_start, setup.line_end) == (10, 11)
    assert next(b for b in doc.blocks if b.text.startswith("```")).kind == "lines"
    assert not any("title:" in b.text for b in doc.blocks)


def test_markdown_is_read_as_text_with_its_markup_rendered(tmp_path):
    """The reader and the quotes see the words: no asterisks or link syntax, and a link keeps its address."""
    path = tmp_path / "howto.md"
    path.write_text("# Refunds for **Pro** plans\n\n1. Open the [billing page](https://billing.example/refunds).\n"
                    "   - Press **Refund** and type `REF-12`.\n2. Mail [us](mailto:help@x.example) or see <https://x.example>.\n\n"
                    "| **Plan** | Price |\n|---|---|\n| Pro | *€9* |\n\nKeep 2 * 3 * 4 = 24 \\*as is\\*.\n\n```\nkeep **this**\n```\n")
    doc = load_document(path)
    assert doc.title == "Refunds for Pro plans"
    steps, table, prose, code = (b.text for b in doc.blocks if b.kind != "heading")
    assert steps == ("1. Open the billing page (https://billing.example/refunds).\n   - Press Refund and type `REF-12`.\n"
                     "2. Mail us (help@x.example) or see https://x.example.")
    assert table == "| Plan | Price |\n|---|---|\n| Pro | €9 |"
    assert prose == "Keep 2 * 3 * 4 = 24 *as is*."
    assert code == "```\nkeep **this**\n```"


def test_rst_sections(tmp_path):
    path = tmp_path / "doc.rst"
    path.write_text("=====\nTitle\n=====\n\nIntro text.\n\nUsage\n-----\n\nRun it.\n")
    doc = load_document(path)
    run = next(b for b in doc.blocks if b.text == "Run it.")
    assert doc.title == "Title" and run.headings == ("Title", "Usage") and run.line_start == 10


def test_pdf_pages_are_kept(tmp_path):
    doc = load_document(make_pdf(tmp_path / "m.pdf", ["First page text.", "Second page text."]))
    assert [(b.page, b.text) for b in doc.blocks] == [(1, "First page text."), (2, "Second page text.")]


def test_jsonl_records_and_docx(tmp_path):
    import docx

    path = tmp_path / "people.jsonl"
    path.write_text('{"name": "Ada", "bio": "Wrote an algorithm.", "id": 7}\nnot json\n{"name": "Alan", "bio": "Broke codes."}\n')
    doc = load_document(path)
    assert [(b.headings, b.line_start) for b in doc.blocks] == [(("Ada",), 1), (("Alan",), 3)]
    assert doc.blocks[0].text == "name: Ada\nbio: Wrote an algorithm."

    word = docx.Document()
    word.add_heading("Minutes", level=1)
    word.add_paragraph("Budget approved.")
    table = word.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "a", "b"
    prices = word.add_table(rows=2, cols=2)  # a first row of names is the header
    for cell, text in zip([*prices.rows[0].cells, *prices.rows[1].cells], ["Item", "Price", "Buoy", "189,000 NOK"]):
        cell.text = text
    word.save(tmp_path / "notes.docx")
    doc = load_document(tmp_path / "notes.docx")
    assert doc.title == "Minutes"
    assert [(b.kind, b.text, b.headings) for b in doc.blocks] == [
        (HEADING, "Minutes", ("Minutes",)), ("prose", "Budget approved.", ("Minutes",)), ("lines", "a | b", ("Minutes",)),
        ("lines", "Item: Buoy; Price: 189,000 NOK", ("Minutes",))]


def test_encodings_and_binary(tmp_path):
    assert decode_text("Crème brûlée, naïve café".encode("cp1252")) == "Crème brûlée, naïve café"
    assert decode_text("Привет, как дела? Это тест кодировки.".encode("cp1251")) == "Привет, как дела? Это тест кодировки."
    assert decode_text("ünïcode".encode("utf-16")) == "ünïcode"
    with pytest.raises(Skipped, match="binary"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "x.bin").write_bytes(b"\x00\x01")
    with pytest.raises(Skipped, match="unsupported file type .bin"):
        load_document(tmp_path / "x.bin")
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(Skipped, match="empty"):
        load_document(tmp_path / "empty.txt")


def test_text_that_is_overwhelmingly_utf8_stays_utf8_with_the_bad_bytes_replaced():
    assert decode_text(b"Caf\xc3\xa9 \xff\n") == "Caf\u00e9 \ufffd\n"
    long = ("Größe und Übermaß: schön. " * 200).encode("utf-8")
    assert decode_text(long[:1000] + b"\x92" + long[1000:]).count("\ufffd") == 1
    assert decode_text(b"\xef\xbb\xbfna\xc3\xafve \xe9") == "na\u00efve \ufffd"  # BOM dropped
    assert decode_text("Un caf\u00e9 cr\u00e8me, s'il vous pla\u00eet".encode("cp1252")) == "Un caf\u00e9 cr\u00e8me, s'il vous pla\u00eet"


def test_damaged_pdf_and_word_files_are_explained_and_pypdf_warnings_stay_in_the_log(tmp_path, capsys):
    from assistant.logs import log_file, setup_logging

    setup_logging(tmp_path / "data")
    pdf = make_pdf(tmp_path / "manual.pdf", ["The pump needs new seals every spring."])
    pdf.write_bytes(pdf.read_bytes()[:200])
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not really a zip")
    import zipfile

    with zipfile.ZipFile(tmp_path / "letter.docx", "w") as archive:  # a zip, but no Word package
        archive.writestr("word/document.xml", "<w:document/>")
    (tmp_path / "data.json").write_text('{"name": "x",\n "broken": }')
    expected = {
        "manual.pdf": "not a readable PDF: it is damaged or not a PDF",
        "notes.docx": "not a readable Word file: it is damaged or not a .docx",
        "letter.docx": "not a readable Word file: it is damaged or not a .docx",
        "data.json": "not valid JSON (Expecting value at line 2, column 12)",
    }
    for name, message in expected.items():
        with pytest.raises(Unreadable) as error:
            load_document(tmp_path / name)
        assert str(error.value) == message
    report = KnowledgeBase(tmp_path / "index").add([tmp_path / name for name in expected])
    assert sorted(report.failed) == sorted((str(tmp_path / name), message) for name, message in expected.items())
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert capsys.readouterr().err == ""  # the report says it; nothing from pypdf either
    log = log_file(tmp_path / "data").read_text()
    assert log.count("cannot index") == len(expected) and "BadZipFile" in log and "pypdf" in log  # for the operator


def test_files_over_the_size_limit_are_skipped_with_the_limit(tmp_path):
    (tmp_path / "huge.txt").write_text("word " * 60_000)  # 300 kB
    kb = KnowledgeBase(tmp_path / "index", options=KnowledgeOptions(max_file_mb=0.25))
    report = kb.add([tmp_path / "huge.txt"])
    assert report.skipped == [(str(tmp_path / "huge.txt"),
                               "0.3 MB, over the limit of 0.25 MB (raise max_file_mb under [knowledge] in assistant.toml to index it)")]
    assert KnowledgeOptions.from_section({"max_file_mb": 100}).max_file_mb == 100


def test_pipes_and_link_loops_are_skipped_once_with_the_reason_never_opened(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / "a.md").symlink_to("b.md")
    (folder / "b.md").symlink_to("a.md")
    (folder / "gone.md").symlink_to("nowhere.md")
    found = discover([folder, folder / "a.md", folder / "pipe.txt"])
    assert found.files == [] and found.missing == []
    assert found.skipped == [
        (str(folder / "a.md"), "a symbolic link loop (it leads back to itself)"),
        (str(folder / "b.md"), "a symbolic link loop (it leads back to itself)"),
        (str(folder / "gone.md"), "a broken symbolic link (to nowhere.md, which does not exist)"),
        (str(folder / "pipe.txt"), "a named pipe, not a regular file"),
    ]
    outcome: dict = {}
    adding = threading.Thread(target=lambda: outcome.update(report=KnowledgeBase(tmp_path / "index").add([folder])))
    adding.start()
    adding.join(60)
    if adding.is_alive():
        os.close(os.open(folder / "pipe.txt", os.O_WRONLY | os.O_NONBLOCK))  # let the blocked reader go
        adding.join()
        pytest.fail("index add opened the named pipe and waited on it")
    assert (str(folder / "pipe.txt"), "a named pipe, not a regular file") in outcome["report"].skipped


# ---------------------------------------------------------------- discovery


def test_discovery_skips_hidden_build_ignored_and_honours_patterns(tmp_path):
    root = tmp_path / "notes"
    for name in ("a.md", "b.txt", "c.png", ".hidden.md", ".git/config.md", "node_modules/x.md", "sub/d.md",
                 "sub/drafts/e.md", "venvy/f.md", "logs/app.log"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("text")
    (root / "venvy" / "pyvenv.cfg").write_text("home = /usr")
    (root / ".gitignore").write_text("logs/\n")
    (root / "sub" / ".gitignore").write_text("drafts/\n")

    found = discover([root])
    assert sorted(p.relative_to(root).as_posix() for p in found.files) == ["a.md", "b.txt", "sub/d.md"]
    assert found.skipped == [(str(root / "c.png"), "unsupported file type .png")]

    found = discover([root], include=["*.md"], exclude=["sub/"])
    assert [p.name for p in found.files] == ["a.md"]
    found = discover([root / ".hidden.md", tmp_path / "missing"])  # named explicitly: read anyway
    assert [p.name for p in found.files] == [".hidden.md"] and found.missing == [str(tmp_path / "missing")]


# ---------------------------------------------------------------- chunking


def test_chunks_respect_budget_headings_and_overlap():
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(40)]
    blocks = [Block("Heading A", HEADING, ("Doc", "A")), Block(" ".join(sentences[:30]), "prose", ("Doc", "A"), line_start=3, line_end=3),
              Block("Heading B", HEADING, ("Doc", "B")), Block(" ".join(sentences[30:]), "prose", ("Doc", "B"), line_start=9, line_end=9)]
    doc = Document(Path("doc.md"), "Doc", "markdown", blocks)
    chunks = chunk_document(doc, WordTokenizer(), size=50, overlap=15)
    a_chunks = [c for c in chunks if c.headings == ("Doc", "A")]
    assert all(len(c.text.split()) <= 50 for c in chunks)
    assert [c.headings for c in chunks].count(("Doc", "B")) == 2  # 70 words under B: no chunk mixes sections
    assert a_chunks[0].header == "Doc > A" and a_chunks[0].indexed_text.startswith("Doc > A\nSentence number 0 ")
    # consecutive chunks share whole sentences, and every sentence is in some chunk
    first, second = a_chunks[0].text, a_chunks[1].text
    assert second.split(". ")[0] + "." in first
    covered = " ".join(c.text for c in chunks)
    assert all(s in covered for s in sentences)
    assert a_chunks[0].line_start == 3


def test_long_sentence_is_cut_at_token_boundaries():
    doc = Document(Path("x.txt"), "x", "text", [Block(" ".join(f"w{i}" for i in range(500)), "prose", line_start=1, line_end=1)])
    chunks = chunk_document(doc, WordTokenizer(), size=100, overlap=20)
    assert len(chunks) >= 5 and all(len(c.text.split()) <= 100 for c in chunks)
    assert "w499" in chunks[-1].text


# ---------------------------------------------------------------- fusion and options


def test_fusion():
    assert [i for i, _ in rrf([[1, 2, 3], [3, 1, 4]])][:2] == [1, 3]
    import numpy as np

    fused = convex([1, 2, 3, 4], np.array([0.9, 0.8, 0.3, -0.2]), np.array([0.0, 0.5, 1.2, 0.0]), dense_weight=0.5)
    assert [i for i, _ in fused] == [2, 3, 1, 4]
    assert [round(s, 2) for _, s in fused] == [0.65, 0.65, 0.45, 0.0]


def test_options_from_config_section():
    options = KnowledgeOptions.from_section({"chunk-tokens": "128", "fusion": "convex"})
    assert options.chunk_tokens == 128 and options.fusion == "convex"
    with pytest.raises(ConfigError, match="Unknown key 'chunk_size'"):
        KnowledgeOptions.from_section({"chunk_size": 5})
    with pytest.raises(ConfigError, match=re.escape("fusion = 'max'")):
        KnowledgeOptions.from_section({"fusion": "max"})


# ---------------------------------------------------------------- the seam and its fake


def test_the_knowledge_base_and_its_fake_are_both_knowledge_stores(tmp_path):
    from assistant.errors import KnowledgeBaseError
    from assistant.retrieval import KnowledgeStore, Passage
    from assistant.retrieval.fake import FakeKnowledgeStore

    assert isinstance(KnowledgeBase(tmp_path / "index"), KnowledgeStore)
    fake = FakeKnowledgeStore([Passage("The pump needs new seals.", "docs/pump.md", "Pump")], rank_by_words=True)
    assert isinstance(fake, KnowledgeStore) and fake.chunk_count() == 1
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "boiler.md").write_text("# Boiler\n\nHold the red button to reset it.")
    report = fake.add([tmp_path / "notes"])
    assert report.added == [str(tmp_path / "notes" / "boiler.md")] and report.chunks == 2 and fake.chunk_count() == 3
    assert fake.search("how do I reset the boiler", k=1)[0].source.endswith("boiler.md")
    assert fake.document_text("BOILER")[1].startswith("# Boiler")  # the real name rules
    with pytest.raises(KnowledgeBaseError, match="Closest: pump.md"):
        fake.document_text("pumps.md")
    vectors = fake.embed(["reset the boiler", "boiler reset", "seals of the pump"])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert fake.remove([tmp_path / "notes"]) == 1 and fake.chunk_count() == 1
