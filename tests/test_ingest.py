"""Ingest: decoding, binary refusal, JSONL, stdin."""

import io
import json
import sys

import pytest

from geomap.exc import GeomapWarning, InputError
from geomap.ingest import decode_bytes, read_path


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
