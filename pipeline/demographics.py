"""Rule-based mining of the depicted patient's age, age group and gender from caption text.

Pure functions, no I/O. Everything here is a regular expression plus a few word lists; the rules are the
ones a dermatologist reading the caption would apply:

Ages (years, float)
    ``45-year-old``, ``45 year old``, ``45 yo``/``45 y/o``, ``aged 62``, ``age 62``/``Age: 62``,
    ``62 years of age``, ``a man, 62 years``, ``Male, 15 years old``, ``45M``/``F, 33``/``33/F``;
    months (``8-month-old`` = 8/12), weeks (/ ``weeks_per_year``), days (/ ``days_per_year``);
    compounds (``10-year, 8-month-old`` = 10 + 8/12); number words (``a sixty-two-year-old``,
    ``two-month-old``, ``one and a half years old``); decades (``in her 60s`` = 65, ``early`` = +2,
    ``mid`` = +5, ``late`` = +8, all settings); ranges (``20-25-year-old``, ``aged 20 to 25``,
    ``11 or 12 years old``) give the **midpoint**.
    ``at the age of 5`` / ``he was 5 years old`` are weak: used only when nothing stronger is present
    (they usually date an event, not the patient now).

Not ages
    durations (``a 3-year history``, ``for 10 days``, ``3 years ago``), past events (``when he was 5 years
    old``, ``since age 5``), sizes, doses, counts of patients, population statements (``women aged 40-60``,
    ``between the ages of 40 and 60``, ``over 50 years of age``, ``mean age 45``), relatives of the patient
    (``his mother, aged 70``, ``her 5-year-old son``; but ``my 5-year-old daughter`` is the patient: the
    writer asks about a relative), the age of a lesion/animal/culture (``a 3-year-old scar``,
    ``a 20-day-old colony``, ``a 3-year-old colt``). Ages above ``max_age`` are dropped.

Age group
    from the age when there is one (infant < 2, child 2-11, adolescent 12-17, adult 18-64,
    older_adult 65+); otherwise from words about the one patient: infant/baby/newborn/neonate -> infant,
    toddler/child/kid -> child, adolescent/teenager/teenage/"in her teens" -> adolescent,
    middle-aged/young adult/an adult -> adult, elderly/older/old + person -> older_adult. Plural and
    generic uses (``the elderly``, ``older adults``, ``the infant and young child are ...``,
    ``since she was a child``, ``after having a child``, ``... of the newborn``) do not count.
    ``boy``/``girl`` alone give no group unless ``boy_girl_child_group`` is set.

Gender
    strong: man/woman/boy/girl/male/female/gentleman/lady, ``45M``, ``F, 33``, ``Sex: F``, and the
    writer's relative (``my wife`` -> female, ``this is my father`` -> male); weak: pronouns
    he/him/his/she/her when their nearest antecedent is the patient - not a doctor, a relative of the
    patient (``his mother ... she``), or a named person (``Cushing stands with his subject``).
    Population words (``women``, ``male pattern``, ``male:female``) and non-human specimens
    (``sp. n. female``) are not a patient.

Several patients
    Two different strong ages (``(a) a 45-year-old man ... (b) a 7-year-old girl``), ``two cases`` /
    ``both patients`` or ``case 1 ... case 2``: the age is None, gender and group only if all agree.
    :func:`mine_demographics_per_panel` mines each panel's subcaption instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.records import Demographics, Item, StageReport
from schemas.settings import DemographicsSettings

__all__ = ["VERSION", "age_group_for", "annotate", "mine_demographics", "mine_demographics_per_panel"]

VERSION = "1"  # bump when the rules change: the build cache keys the demographics stage on it

_DEFAULT_SETTINGS = DemographicsSettings()

# ---------------------------------------------------------------------------------------------------------
# normalisation (one character in, one character out, so offsets into the original text stay valid)
# ---------------------------------------------------------------------------------------------------------

_CHAR_MAP = str.maketrans(
    {
        **{c: "-" for c in "\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"},
        **{c: " " for c in "\u00a0\u2007\u2009\u200a\u202f\u3000\t\r\x0b\x0c"},
        **{c: "'" for c in "\u2018\u2019\u02bc\u2032"},
    }
)


def _normalise(text: str) -> str:
    out = text.translate(_CHAR_MAP)
    return out if len(out) == len(text) else text  # the map is 1:1, this is only a guard


# ---------------------------------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------------------------------

_UNITS_W = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS_W = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_DECADE_W = {
    "twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70,
    "eighties": 80, "nineties": 90,
}  # fmt: skip

_TEEN_RE = "|".join(sorted((k for k, v in _UNITS_W.items() if v >= 10), key=len, reverse=True))
_UNIT_RE = "one|two|three|four|five|six|seven|eight|nine"
_TENS_RE = "|".join(_TENS_W)
_WORDNUM = rf"(?:(?:{_TENS_RE})(?:[\s-]?(?:{_UNIT_RE})\b)?|(?:{_TEEN_RE}|{_UNIT_RE})\b)"
_DIGITS = r"(?<![0-9.,/])[0-9]{1,3}(?:\.[0-9]+)?(?![0-9])"
_NUMX = rf"(?:{_DIGITS}|\b{_WORDNUM})(?:\s+and\s+a\s+half\b)?"
_RANGE = rf"(?:\s*(?:-|\bto\b|\bor\b)\s*(?P<n2>{_NUMX}))?"

_Y_UNIT = r"(?:years?|yrs?|y)"
_M_UNIT = r"(?:months?|mos?|mths?)"
_W_UNIT = r"(?:weeks?|wks?)"
_D_UNIT = r"(?:days?)"
_ANY_UNIT = rf"(?:{_Y_UNIT}|{_M_UNIT}|{_W_UNIT}|{_D_UNIT})"


def _parse_num(s: str | None) -> float | None:
    if not s:
        return None
    s = s.strip().lower()
    half = 0.0
    if s.endswith("half"):
        half = 0.5
        s = re.sub(r"\s+and\s+a\s+half$", "", s)
    if s in ("a", "an"):
        return 1.0 + half
    if re.fullmatch(r"half\s+an?", s):
        return 0.5
    try:
        return float(s) + half
    except ValueError:
        pass
    total = 0
    for part in re.split(r"[\s-]+", s):
        if part in _TENS_W:
            total += _TENS_W[part]
        elif part in _UNITS_W:
            total += _UNITS_W[part]
        elif part:
            return None
    return float(total) + half


def _unit_years(unit: str | None, st: DemographicsSettings) -> float:
    u = (unit or "y").lower()
    if u.startswith("m"):
        return 1.0 / 12.0
    if u.startswith("w"):
        return 1.0 / st.weeks_per_year
    if u.startswith("d"):
        return 1.0 / st.days_per_year
    return 1.0


def age_group_for(age: float) -> str:
    """infant < 2, child 2-11, adolescent 12-17, adult 18-64, older_adult 65+ (years)."""
    if age < 2:
        return "infant"
    if age < 12:
        return "child"
    if age < 18:
        return "adolescent"
    if age < 65:
        return "adult"
    return "older_adult"


# ---------------------------------------------------------------------------------------------------------
# word lists
# ---------------------------------------------------------------------------------------------------------

_HUMAN_NOUNS = frozenset(
    """man woman boy girl male female patient pt child infant baby newborn neonate toddler adolescent
    teenager teen person individual subject gentleman lady kid son daughter mother father brother sister
    wife husband twin student farmer worker athlete player volunteer control case primigravida primipara
    multipara grandmother grandfather housewife soldier runner officer schoolboy schoolgirl""".split()
)
_POP_PLURALS = frozenset(
    """patients women men adults children people persons individuals subjects cases males females girls
    boys infants adolescents teenagers teens participants volunteers controls population populations
    ages elderly babies newborns neonates toddlers kids persons groups cohort""".split()
)
_NONHUMAN_AFTER_AGE = frozenset(
    """colony colonies culture cultures cell cells mouse mice rat rats rabbit rabbits dog dogs cat cats
    horse horses mare mares colt colts filly foal foals calf calves cow cows heifer bull steer pig pigs
    piglet piglets sow boar sheep lamb lambs ewe ram goat goats monkey monkeys macaque macaques chick
    chicks chicken chickens hen bird birds fish zebrafish larva larvae embryo embryos fetus foetus fetuses
    seedling seedlings plant plants tree trees leaf leaves fly flies tadpole tadpoles puppy puppies kitten
    kittens animal animals pup pups wound wounds lesion lesions scar scars burn burns tattoo tattoos ulcer
    ulcers fracture fractures injury injuries rash rashes eruption bite bites hematoma haematoma bruise
    bruises tear graft grafts flap flaps blister blisters clot thrombus infarct infarction hemorrhage
    haemorrhage implant implants prosthesis stent suture sutures cast callus biofilm tissue tissues
    sample samples specimen specimens image images photo photograph photographs picture pictures scan
    granulation crust pustule papule keloid tumor tumour tumors tumours mass nodule nodules cyst cysts plaque
    plaques disease history pregnancy gestation organoid organoids explant explants spheroid spheroids
    strain strains isolate isolates mosquito mosquitoes tick ticks mite mites worm worms
    """.split()
)
_RELATIVES_F = frozenset(
    "mother mom mum mommy mummy wife daughter sister grandmother grandma granny aunt niece girlfriend".split()
)
_RELATIVES_M = frozenset("father dad daddy husband son brother grandfather grandpa uncle nephew boyfriend".split())
_RELATIVES_N = frozenset(
    "parent parents spouse partner sibling child kid baby cousin friend twin relative grandchild".split()
)
_RELATIVES = _RELATIVES_F | _RELATIVES_M | _RELATIVES_N
_CLINICIANS = frozenset(
    """doctor doctors physician physicians dermatologist dermatologists surgeon surgeons nurse nurses author
    authors examiner clinician clinicians dentist pharmacist expert experts teacher colleague colleagues
    photographer artist scientist researcher investigator professor prof dr mr practitioner consultant
    resident pathologist radiologist pediatrician paediatrician gynecologist obstetrician midwife""".split()
)
_PATIENT_NOUNS = frozenset(
    """patient pt man woman boy girl child infant baby newborn neonate toddler male female gentleman lady
    person individual case adolescent teenager teen kid farmer worker student athlete player
    outpatient inpatient schoolboy schoolgirl""".split()
)
_GENDERED_NOUNS = {
    "man": "male", "boy": "male", "male": "male", "gentleman": "male", "schoolboy": "male",
    "woman": "female", "girl": "female", "female": "female", "lady": "female", "schoolgirl": "female",
    **{w: "female" for w in _RELATIVES_F},
    **{w: "male" for w in _RELATIVES_M},
}  # fmt: skip
_PRON_M = frozenset({"he", "him", "his", "himself"})
_PRON_F = frozenset({"she", "her", "hers", "herself"})
_BODY_WORDS = frozenset(
    """left right upper lower face facial cheek cheeks chin forehead scalp head neck nose lip lips mouth
    tongue ear ears eye eyes eyelid eyelids trunk chest back abdomen belly arm arms forearm forearms hand
    hands palm palms finger fingers fingernail fingernails nail nails thumb wrist elbow elbows shoulder
    shoulders axilla axillae armpit armpits leg legs thigh thighs knee knees shin calf calves ankle ankles
    foot feet sole soles toe toes toenail toenails heel hip hips buttock buttocks groin genitals penis
    scrotum vulva breast breasts nipple back body skin hair lesion lesions rash eruption body's""".split()
)
_NAME_FOLLOWERS = frozenset(
    """in with and at during while who was is had has stands stood sits sat posing poses holding holds
    examining examines said says wrote writes""".split()
)
# Capitalised words that are not names of people (sentence starters, caption vocabulary).
_NOT_NAMES = frozenset(
    """the a an this that these those in on at of for from to with by after before during figure fig figs
    table plate panel case patient photo photograph image images view close closeup note arrow arrows
    clinical left right upper lower anterior posterior lateral medial dorsal ventral same his her he she
    they it its there here then when while since although however also both each all some one two three
    male female man woman boy girl child baby infant department hospital clinic university institute
    january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday erythema swelling lesion lesions rash ulcer examination
    surgery operation appearance multiple several typical dermoscopy histology biopsy courtesy""".split()
)
_FILLERS = frozenset(
    """he she i they we it the patient child baby was were is are turned became become becomes about
    around approximately approx nearly almost aged age of a an only just barely now currently today
    presently still already this year old""".split()
)
_PAST_TRIGGERS = frozenset("since from until till before after by when while whilst once prior".split())
# past-event words that void an age anywhere in the last few words of its clause ("when he was four and
# twelve years old"); the others above only when they come right before the age ("from age 5")
_PAST_WINDOW = frozenset("since until till when while whilst once".split())
_THRESHOLD_WORDS = frozenset(
    """over under above below than beyond exceeding between ages mean median average range older younger
    gestational bone dental skeletal estimated corrected postmenstrual postconceptional menarche onset
    diagnosis retirement school reproductive childbearing working advanced least most up""".split()
)
_LESION_SUBJECTS = frozenset(
    """it lesion lesions rash wound scar tattoo mole nevus naevus growth tumor tumour mass ulcer nodule cyst
    burn plaque spot spots disease condition problem illness""".split()
)
_RE_THRESHOLD_END = re.compile(r"(?:[<>≤≥]\s*=?|\bas\s+(?:young|old|early|late)\s+as)\s*$", re.IGNORECASE)
_RE_RELATIVE_NOT_PATIENT = re.compile(
    r"(?:'s)?\s+(?:also|too|said|says|told|thinks|thought|believes|asked|wants|insists)\b", re.IGNORECASE
)
_POSSESSIVE_OTHER = frozenset({"his", "her", "their", "whose", "its", "patient's", "patients'"})

# ---------------------------------------------------------------------------------------------------------
# age regexes
# ---------------------------------------------------------------------------------------------------------

_F = re.IGNORECASE

# "45-year-old", "45 years old", "20-25-year-old", "10-year, 8-month-old", "a sixty-two-year-old"
_RE_OLD = re.compile(
    rf"(?P<n>\bhalf\s+an?\b|{_NUMX}|\ban?(?=\s+(?:year|month|week|day)\b)){_RANGE}[\s-]{{0,3}}(?P<u>{_ANY_UNIT})"
    rf"(?:[\s-]{{0,3}}(?:and\s+|,\s*)?(?P<m>{_NUMX})[\s-]{{0,3}}(?P<mu>{_M_UNIT}))?[\s-]{{0,3}}olds?\b",
    _F,
)
# "62 years of age"
_RE_OF_AGE = re.compile(rf"(?P<n>{_NUMX}){_RANGE}[\s-]{{0,3}}(?P<u>{_ANY_UNIT})\s+of\s+age\b", _F)
# "aged 62", "age 62", "Age: 34", "age of 5 years", "Age/Sex: 45/M"
_RE_AGED = re.compile(
    rf"\b(?P<kw>aged|age)(?:\s*/\s*(?:sex|gender))?(?:\s*[:=]|\s+of|\s+is|\s+was)?\s*"
    rf"(?:(?:about|approximately|approx\.?|around|nearly|almost|~)\s*)?(?P<n>{_NUMX}){_RANGE}"
    rf"(?:[\s-]{{0,3}}(?P<u>{_ANY_UNIT})\b)?(?:[\s-]{{0,3}}old\b)?",
    _F,
)
# "45 yo", "45 y/o", "45 y.o.", "45yo"
_RE_YO = re.compile(rf"(?P<n>{_NUMX}){_RANGE}\s*-?\s*(?:yo|y/o|y\.\s?o\.?)(?![a-z])", _F)
# "a man, 62 years", "Male, 15 years old", "Female, 11", "a woman (45 years)"
_RE_NOUN_NUM = re.compile(
    rf"\b(?P<g>man|woman|male|female|boy|girl|gentleman|lady|patient)\b\s*[,:(]\s*(?:aged\s+|age\s+)?"
    rf"(?P<n>{_NUMX}){_RANGE}(?:[\s-]{{0,3}}(?P<u>{_ANY_UNIT})\b)?(?:[\s-]{{0,3}}old\b)?"
    rf"|\b(?P<g2>man|woman|male|female|boy|girl)\s+(?P<n3>[0-9]{{1,3}})\s?(?:y|yrs?|years?|yo)\b"
    rf"(?![\s-]*(?:ago|later|after))",
    _F,
)
# "(16 years, female)", "A 47 years male", "a 53 female"
_RE_NUM_NOUN = re.compile(
    rf"(?P<n>{_NUMX})\s*(?P<u>{_Y_UNIT}|{_M_UNIT})\s*(?:old\s*)?[,/]?\s*(?P<g>male|female|man|woman|boy|girl)\b"
    rf"|\b(?:an?)\s+(?P<n4>[0-9]{{1,3}})\s*(?:y|yo|yrs?)?\s+(?P<g4>male|female|man|woman|boy|girl)\b",
    _F,
)
# "45M", "33F", "45/M", "45 y/F" (case-sensitive M/F)
_RE_NUM_MF = re.compile(
    r"(?:^|(?<=[(\[,;:]))\s?(?P<n>[0-9]{1,3})(?:\s?(?:y|yrs?|yo))?(?P<sep>\s?|\s*/\s*)(?P<g>[MF])"
    r"(?![\w/])"
)
_RE_NUM_MF_FOLLOW = re.compile(
    r"\s*(?:[,;:)\]]|$|\.(?:\s|$)|\s(?:with|presenting|presented|patient|pt|who|had|has|having|pt\.)\b)"
)
# "F, 33", "M/45", "M 45y"
_RE_MF_NUM = re.compile(
    r"(?:(?<=^)|(?<=[\s(\[,;:]))(?P<g>[MF])\s*[,/]\s*(?P<n>[0-9]{1,3})(?:\s*(?:y|yrs?|yo|years?)\b)?"
    r"(?![0-9.%/]|\s*(?:mm|cm|kg|mg|ml|g)\b)"
)
# "Sex: F", "Gender: M"
_RE_SEX_FIELD = re.compile(r"\b(?:sex|gender)\s*[:=]\s*(?P<g>(?-i:[MF])\b|male\b|female\b)", _F)
# "in her 60s", "in his sixties", "in their early 60's", "in her teens"
_RE_DECADE = re.compile(
    r"\bin\s+(?:his|her|their)\s+(?:(?P<q>early|mid|late)[\s-]*)?"
    rf"(?:(?P<d>[1-9]0)\s*'?s|(?P<w>{'|'.join(_DECADE_W)})|(?P<teen>teens|'teens))\b",
    _F,
)
_RE_UNIT_AFTER = re.compile(r"\s*(?:%|mm\b|cm\b|kg\b|mg\b|ml\b|g\b|°|mmhg\b|x\b|×)", _F)
_RE_DURATION_AFTER = re.compile(
    r"\s*(?:,\s*)?(?:ago|after|later|earlier|before|prior|post\w*|since|history|duration|follow|course|"
    r"of\s+(?!age\b)\w+|in\s+duration)\b",
    _F,
)

_RE_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|[0-9]+(?:\.[0-9]+)?")
_RE_SENT_END = re.compile(r"(?:[.!?]+[\"')\]]*\s+|\n+|;\s+)")
_ABBREV_BEFORE_DOT = frozenset(
    "dr mr mrs ms prof fig figs no vs sp spp al st e g i approx ca cf et nos".split()
)


@dataclass(frozen=True)
class _Age:
    value: float
    start: int
    end: int
    strong: bool
    span: str
    patient_noun: str | None = None  # human noun the age is attached to ("-old sister", "45M" -> male)
    intro: bool = False  # introduces a patient ("a 45-year-old", "45-year-old man", "Male, 45")


@dataclass(frozen=True)
class _Mention:
    value: str
    start: int
    end: int
    span: str


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------


def _sentence_starts(text: str) -> list[int]:
    starts = [0]
    for m in _RE_SENT_END.finditer(text):
        if m.group(0).startswith("."):
            before = re.search(r"([^\W\d_]+)$", text[max(0, m.start() - 12) : m.start()])
            if before and (before.group(1).lower() in _ABBREV_BEFORE_DOT or len(before.group(1)) == 1):
                continue
        starts.append(m.end())
    return starts


def _clause_prefix(text: str, pos: int, limit: int = 80) -> str:
    """Text before ``pos`` back to the previous sentence end (at most ``limit`` characters)."""
    seg = text[max(0, pos - limit) : pos]
    cut = max(seg.rfind(". "), seg.rfind("? "), seg.rfind("! "), seg.rfind("\n"), seg.rfind("; "))
    return seg[cut + 1 :] if cut >= 0 else seg


def _words(s: str) -> list[str]:
    return [w.lower() for w in _RE_WORD.findall(s)]


def _next_words(text: str, pos: int, n: int = 3) -> list[str]:
    seg = text[pos : pos + 60]
    m = re.match(r"[^.;:!?\n]*", seg)
    return _words(m.group(0) if m else "")[:n]


def _prefix_verdict(text: str, start: int, article_form: bool) -> str:
    """'ok', 'weak' or 'reject' for an age mention beginning at ``start``, judged by the words before it."""
    prefix = _clause_prefix(text, start)
    words = _words(prefix)
    # the words since the last comma / bracket (one that opens right before the age does not count)
    comma_words = _words(re.split(r"[,(\[]", prefix.rstrip().rstrip("(,[").rstrip())[-1])
    direct_last = words[-1] if words else ""
    popped: list[str] = []
    while words and words[-1] in _FILLERS:
        popped.append(words.pop())
    last = words[-1] if words else ""
    before_last = words[-2] if len(words) > 1 else ""
    # a relative of the patient: "his mother, aged 70", "the patient's father, 70 years old"
    if last in _RELATIVES and (before_last in _POSSESSIVE_OTHER or before_last.endswith("'s")):
        return "reject"
    if article_form:
        return "ok"  # "a 45-year-old ..." introduces the patient whatever precedes it
    direct_human = direct_last in _HUMAN_NOUNS
    # a past event: "when he was 5 years old", "since childhood (3-4 years old)", "before age 10"
    if not direct_human and any(w in _PAST_WINDOW for w in comma_words[-5:]):
        return "reject"
    if last in _PAST_TRIGGERS and not direct_human:
        return "reject"
    if last in _THRESHOLD_WORDS or _RE_THRESHOLD_END.search(prefix):
        return "reject"  # "over 50", "> 65", "as young as 6 months"
    if last in _POP_PLURALS or (before_last in _POP_PLURALS and last in ("aged", "age", "of")):
        return "reject"
    if last not in _HUMAN_NOUNS:
        if any(w in _POP_PLURALS for w in words[-5:]):
            return "reject"
        if any(w in ("between", "ages", "range", "over", "under", "above", "below") for w in words[-5:]):
            return "reject"
    if last in _LESION_SUBJECTS and any(w in ("is", "was", "are", "were") for w in popped):
        return "reject"
    if not words and "it" in popped and any(w in ("is", "was") for w in popped):
        return "reject"
    if last == "at" or direct_last == "at":
        return "weak"
    if any(w in ("i", "he", "she", "they") for w in popped) and any(w in ("was", "were") for w in popped):
        return "weak"
    return "ok"


_SUFFIX_STOP = frozenset(
    """with in of who whose which that from at for on and or is was has had have presenting presented
    showing shows underwent undergoing after before during since complaining suffering treated by to as
    but where when whom showed demonstrating demonstrates revealed reveals depicting""".split()
)


def _suffix_verdict(text: str, end: int) -> tuple[str, str | None]:
    """Looks at the noun phrase after an "N-year-old": ('reject'|'ok', the human noun it is attached to)."""
    seg = text[end : end + 60]
    seg = re.split(r"[,;:.!?()\[\]\n]", seg, maxsplit=1)[0]
    ws = _words(seg)[:7]
    for k, w in enumerate(ws[:5]):
        if w in _SUFFIX_STOP:
            break
        if w in _HUMAN_NOUNS:
            if k + 1 < len(ws) and (ws[k + 1] in _NONHUMAN_AFTER_AGE or ws[k + 1] in _POP_PLURALS):
                return "reject", None  # "7-week-old male mice"
            return "ok", w
        if w in _POP_PLURALS:
            return "reject", None
        if w in _NONHUMAN_AFTER_AGE:
            return "reject", None
    return "ok", None


_ONSET_WORDS = re.compile(
    r"\b(?:appear(?:ed|s)?|start(?:ed|s)?|began|begun|beginning|develop(?:ed|s)?|onset|noticed|first|since|"
    r"diagnosed|occurr?(?:ed|s)?|emerged|born|history|underwent|operated|had\s+(?:a|an)\b|injur(?:y|ed))\b",
    _F,
)


def _sentence_around(text: str, start: int, end: int) -> str:
    left = _clause_prefix(text, start, 200)
    right = re.split(r"(?<=[.!?])\s|\n", text[end : end + 200], maxsplit=1)[0]
    return left + text[start:end] + right


# ---------------------------------------------------------------------------------------------------------
# age candidates
# ---------------------------------------------------------------------------------------------------------


def _value(m: re.Match[str], st: DemographicsSettings, unit: str | None = None) -> float | None:
    n = _parse_num(m.group("n"))
    if n is None:
        return None
    gd = m.groupdict()
    n2 = _parse_num(gd.get("n2"))
    if n2 is not None:
        if n2 < n or n2 - n > 20:  # "5-10-year-old" fine; "5 or 50" is not a range
            return None
        n = (n + n2) / 2.0
    u = unit if unit is not None else gd.get("u")
    val = n * _unit_years(u, st)
    if gd.get("m"):
        mm = _parse_num(gd["m"])
        if mm is None or mm >= 12:
            return None
        val += mm / 12.0
    return val


def _age_candidates(text: str, st: DemographicsSettings) -> list[_Age]:
    out: list[_Age] = []
    animals = bool(_RE_ANIMAL_MARKERS.search(text))

    def add(
        m: re.Match[str], val: float | None, strong: bool, noun: str | None = None, intro: bool = False
    ) -> None:
        if val is None or val < 0 or val > st.max_age:
            return
        if not strong and _ONSET_WORDS.search(_sentence_around(text, m.start(), m.end())):
            return  # "it appeared at the age of 10": an event, not the patient now
        out.append(_Age(val, m.start(), m.end(), strong, m.group(0).strip(), noun, intro))

    for m in _RE_OLD.finditer(text):
        article = bool(
            re.search(r"\b(?:an?|the|this|our|my|your)\s*$", text[max(0, m.start() - 8) : m.start()], _F)
        )
        verdict = _prefix_verdict(text, m.start(), article)
        if verdict == "reject":
            continue
        sv, noun = _suffix_verdict(text, m.end())
        if sv == "reject" or (animals and noun is None):
            continue
        if noun in _RELATIVES:
            poss = _words(text[max(0, m.start() - 20) : m.start()])
            if poss and (poss[-1] in _POSSESSIVE_OTHER or poss[-1].endswith("'s") and poss[-1] != "friend's"):
                continue  # "her 5-year-old son"
        add(m, _value(m, st), verdict == "ok", noun, article or noun is not None)

    for m in _RE_OF_AGE.finditer(text):
        verdict = _prefix_verdict(text, m.start(), False)
        if verdict != "reject" and not animals:
            add(m, _value(m, st), verdict == "ok")

    for m in _RE_AGED.finditer(text):
        if m.group("u") is None and _RE_UNIT_AFTER.match(text, m.end()):
            continue
        if _RE_DURATION_AFTER.match(text, m.end()):
            continue
        kw_prefix = _words(_clause_prefix(text, m.start()))
        prev = kw_prefix[-1] if kw_prefix else ""
        if prev in _THRESHOLD_WORDS or prev in _POP_PLURALS or prev in _PAST_TRIGGERS:
            continue
        verdict = _prefix_verdict(text, m.start(), False)
        if verdict == "reject" or (animals and prev not in _HUMAN_NOUNS):
            continue
        # "at the age of 5", "at age 5": dates an event; weak
        at_form = bool(re.search(r"\bat\s+(?:the\s+)?$", text[max(0, m.start() - 10) : m.start()], _F))
        add(m, _value(m, st), verdict == "ok" and not at_form, None, prev in _HUMAN_NOUNS)

    for m in _RE_YO.finditer(text):
        verdict = _prefix_verdict(text, m.start(), False)
        if verdict != "reject":
            add(m, _value(m, st, "y"), verdict == "ok", None, True)

    for m in _RE_NUM_NOUN.finditer(text):
        if m.group("g4"):
            add(m, _parse_num(m.group("n4")), True, m.group("g4").lower(), True)
            continue
        prev = _words(text[max(0, m.start() - 12) : m.start()])
        if prev and prev[-1] in ("for", "of", "past", "last", "over", "than", "since", "after", "within"):
            continue  # "for 2 years male pattern ..."
        if _prefix_verdict(text, m.start(), False) != "reject":
            add(m, _value(m, st), True, m.group("g").lower(), True)

    for m in _RE_NOUN_NUM.finditer(text):
        if m.group("g2"):
            g = m.group("g2").lower()
            out_val = _parse_num(m.group("n3"))
            add(m, out_val, True, g, True)
            continue
        if m.group("u") is None:
            # no unit: only "Male, 45," style (number then punctuation / end)
            if not re.match(r"\s*(?:[,.;)]|$)", text[m.end() :]) or _RE_UNIT_AFTER.match(text, m.end()):
                continue
            if m.group("g").lower() == "patient":
                continue
        if _RE_DURATION_AFTER.match(text, m.end()):
            continue
        g = m.group("g").lower()
        prefix_words = _words(text[max(0, m.start() - 20) : m.start()])
        if prefix_words and (prefix_words[-1] in _POP_PLURALS or prefix_words[-1] in _POSSESSIVE_OTHER):
            continue
        add(m, _value(m, st), True, g if g in _GENDERED_NOUNS else None, True)

    for m in _RE_NUM_MF.finditer(text):
        if not m.group("sep").strip() and not _RE_NUM_MF_FOLLOW.match(text, m.end()):
            continue
        around = text[max(0, m.start() - 8) : m.start()] + " " + text[m.end() : m.end() + 8]
        if re.search(r"\b[0-9]{1,3}[A-Z]\b", around):
            continue  # a list of labels: "(1M, 2M)"
        add(m, _parse_num(m.group("n")), True, "male" if m.group("g") == "M" else "female", True)

    for m in _RE_MF_NUM.finditer(text):
        add(m, _parse_num(m.group("n")), True, "male" if m.group("g") == "M" else "female", True)

    for m in _RE_DECADE.finditer(text):
        if m.group("teen"):
            continue
        d = float(m.group("d")) if m.group("d") else float(_DECADE_W[m.group("w").lower()])
        q = (m.group("q") or "").lower()
        off = {"early": st.decade_early_offset, "mid": st.decade_mid_offset, "late": st.decade_late_offset}.get(
            q, st.decade_offset
        )
        prev = _words(text[max(0, m.start() - 30) : m.start()])
        if prev and prev[-1] in _POP_PLURALS:
            continue
        add(m, d + off, True, None, True)
    # overlapping matches of different patterns ("1 year and 3 months old boy"): keep the longest
    kept: list[_Age] = []
    for c in sorted(out, key=lambda c: (-(c.end - c.start), c.start)):
        if all(c.end <= k.start or c.start >= k.end for k in kept):
            kept.append(c)
        elif c.patient_noun:
            kept = [
                _Age(k.value, k.start, k.end, k.strong, k.span, k.patient_noun or c.patient_noun, k.intro or c.intro)
                if not (c.end <= k.start or c.start >= k.end)
                else k
                for k in kept
            ]
    return sorted(kept, key=lambda c: c.start)


# ---------------------------------------------------------------------------------------------------------
# gender
# ---------------------------------------------------------------------------------------------------------

_RE_GENDER_NOUN = re.compile(
    r"\b(?P<w>man|woman|gentleman|lady|boy|girl|male|female|schoolboy|schoolgirl)\b(?!'s\s+(?:disease|syndrome))",
    _F,
)
_RE_MY_RELATIVE = re.compile(
    r"\b(?:my|our)\s+(?:[\w'.-]+\s+){0,3}?(?P<w>"
    + "|".join(sorted(_RELATIVES, key=len, reverse=True))
    + r")\b",
    _F,
)
_RE_ANIMAL_MARKERS = re.compile(
    r"(?:\bsp\.\s*n\.|\bspp?\.|\b(?:holotype|paratype|allotype|mice|mouse|rats?|rabbits?|dogs?|cats?|"
    r"horses?|mares?|colts?|fill(?:y|ies)|foals?|cows?|cattle|bulls?|pigs?|piglets?|sheep|goats?|monkeys?|"
    r"macaques?|zebrafish|tadpoles?|chickens?|chicks?|birds?|animals?|agar|in\s+vitro|seedlings?|species|genus|"
    r"sternites?|tergites?|propodeum|palps?|spicules?|idiosoma|elytra|antennae|moths?|eels?|seals?|dolphins?|"
    r"whales?|frogs?|lizards?|snakes?|spiders?|beetles?|wasps?|butterfl(?:y|ies)|nematodes?|murine|"
    r"caterpillars?|embryonic\s+stem|"
    r"colon(?:y|ies)|cultures?|strains?)\b)",
    _F,
)
_RE_BINOMIAL_BEFORE = re.compile(
    r"\b[A-Z][a-z]{3,}\s+(?:cf\.\s+)?[a-z]{3,}(?:a|ae|i|ii|us|is|um|orum|ensis|oides|es)\s*,?\s*$"
    r"|\b(?:n\.|nov\.|sp\.|spp\.|species|genus)\s*,?\s*$"
)
_RE_BINOMIAL_AFTER = re.compile(r"\s+(?:[A-Z][a-z]{3,}|[A-Z]\.)\s+[a-z]{3,}(?:a|ae|i|ii|us|is|um|es|ata|ina)\b")
_MF_CONTINUATIONS = frozenset(
    """with in aged age who whose presenting presented patient was is had has of from at on complaining
    suffering showing underwent undergoing infant child adolescent adult newborn neonate baby""".split()
)
_MF_BODY = frozenset(
    "genitalia genital genitals breast breasts scalp face chest perineum pelvis urethra external".split()
)
# a person's name: "Margaret Thatcher", "Duchenne de Boulogne", "Sir Benjamin William Rycroft"
_RE_PERSON_NAME = re.compile(
    r"(?<!\bthe )(?<!\bThe )\b(?P<a>[A-Z][a-z]{2,})\s+(?:(?:de|van|von|da|di|le|la|del|der)\s+)?(?P<b>[A-Z][a-z]{2,})\b"
)
_RE_LIFESPAN = re.compile(r"\(\s*(?:c\.\s*|b\.\s*)?1[5-9][0-9]{2}\s*[-–]\s*(?:1[5-9]|20)[0-9]{2}\s*\)")
_RE_MULTI = re.compile(
    r"\b(?:two|three|four|five|several|multiple|both|[2-9])\s+(?:different\s+|separate\s+|unrelated\s+)?"
    r"(?:cases|patients|siblings|twins)\b",
    _F,
)
_RE_CASE_NO = re.compile(r"\b(?:case|patient)\s*(?:no\.?\s*)?(?P<k>[0-9]{1,2})\b", _F)


def _is_sentence_initial(text: str, pos: int, starts: list[int]) -> bool:
    before = text[:pos].rstrip(" \"'(")
    return not before or pos in starts or before.endswith(("\n", ".", "!", "?", ":", ";"))


def _gender_nouns(text: str, starts: list[int], nonhuman: bool) -> list[_Mention]:
    out: list[_Mention] = []
    for m in _RE_GENDER_NOUN.finditer(text):
        w = m.group("w").lower()
        g = _GENDERED_NOUNS[w]
        after = text[m.end() : m.end() + 40]
        before = text[max(0, m.start() - 40) : m.start()]
        nxt = _next_words(text, m.end(), 2)
        prev = _words(before)
        if text[m.start() - 1 : m.start()] in ("-", "/", "_") or text[m.end() : m.end() + 1] in ("-", "/", "_"):
            if not re.match(r"-(?:year|month|week|day)", after, _F):
                continue
        if re.match(r"[\s-]*(?:made|kind|power|hours?|days?|years?|to[\s-]+(?:man|male|female|woman))\b", after, _F):
            continue
        if w in ("male", "female"):
            if re.match(
                r"[\s-]*(?:pattern|predominance|preponderance|ratio|to[\s-]*(?:male|female)|sex\b|hormones?|"
                r"partners?|gender|genitalia\s+of|infertility\s+in|:|/|and\s+(?:fe)?males?|or\s+(?:fe)?males?|"
                r"members)",
                after,
                _F,
            ):
                continue
            if re.search(
                r"(?:\b(?:male|female)\s*(?:and|or|/|:|,)|\bfemale-to-|\beither|\bboth|\bhuman)\s*$", before, _F
            ):
                continue
            if nxt and nxt[0] in _POP_PLURALS:
                continue
            nxt3 = _next_words(text, m.end(), 3)
            human_follows = any(x in _HUMAN_NOUNS for x in nxt3[:3]) and not any(
                x in _POP_PLURALS or x in _NONHUMAN_AFTER_AGE for x in nxt3[:3]
            )
            if nonhuman and not human_follows:
                continue
            # a Latin binomial around it: "Megaselia parnassia female", "female Philanthus barbiger"
            if _RE_BINOMIAL_BEFORE.search(before) or _RE_BINOMIAL_AFTER.match(after):
                continue
            if not human_follows:
                direct = re.match(r"[\s-]*([^\W\d_]+)", after)
                follower = direct.group(1).lower() if direct and re.match(r"[ \t-]", after or "x") else None
                if follower is not None and follower not in _MF_CONTINUATIONS and follower not in _MF_BODY:
                    continue  # an adjective of something else: "female taper junction", "male phantom"
        else:
            # title case inside a sentence ("Expression of the Emotions in Man and Animals")
            if m.group("w")[0].isupper() and not _is_sentence_initial(text, m.start(), starts):
                prev_char = text[: m.start()].rstrip()[-1:]
                if prev_char.isalpha():
                    continue
            # generic "in man", "of man" (no determiner)
            if prev and prev[-1] in ("in", "of", "to", "for", "by", "between", "form", "from", "than", "any", "every",
                                     "no") and w in ("man", "woman"):
                continue
            # "a man and a woman" handled by the caller (conflict -> None)
        if prev and prev[-1] in _POSSESSIVE_OTHER and w in ("boy", "girl"):
            continue  # "her boy" (her son): a relative
        out.append(_Mention(g, m.start(), m.end(), m.group(0)))
    for m in _RE_MY_RELATIVE.finditer(text):
        w = m.group("w").lower()
        # "My father also has some" / "My mother said I've had this": the writer is the patient
        if _RE_RELATIVE_NOT_PATIENT.match(text, m.end()):
            continue
        if w in _GENDERED_NOUNS:
            out.append(_Mention(_GENDERED_NOUNS[w], m.start(), m.end(), m.group(0)))
    for m in _RE_SEX_FIELD.finditer(text):
        g = m.group("g").lower()
        out.append(_Mention("male" if g in ("m", "male") else "female", m.start(), m.end(), m.group(0)))
    return out


def _pronoun_mentions(text: str, starts: list[int]) -> list[_Mention]:
    if _RE_LIFESPAN.search(text):
        return []  # a biography/portrait caption: "Jacob Erdheim (1874-1934). After his education ..."
    toks = [(m.start(), m.end(), m.group(0)) for m in _RE_WORD.finditer(text)]
    low = [t[2].lower() for t in toks]
    sent_of: list[int] = []
    si = 0
    for s, _, _ in toks:
        while si + 1 < len(starts) and starts[si + 1] <= s:
            si += 1
        sent_of.append(si)
    decisions: dict[int, bool] = {}
    out: list[_Mention] = []
    for i, w in enumerate(low):
        if w not in _PRON_M and w not in _PRON_F:
            continue
        g = "male" if w in _PRON_M else "female"
        tok_i = toks[i][2]
        if tok_i.isupper() and len(tok_i) > 1 and not text.isupper():
            continue  # "HE stain"
        if re.match(r"[0-9]", text[toks[i][1] : toks[i][1] + 1]):
            continue  # "His25" (histidine)
        # generic "he or she", "his/her", "s/he"
        around = text[max(0, toks[i][0] - 10) : toks[i][1] + 10].lower()
        if re.search(r"(?:\b(?:he|she|his|her|him)\s*(?:/|\bor\b)\s*(?:he|she|his|her|him)\b|s/he)", around):
            decisions[i] = False
            continue
        decision = True
        name_near = False
        for j in range(i - 1, max(-1, i - 40), -1):
            wj = low[j]
            if wj in _PRON_M or wj in _PRON_F:
                if (wj in _PRON_M) == (g == "male"):
                    decision = decisions.get(j, True)
                    break
                continue
            if wj in _RELATIVES:
                gj = _GENDERED_NOUNS.get(wj)
                if gj is not None and gj != g:
                    continue
                prevw = low[j - 1] if j > 0 else ""
                decision = prevw in ("my", "our")
                break
            if wj in _CLINICIANS:
                decision = False
                break
            if wj in _PATIENT_NOUNS:
                gj = _GENDERED_NOUNS.get(wj)
                if gj is not None and gj != g:
                    continue
                decision = True
                break
            tok = toks[j][2]
            if (
                i - j <= 6
                and sent_of[j] == sent_of[i]
                and tok[:1].isupper()
                and tok[1:].islower()
                and len(tok) >= 3
                and wj not in _NOT_NAMES
                and j + 1 < len(low)
                and low[j + 1] in _NAME_FOLLOWERS
            ):
                name_near = True
                break
        if name_near:
            after = [x for x in low[i + 1 : i + 4]]
            decision = any(x in _BODY_WORDS for x in after)
        decisions[i] = decision
        if decision:
            out.append(_Mention(g, toks[i][0], toks[i][1], toks[i][2]))
    return out


# ---------------------------------------------------------------------------------------------------------
# age-group words
# ---------------------------------------------------------------------------------------------------------

_RE_GROUP_WORD = re.compile(
    r"\b(?P<w>infant|baby|newborn|new-born|neonate|toddler|child|kid|preschooler|schoolchild|schoolboy|"
    r"schoolgirl|adolescent|teenager|teenage|teen|boy|girl|middle[\s-]aged|young\s+adult|adult)\b(?!-)",
    _F,
)
_RE_OLDER = re.compile(
    r"\b(?P<w>elderly|older|old|aged|geriatric)\s+"
    r"(?:(?!(?:is|was|are|were|the|a|an|of|and|or|with|than|to|in)\b)[a-z-]+\s+){0,2}?"
    r"(?P<n>man|woman|patient|person|lady|gentleman|male|female|individual|farmer)\b",
    _F,
)
_GROUP_OF = {
    "infant": "infant", "baby": "infant", "newborn": "infant", "new-born": "infant", "neonate": "infant",
    "toddler": "child", "child": "child", "kid": "child", "preschooler": "child", "schoolchild": "child",
    "schoolboy": "child", "schoolgirl": "child", "boy": "child", "girl": "child",
    "adolescent": "adolescent", "teenager": "adolescent", "teenage": "adolescent", "teen": "adolescent",
    "adult": "adult", "young adult": "adult", "middle-aged": "adult", "middle aged": "adult",
}  # fmt: skip
_GROUP_WORDS_ALL = (
    r"(?:infants?|bab(?:y|ies)|newborns?|neonates?|toddlers?|child(?:ren)?|kids?|adolescents?|teen(?:ager)?s?|adults?)"
)
_NOT_GROUP_AFTER = re.compile(
    r"[\s-]*(?:death|mortality|formula|botulism|oil|powder|shampoo|wipes?|food|bottle|teeth|tooth|care|period|"
    r"stage|abuse\s+prevention|protection|health|hood|t[\s-]?cell|onset|form|type|variant|population|"
    r"dentition|size|sizes|patients|women|men|males|females|respiratory\s+distress|acne|seborrh|"
    r"skin\s+(?:care|cream|lotion|oil|products?|[a-z]+ing\b)|"
    r"soap|cream|ointment|lotion|feeding|tube|car\s+seat|clothes|bath|wash|products?|carrier)",
    _F,
)


def _group_mentions(text: str, st: DemographicsSettings) -> list[_Mention]:
    out: list[_Mention] = []
    animals = bool(_RE_ANIMAL_MARKERS.search(text))
    for m in _RE_GROUP_WORD.finditer(text):
        w = re.sub(r"\s+", " ", m.group("w").lower())
        if w.startswith("middle"):
            w = "middle-aged" if "-" in w else "middle aged"
        group = _GROUP_OF.get(w)
        if group is None:
            continue
        if w in ("boy", "girl") and not st.boy_girl_child_group:
            continue
        before = text[max(0, m.start() - 50) : m.start()]
        after = text[m.end() : m.end() + 40]
        prev = _words(before)
        # coordination: "the infant and young child are ...", "child or adolescent"
        if re.match(rf"\s*(?:,|and|or|/)\s*(?:\w+\s+)?{_GROUP_WORDS_ALL}\b", after, _F) or re.search(
            rf"\b{_GROUP_WORDS_ALL}\s*(?:,|and|or|/)\s*(?:\w+\s+)?$", before, _F
        ):
            continue
        if _NOT_GROUP_AFTER.match(after):
            continue
        # generic "of the newborn", "in the adult"
        if re.search(r"\b(?:of|in|for)\s+the\s*$", before, _F) and group in ("infant", "adult"):
            continue
        # past life stage / someone else's child: "since she was a child", "after having a child"
        if re.search(
            r"\b(?:was|were|been|being|as|having|have|had|has|bear|bore|birth\s+to|deliver(?:ed)?|pregnant\s+with|"
            r"expecting|raising|like|than)\s+(?:a|an)?\s*(?:young\s+|small\s+|little\s+)?$",
            before,
            _F,
        ):
            continue
        if prev and prev[-1] in _POSSESSIVE_OTHER:
            continue  # "her child", "his baby": a relative
        if w == "adult":
            # only "an adult", "a female adult" or "adult man/woman/patient"
            nxt = _next_words(text, m.end(), 1)
            nxt_ok = not nxt or nxt[0] in _HUMAN_NOUNS or nxt[0] in _SUFFIX_STOP
            if not (
                (nxt and nxt[0] in _HUMAN_NOUNS)
                or (re.search(r"\b(?:an|male|female|man|woman)\s*$", before, _F) and nxt_ok)
            ):
                continue
        if animals and not _has_patient_word(text):
            continue  # "an adult murine ...", "neonate caterpillars"
        if m.group("w")[0].isupper() and text[: m.start()].rstrip()[-1:].isalpha():
            continue  # title case inside a sentence: "the Diet Bytes and Baby Bumps study"
        if _RE_BINOMIAL_AFTER.match(after):
            continue  # "neonate Cactoblastis cactorum caterpillars"
        if w in ("teen", "teenage", "adolescent", "middle-aged", "middle aged", "young adult"):
            nxt = _next_words(text, m.end(), 1)
            if nxt and nxt[0] in _POP_PLURALS:
                continue
        out.append(_Mention(group, m.start(), m.end(), m.group(0)))
    for m in _RE_OLDER.finditer(text):
        w = m.group("w").lower()
        before = text[max(0, m.start() - 12) : m.start()]
        if w == "old" and re.search(r"(?:year|month|week|day|yr|y|-)\s*-?\s*$", before, _F):
            continue  # "45-year-old man"
        if w == "aged" and re.search(r"[0-9]", text[m.end() : m.end() + 4]):
            continue
        out.append(_Mention("older_adult", m.start(), m.end(), m.group(0)))
    for m in _RE_DECADE.finditer(text):
        if m.group("teen"):
            out.append(_Mention("adolescent", m.start(), m.end(), m.group(0)))
    return sorted(out, key=lambda x: x.start)


# ---------------------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    demographics: Demographics
    names_patient: bool  # an age, an age-group word or a gendered noun named the patient


def _distinct(values: list[float], tol: float = 0.5) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or abs(v - out[-1]) >= tol:
            out.append(v)
    return out


def _has_patient_word(text: str) -> bool:
    return bool(re.search(r"\b(?:patient|pt|outpatient|inpatient)\b", text, _F) or _RE_MY_RELATIVE.search(text))


def _has_person_name(text: str) -> bool:
    for m in _RE_PERSON_NAME.finditer(text):
        if m.group("a").lower() in _NOT_NAMES or m.group("b").lower() in _NOT_NAMES:
            continue
        if re.search(r"(?:\bDr\.?|\bProf\.?|[Cc]ourtesy(?:\s+of)?|[Cc]redit:?|\bby)\s*$", text[: m.start()]):
            continue
        return True
    return False


def _mine(text: str, st: DemographicsSettings) -> _Result:
    if not st.enabled or not text or not text.strip():
        return _Result(Demographics(), False)
    t = _normalise(text)
    starts = _sentence_starts(t)
    evidence: list[str] = []

    # --- ages
    cands = _age_candidates(t, st)
    strong = [c for c in cands if c.strong]
    chosen_pool = strong or cands
    intro = [c for c in chosen_pool if c.intro]
    case_numbers = {m.group("k") for m in _RE_CASE_NO.finditer(t)}
    multi = bool(_RE_MULTI.search(t)) or len(case_numbers) >= 2 or len(_distinct([c.value for c in intro])) >= 2
    age: float | None = None
    group: str | None = None
    if not strong and len(_distinct([c.value for c in cands])) >= 2:
        chosen_pool = []  # only event ages ("at age 8 ... at 16 years of age"): the current age is unknown
    if chosen_pool:
        if not multi:
            first = min(intro or chosen_pool, key=lambda c: c.start)
            age = round(first.value, st.age_decimals)
            group = age_group_for(first.value)
            evidence.append(first.span)
        else:
            groups = {age_group_for(c.value) for c in (intro or chosen_pool)}
            if len(groups) == 1:
                group = groups.pop()
            evidence.extend(c.span for c in sorted(intro or chosen_pool, key=lambda c: c.start))

    # --- age group from words
    group_mentions = _group_mentions(t, st)
    newborn = [g for g in group_mentions if g.span.lower().replace("-", "") in ("newborn", "neonate")]
    if group is None and not multi and chosen_pool == [] and group_mentions:
        gm = group_mentions[0]
        group = gm.value
        evidence.append(gm.span)
        if newborn and gm is newborn[0] and st.newborn_age is not None:
            age = round(min(st.newborn_age, st.max_age), st.age_decimals)
            group = age_group_for(age)
    elif group is None and group_mentions and multi:
        gs = {g.value for g in group_mentions}
        if len(gs) == 1 and not chosen_pool:
            group = gs.pop()
            evidence.append(group_mentions[0].span)

    # --- gender
    nonhuman = bool(_RE_ANIMAL_MARKERS.search(t))
    nouns = _gender_nouns(t, starts, nonhuman)
    for c in cands:  # "45M", "F, 33", "62-year-old sister"
        if c.patient_noun in ("male", "female") and c.span[:1] in "0123456789MF":
            nouns.append(_Mention(c.patient_noun, c.start, c.end, c.span))
        elif c.patient_noun in _RELATIVES and c.patient_noun in _GENDERED_NOUNS:
            nouns.append(_Mention(_GENDERED_NOUNS[c.patient_noun], c.start, c.end, c.span))
    nouns.sort(key=lambda x: x.start)
    pronouns = _pronoun_mentions(t, starts) if st.pronouns else []
    if pronouns and not (cands or nouns or group_mentions or _has_patient_word(t)):
        # no patient in the text, but a named person or an animal: the pronouns are about them
        if nonhuman or _has_person_name(t):
            pronouns = []
    gender: str | None = None
    noun_genders = {n.value for n in nouns}
    if len(noun_genders) == 1:
        gender = next(iter(noun_genders))
        if multi and pronouns and {p.value for p in pronouns} != noun_genders:
            gender = None
        if gender:
            evidence.append(next(n.span for n in nouns if n.value == gender))
    elif not noun_genders and pronouns:
        males = [p for p in pronouns if p.value == "male"]
        females = [p for p in pronouns if p.value == "female"]
        if males and not females:
            gender = "male"
        elif females and not males:
            gender = "female"
        elif not multi:
            big, small = (males, females) if len(males) > len(females) else (females, males)
            if len(big) >= 3 * len(small) and len(big) >= 3:
                gender = big[0].value
        if gender:
            evidence.append(next(p.span for p in pronouns if p.value == gender))
    names_patient = bool(chosen_pool or group_mentions or nouns)
    ev = list(dict.fromkeys(e for e in evidence if e))
    try:
        return _Result(Demographics(age=age, age_group=group, gender=gender, evidence=ev), names_patient)
    except ValueError:  # pragma: no cover - guarded above; never let a bad value escape
        return _Result(Demographics(evidence=ev), names_patient)


def mine_demographics(text: str, settings: DemographicsSettings | None = None) -> Demographics:
    """The one depicted patient's age (years), age group and gender mined from ``text``, with evidence spans.

    Never raises on text; returns empty demographics when nothing names the patient. When the text
    describes several patients, the age is None and gender/group are kept only when all agree.
    """
    st = settings or _DEFAULT_SETTINGS
    try:
        return _mine(text if isinstance(text, str) else str(text or ""), st).demographics
    except Exception:  # noqa: BLE001 - a miner must never stop the pipeline on odd text
        return Demographics()


def _panel_result(sub: str, whole: Demographics, st: DemographicsSettings) -> Demographics:
    try:
        res = _mine(sub or "", st)
    except Exception:  # noqa: BLE001
        res = _Result(Demographics(), False)
    if res.names_patient:
        return res.demographics
    if whole.gender is None and res.demographics.gender is not None:
        return whole.model_copy(
            update={
                "gender": res.demographics.gender,
                "evidence": list(dict.fromkeys([*whole.evidence, *res.demographics.evidence])),
            }
        )
    return whole


def mine_demographics_per_panel(
    subcaption_by_panel: dict[str, str], caption: str, settings: DemographicsSettings | None = None
) -> dict[str, Demographics]:
    """Demographics of each panel from its own subcaption; a panel whose text names no patient (no age,
    no age-group word, no gendered noun) gets the whole caption's result, keeping a pronoun-only gender of
    the panel when the whole caption has none."""
    st = settings or _DEFAULT_SETTINGS
    whole = mine_demographics(caption or "", st)
    return {panel: _panel_result(sub, whole, st) for panel, sub in subcaption_by_panel.items()}


def annotate(items: list[Item], settings: DemographicsSettings | None = None) -> tuple[list[Item], StageReport]:
    """The demographics stage: fills ``age``, ``age_group``, ``gender`` and ``demographics_evidence`` of each
    record from its subcaption (a panel's own words), falling back to the whole caption when the subcaption
    names no patient (as :func:`mine_demographics_per_panel`). Never drops a record; the report counts
    records with an age (``age``), a gender (``gender``) and none at all (``no_demographics``)."""
    st = settings or _DEFAULT_SETTINGS
    report = StageReport(stage="demographics")
    whole_cache: dict[str, Demographics] = {}
    out: list[Item] = []
    for it in items:
        rec = it.record.model_copy(deep=True)
        report.seen += 1
        caption = rec.caption or ""
        if caption not in whole_cache:
            whole_cache[caption] = mine_demographics(caption, st)
        d = _panel_result(rec.subcaption, whole_cache[caption], st) if rec.subcaption else whole_cache[caption]
        rec.age, rec.age_group, rec.gender = d.age, d.age_group, d.gender
        rec.demographics_evidence = list(d.evidence)
        if d.age is not None:
            report.drop("age")
        if d.gender is not None:
            report.drop("gender")
        if d.age is None and d.age_group is None and d.gender is None:
            report.drop("no_demographics")
        report.kept += rec.kept
        out.append(Item(record=rec, png=it.png))
    return out, report
