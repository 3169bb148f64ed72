"""Evaluation metrics (against hand-computed values and the reference scorer) and `geomap eval`."""

import importlib.util
import json
import math

import pytest
from click.testing import CliRunner

from geomap.cli import main
from geomap.evaluate import MAX_ERROR_KM, haversine_km, load_gold, score
from geomap.exc import InputError
from tests.conftest import SHARED

BAKU = (40.3777, 49.8920)
YEREVAN = (40.1811, 44.5136)        # about 458 km from Baku


def topo(start, end, latlon=None):
    lat, lon = latlon if latlon else (None, None)
    return {"start": start, "end": end, "lat": lat, "lon": lon}


GOLD = [{"id": "a", "text": "Talks in Baku and Yerevan went on.",
         "toponyms": [topo(9, 13, BAKU), topo(18, 25, YEREVAN)]},
        {"id": "b", "text": "Nothing here, but Baku again.", "toponyms": [topo(18, 22, BAKU)]}]
SYSTEM = [{"id": "a", "toponyms": [topo(9, 13, BAKU), topo(18, 25, BAKU), topo(0, 5, BAKU)]},
          {"id": "b", "toponyms": [topo(17, 22, BAKU)]}]           # one character too early


def test_score_recognition_exact_and_overlap():
    result = score(GOLD, SYSTEM)
    exact, overlap = result["recognition"]["exact"], result["recognition"]["overlap"]
    assert (exact["tp"], exact["n_system"], exact["n_gold"]) == (2, 4, 3)
    assert overlap["tp"] == 3
    assert overlap["precision"] == pytest.approx(3 / 4) and overlap["recall"] == pytest.approx(1.0)


def test_score_resolution_accuracy_and_errors():
    found = score(GOLD, SYSTEM)["resolution"]["overlap"]["found"]
    baku_yerevan = haversine_km(*BAKU, *YEREVAN)
    assert 440 < baku_yerevan < 480
    assert found["n"] == 3 and found["acc161"] == pytest.approx(2 / 3)
    assert found["mean_km"] == pytest.approx(baku_yerevan / 3)
    assert found["median_km"] == pytest.approx(0.0)
    # AUC of sorted log errors [0, 0, ln(1 + e)], trapezoid at unit spacing over 2 intervals.
    expected_auc = (0 + math.log1p(baku_yerevan) / 2) / (math.log(MAX_ERROR_KM) * 2)
    assert found["auc"] == pytest.approx(expected_auc)


def test_score_missed_toponyms_count_as_maximal_errors_in_all_view():
    result = score(GOLD, [{"id": "a", "toponyms": [topo(9, 13, BAKU)]}])
    all_view = result["resolution"]["exact"]["all"]
    assert all_view["n"] == 3 and all_view["acc161"] == pytest.approx(1 / 3)
    assert all_view["mean_km"] == pytest.approx(2 * MAX_ERROR_KM / 3)


def _reference_scorer():
    path = SHARED / "eval" / "score.py"
    if not path.exists():
        pytest.skip("the reference scorer ../shared/eval/score.py is not present")
    spec = importlib.util.spec_from_file_location("reference_score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_score_agrees_with_reference_scorer():
    reference = _reference_scorer().score(GOLD, SYSTEM)
    ours = score(GOLD, SYSTEM)
    for mode in ("exact", "overlap"):
        for key in ("tp", "precision", "recall", "f1"):
            assert ours["recognition"][mode][key] == pytest.approx(reference["recognition"][mode][key])
        for view in ("found", "all"):
            for key in ("n", "acc161", "mean_km", "median_km", "auc"):
                assert ours["resolution"][mode][view][key] == pytest.approx(reference["resolution"][mode][view][key])


@pytest.mark.model
def test_cli_eval_on_a_gold_file(tmp_path, full_gazetteer_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(d) for d in GOLD) + "\n", encoding="utf-8")
    system_out = tmp_path / "system.jsonl"
    result = CliRunner().invoke(main, ["eval", str(gold), "--format", "json", "--system-output", str(system_out),
                                       "--gazetteer", str(full_gazetteer_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["recognition"]["exact"]["recall"] == pytest.approx(1.0)
    assert report["resolution"]["exact"]["found"]["acc161"] == pytest.approx(1.0)
    system = [json.loads(line) for line in system_out.read_text(encoding="utf-8").splitlines()]
    assert score(GOLD, system)["recognition"] == report["recognition"]


def test_cli_eval_rejects_unknown_roles(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps(GOLD[0]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(gold), "--roles", "literal,bogus"])
    assert result.exit_code == 2 and "bogus" in result.output


@pytest.mark.model
@pytest.mark.parametrize("corpus", ["gwn_dev", "geovirus"])
def test_eval_dev_corpora_do_not_regress(geoparser, corpus):
    """Floors a little under the figures measured on the shared dev corpora (skipped when absent)."""
    from geomap.evaluate import evaluate, load_gold
    path = SHARED / "eval" / f"{corpus}.jsonl"
    if not path.exists():
        pytest.skip(f"{path.name} is not present beside the project")
    roles = ["literal", "metonymic"] if corpus == "geovirus" else None   # GeoVirus annotates no demonyms
    report = evaluate(load_gold(path), geoparser.parse, roles=roles)
    f1 = report["recognition"]["overlap"]["f1"]
    acc = report["resolution"]["overlap"]["found"]["acc161"]
    country = report["country"]["right_country"]
    print(f"{corpus}: F1 {f1:.3f} acc@161 {acc:.3f} right country {country:.3f}")
    assert f1 >= (0.78 if corpus == "gwn_dev" else 0.88)
    assert acc >= (0.85 if corpus == "gwn_dev" else 0.78)
    assert country >= 0.95


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not UTF-8"),
    (b"", "no gold documents"),
    (b'{"id": "a", "text": "In Baku."}\n', "'toponyms' list"),
    (b'{"id": "a", "text": "In Baku.", "toponyms": [{"start": 3, "end": 7, "lat": "n", "lon": 1}]}\n', "numeric or null"),
    (b'{"id": "a", "text": "In Baku.", "toponyms": [{"start": 3, "end": 70, "lat": 1, "lon": 1}]}\n', "within the text"),
])
def test_a_bad_gold_file_is_a_clear_error_not_a_traceback(tmp_path, tiny_gazetteer_path, content, message):
    gold = tmp_path / "gold.jsonl"
    gold.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_gold(gold)
    result = CliRunner().invoke(main, ["eval", str(gold), "--gazetteer", str(tiny_gazetteer_path)])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
