"""Ingest: decoding, binary refusal, text, Markdown, HTML, JSONL, CSV, folders, stdin."""

import io
import json
import sys

import pytest

from geomap.exc import GeomapWarning, InputError
from geomap.ingest import Fields, decode_bytes, expand_paths, html_to_document, read_inputs, read_path


def test_ingest_utf8_with_bom_and_crlf(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffTalks in Bakı.\r\nNext line.\r".encode("utf-8"))
    (doc,) = read_path(path)
    assert doc.id == "a" and doc.text == "Talks in Bakı.\nNext line.\n" and doc.source == str(path)


def test_ingest_cp1252_is_detected_with_a_warning(tmp_path):
    path = tmp_path / "old.txt"
    text = "Le président a visité Tbilissi et Erevan l’été dernier, où la délégation française était arrivée."
    path.write_bytes(text.encode("cp1252"))
    with pytest.warns(GeomapWarning, match="not valid UTF-8"):
        (doc,) = read_path(path)
    assert doc.text == text


def test_ingest_forced_encoding(tmp_path):
    path = tmp_path / "l1.txt"
    path.write_bytes("Zürich".encode("latin-1"))
    assert read_path(path, encoding="latin-1")[0].text == "Zürich"
    with pytest.raises(InputError, match="cannot decode as 'utf-8'"):
        read_path(path, encoding="utf-8")


def test_ingest_binary_file_is_refused(tmp_path):
    import random
    rng = random.Random(39)
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(4096)))
    with pytest.raises(InputError, match="binary"):
        read_path(path)


def test_ingest_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_path(tmp_path / "nope.txt")


def test_ingest_jsonl_one_document_per_line(tmp_path):
    path = tmp_path / "batch.jsonl"
    rows = [{"id": "a1", "text": "Baku.", "title": "T", "url": "https://example.org/a"}, {"id": 7, "text": "Yerevan."}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    docs = read_path(path)
    assert [(d.id, d.text, d.title) for d in docs] == [("a1", "Baku.", "T"), ("7", "Yerevan.", None)]


def test_ingest_jsonl_bad_line_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "ok"}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:2"):
        read_path(path)


def test_ingest_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("Talks in Baku.".encode())))
    (doc,) = read_path("-")
    assert (doc.id, doc.text, doc.source) == ("stdin", "Talks in Baku.", "<stdin>")


def test_decode_bytes_undecodable_is_refused():
    with pytest.raises(InputError):
        decode_bytes(bytes(range(1, 32)) * 300 + b"\xff\xfe\x00", "x")


def test_ingest_latin1_without_a_flag_is_detected_with_a_warning(tmp_path):
    path = tmp_path / "zurich.txt"
    text = "Die Delegation reiste von Zürich über Genève nach Baku, wo die Gespräche früh begannen."
    path.write_bytes(text.encode("latin-1"))
    with pytest.warns(GeomapWarning, match=r"zurich.txt: not valid UTF-8; decoded as cp1252 \(use --encoding"):
        (doc,) = read_path(path)
    assert doc.text == text  # the same letters: never silent mojibake


@pytest.mark.parametrize("name", ["notes.txt", "notes.md", "notes.log"])
def test_ingest_text_and_markdown_files(tmp_path, name):
    path = tmp_path / name
    path.write_text("# Talks in Baku\n\nDiplomats met in *Yerevan*.\n", encoding="utf-8")
    (doc,) = read_path(path)
    assert (doc.id, doc.source) == ("notes", str(path))
    assert doc.text == "# Talks in Baku\n\nDiplomats met in *Yerevan*.\n"  # offsets stay those of the file


# ---------------------------------------------------------------------------------------------
# HTML

R41_PAGE = ("<html><head><title>World</title><style>.nav{color:red}</style><script>var defaultCity = \"Paris\";"
            "</script></head><body><nav>Home | Europe | Asia | Sport</nav><article><p>Engineers in Gyumri repaired "
            "the rail link to Tbilisi.</p></article><footer>Related: London Paris Tokyo</footer></body></html>")

ARTICLE_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Talks in Baku | World News</title>
<link rel="canonical" href="https://news.example.org/world/baku-talks">
<meta property="article:published_time" content="2024-05-03T10:00:00Z">
<style>body { font-family: "Rome"; }</style>
<script>var defaultCity = "Paris"; track("Rome");</script>
</head><body>
<header><a href="/">World News</a><nav><ul><li><a href="/europe">Europe</a></li><li><a href="/asia">Asia</a></li></ul></nav></header>
<main><article><h1>Talks resume in Baku</h1>
<p>Diplomats from Armenia and Azerbaijan met in Baku on Friday, the foreign ministry said, and agreed to continue.</p>
<p>The next round will be held in Brussels, officials said. A sign read &lt;b&gt;peace&lt;/b&gt; &amp; hope.</p>
<aside>Most read: Floods in Lisbon</aside>
<p>Observers in Tbilisi welcomed the announcement.</p></article></main>
<footer>Related: London Paris Tokyo. Copyright 2024</footer>
<script>window.city = "Madrid";</script></body></html>"""


def test_ingest_html_case_R41_article_only(tmp_path):
    """R41 (geograpy3#22): the article's text; nothing from script, style, nav or footer."""
    path = tmp_path / "page.html"
    path.write_text(R41_PAGE, encoding="utf-8")
    (doc,) = read_path(path)
    assert doc.id == "page" and doc.title == "World"
    assert "Engineers in Gyumri repaired the rail link to Tbilisi." in doc.text
    for boilerplate in ("Paris", "defaultCity", "color", "Europe", "Asia", "London", "Tokyo", "Home"):
        assert boilerplate not in doc.text
    assert "<" not in doc.text


def test_ingest_html_keeps_title_date_url_and_decodes_entities(tmp_path):
    path = tmp_path / "baku-talks.htm"
    path.write_text(ARTICLE_PAGE, encoding="utf-8")
    (doc,) = read_path(path)
    assert doc.title == "Talks resume in Baku"
    assert doc.date == "2024-05-03" and doc.url == "https://news.example.org/world/baku-talks"
    lines = doc.text.split("\n")
    assert "Diplomats from Armenia and Azerbaijan met in Baku on Friday, the foreign ministry said, and agreed " \
           "to continue." in lines
    assert "Observers in Tbilisi welcomed the announcement." in lines
    assert "A sign read <b>peace</b> & hope." in doc.text  # entities decoded, kept as text
    for boilerplate in ("Paris", "Rome", "Madrid", "Lisbon", "Tokyo", "Europe", "Copyright", "font-family"):
        assert boilerplate not in doc.text


def test_ingest_html_declared_charset_is_used(tmp_path):
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
            "<title>Gespräche</title></head><body><article><p>Die Minister trafen sich in Zürich und "
            "Genève, später in Bakı’s Altstadt.</p></article></body></html>")
    path = tmp_path / "de.html"
    path.write_bytes(page.replace("ı", "i").encode("cp1252"))
    with pytest.warns(GeomapWarning, match="decoded as cp1252"):
        (doc,) = read_path(path)
    assert "Zürich und Genève, später in Baki’s Altstadt." in doc.text and doc.title == "Gespräche"


def test_ingest_html_without_article_falls_back_to_body_text():
    page = ("<html><head><title>Note</title><script>var x = 'Paris';</script></head><body>"
            "<nav>Home</nav><div>Baku.</div><footer>London</footer></body></html>")
    doc = html_to_document(page, id="n")
    assert doc.text == "Baku." and doc.title == "Note"


@pytest.mark.parametrize("page", ["", "<html></html>", "<html><body><script>var a = 'Baku';</script></body></html>"])
def test_ingest_html_without_text_is_an_empty_document(page):
    doc = html_to_document(page, id="e")
    assert doc.text == ""


# ---------------------------------------------------------------------------------------------
# Records: JSONL and CSV


def test_ingest_csv_one_document_per_row(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text('id,title,text,date,url,extra\n'
                    'a1,Talks,"Diplomats met in Baku, then in Yerevan.\nA second line.",2024-05-03,https://example.org/a,x\n'
                    '\n'
                    ',,"Convoys reached ""Tbilisi"".",,,\n', encoding="utf-8")
    docs = read_path(path)
    assert [(d.id, d.title, d.date, d.url) for d in docs] == [
        ("a1", "Talks", "2024-05-03", "https://example.org/a"), ("news-2", None, None, None)]
    assert docs[0].text == "Diplomats met in Baku, then in Yerevan.\nA second line."
    assert docs[1].text == 'Convoys reached "Tbilisi".' and docs[1].source == str(path)


def test_ingest_csv_semicolons_bom_and_long_fields(tmp_path):
    path = tmp_path / "export.csv"
    long_text = "Talks in Baku. " * 20_000  # 300,000 characters: beyond the csv module's default limit
    path.write_bytes(("\ufeffuid;body\r\nx;" + long_text + "\r\n").encode("utf-8"))
    (doc,) = read_path(path, fields=Fields(id="uid", text="body"))
    assert doc.id == "x" and doc.text == long_text


def test_ingest_csv_without_the_text_column_says_which_option(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("uid,body\n1,Baku\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no column 'text' in the header \('uid', 'body'\); name it with --text-field"):
        read_path(path)


def test_ingest_jsonl_mapped_fields(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({"uid": "u1", "body": "Baku.", "headline": "H", "published": "2024-05-03",
                                "link": "https://example.org/u1", "outlet": "Wire"}) + "\n", encoding="utf-8")
    fields = Fields(id="uid", text="body", title="headline", date="published", url="link", source="outlet")
    (doc,) = read_path(path, fields=fields)
    assert (doc.id, doc.text, doc.title, doc.date, doc.url, doc.source) == (
        "u1", "Baku.", "H", "2024-05-03", "https://example.org/u1", "Wire")


def test_ingest_read_inputs_skips_bad_records_and_keeps_the_rest(tmp_path):
    jsonl = tmp_path / "mixed.jsonl"
    jsonl.write_text('{"id": "a", "text": "Baku."}\nnot json\n{"id": "c", "body": "x"}\n{"id": "d", "text": "Yerevan."}\n',
                     encoding="utf-8")
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text("id,text\nr1,Tbilisi.\nr2,too,many\n", encoding="utf-8")
    docs, skipped = read_inputs([jsonl, csv_path])
    assert [d.id for d in docs] == ["a", "d", "r1"]
    assert skipped == [(f"{jsonl}:2", "invalid JSON: Expecting value"),
                       (f"{jsonl}:3", "no field 'text' (fields: 'id', 'body'); name the text field with --text-field"),
                       (f"{csv_path}:3", "3 fields where the header has 2")]


@pytest.mark.parametrize("name, content", [("none.jsonl", "  \n"), ("none.csv", "  \n"), ("none.csv", "id,text\n")])
def test_ingest_empty_record_file_is_one_empty_document(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert [(d.id, d.text) for d in read_path(path)] == [("none", "")]


# ---------------------------------------------------------------------------------------------
# Folders


def _tree(tmp_path):
    (tmp_path / "news" / "2024" / "may").mkdir(parents=True)
    (tmp_path / "news" / ".git").mkdir()
    files = {
        "news/b.txt": "Baku.", "news/a.md": "Yerevan.", "news/2024/page.html": R41_PAGE,
        "news/2024/may/feed.jsonl": '{"id": "f1", "text": "Tbilisi."}\n', "news/2024/may/rows.csv": "id,text\nc1,Gyumri.\n",
        "news/2024/photo.png": "not read", "news/.hidden.txt": "hidden", "news/.git/config.txt": "hidden",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / "news"


def test_ingest_folder_is_read_recursively_in_sorted_order(tmp_path):
    folder = _tree(tmp_path)
    assert [str(p.relative_to(folder)) for p in expand_paths([folder])] == [
        "a.md", "b.txt", "2024/page.html", "2024/may/feed.jsonl", "2024/may/rows.csv"]
    docs, skipped = read_inputs([folder])
    assert [d.id for d in docs] == ["a", "b", "page", "f1", "c1"] and skipped == []


@pytest.mark.parametrize("pattern, expected", [
    ("*.html", ["2024/page.html"]),
    ("may/*", ["2024/may/feed.jsonl", "2024/may/rows.csv"]),
    ("*.png", ["2024/photo.png"]),
])
def test_ingest_folder_glob(tmp_path, pattern, expected):
    folder = _tree(tmp_path)
    assert [p.relative_to(folder).as_posix() for p in expand_paths([folder], glob=pattern)] == expected


def test_ingest_folder_with_one_bad_file_among_good_ones(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "good1.txt").write_text("Aid reached Yerevan.", encoding="utf-8")
    (folder / "bad.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "good2.txt").write_text("Talks in Baku.", encoding="utf-8")
    docs, skipped = read_inputs([folder])
    assert [d.id for d in docs] == ["good1", "good2"]
    assert skipped == [(str(folder / "bad.txt"), "binary file (contains NUL bytes), not a text file")]


def test_ingest_folder_without_inputs_is_reported(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "image.png").write_bytes(b"\x89PNG")
    docs, skipped = read_inputs([tmp_path / "empty"])
    assert docs == [] and len(skipped) == 1
    assert skipped[0][0] == str(tmp_path / "empty") and "no input files with a suffix .txt" in skipped[0][1]
    assert "--glob" in skipped[0][1]


def test_ingest_same_names_in_two_folders_stay_two_documents(tmp_path):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "article.txt").write_text(f"Baku {sub}.", encoding="utf-8")
    docs, _ = read_inputs([tmp_path / "x", tmp_path / "y"])
    assert [(d.id, d.text) for d in docs] == [("article", "Baku x."), ("article-2", "Baku y.")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_ingest_utf16_and_utf32_with_bom(tmp_path, encoding):
    path = tmp_path / "wide.txt"
    path.write_bytes("Talks in Bakı.\r\nThen Yerevan.".encode(encoding))   # Python writes the BOM
    (doc,) = read_path(path)
    assert doc.text == "Talks in Bakı.\nThen Yerevan."


def test_ingest_text_file_headline_becomes_the_title(tmp_path):
    path = tmp_path / "article.txt"
    path.write_text("Putin, Aliyev confirm efforts on peace in South Caucasus\nThe two presidents met.\n",
                    encoding="utf-8")
    (doc,) = read_path(path)
    assert doc.title == "Putin, Aliyev confirm efforts on peace in South Caucasus"
    path.write_text("One sentence only, no headline.\nAnother sentence.", encoding="utf-8")
    assert read_path(path)[0].title is None
