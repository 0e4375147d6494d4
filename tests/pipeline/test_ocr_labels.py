"""OCR misreads of caption labels are read again, and nothing else on the page is touched."""

import pytest

from pipeline.extract.ocr_labels import figure_number, label_word, repair_labels
from schemas import OcrWord

WORDS = ("Fig", "Figure", "Figs", "Plate")


@pytest.mark.parametrize(
    "read,word",
    [("Fic", "Fig"), ("Fic.", "Fig"), ("Ficure", "Figure"), ("FG,", "Fig"), ("Hig", "Fig"), ("Flg.", "Fig"),
     ("Pvate", "Plate"), ("Puare", "Plate"), ("HIGURI", "Figure")],
)
def test_small_caps_and_bold_misreads_are_label_words(read, word):
    assert label_word(read, WORDS) == word


@pytest.mark.parametrize("read", ["Fig", "Figure", "Plate", "the", "Page", "Pale", "Table", "Big", "Piste", "a"])
def test_real_words_and_labels_read_right_are_left_alone(read):
    assert label_word(read, WORDS) is None


@pytest.mark.parametrize(
    "read,number",
    [("1l-1", "11-1"), ("Il", "II"), ("|", "I"), ("IIl.", "III."), ("17.6A", "17.6A"), ("3.4:", "3.4:"),
     ("18-7—Atopic", "18-7—Atopic"), ("5–3", "5–3")],
)
def test_figure_numbers_with_lookalike_glyphs(read, number):
    assert figure_number(read) == number


@pytest.mark.parametrize("read", ["the", "—Basal", "(a)", "mg"])
def test_what_is_no_number(read):
    assert figure_number(read) is None


def _line(texts, line=0, block=1):
    return [OcrWord(bbox=(10.0 + 40 * i, 10.0 + 20 * line, 40.0 + 40 * i, 20.0 + 20 * line), text=t, conf=90.0,
                    block=block, line=line) for i, t in enumerate(texts)]


def test_repair_rewrites_a_line_starting_with_a_misread_label():
    words = _line(["Fic", "17.6A", "Dermoscopy", "of", "vitiligo"]) + _line(["PLATE", "Il.", "Psoriasis"], line=1)
    out = repair_labels(words, WORDS)
    assert [w.text for w in out] == ["Fig", "17.6A", "Dermoscopy", "of", "vitiligo", "PLATE", "II.", "Psoriasis"]
    assert [w.bbox for w in out] == [w.bbox for w in words]


def test_repair_keeps_the_case_ocr_read_and_the_full_stop():
    assert [w.text for w in repair_labels(_line(["FIc.", "3-2", "Lesion"]), WORDS)] == ["FIG.", "3-2", "Lesion"]


def test_repair_needs_a_number_after_the_word_and_the_line_start():
    words = (_line(["Fic", "shows", "a", "lesion"]) + _line(["the", "Fic", "3"], line=1)
             + _line(["Fit", "the", "dose"], line=2) + _line(["Pure", "3.5"], line=3))
    assert [w.text for w in repair_labels(words, WORDS)] == [w.text for w in words]


def test_repair_uses_the_configured_label_words():
    words = _line(["Schene", "4", "Pathway"])
    assert repair_labels(words, WORDS)[0].text == "Schene"
    assert repair_labels(words, WORDS + ("Scheme",))[0].text == "Scheme"


def test_a_dash_read_as_a_hyphen_glued_to_the_first_word_after_the_number():
    # "FIG. 21.5B—Tinea" in small capitals on a 1-bit scan: "Fic. 21.5B-Tinea"; a hyphen before a digit stays
    # part of the number ("5-3")
    assert figure_number("21.5B-Tinea") == "21.5B-Tinea"
    assert figure_number("5-3-Erythema") == "5-3-Erythema"
    assert figure_number("5-3") == "5-3"
    assert figure_number("21-bullae") is None
