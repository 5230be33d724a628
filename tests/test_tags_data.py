"""The tag data files (flows/tags/data/*.toml): what ships, and validation errors that name the file
and the entry. Each case copies the shipped files to a temp folder and breaks one thing."""
import shutil

import pytest

from flows.tags import DATA_DIR, Tagger, TaxonomyError, load_taxonomy


@pytest.fixture()
def data(tmp_path):
    for f in DATA_DIR.glob("*.toml"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def edit(folder, name, old, new, count=1):
    p = folder / name
    s = p.read_text(encoding="utf-8")
    assert old in s, f"{old!r} not in {name}"
    p.write_text(s.replace(old, new, count), encoding="utf-8")


def test_shipped_data():
    tx = load_taxonomy()
    provinces = [p for p in tx.places if p.level == "province"]
    cities = [p for p in tx.places if p.level == "city"]
    assert len(provinces) == 34 and len(cities) == 333          # all provincial / prefecture-level divisions
    assert {t.id for t in tx.topics} >= {"climate", "carbon", "biodiversity", "pollution", "green_finance",
                                         "green_industry", "eco_civilisation", "intl_cooperation"}
    ids = {p.id for p in tx.partners}
    assert {"ASEAN", "SCO", "EU", "BRI", "UNDP", "UNEP", "WHO", "Pacific Islands", "Vietnam", "Fiji"} <= ids
    asean = {p.id for p in tx.partners if "ASEAN" in p.member_of}
    assert len(asean) == 11
    from crawlers.registry import load_registry
    for s in load_registry().sources:
        if s.province:
            assert s.province in {p.tag for p in provinces}, f"{s.name}: province {s.province!r} not in the gazetteer"
    assert tx.version.startswith("t") and set(tx.files) == {"taxonomy.toml", "gazetteer.toml", "partners.toml"}


@pytest.mark.parametrize("name, old, new, entry, message", [
    ("taxonomy.toml", 'label = "Green finance"', 'label = "Green finance"\ncolour = "green"',
     "[topics.green_finance]", "unknown key 'colour'"),
    ("taxonomy.toml", '"碳市场" = 2', '"碳市场" = 9', "[topics.carbon] term '碳市场'", "number from 0 to 5"),
    ("taxonomy.toml", '"碳市场" = 2', '"碳市場" = 2', "[topics.carbon] term '碳市場'", "traditional script"),
    ("taxonomy.toml", '"碳市场" = 2', '"碳市场" = 2\n"碳市场" = 1', "syntax", "line"),
    ("taxonomy.toml", '[topics.carbon.context]\n"CCER" = 2', '[topics.carbon.context]\n"CCER" = 2\n"碳市场" = 1',
     "[topics.carbon] context term '碳市场'", "already one of the topic's terms"),
    ("taxonomy.toml", "[topics.pollution]", "[topics.Pollution]", "[topics.Pollution]", "lower-case"),
    ("gazetteer.toml", '"柳州市", ', '"柳州市", "柳州市", ', "[[provinces]] 广西壮族自治区 city 柳州市",
     "is listed twice"),
    ("gazetteer.toml", '"贵阳市", ', '"贵阳市", "柳州地区", ', "[[provinces]] 贵州省 city 柳州地区",
     "'柳州' is already used by [[provinces]] 广西壮族自治区 city 柳州市"),
    ("gazetteer.toml", '"来宾", "白银"', '"来滨", "白银"', "[aliases] full_only", "'来滨' is not the short form"),
    ("gazetteer.toml", '{ name = "恩施土家族苗族自治州", short = ["恩施", "恩施州"] }', '"恩施土家族苗族自治州"',
     "[[provinces]] 湖北省 cities[12]", "does not end in 市"),
    ("partners.toml", 'member_of = ["ASEAN"]', 'member_of = ["ASEN"]', "[[partners]] Brunei member_of",
     "'ASEN' is not a partner id"),
    ("partners.toml", 'type = "bloc"', 'type = "club"', "[[partners]] ASEAN type", "'club' is not one of"),
    ("partners.toml", 'aliases = ["印尼"]', 'aliases = ["印尼", "广西"]', "[[partners]] Indonesia",
     "'广西' is already used by gazetteer.toml [[provinces]] 广西壮族自治区"),
])
def test_validation_names_file_and_entry(data, name, old, new, entry, message):
    edit(data, name, old, new)
    with pytest.raises(TaxonomyError) as err:
        load_taxonomy(data)
    text = str(err.value)
    assert text.startswith(str(data / name)), text
    assert err.value.entry == entry or entry in text, text
    assert message in text, text


def test_missing_file(data):
    (data / "partners.toml").unlink()
    with pytest.raises(TaxonomyError, match="partners.toml: file: cannot read"):
        load_taxonomy(data)


def test_a_topic_added_as_data_is_tagged_and_is_a_new_version(data):
    before = load_taxonomy(data)
    with open(data / "taxonomy.toml", "a", encoding="utf-8") as f:
        f.write('\n[topics.ocean]\nlabel = "Oceans and coasts"\nlabel_zh = "海洋"\n'
                '[topics.ocean.terms]\n"海洋生态" = 2\n"近岸海域" = 2\n')
    after = load_taxonomy(data)
    assert after.version != before.version and "ocean" in {t.id for t in after.topics}
    tg = Tagger(after, keywords=False)
    text = "北部湾近岸海域生态环境联合监测项目取得阶段性成果。"
    from flows.tags import Doc
    tags = tg.tag(Doc(id="a", source="", title="", text=text, title_simplified="", text_simplified=text))
    assert "ocean" in {t.tag for t in tags if t.kind == "topic"}
