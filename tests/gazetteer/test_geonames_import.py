"""``geomap gazetteer import``: small files written here in the exact GeoNames formats
(readme.txt of the GeoNames dump: 19 columns of the geoname table; alternateNamesV2's 10
columns; admin1CodesASCII's 4; countryInfo's 19 with ``#`` comments)."""

import json
import sqlite3
import zipfile

import pytest
from click.testing import CliRunner

from gazetteer import Gazetteer
from gazetteer.build import IMPORTED_KEY, needs_rebuild
from gazetteer.geonames_import import GazetteerImportError, classify_files, import_geonames
from tests.conftest import haversine_km


def geoname_row(gid, name, ascii_name, alternates, lat, lon, fclass, fcode, cc, admin1, population):
    """One line of the geoname table, all 19 columns."""
    cols = [str(gid), name, ascii_name, alternates, str(lat), str(lon), fclass, fcode, cc, "", admin1,
            "", "", "", str(population), "", "1000", "Asia/Baku", "2024-01-01"]
    assert len(cols) == 19
    return "\t".join(cols)


# Coordinates, codes and populations as GeoNames records them (geonameid in the first column).
# Mount Aragats: Wikipedia coordinates; its id here only has to agree between the files.
GEONAMES = [
    geoname_row(587084, "Baku", "Baku", "BAK,Bakou,Baku,Bakı,Баку", 40.37767, 49.89201, "P", "PPLC", "AZ", "09", 2300500),
    geoname_row(616052, "Yerevan", "Yerevan", "EVN,Erevan,Erivan,Ереван", 40.18111, 44.51361, "P", "PPLC", "AM", "11", 1093485),
    geoname_row(616599, "Gyumri", "Gyumri", "Leninakan,Gyumri", 40.7942, 43.84528, "P", "PPLA", "AM", "06", 121976),
    geoname_row(147105, "Shusha", "Shusha", "Shushi,Şuşa", 39.76006, 46.74989, "P", "PPLA", "AZ", "55", 4064),
    geoname_row(147163, "Shusha Rayon", "Shusha Rayon", "", 39.75, 46.66667, "A", "ADM1", "AZ", "55", 29500),
    geoname_row(147435, "Naxçıvan", "Naxcivan", "", 39.33333, 45.5, "A", "ADM1", "AZ", "35", 414900),
    geoname_row(587116, "Republic of Azerbaijan", "Republic of Azerbaijan", "", 40.5, 47.5, "A", "PCLI", "AZ", "00", 9942334),
    geoname_row(174982, "Republic of Armenia", "Republic of Armenia", "", 40.25, 45.0, "A", "PCLI", "AM", "00", 2968243),
    geoname_row(9000001, "Aragats", "Aragats", "Mount Aragats,Aragats Lerr", 40.5317, 44.2036, "T", "MT", "AM", "03", 0),
]

ALTERNATE_NAMES = [  # alternateNameId, geonameid, isolanguage, name, preferred, short, colloquial, historic, from, to
    "1\t587084\taz\tBakı\t1\t\t\t\t\t",
    "2\t587084\tru\tБаку\t\t\t\t\t\t",
    "3\t587084\tiata\tGYD\t\t\t\t\t\t",
    "4\t587084\tfr\tBakou\t\t\t\t\t\t",
    "5\t616052\ten\tErivan\t\t\t\t1\t\t1936",
    "6\t587116\tet\tAserbaidžaan\t\t\t\t\t\t",
    "7\t587116\tabbr\tAZE\t\t\t\t\t\t",
    "8\t616599\ten\tAlexandropol\t\t\t\t1\t1837\t1924",
    "9\t147105\tlink\thttps://en.wikipedia.org/wiki/Shusha\t\t\t\t\t\t",
]

ADMIN1 = ["AZ.35\tNakhichevan\tNakhichevan\t147435", "AZ.55\tShusha\tShusha\t147163"]

COUNTRY_INFO = [
    "# GeoNames country info",
    "#ISO\tISO3\tISO-Numeric\tfips\tCountry\tCapital\tArea(in sq km)\tPopulation\tContinent\ttld\tCurrencyCode\t"
    "CurrencyName\tPhone\tPostal Code Format\tPostal Code Regex\tLanguages\tgeonameid\tneighbours\tEquivalentFipsCode",
    "AM\tARM\t051\tAM\tArmenia\tYerevan\t29800\t2968243\tAS\t.am\tAMD\tDram\t374\t######\t^(\\d{6})$\thy\t174982\tGE,IR,AZ,TR\t",
    "AZ\tAZE\t031\tAJ\tAzerbaijan\tBaku\t86600\t9942334\tAS\t.az\tAZN\tManat\t994\tAZ ####\t^(?:AZ )?(\\d{4})$\taz,ru,hy\t587116\tGE,IR,AM,TR,RU\t",
]


def _zip(path, member, lines):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, "\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def dump_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("geonames")
    all_countries = _zip(folder / "allCountries.zip", "allCountries.txt", GEONAMES)
    alternate = _zip(folder / "alternateNamesV2.zip", "alternateNamesV2.txt", ALTERNATE_NAMES)
    admin1 = folder / "admin1CodesASCII.txt"
    admin1.write_text("\n".join(ADMIN1) + "\n", encoding="utf-8")
    info = folder / "countryInfo.txt"
    info.write_text("\n".join(COUNTRY_INFO) + "\n", encoding="utf-8")
    return [all_countries, alternate, admin1, info]


@pytest.fixture(scope="module")
def imported(tmp_path_factory, dump_files):
    path = tmp_path_factory.mktemp("imported") / "gazetteer.sqlite"
    counts = import_geonames(path, dump_files, progress=False)
    return path, counts


def test_import_counts_and_marks_the_file(imported):
    path, counts = imported
    assert counts["geonames_rows"] == 7            # the two country rows update Natural Earth countries
    assert counts["rejected_rows"] == 0
    gaz = Gazetteer(path)
    assert gaz.meta[IMPORTED_KEY].startswith("allCountries.zip")
    assert needs_rebuild(path) is None
    assert gaz.stats()["places_by_source"]["geonames"] >= 7


def test_import_place_only_in_the_dump_resolves(imported):
    from geomap.resolve import Resolver
    best = Resolver(Gazetteer(imported[0])).rank("Aragats")[0].candidate.place
    assert (best.feature_class, best.feature_code, best.country_code) == ("T", "MT", "AM")
    assert haversine_km(best.lat, best.lon, 40.5317, 44.2036) < 1


def test_import_feature_codes_admin1_and_population_come_through(imported):
    from geomap.resolve import Resolver
    resolver = Resolver(Gazetteer(imported[0]))
    gyumri = resolver.rank("Gyumri")[0].candidate.place
    assert (gyumri.feature_code, gyumri.admin1, gyumri.population, gyumri.geonameid) == ("PPLA", "06", 121976, 616599)
    # "Nakhichevan" is a name from admin1CodesASCII only (the curated region has it too).
    nakhchivan = [c.place for c in resolver.gazetteer.lookup("Nakhichevan") if c.place.source == "geonames"]
    assert [(p.feature_class, p.feature_code, p.geonameid) for p in nakhchivan] == [("A", "ADM1", 147435)]
    baku = resolver.rank("Baku")[0].candidate.place
    assert (baku.feature_code, baku.source, baku.geonameid) == ("PPLC", "geonames", 587084)


def test_import_alternate_names_keep_latin_english_and_kinds(imported):
    gaz = Gazetteer(imported[0])
    assert {c.place.key for c in gaz.lookup("Bakou")} == {"geonames:587084"}
    assert gaz.lookup("Баку") == []                      # Cyrillic left out
    assert gaz.lookup("GYD") == []                       # IATA code left out
    kinds = {c.place.key: c.name_kind for c in gaz.lookup("Alexandropol")}
    assert kinds == {"geonames:616599": "historic"}
    # Names of the country's GeoNames record attach to the Natural Earth country.
    assert {c.place.key: c.name_kind for c in gaz.lookup("Aserbaidzaan")} == {"ne:AZ": "alternate"}
    assert {c.place.key: c.name_kind for c in gaz.lookup("AZE")}.get("ne:AZ") == "abbreviation"


def test_import_replaces_packaged_cities_but_keeps_countries_and_curated(imported):
    gaz = Gazetteer(imported[0])
    assert not [c for c in gaz.lookup("Brussels") if c.place.source == "geonames"]   # not in this dump
    armenia = gaz.country("AM")
    assert (armenia.lat, armenia.lon) == (40.25, 45.0)                                # the dump's point
    assert [c.place.source for c in gaz.lookup("Nagorno-Karabakh")] == ["curated"]
    assert gaz.country_outlines()["features"]


def test_import_subdivision_name_shared_with_its_town_goes_to_the_town(imported):
    from geomap.resolve import Resolver
    best = Resolver(Gazetteer(imported[0])).rank("Shusha")[0].candidate.place
    assert (best.feature_class, best.geonameid) == ("P", 147105)


def test_import_rejects_unknown_and_malformed_files(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with pytest.raises(GazetteerImportError, match="none of the GeoNames files"):
        classify_files([other])
    with pytest.raises(GazetteerImportError, match="no geoname table"):
        classify_files([])
    bad = _zip(tmp_path / "cities500.zip", "cities500.txt", ["just\tthree\tcolumns"])
    target = tmp_path / "g.sqlite"
    with pytest.raises(GazetteerImportError, match="19 tab-separated"):
        import_geonames(target, [bad], progress=False)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_import_cli_then_lookup_json(tmp_path, dump_files):
    from geomap.cli import main
    target = tmp_path / "cli.sqlite"
    runner = CliRunner()
    result = runner.invoke(main, ["gazetteer", "import", *map(str, dump_files), "--gazetteer", str(target)])
    assert result.exit_code == 0, result.output
    assert "7 GeoNames places imported" in result.output
    result = runner.invoke(main, ["gazetteer", "lookup", "Gyumri", "--format", "json", "--gazetteer", str(target)])
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout)[0]
    assert {k: best[k] for k in ("name", "country_code", "feature_class", "feature_code", "geonameid",
                                 "population", "source", "name_kind")} == {
        "name": "Gyumri", "country_code": "AM", "feature_class": "P", "feature_code": "PPLA",
        "geonameid": 616599, "population": 121976, "source": "geonames", "name_kind": "official"}
    assert "score" in best
    result = runner.invoke(main, ["gazetteer", "build", "--gazetteer", str(target)])
    assert result.exit_code == 0 and "GeoNames import" in result.output
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = ?", (IMPORTED_KEY,)).fetchone()


def test_import_cli_bad_file_is_a_one_line_error(tmp_path):
    from geomap.cli import main
    bad = tmp_path / "cities15000.txt"
    bad.write_bytes(b"\xff\xfe not utf-8\n")
    result = CliRunner().invoke(main, ["gazetteer", "import", str(bad), "--gazetteer", str(tmp_path / "g.sqlite")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: ") and "Traceback" not in result.output


def test_import_writes_the_lookup_table_of_its_names(imported):
    """The import's lookup table agrees with a plain join of its names and places, name by name."""
    from tests.gazetteer.test_lookup_equivalence import as_rows, reference_lookup
    gaz = Gazetteer(imported[0])
    with sqlite3.connect(imported[0]) as conn:
        names = [row[0] for row in conn.execute("SELECT DISTINCT name_norm FROM names")]
        assert {"bakou", "alexandropol", "aragats", "nakhichevan"} <= set(names)
        for name in names:
            assert as_rows(gaz.lookup(name)) == reference_lookup(conn, name), name
