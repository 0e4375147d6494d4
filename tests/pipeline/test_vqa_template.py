"""The offline template generator: questions from caption facts, answers cut from the caption, guard-checked."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.vqa import run_vqa
from pipeline.vqa.guard import filter_pairs, unsupported_words
from pipeline.vqa.source import caption_text, source_text
from pipeline.vqa.template import template_pairs
from schemas import Record
from schemas.settings import VQASettings


def rec(caption: str, **kw) -> Record:
    base = dict(id="r1", source_pdf="b.pdf", book_id="b", page=1, bbox=(0, 0, 10, 10), image="images/r1.png",
                figure_label=caption.split(" ")[0] + " " + caption.split(" ")[1], caption=caption, modality="clinical")
    base.update(kw)
    return Record(**base)


def answers(r: Record) -> dict[str, str]:
    return {p.question: p.answer for p in template_pairs(r)}


def test_clinical_caption_gives_diagnosis_site_features_colour_demographics():
    r = rec("Fig. 3.1 Tinea corporis on the trunk of a 12-year-old boy: an annular, scaly plaque with an active raised "
            "edge and central clearing, present for 6 weeks.", age=12.0, gender="male",
            demographics_evidence=["12-year-old", "boy"])
    a = answers(r)
    assert a["What is the most likely diagnosis?"] == "Tinea corporis."
    assert a["Where on the body is the finding located?"] == "On the trunk."
    # the visible clause, without the history ("present for 6 weeks")
    assert a["What are the visible features of the lesion?"] == ("An annular, scaly plaque with an active raised edge "
                                                                "and central clearing.")
    assert a["How old is the patient?"] == "12 years old."
    assert a["What is the gender of the patient?"] == "A boy."
    # the modality label comes from the image classifier: asked about only when the caption names it
    assert "What type of image is this?" not in a
    assert "What colours are seen in the lesion?" not in a  # the caption names no colour


def test_dermoscopy_and_colour_phrases():
    r = rec("Figure 2-4 Dermoscopy of a pigmented basal cell carcinoma on the shoulder of a 54-year-old female "
            "patient: arborising vessels, blue-grey ovoid nests and leaf-like areas.", modality="dermoscopy",
            age=54.0, gender="female", demographics_evidence=["54-year-old"])
    a = answers(r)
    assert a["What is the most likely diagnosis?"] == "Pigmented basal cell carcinoma."
    assert a["Which dermoscopic structures are visible?"] == "Arborising vessels, blue-grey ovoid nests and leaf-like areas."
    assert a["What colours are seen in the lesion?"] == "Pigmented and blue-grey ovoid nests."
    assert a["What is the gender of the patient?"] == "Female."
    assert a["Where on the body is the finding located?"] == "On the shoulder."
    assert a["What type of image is this?"] == "Dermoscopy."


def test_pathology_gets_features_and_stain_not_colour():
    r = rec("Fig. 1.5 Psoriasis (H&E, ×100). Regular elongation of the rete ridges, dilated papillary capillaries "
            "and a confluent hyperkeratosis with parakeratosis; the suprapapillary plate is thinned.",
            modality="pathology")
    a = answers(r)
    assert a["What is the most likely diagnosis?"] == "Psoriasis."
    assert a["What histological features are seen?"].startswith("Regular elongation of the rete ridges")
    assert a["What stain and magnification are used?"] == "H&E, ×100."
    assert "What colours are seen in the lesion?" not in a


def test_site_phrase_is_the_nearest_preposition_and_ends_at_the_patient():
    r = rec("Fig. 1.10 Neonatal herpes simplex virus infection in a 3-week-old neonate (male): clusters of clear "
            "vesicles on an erythematous base over the left temple and scalp, with early crusting.")
    assert answers(r)["Where on the body is the finding located?"] == "Over the left temple and scalp."
    r = rec("Fig. 1.11 Lichen simplex chronicus on the nape of the neck of a man in his 50s: a lichenified plaque.")
    assert answers(r)["Where on the body is the finding located?"] == "On the nape of the neck."


def test_no_diagnosis_from_a_generic_head():
    r = rec("Fig. 3.4 Dermoscopy of a pigmented lesion at the wrist of a man in his 20s, partly obscured by hairs.",
            modality="dermoscopy")
    assert "What is the most likely diagnosis?" not in answers(r)


def test_panel_uses_shared_caption_and_its_own_subcaption():
    cap = ("Fig. 1.8 Superficial spreading melanoma on the right calf of a woman in her 70s. (a) Clinical view of an "
           "asymmetric, irregularly pigmented macule with notched borders. (b) Dermoscopy of the same lesion "
           "showing an atypical network, irregular globules and regression structures.")
    a = answers(rec(cap, panel="a", subcaption="Clinical view of an asymmetric, irregularly pigmented macule with "
                                               "notched borders"))
    b = answers(rec(cap, panel="b", modality="dermoscopy",
                    subcaption="Dermoscopy of the same lesion showing an atypical network, irregular globules and "
                               "regression structures"))
    assert a["What is the most likely diagnosis?"] == b["What is the most likely diagnosis?"] == \
        "Superficial spreading melanoma."
    assert a["What are the visible features of the lesion?"] == "Asymmetric, irregularly pigmented macule with notched borders."
    assert b["Which dermoscopic structures are visible?"] == "An atypical network, irregular globules and regression structures."
    assert not any("network" in v for v in a.values())


def test_every_template_answer_uses_caption_words_only():
    captions = [
        ("Fig. 1.4 Nummular eczema on the anterior shins of an 8-month-old boy: multiple coin-shaped, oozing and "
         "crusted erythematous plaques, the largest 25 mm across.", dict(age=0.67, gender="male",
                                                                      demographics_evidence=["8-month-old", "boy"])),
        ("Fig. 1.7 Café-au-lait macule on the flank of a girl, 7 years: a uniformly light-brown, sharply marginated "
         "patch with smooth borders.", dict(age=7.0, gender="female", demographics_evidence=["girl, 7 years", "girl"])),
        ("Plate 8 Bullous pemphigoid, skin biopsy from the thigh of a 67-year-old woman (H&E, x100): a subepidermal "
         "blister containing eosinophils.", dict(modality="pathology", age=67.0, gender="female",
                                                demographics_evidence=["67-year-old", "woman"])),
    ]
    for cap, kw in captions:
        r = rec(cap, **kw)
        pairs = template_pairs(r)
        kept, rejected = filter_pairs(pairs, source_text(r), 1.0, r.figure_label)
        assert len(kept) >= 5 and not rejected, rejected
        for p in kept:
            assert unsupported_words(p.answer, caption_text(r)) == [], p


def test_deterministic_and_records_without_facts_say_why():
    r = rec("Fig. 2.1 Tinea corporis on the trunk: an annular plaque.")
    assert template_pairs(r) == template_pairs(r)
    empty = rec("Fig. 9.9", id="r2", modality="other")
    rejected = rec("Fig. 9.8 Tinea corporis.", id="r3")
    rejected.reject("blank")
    out, report = run_vqa([r, empty, rejected], VQASettings()).records, run_vqa([r, empty, rejected]).report
    assert out[0].vqa and out[0].vqa_error is None
    assert not out[1].vqa and out[1].vqa_error == "no_vqa_facts"
    assert not out[2].vqa and out[2].vqa_error is None  # rejected records get no VQA and need no reason
    assert report.seen == 3 and report.kept == 1 and report.reasons["no_vqa_facts"] == 1


def test_max_pairs_caps_the_kept_pairs():
    r = rec("Fig. 3.1 Tinea corporis on the trunk of a 12-year-old boy: an annular, scaly plaque.", age=12.0,
            gender="male")
    out = run_vqa([r], VQASettings(max_pairs=2)).records[0]
    assert len(out.vqa) == 2


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400), st.sampled_from(["clinical", "dermoscopy", "pathology", "other"]),
       st.one_of(st.none(), st.text(max_size=80)))
def test_any_caption_gives_pairs_or_a_reason_never_an_exception(caption, modality, subcaption):
    r = Record(id="x", source_pdf="b.pdf", book_id="b", page=1, bbox=(0, 0, 1, 1), image="images/x.png",
               caption=caption, subcaption=subcaption, modality=modality)
    out = run_vqa([r]).records[0]
    assert out.vqa or out.vqa_error
    for p in out.vqa:  # what passed the guard is grounded
        assert not unsupported_words(p.answer, source_text(r))
