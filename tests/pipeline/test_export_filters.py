import numpy as np

from flows.cache import StageCache, make_key
from pipeline.export import assign_splits, llava_conversations, mmskin_views
from pipeline.filters import filter_items, mark_duplicates
from pipeline.filters.duplicates import perceptual_hash
from pipeline.extract.images import numpy_to_png
from pipeline.vqa import generate_vqa
from schemas import Item, Record, Settings, StageReport
from schemas.settings import ExportSettings, FilterSettings


def rec(i, figure="f1", **kw):
    base = dict(id=f"r{i}", source_pdf="b.pdf", book_id="x" * 64, page=1, bbox=(0, 0, 10, 10), image=f"images/r{i}.png",
                figure_id=figure, caption="Fig. 1 Psoriasis on the elbow of a 40-year-old man.", modality="clinical",
                width=300, height=300)
    base.update(kw)
    return Record(**base)


def test_split_is_deterministic_and_by_figure():
    records = [rec(i, figure=f"f{i // 3}") for i in range(300)]
    a = assign_splits(records, ExportSettings())
    b = assign_splits(records, ExportSettings())
    assert [r.split for r in a] == [r.split for r in b]
    by_fig = {}
    for r in a:
        by_fig.setdefault(r.figure_id, set()).add(r.split)
    assert all(len(v) == 1 for v in by_fig.values())
    share = sum(r.split == "test" for r in a) / len(a)
    assert 0.1 < share < 0.3


def test_views_and_llava_only_hold_kept_records():
    good, bad = rec(1), rec(2, figure="f2")
    bad.reject("blank")
    records, _ = generate_vqa(assign_splits([good, bad], ExportSettings(test_fraction=0.0)))
    views = mmskin_views(records)
    assert [c["id"] for c in views["mmskin_c.json"]] == ["r1"]
    assert all(o["image"] == "images/r1.png" for o in views["mmskin_o.json"])
    conv = llava_conversations(records, "train")
    assert conv and {c["image"] for c in conv} == {"images/r1.png"}
    assert not records[1].vqa


def test_template_vqa_answers_come_from_the_caption():
    r = rec(1, age=40.0, gender="male")
    (out,), report = generate_vqa([r])
    qa = {p.question: p.answer for p in out.vqa}
    assert qa["What does this image show?"] == "Psoriasis on the elbow of a 40-year-old man."
    assert qa["Where on the body is the finding located?"] == "On the elbow."
    assert qa["How old is the patient?"] == "40 years old."
    assert qa["What is the gender of the patient?"] == "A man."
    assert qa["What is the most likely diagnosis?"] == "Psoriasis."
    assert "Fig" not in " ".join(qa.values())
    assert report.kept == 1


def test_duplicates_keep_the_largest_copy():
    rng = np.random.default_rng(0)
    img = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    h = perceptual_hash(img)
    small = rec(1, book_id="a" * 64, width=100, height=100, phash=h)
    large = rec(2, book_id="b" * 64, width=400, height=400, phash=h)
    other = rec(3, phash=perceptual_hash(255 - img))
    out, report = mark_duplicates([small, large, other], max_distance=6)
    assert [r.kept for r in out] == [False, True, True]
    assert out[0].duplicate_of == "r2" and out[0].reject_reasons == ["duplicate"]
    assert report.reasons == {"duplicate": 1}


def test_filters_reject_small_and_blank_with_reasons():
    rng = np.random.default_rng(1)
    textured = (rng.random((300, 300, 3)) * 255).astype(np.uint8)
    items = [
        Item(record=rec(1), png=numpy_to_png(np.full((300, 300, 3), 200, np.uint8))),
        Item(record=rec(2), png=numpy_to_png(textured[:60, :60])),
        Item(record=rec(3, caption="Fig. 2 Lesion on the vulva."), png=numpy_to_png(textured)),
    ]
    out, report = filter_items(items, FilterSettings(ocr_overlay=False))
    reasons = [set(it.record.reject_reasons) for it in out]
    assert "blank" in reasons[0]
    assert "low_resolution" in reasons[1]
    assert "sensitive_site" in reasons[2]
    assert all(it.record.phash for it in out)
    assert report.dropped == 3 and report.reasons["blank"] == 1


def test_cache_keys_and_roundtrip(tmp_path):
    s = Settings()
    k1 = make_key("filter", "1", s.filter.model_dump(), "up")
    assert k1 == make_key("filter", "1", s.filter.model_dump(), "up")
    assert k1 != make_key("filter", "2", s.filter.model_dump(), "up")
    assert k1 != make_key("filter", "1", s.filter.model_dump(), "other")
    s.filter.min_side_px = 1
    assert k1 != make_key("filter", "1", s.filter.model_dump(), "up")
    cache = StageCache(tmp_path)
    value = ([rec(1)], StageReport(stage="x", seen=1))
    cache.put("filter", k1, value, tuple[list[Record], StageReport])
    got = cache.get("filter", k1, tuple[list[Record], StageReport])
    assert got[0][0] == value[0][0] and got[1] == value[1]
    assert cache.get("filter", "missing", tuple[list[Record], StageReport]) is None
    cache.path("filter", k1).write_text("{broken")
    assert cache.get("filter", k1, tuple[list[Record], StageReport]) is None
