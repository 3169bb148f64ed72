"""How much recognition recall geomap loses when text is not in normal case.

    python bench/bench_casing.py [--gazetteer PATH] [--corpus gwn_dev]

Runs geomap offline on a dev corpus (../shared/eval, skipped when absent) four times — as
written, all lower case, ALL CAPS and Title Case — and prints recognition recall (overlap
matching) and the relative loss against the text as written. Case changes that would alter the
length of a character are left out, so gold offsets stay valid.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from geomap.api import Geoparser
from geomap.evaluate import score, system_documents
from geomap.model import Document

EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


def _same_length(convert):
    def apply(text: str) -> str:
        return "".join(c2 if len(c2) == 1 else c for c, c2 in ((c, convert(c)) for c in text))
    return apply


def _title(text: str) -> str:
    out, previous = [], " "
    for ch in text:
        out.append(ch.upper() if not previous.isalpha() and len(ch.upper()) == 1 else
                   (ch.lower() if len(ch.lower()) == 1 else ch))
        previous = ch
    return "".join(out)


VARIANTS = {"as written": lambda t: t, "lower case": _same_length(str.lower),
            "ALL CAPS": _same_length(str.upper), "Title Case": _title}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gazetteer")
    ap.add_argument("--corpus", default="gwn_dev")
    args = ap.parse_args()
    path = EVAL / f"{args.corpus}.jsonl"
    if not path.exists():
        print(f"skipped: {path} is not present")
        return 0
    gold = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    parser = Geoparser(gazetteer=args.gazetteer, offline=True)
    base = None
    print(f"{args.corpus}: recognition recall (overlap) by casing")
    for name, convert in VARIANTS.items():
        docs = [Document(str(d["id"]), convert(d["text"])) for d in gold]
        assert all(len(a.text) == len(d["text"]) for a, d in zip(docs, gold))
        system = system_documents(parser.parse(docs))
        system = [{**d, "toponyms": [t for t in d["toponyms"] if t["lat"] is not None]} for d in system]
        rec = score(gold, system)["recognition"]["overlap"]
        base = base if base is not None else rec["recall"]
        loss = 1 - rec["recall"] / base if base else 0.0
        print(f"  {name:11s} recall {100 * rec['recall']:5.1f}  precision {100 * rec['precision']:5.1f}  "
              f"loss vs as written {100 * loss:5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
