"""Offline, deterministic VQA: questions from the caption's own facts, answers cut from the caption text.

Facts (each gives at most one pair, in this order): the finding (the caption's first sentence), the diagnosis
(the head noun phrase of that sentence when it names a disease), the body site (the caption's "on the ... elbow"
phrase), the visible features (the clause after ":", "showing", ", with" or the second sentence; else the
phrase around a morphology word), colours (colour words with the word they describe), the modality, the
patient's age and gender (the caption's own words where it has them), and stain and magnification of a
histopathology image. Every answer is then checked by ``guard.filter_pairs`` like an LLM's.
"""

from __future__ import annotations

import re

from pipeline.modality.cues import caption_cues
from pipeline.vqa.guard import STOPWORDS
from pipeline.vqa.source import MODALITY_PHRASE, age_words, caption_text
from schemas import Record, VQAPair

BODY_SITES = [
    "scalp", "forehead", "temple", "face", "cheek", "nose", "lip", "lips", "ear", "eyelid", "nape", "neck", "chest",
    "breast", "abdomen", "trunk", "back", "upper back", "lower back", "flank", "shoulder", "arm", "upper arm",
    "forearm", "elbow", "wrist", "hand", "hands", "dorsal hands", "palm", "palms", "finger", "fingers", "nail",
    "nails", "thigh", "thighs", "knee", "knees", "leg", "legs", "lower leg", "shin", "shins", "calf", "calves",
    "ankle", "foot", "feet", "sole", "soles", "toe", "toes", "heel", "buttock", "axilla", "groin", "oral mucosa",
    "tongue", "extremities", "limbs", "elbows", "shoulders", "arms", "chin", "jaw", "mouth", "hip", "umbilicus",
]
_SITE_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, BODY_SITES), key=len, reverse=True)) + r")\b", re.I)
# a prepositional phrase that can name a site; it ends at punctuation or where the patient begins ("of a man")
_SITE_PHRASE_RE = re.compile(
    r"\b(?:on|at|over|from|involving|affecting)\s+(?:the\s+)?[^,.;:()]*?"
    r"(?=\s+(?:of|in)\s+(?:a|an|his|her|the\s+same|this)\b|\s+(?:in|of)\s+\d|[,.;:()]|$)",
    re.I,
)
_DIAG_LEAD_RE = re.compile(
    r"^(?:(?:dermoscop(?:y|ic (?:image|view))|clinical (?:view|photograph|image|appearance)|histopathology|"
    r"histology|biopsy|photomicrograph|close-up(?: view)?|detail|high-power view|low-power view)\s+"
    r"(?:of|from|shows?|showing)\s+)?(?:(?:a|an|the)\s+)?",
    re.I,
)
_DIAG_END_RE = re.compile(
    r"\s+(?:on|of|in|at|from|over|involving|affecting|showing|shows|with|presenting|after|due)\b|[,:;(.‘’'\"]"
)
_DIAG_SUFFIX_RE = re.compile(
    r"(?:itis|osis|oses|iasis|omas?|ema|emia|aemia|pathy|oid|igo|ago|aria|ecia|ism|us|ex|ica|ans|ata|osa|um)$"
)
DIAGNOSIS_WORDS = frozenset("""
eczema psoriasis melanoma naevus nevus naevi nevi wart warts acne scabies tinea impetigo vitiligo rosacea urticaria
herpes zoster molluscum keloid scar dermatofibroma carcinoma lentigo keratosis cyst ulcer abscess cellulitis
erythema pemphigoid pemphigus lichen syndrome disease reaction eruption infection dermatitis mycosis sarcoma
haemangioma hemangioma angioma granuloma macule lupus morphoea morphea alopecia intertrigo candidiasis
""".split())
GENERIC_WORDS = frozenset("""
lesion lesions rash area areas skin view image photograph appearance example close-up detail same patient
""".split())
MORPHOLOGY = frozenset("""
papule papules plaque plaques macule macules patch patches nodule nodules vesicle vesicles bulla bullae blister
blisters pustule pustules wheal wheals ulcer ulcers erosion erosions crust crusts scale scales scar scars
tumour tumor cyst cysts comedones telangiectasia telangiectasiae
""".split())
# what a colour word describes ("brown globules", "erythematous base")
COLOURED_NOUNS = MORPHOLOGY | frozenset("""
globules globule dots dot network nests nest vessels streaks blotch veil areas area structures base centre center
flare border borders edge rim halo background lesion lesions rash skin hair hairs
""".split())
COLOURS = frozenset("""
red reddish erythematous pink pinkish purple purpuric violaceous brown brownish light-brown dark-brown black blue
blue-grey blue-gray bluish grey gray white whitish yellow yellowish orange tan silvery silver pale pigmented
hyperpigmented hypopigmented depigmented skin-coloured skin-colored flesh-coloured flesh-colored golden dusky
""".split())
_FEATURE_START_RE = re.compile(r":\s+|\s+(?:showing|shows|show|demonstrating)\s+|,\s+with\s+|(?<=[.;])\s+(?=[A-Z])")
_FEATURE_CUT_RE = re.compile(
    r";|,\s+(?:present|appearing|the result|which|after|before|since|following|for \d|she|he|the largest)\b|"
    r"\s+(?:present for|appearing)\b",
    re.I,
)
_STAIN_RE = re.compile(r"\(([^()]*(?:H\s*&\s*E|stain|PAS|Giemsa|immuno)[^()]*)\)", re.I)
GENDER_WORDS = {
    "male": ("man", "boy", "male", "gentleman", "men", "boys"),
    "female": ("woman", "girl", "female", "lady", "women", "girls"),
}
_AGE_ADJ_RE = re.compile(r"(\d+(?:\.\d+)?)[-\s](year|month|week|day)s?[-\s]old", re.I)

FEATURE_QUESTION = {
    "clinical": "What are the visible features of the lesion?",
    "dermoscopy": "Which dermoscopic structures are visible?",
    "pathology": "What histological features are seen?",
    "other": "What details are visible in this image?",
}


def _sentence(text: str) -> str:
    text = text.strip(" .;:,")
    return text[0].upper() + text[1:] + "." if text else ""


def _sentences(text: str) -> list[str]:
    return [s.strip(" .") for s in re.split(r"(?<=[.;])\s+(?=[A-Z])", text) if s.strip(" .")]


def finding(text: str) -> str | None:
    parts = _sentences(text)
    return parts[0] if parts else None


def diagnosis(first_sentence: str) -> str | None:
    """The disease the caption's first sentence names first: 'Chronic plaque psoriasis', 'benign compound naevus'."""
    s = _DIAG_LEAD_RE.sub("", first_sentence.strip(), count=1)
    head = _DIAG_END_RE.split(s, maxsplit=1)[0].strip()
    toks = head.split()
    if not 1 <= len(toks) <= 6 or any(ch.isdigit() for ch in head):
        return None
    low = [t.lower().strip("-") for t in toks]
    if all(t in GENERIC_WORDS or t in STOPWORDS for t in low):
        return None
    if not any(t in DIAGNOSIS_WORDS or _DIAG_SUFFIX_RE.search(t) for t in low if t not in GENERIC_WORDS):
        return None
    return head


def body_site(text: str) -> str | None:
    """'on the extensor aspect of the left elbow' (up to its last body-site word), or None."""
    for m in _SITE_PHRASE_RE.finditer(text):
        phrase = m.group(0)
        sites = list(_SITE_RE.finditer(phrase))
        if sites:
            preps = list(re.finditer(r"\b(?:on|at|over|from|involving|affecting)\b", phrase[: sites[0].start()], re.I))
            start = preps[-1].start() if preps else 0
            return phrase[start: sites[-1].end()]
    return None


def _morphology_phrase(text: str) -> str | None:
    toks = re.findall(r"[\w\-’']+|[,;:.()]", text)
    for i, t in enumerate(toks):
        if t.lower() not in MORPHOLOGY:
            continue
        j = i
        while j > 0 and (toks[j - 1] == "," or toks[j - 1].lower() == "and"
                         or (toks[j - 1].lower() not in STOPWORDS and toks[j - 1] not in ".;:()" and i - j < 6)):
            j -= 1
        while j < i and (toks[j] == "," or toks[j].lower() == "and"):
            j += 1
        end = i + 1
        if end < len(toks) and toks[end].lower() == "with":
            end += 1
            while end < len(toks) and toks[end] not in ",;:.()" and end - i < 5:
                end += 1
        phrase = " ".join(toks[j:end]).replace(" ,", ",")
        if len(phrase.split()) >= 2:
            return phrase
    return None


def features(text: str, first: str | None) -> str | None:
    """The clause describing what is visible."""
    m = _FEATURE_START_RE.search(text)
    clause = None
    if m:
        clause = text[m.end():]
        clause = _FEATURE_CUT_RE.split(clause, maxsplit=1)[0]
        clause = re.sub(r"^(?:dermoscopy|histology|histopathology)\s+(?:shows?|reveals?)\s+", "", clause, flags=re.I)
        clause = re.sub(r"\s*\([^()]*\)\s*$", "", clause).strip(" .,;:")
    if not clause or len(clause.split()) < 2 or (first and clause.lower() == first.lower()):
        clause = _morphology_phrase(text)
    if not clause or (first and clause.lower() == first.lower()):
        return None
    return clause


def colours(text: str) -> str | None:
    toks = re.findall(r"[\w\-’']+|[,;:.()]", text)
    phrases: list[str] = []
    i = 0
    while i < len(toks):
        if toks[i].lower() in COLOURS:
            j = i + 1  # the colour word, and the noun it describes when one follows within two words
            for k in range(i + 1, min(i + 3, len(toks))):
                if toks[k] in ",;:.()" or toks[k].lower() in STOPWORDS:
                    break
                if toks[k].lower() in COLOURED_NOUNS:
                    j = k + 1
                    break
            phrase = " ".join(toks[i:j])
            if phrase.lower() not in (p.lower() for p in phrases):
                phrases.append(phrase)
            i = j
        else:
            i += 1
    if not phrases:
        return None
    phrases = phrases[:3]
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _in(span: str, text: str) -> bool:
    return span.lower() in text.lower()


def age_answer(rec: Record, text: str) -> str | None:
    if rec.age is None:
        return None
    for ev in rec.demographics_evidence:
        if not any(ch.isdigit() for ch in ev) and not re.search(r"\b(?:\d|twen|thir|for|fif|six|seven|eigh|nine)", ev, re.I):
            continue
        if not _in(ev, text):
            continue
        span = re.sub(r"\b(?:" + "|".join(w for ws in GENDER_WORDS.values() for w in ws) + r")\b", "", ev, flags=re.I)
        span = re.sub(r"^[\s,()]+|[\s,()]+$", "", span)
        m = _AGE_ADJ_RE.fullmatch(span)
        if m:
            n, unit = m.group(1), m.group(2).lower()
            span = f"{n} {unit}{'' if n == '1' else 's'} old"
        if span:
            return span
    return age_words(rec.age)  # the patient phrase the guard's source holds too


def gender_answer(rec: Record, text: str) -> str | None:
    if not rec.gender:
        return None
    for w in GENDER_WORDS[rec.gender]:
        if re.search(rf"\b{w}\b", text, re.I):
            return f"A {w}" if w in ("man", "woman", "boy", "girl", "gentleman", "lady") else w
    return rec.gender


def stain(text: str) -> tuple[str, str] | None:
    m = _STAIN_RE.search(text)
    if not m:
        return None
    inner = m.group(1).strip()
    q = "What stain and magnification are used?" if re.search(r"[x×]\s*\d", inner) else "What stain is used?"
    return q, inner


# words by which a caption itself names how the image was taken (a cue such as "on the elbow" does not)
_MODALITY_NAME_RE = re.compile(
    r"dermo?s?copi?[cy]|dermatoscop\w*|epiluminescence|histopatholog\w*|histolog\w*|photomicrograph|micrograph|"
    r"biopsy|clinical (?:photograph|image|picture|appearance)|photograph",
    re.I,
)


def modality_words(rec: Record, text: str) -> str | None:
    """The caption's own words naming the record's modality ("Dermoscopic image", "Histopathology"), or None:
    the modality label comes from the image classifier, so it is asked about only when the caption says it."""
    if rec.modality not in MODALITY_PHRASE:
        return None
    for hit in caption_cues(text).get(rec.modality, []):
        m = _MODALITY_NAME_RE.search(hit)
        if m:
            after = re.match(r"\s+(image|photograph|view|section|picture|micrograph)\b", text[text.find(hit) + len(hit):], re.I)
            phrase = hit + (after.group(0) if after and not hit.lower().endswith(after.group(1).lower()) else "")
            return phrase[0].upper() + phrase[1:]
    return None


def template_pairs(rec: Record) -> list[VQAPair]:
    text = caption_text(rec)
    candidates: list[tuple[str, str | None]] = []
    first = finding(text)
    candidates.append(("What does this image show?", first))
    # the diagnosis and site come from the caption's shared part (a panel's subcaption rarely repeats them)
    candidates.append(("What is the most likely diagnosis?", diagnosis(first) if first else None))
    candidates.append(("Where on the body is the finding located?", body_site(text)))
    sub = caption_text(rec.model_copy(update={"caption": ""})) if rec.subcaption else text
    candidates.append((FEATURE_QUESTION.get(rec.modality, FEATURE_QUESTION["other"]),
                       features(sub, None if rec.subcaption else first)))
    if rec.modality != "pathology":
        candidates.append(("What colours are seen in the lesion?", colours(text)))
    candidates.append(("What type of image is this?", modality_words(rec, text)))
    candidates.append(("How old is the patient?", age_answer(rec, text)))
    candidates.append(("What is the gender of the patient?", gender_answer(rec, text)))
    if rec.modality == "pathology":
        st = stain(rec.caption or "")
        if st and _in(st[1], text):
            candidates.append(st)
    pairs: list[VQAPair] = []
    seen_answers: set[str] = set()
    for q, a in candidates:
        if not a:
            continue
        ans = _sentence(a)
        if ans.lower() in seen_answers:
            continue
        seen_answers.add(ans.lower())
        pairs.append(VQAPair(question=q, answer=ans))
    return pairs
