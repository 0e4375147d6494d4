"""The rule-based demographics miner: one test per rule, a property test, and the real dev set.

The dev-set test reads ../shared/data/captions/demographics_dev.jsonl (150 real texts with labelled age,
age group and gender) and asserts the targets: age exact (|error| < 0.5 y) >= 0.95 of labelled ages,
gender accuracy >= 0.97, ages invented on texts with no labelled age <= 2%.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.demographics import age_group_for, mine_demographics, mine_demographics_per_panel
from schemas.records import Demographics
from schemas.settings import DemographicsSettings

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MMSKIN_SHARED", REPO / ".." / "shared"))
DEV = SHARED / "data" / "captions" / "demographics_dev.jsonl"


def age(text: str, **kw) -> float | None:
    return mine_demographics(text, DemographicsSettings(**kw) if kw else None).age


def gender(text: str) -> str | None:
    return mine_demographics(text).gender


def group(text: str, **kw) -> str | None:
    return mine_demographics(text, DemographicsSettings(**kw) if kw else None).age_group


def close(a: float | None, b: float, tol: float = 0.01) -> bool:
    return a is not None and abs(a - b) < tol


# --------------------------------------------------------------------------------------------- age groups


def test_age_group_boundaries():
    assert age_group_for(0) == "infant"
    assert age_group_for(1.99) == "infant"
    assert age_group_for(2) == "child"
    assert age_group_for(11.9) == "child"
    assert age_group_for(12) == "adolescent"
    assert age_group_for(17.9) == "adolescent"
    assert age_group_for(18) == "adult"
    assert age_group_for(64.9) == "adult"
    assert age_group_for(65) == "older_adult"
    assert age_group_for(120) == "older_adult"


# --------------------------------------------------------------------------------------------- ages


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A 45-year-old man with psoriasis.", 45),
        ("45 year old woman with chronic eczema of the hands", 45),
        ("Psoriatic plaques in a 45 yo male", 45),
        ("Lesion on the shin of a 45 y/o woman", 45),
        ("Bullous pemphigoid in a woman aged 62.", 62),
        ("Patient age 62, vitiligo of the hands.", 62),
        ("Age: 34    Occupation: teacher", 34),
        ("A woman 62 years of age with tinea corporis.", 62),
        ("Lichen planus in a man, 62 years.", 62),
        ("Male, 15 years old, acne on the face.", 15),
        ("Female, 27 years old, skin lesions as shown in the picture.", 27),
        ("Female 48 years old: (a) preoperative view and (b) postoperative view (3 years)", 48),
        ("The patient is 27 years old, has been ill for 8 years, and has a family history.", 27),
        ("Today's outpatient, has had it since birth, now 11 years old.", 11),
        ("My father is 58 years old today, and his illness has lasted for 2 months.", 58),
        ("Palpebral lesion in a 2.5-year-old girl at the first visit", 2.5),
        ("(16 years, female). Left shoulder, lateral position.", 16),
        ("A 47 years male. It is just like that on the neck after drinking alcohol.", 47),
        ("William Osler, age 28, 1877.", 28),
    ],
)
def test_age_in_years(text, expected):
    assert close(age(text), expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("45M with plaques on the elbows", 45),
        ("F, 33, chronic urticaria", 33),
        ("33/F, recurrent aphthae", 33),
        ("Case 3 (62M): nodular melanoma", 62),
    ],
)
def test_age_and_gender_abbreviations(text, expected):
    assert close(age(text), expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A sixty-two-year-old woman with melanoma.", 62),
        ("Twenty-six year old patient during the first session.", 26),
        ("A two-month-old girl with an infantile hemangioma.", 2 / 12),
        ("The newborn is one month old, with very dense hair.", 1 / 12),
        ("The child is three and a half years old.", 3.5),
        ("Patient: Girl, one and a half years old. Skin lesions as shown.", 1.5),
        ("The patient is half a year old and has the following rash.", 0.5),
    ],
)
def test_number_words(text, expected):
    assert close(age(text), expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Morphea in a woman in her 60s.", 65),
        ("A man in his sixties with actinic keratoses.", 65),
        ("Farmer in their 60s", 65),
        ("A woman in her early 60s with rosacea.", 62),
        ("A man in his mid-40s with tinea cruris.", 45),
        ("A woman in her late 50s with lentigo maligna.", 58),
        ("A patient, in his 70s, had an infection in a wound on his lower leg.", 75),
        ("A man in his 70's with a keratoacanthoma.", 75),
    ],
)
def test_decades(text, expected):
    assert close(age(text), expected)


def test_decade_offsets_are_settings():
    assert close(age("A woman in her early 60s", decade_early_offset=1), 61)
    assert close(age("A woman in her 60s", decade_offset=4), 64)
    assert close(age("A man in his late 30s", decade_late_offset=9), 39)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("An 8-month-old infant with atopic dermatitis.", 8 / 12),
        ("The patient is a 5-month-old male.", 5 / 12),
        ("My child is now 20 months old and has had this rash for over 3 months.", 20 / 12),
        ("A 6-week-old baby with milia on the nose.", 6 / 52.1775),
        ("A 2-week-old infant has scattered vesicles.", 2 / 52.1775),
        ("A 10-day-old neonate with erythema toxicum.", 10 / 365.25),
        ("In a 10-year, 8-month-old boy in Tanner stage I.", 10 + 8 / 12),
        ("A 1 year and 3 months old boy with eczema.", 1.25),
    ],
)
def test_months_weeks_days(text, expected):
    assert close(age(text), expected)


def test_ages_are_rounded_to_setting():
    assert age("An 8-month-old infant") == 0.67
    assert age("An 8-month-old infant", age_decimals=4) == 0.6667


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Acne in a 20-25-year-old man.", 22.5),
        ("A 3-4-year-old child with molluscum.", 3.5),
        ("Patient aged 20 to 25 years with acne.", 22.5),
        ("A boy, 11 or 12 years old, with a kerion.", 11.5),
    ],
)
def test_ranges_give_the_midpoint(text, expected):
    assert close(age(text), expected)


# --------------------------------------------------------------------------------------------- not ages


@pytest.mark.parametrize(
    "text",
    [
        "A patient with a 3-year history of psoriasis.",
        "Patient has a history of the disease for 3 years, with a small amount of secretion.",
        "Rash on the trunk for 10 days.",
        "The rash appeared 3 years ago and has been growing.",
        "The disease started when he was 5 years old.",
        "I have had poor skin since I was a child.",
        "Eczema since age 5 in this patient.",
        "Lesions present since the age of 12.",
        "A 5 mm papule on the nose.",
        "A 2 cm nodule on the scalp, 3 weeks after trauma.",
        "Treated with prednisolone 40 mg daily for 10 days.",
        "Study of 30 patients with vitiligo.",
        "Found in 12 of 40 cases, mostly in the second decade.",
        "Women are more often affected than men.",
        "Common in men over 50.",
        "Seen in men over 50 years of age.",
        "This condition typically affects adults between the ages of 40 and 60 years old.",
        "Women aged 40-60 are most often affected.",
        "The mean age at diagnosis was 45 years.",
        "Children under 5 years of age are most at risk.",
        "A 3-year-old scar on the forearm.",
        "A 14-day-old wound with granulation tissue.",
        "A 20-day-old colony of Dumontinia tuberosa grown on PDA at 22°C.",
        "Radiograph of a mandibular fracture in a 3-year-old Arabian colt.",
        "Seven-week-old C57Bl/6 male mice 21 days after anagen induction.",
        "A 5F catheter was introduced; a 6F sheath (Fig 3F) was used.",
        "The lesion is 3 years old and has not changed.",
        "Gestational age 32 weeks, birth weight 1550 g.",
        "",
    ],
)
def test_not_an_age(text):
    assert age(text) is None


def test_relatives_are_not_the_patient():
    d = mine_demographics("His mother, aged 70, had the same lesions.")
    assert d.age is None
    assert age("A 12-year-old girl; her 40-year-old mother has similar nails.") == 12
    assert age("A mother brought in her 5-year-old son.") is None  # ambiguous: not invented
    # the writer asks about a relative: that relative is the patient
    d = mine_demographics("My 5-year-old daughter suddenly developed clusters of small bumps on her wrist.")
    assert (d.age, d.age_group, d.gender) == (5, "child", "female")


def test_first_introduced_age_wins_over_past_events():
    text = (
        "The patient is a 60-year-old male farmer. He reported that the disease started when he was "
        "5 years old, with papules appearing on the back of his finger."
    )
    assert age(text) == 60
    assert age("Male, 28 years old, has had blisters since childhood (3-4 years old).") == 28


def test_event_ages_are_weak():
    # used only when nothing stronger is given
    assert age("A photograph of Gibney at age 77.") == 77
    assert age("It appeared after swimming in the river at the age of around 10.") is None
    assert age("(a) at eight years of age; (g) at final follow-up at 16 years of age.") is None
    assert age("A 30-year-old woman; the lesion first appeared at age 12.") == 30


def test_ages_above_max_are_ignored():
    assert age("A 150-year-old man") is None
    assert age("A 130-year-old tortoise-shell pattern") is None
    assert age("A 90-year-old woman", max_age=80) is None
    assert age("A 120-year-old woman") == 120


# --------------------------------------------------------------------------------------------- groups


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Erythema toxicum in a newborn.", "infant"),
        ("Seborrheic dermatitis in a neonate.", "infant"),
        ("The main focus of this image is a cephalhaematoma in a term baby.", "infant"),
        ("Infantile hemangioma in an infant.", "infant"),
        ("Impetigo in a toddler.", "child"),
        ("I see a child with a small area of bruising.", "child"),
        ("Slit lamp photograph in a child with pars planitis.", "child"),
        ("An adolescent with acne.", "adolescent"),
        ("A teenager with striae distensae.", "adolescent"),
        ("A teenage girl with acne.", "adolescent"),
        ("A woman in her teens with acne.", "adolescent"),
        ("It seems likely that they are within the adolescent age group.", "adolescent"),
        ("Proptosis in a middle aged female with IgG4-related disease.", "adult"),
        ("Patient is a female adult with a papule on the lip.", "adult"),
        ("An elderly woman with bullous pemphigoid.", "older_adult"),
        ("An older man with a basal cell carcinoma.", "older_adult"),
        ("Today I saw an old lady who has been suffering for a long time.", "older_adult"),
        ("A 13-year-old boy with acne.", "adolescent"),  # the age decides
        ("The elderly person is 90 years old, shingles?", "older_adult"),
    ],
)
def test_group_from_words(text, expected):
    assert group(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Extensive tooth loss is frequent in the elderly.",
        "More common in older adults and those with sun exposure.",
        "Adult T-cell leukemia/lymphoma presents as disseminated patches.",
        "The infant and young child are characterized by a wide-appearing face.",
        "Bullous dermatolysis of the newborn.",
        "My wife has had this growth on her head since she was a child.",
        "Now, after having a child, it has become increasingly severe.",
        "It tends to affect young children more frequently.",
        "Apply baby skin softening ointment twice daily.",
        "Cystourethroscopy in a girl with urinary incontinence.",  # girl: child or adolescent
        "The patient is a young male with erythema.",
    ],
)
def test_no_group(text):
    assert group(text) is None


def test_group_settings():
    assert group("Warts in a boy.", boy_girl_child_group=True) == "child"
    d = mine_demographics("The thymus of a newborn.", DemographicsSettings(newborn_age=0.0))
    assert (d.age, d.age_group) == (0.0, "infant")
    assert age("The thymus of a newborn.") == 0.0  # default: a newborn is 0 years old
    d = mine_demographics("The thymus of a newborn.", DemographicsSettings(newborn_age=None))
    assert (d.age, d.age_group) == (None, "infant")


# --------------------------------------------------------------------------------------------- gender


@pytest.mark.parametrize(
    "text, expected",
    [
        ("This image shows a woman with a port-wine stain.", "female"),
        ("The image shows a woman's skin condition.", "female"),
        ("A close-up of a lesion on the back of a 40-year-old man.", "male"),
        ("A 13-year-old boy, itches every summer.", "male"),
        ("Cystourethroscopy in a girl with urinary incontinence", "female"),
        ("Male patient, in the second episode of dengue fever.", "male"),
        ("The patient is male. Got rashes on both lower legs.", "male"),
        ("Gender: Female    Age: 34", "female"),
        ("Sex: M. Lesion on the scalp.", "male"),
        ("A gentleman with rhinophyma.", "male"),
        ("An old lady with seborrheic keratoses.", "female"),
        ("45M with plaques on the elbows", "male"),
        ("F, 33, chronic urticaria", "female"),
        ("A 57-year-old male patient with fibrosing mediastinitis.", "male"),
        ("Man 54y, anal cancer.", "male"),
    ],
)
def test_gender_from_nouns_and_abbreviations(text, expected):
    assert gender(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("My wife has had this growth on her head since she was a child.", "female"),
        ("This is my father, and I feel helpless watching him.", "male"),
        ("My son has developed many papules on his wrist.", "male"),
        ("My mother often has recurrent clusters of blisters on her neck.", "female"),
    ],
)
def test_gender_from_the_writers_relative(text, expected):
    assert gender(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("He was treated with oral chlorpheniramine and fully recovered.", "male"),
        ("At 6 weeks after the operation, the patient had full movement of his right thumb.", "male"),
        ("Imaging of the same patient after completion of her left face lift.", "female"),
        ("During childhood, she immigrated to the United States from the Dominican Republic.", "female"),
        ("The patient has long, dark hair. There is also a small mole on her left cheek.", "female"),
        ("A 5-year-old boy was brought by his mother. She noticed the rash on his back.", "male"),
    ],
)
def test_gender_from_pronouns(text, expected):
    assert gender(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Women are more often affected than men.",
        "Common in men over 50.",
        "The image shows female pattern hair loss, typically seen in women.",
        "More common in women than men, and tends to run in families.",
        "Transmitted from mother to fetus during pregnancy.",
        "Mitosis results in two identical daughter cells.",
        "Megaselia kozlovi sp. n. female, Dufour's crop mechanism.",
        "Expression of the Emotions in Man and Animals (London: John Murray, 1872).",
        "Harvey Cushing posing with a patient. Cushing stands with his subject and makes his presence known.",
        "Monod in his new Department, around 1958.",
        "The doctor said he would take a biopsy.",
        "Histology of the lesion (HE x 200).",
        "Women Voices (Liberian newspaper), April 7, 2014.",
        "TEM image of FA-NIR 797-MAN nanospheres.",
        "Male-to-female ratio was 1:2.",
        "A patient should see his or her doctor.",
        "There does not appear to be a significant gender bias.",
    ],
)
def test_not_a_patient_gender(text):
    assert gender(text) is None


def test_pronouns_can_be_switched_off():
    d = mine_demographics("She presented with a rash on her arm.", DemographicsSettings(pronouns=False))
    assert d.gender is None


# --------------------------------------------------------------------------------------------- several patients


def test_several_patients_do_not_get_one_age():
    d = mine_demographics("(a) a 45-year-old man with psoriasis; (b) a 7-year-old girl with eczema.")
    assert d.age is None
    assert d.gender is None  # they disagree
    assert d.age_group is None
    d = mine_demographics("(a) a 45-year-old man with psoriasis; (b) a 50-year-old man with psoriasis.")
    assert (d.age, d.gender, d.age_group) == (None, "male", "adult")  # gender and group agree
    assert mine_demographics("Two cases. The itching is not obvious in both.").age is None
    assert age("Case 1: a 78-year-old man. Case 2: a 78-year-old woman.") is None


def test_per_panel():
    caption = "Psoriasis. (a) A 45-year-old man with elbow plaques. (b) A 7-year-old girl with scalp scale."
    panels = {
        "a": "A 45-year-old man with elbow plaques.",
        "b": "A 7-year-old girl with scalp scale.",
        "c": "Nail pits.",
    }
    out = mine_demographics_per_panel(panels, caption)
    assert (out["a"].age, out["a"].gender) == (45, "male")
    assert (out["b"].age, out["b"].gender, out["b"].age_group) == (7, "female", "child")
    assert out["c"].age is None  # falls back to the whole caption: several patients, no single age
    whole = "Psoriasis in a 45-year-old man: (a) elbow, (b) knee."
    out = mine_demographics_per_panel({"a": "elbow", "b": "knee", "c": ""}, whole)
    assert all((d.age, d.gender) == (45, "male") for d in out.values())
    out = mine_demographics_per_panel({"a": "the lesion on her cheek"}, "Rosacea, close-up views.")
    assert out["a"].gender == "female"


# --------------------------------------------------------------------------------------------- evidence, settings


def test_evidence_is_the_matched_substrings():
    text = "Lichen planus in a 45-year-old woman."
    d = mine_demographics(text)
    assert d.evidence == ["45-year-old", "woman"]
    assert all(e in text for e in d.evidence)
    d = mine_demographics("Erythema toxicum in a newborn.")
    assert d.evidence == ["newborn"]
    assert mine_demographics("Skin incision").evidence == []


def test_unicode_dashes_and_spaces():
    assert age("A 45\u2011year\u2011old woman") == 45
    assert age("A 20\u201325-year-old man") == 22.5
    assert age("Aged\u00a062, male") == 62


def test_disabled():
    assert mine_demographics("A 45-year-old man", DemographicsSettings(enabled=False)) == Demographics()


# --------------------------------------------------------------------------------------------- properties

_FRAGMENTS = [
    "A 45-year-old man", "aged 62", "in her 60s", "(a)", "(b)", "a 7-year-old girl", "his", "her",
    "my wife", "150-year-old", "999-year-old", "0-day-old", "45M", "F, 33", "newborn", "elderly",
    "for 3 years", "since age 5", "women", " ", "-", ",", ".", "\n", "twenty-", "one and a half",
    "years old", "months", "weeks", "day-old", "M", "F", "/", "Age:", "1e9", "9" * 30,
]  # fmt: skip


def _check(d: Demographics) -> None:
    assert isinstance(d, Demographics)
    assert d.age is None or 0 <= d.age <= 120
    if d.age is not None:
        assert d.age_group == age_group_for(d.age)
    assert d.gender in (None, "male", "female")
    assert all(isinstance(e, str) for e in d.evidence)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_never_raises_on_any_text(text):
    _check(mine_demographics(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=8)), max_size=25))
def test_never_raises_on_demographic_like_text(parts):
    text = " ".join(parts)
    _check(mine_demographics(text))
    for d in mine_demographics_per_panel({"a": text[: len(text) // 2], "b": ""}, text).values():
        _check(d)


# --------------------------------------------------------------------------------------------- dev set


def _category(source: str) -> str:
    if "dermavqa_iiyi" in source:
        return "iiyi queries"
    if "roco" in source:
        return "PMC captions"
    if "mmskin_test_vqa" in source:
        return "MM-Skin VQA"
    if "case_reports" in source:
        return "case reports"
    if "openstax" in source:
        return "textbook captions"
    return "other"


@pytest.mark.shared
def test_dev_set_targets():
    if not DEV.exists():
        pytest.skip(f"../shared/data not found: {DEV} (set MMSKIN_SHARED to the shared folder)")
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert rows

    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures: list[str] = []
    for r in rows:
        d = mine_demographics(r["text"])
        for cat in (_category(r["source"]), "ALL"):
            s = stats[cat]
            s["n"] += 1
            if r["age"] is not None:
                s["aged"] += 1
                s["age_ok"] += int(d.age is not None and abs(d.age - r["age"]) < 0.5)
            else:
                s["unaged"] += 1
                s["invented"] += int(d.age is not None)
            s["gender_ok"] += int(d.gender == r["gender"])
            if r["gender"] is not None:
                s["gendered"] += 1
                s["gendered_ok"] += int(d.gender == r["gender"])
            s["group_ok"] += int(d.age_group == r["age_group"])
        wrong = []
        if r["age"] is not None and (d.age is None or abs(d.age - r["age"]) >= 0.5):
            wrong.append(f"age {d.age} != {r['age']}")
        if r["age"] is None and d.age is not None:
            wrong.append(f"invented age {d.age}")
        if d.gender != r["gender"]:
            wrong.append(f"gender {d.gender} != {r['gender']}")
        if d.age_group != r["age_group"]:
            wrong.append(f"group {d.age_group} != {r['age_group']}")
        if wrong:
            failures.append(f"  {r['id']}: {'; '.join(wrong)}  evidence={d.evidence}")

    def ratio(a: int, b: int) -> str:
        return f"{a}/{b}={a / b:.3f}" if b else "-"

    lines = [
        f"{'category':18s} {'n':>4s} {'age exact':>14s} {'invented':>13s} {'gender(all)':>15s} "
        f"{'gender(lab.)':>13s} {'age group':>15s}"
    ]
    for cat in sorted(stats, key=lambda c: (c == "ALL", c)):
        s = stats[cat]
        lines.append(
            f"{cat:18s} {s['n']:4d} {ratio(s['age_ok'], s['aged']):>14s} {ratio(s['invented'], s['unaged']):>13s} "
            f"{ratio(s['gender_ok'], s['n']):>15s} {ratio(s['gendered_ok'], s['gendered']):>13s} "
            f"{ratio(s['group_ok'], s['n']):>15s}"
        )
    print("\n".join(["", *lines, "wrong:" if failures else "wrong: none", *failures]))

    a = stats["ALL"]
    assert a["age_ok"] / a["aged"] >= 0.95, "age exact below 0.95"
    assert a["gender_ok"] / a["n"] >= 0.97, "gender accuracy below 0.97"
    assert a["gendered_ok"] / a["gendered"] >= 0.97, "gender accuracy on labelled genders below 0.97"
    assert a["invented"] / a["unaged"] <= 0.02, "more than 2% invented ages"
    assert a["group_ok"] / a["n"] >= 0.95, "age-group accuracy below 0.95"


# --------------------------------------------------------------------------------------------- the stage


def test_annotate_stage_fills_records():
    from pipeline.demographics import VERSION, annotate
    from schemas.records import Item, Record

    def item(i: int, caption: str, subcaption: str | None = None) -> Item:
        rec = Record(
            id=f"r{i}", source_pdf="b.pdf", book_id="b", page=1, bbox=(0, 0, 10, 10), image=f"{i}.png",
            caption=caption, subcaption=subcaption,
        )  # fmt: skip
        return Item(record=rec, png=b"")

    items = [
        item(0, "Fig. 1 Psoriasis in a 45-year-old man: (a) elbow, (b) knee.", "elbow"),
        item(1, "Fig. 2 (a) A 45-year-old man. (b) A 7-year-old girl.", "A 7-year-old girl."),
        item(2, "Fig. 3 Skin incision"),
    ]
    out, report = annotate(items, DemographicsSettings())
    assert VERSION
    assert [(it.record.age, it.record.age_group, it.record.gender) for it in out] == [
        (45, "adult", "male"),
        (7, "child", "female"),
        (None, None, None),
    ]
    assert out[0].record.demographics_evidence == ["45-year-old", "man"]
    assert items[0].record.age is None  # inputs are not mutated
    assert (report.seen, report.kept, report.dropped) == (3, 3, 0)
    assert report.reasons == {"age": 2, "gender": 2, "no_demographics": 1}
