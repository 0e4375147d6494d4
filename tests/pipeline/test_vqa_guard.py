"""The VQA guard: leak phrases, image-independent questions, the grounding rule, duplicates, advice."""

from __future__ import annotations

from pipeline.vqa.guard import check_pair, filter_pairs, grounded_share, stem, unsupported_words
from pipeline.vqa.source import caption_text, source_text
from schemas import Record, VQAPair

CAPTION = ("Fig. 4.2 Chronic plaque psoriasis on the extensor aspect of the left elbow in a 45-year-old woman. "
           "The sharply demarcated erythematous plaque carries silvery scale.")


def rec(**kw) -> Record:
    base = dict(id="r1", source_pdf="b.pdf", book_id="b", page=1, bbox=(0, 0, 10, 10), image="images/r1.png",
                figure_label="Fig. 4.2", caption=CAPTION, modality="clinical", age=45.0, gender="female")
    base.update(kw)
    return Record(**base)


def qa(q: str, a: str) -> VQAPair:
    return VQAPair(question=q, answer=a)


def reason(q: str, a: str, r: Record | None = None, min_share: float = 1.0) -> str | None:
    r = r or rec()
    return check_pair(qa(q, a), source_text(r), min_share, r.figure_label)


def test_grounded_pairs_pass_with_stemming_and_framing_words():
    assert reason("What does this image show?", "Chronic plaque psoriasis on the left elbow.") is None
    # plural/singular and framing words ("lesion", "shows", "visible") are fine
    assert reason("What are the visible features of the lesion?",
                  "The lesion shows sharply demarcated erythematous plaques with silvery scales.") is None
    # the modality and patient phrases are part of the source
    assert reason("What type of image is this?", "A clinical photograph of the skin.") is None
    assert reason("How old is the patient?", "45 years old.") is None
    assert reason("What is the gender of the patient?", "Female.") is None


def test_invented_details_are_ungrounded():
    # MM-Skin's published test set has this answer; nothing in the caption supports thumb or dermatologist
    assert reason("Where is the lesion located on the body?", "The lesion is located on the thumb of the "
                  "dermatologist.") == "ungrounded"
    assert reason("What colour is the plaque?", "The plaque is violaceous.") == "ungrounded"
    assert reason("What is the most likely diagnosis?", "Guttate psoriasis.") == "ungrounded"
    assert unsupported_words("It is guttate psoriasis on the knee.", source_text(rec())) == ["guttate", "knee"]


def test_grounding_share_is_a_documented_overlap():
    src = source_text(rec())
    assert grounded_share("Erythematous plaque on the knee.", src) == 2 / 3
    assert reason("What are the visible features of the lesion?", "Erythematous plaque on the knee.",
                  min_share=0.6) is None
    assert reason("What are the visible features of the lesion?", "Erythematous plaque on the knee.",
                  min_share=0.7) == "ungrounded"


def test_stemmer_joins_inflections_and_keeps_different_terms_apart():
    assert stem("papules") == stem("papule") == stem("papular")
    assert stem("crusted") == stem("crusting") == stem("crust")
    assert stem("naevi") != stem("melanoma")
    assert stem("melanoma") != stem("melanocytic")
    assert stem("hyperpigmented") != stem("hypopigmented")
    assert stem("colour") == stem("color") and stem("oedema") == stem("edema")


def test_leak_phrases():
    for q, a in [
        ("What does the figure show?", "Chronic plaque psoriasis."),
        ("What is described in the caption?", "Chronic plaque psoriasis."),
        ("What does this image show?", "As mentioned in the text, psoriasis."),
        ("What does panel (a) show?", "Chronic plaque psoriasis."),
        ("What does this image show?", "Psoriasis as in Fig. 4.2."),
        ("What does this image show?", "Psoriasis, see 4.2."),
        ("What is the legend of this image?", "Chronic plaque psoriasis."),
    ]:
        assert reason(q, a) == "leak_phrase", (q, a)
    # "textured" and "figurate" are not leaks
    assert reason("What does this image show?", "Chronic plaque psoriasis.",
                  rec(caption="Figurate, textured chronic plaque psoriasis.", figure_label=None)) is None


def test_image_independent_questions():
    for q, a in [
        ("What causes psoriasis?", "Chronic plaque psoriasis."),
        ("How is psoriasis treated?", "Chronic plaque psoriasis."),
        ("What is the prognosis?", "Chronic plaque psoriasis."),
        ("What is psoriasis?", "Chronic plaque psoriasis."),  # no reference to the image at all
        ("Is this chronic plaque psoriasis?", "Yes, chronic plaque psoriasis."),  # the answer is in the question
    ]:
        assert reason(q, a) == "image_independent", (q, a)


def test_medical_advice_and_empty():
    assert reason("What does this image show?", "Psoriasis; the patient should apply a steroid.") == "medical_advice"
    assert reason("What does this image show?", "Psoriasis; consult a dermatologist.") == "medical_advice"
    assert reason("  ", "Psoriasis.") == "empty"
    assert reason("What does this image show?", " ") == "empty"


def test_filter_pairs_keeps_order_and_drops_duplicate_questions():
    r = rec()
    pairs = [
        qa("What does this image show?", "Chronic plaque psoriasis."),
        qa("What is shown in this image?", "Psoriasis on the elbow."),  # same content words as the first
        qa("Where on the body is the finding located?", "On the left elbow."),
        qa("What does the caption say?", "Psoriasis."),
        qa("Where is the lesion?", "On the thumb."),
    ]
    kept, rejected = filter_pairs(pairs, source_text(r), 1.0, r.figure_label)
    assert [p.question for p in kept] == ["What does this image show?", "Where on the body is the finding located?"]
    assert [why for _, why in rejected] == ["duplicate_question", "leak_phrase", "ungrounded"]


def test_caption_text_of_a_panel_holds_only_its_own_subcaption():
    cap = ("Fig. 1.8 Melanoma on the right calf of a woman in her 70s. (a) Clinical view of an asymmetric macule. "
           "(b) Dermoscopy of the same lesion showing an atypical network.")
    a = rec(caption=cap, panel="a", subcaption="Clinical view of an asymmetric macule")
    b = rec(caption=cap, panel="b", subcaption="Dermoscopy of the same lesion showing an atypical network")
    assert caption_text(a) == "Melanoma on the right calf of a woman in her 70s. Clinical view of an asymmetric macule"
    assert "atypical network" not in caption_text(a) and "asymmetric" not in caption_text(b)
    # so an answer about the other panel is ungrounded for this one
    assert reason("Which dermoscopic structures are visible?", "An atypical network.", a) == "ungrounded"
    assert reason("Which dermoscopic structures are visible?", "An atypical network.", b) is None
