"""Post-filters for generated question/answer pairs, used by both generators. Each rejected pair gets a reason.

Checks, in this order (the first that fires is the pair's reason):

``empty``               question or answer is blank
``leak_phrase``         question or answer refers to the source instead of the image: "figure"/"fig."/"caption"/
                        "legend"/"text"/"described"/"mentioned"/"according to", a panel marker "(a)", a figure
                        or plate number, or the record's own figure label
``medical_advice``      the answer advises ("should", "recommend", "consult", "prescribe", "apply", ...)
``image_independent``   the question can be answered without the image: general knowledge (cause, treatment,
                        prognosis, definition, epidemiology, ...), or no reference to the image or what it shows
                        (see ``IMAGE_CUES``), or the answer's content words all occur in the question already
``ungrounded``          the answer's content words are not supported by the source (the grounding rule below)
``duplicate_question``  same content words as an earlier question of the record

Grounding rule (``grounded_share``): tokenise the answer into words (letters/digits; hyphens and punctuation split),
lower-case, drop English stop words (``STOPWORDS``) and the few framing words an answer about an image needs
("image", "shows", "visible", "patient", "lesion", ... ``FRAMING``), stem what is left with ``stem`` (spelling
normalised: ae/oe -> e, colour -> color, grey -> gray; one suffix stripped: plural, -ed, -ing, -ous, -ic, -al,
-ar, -ly, ...). A content word is supported when its stem is a stem of the source (``source.source_text``: the
caption text of the image plus its modality and patient phrases). The share of supported content words must be
at least ``min_share`` (``vqa.grounding_min_share``, default 1.0: every content word).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from schemas import VQAPair

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each either few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just may me might more most much must my
myself no nor not of off on once only or other our ours out over own per same she so some such than that the
their theirs them themselves then there these they this those through to too under until up upon very via was
we were what when where whether which while who whom whose why will with within without would yes you your
one ones another kind type sort several many various
""".split())

FRAMING = frozenset("""
image images picture pictures photo view show shows shown showing depict depicts depicted depicting see seen
visible visualised visualized present presents presence appear appears appearing appearance look looks
observe observed observable demonstrate demonstrates demonstrated reveal reveals revealed display displays
displayed evident noted note patient patients person individual lesion lesions finding findings area areas
region regions located location site involved involving feature features characterised characterized
""".split())

# a question must point at the image or at something only the image settles
IMAGE_CUES = frozenset("""
image picture photo photograph micrograph view shown show shows seen see visible depicted depict appear
appearance look looks this these here lesion lesions patient located location where site colour color colours
colors pattern structures structure features feature morphology stain stained staining magnification diagnosis
diagnostic condition finding findings observed present type modality surface border borders edge distribution
arrangement shape size age old gender sex histological histology dermoscopic dermoscopy clinical
""".split())

_GENERAL = re.compile(
    r"\b(?:caus(?:e|es|ed|ing)|etiolog\w*|aetiolog\w*|treat\w*|therap\w*|manag\w*|prognos\w*|prevent\w*|"
    r"risk factors?|pathogenesis|mechanism|incidence|prevalence|epidemiolog\w*|define|definition|what is meant|"
    r"how common|inherit\w*|complications?|cure\w*|drugs?|medications?|dose\w*)\b",
    re.I,
)
_LEAK = re.compile(
    r"\b(?:figures?|figs?|captions?|legends?|texts?|described|descriptions?|mentioned|according to|as stated|"
    r"plate\s+\d+|panel\s+[a-h])\b|\(\s*[a-hA-H]\s*\)",
    re.I,
)
_ADVICE = re.compile(
    r"\b(?:should|recommend\w*|advis\w*|consult\w*|prescrib\w*|apply|applying|take|taking|avoid|seek)\b", re.I
)
_WORD = re.compile(r"[a-z0-9]+")
_IRREGULAR = {"shown": "show", "seen": "see", "found": "find", "taken": "take", "given": "give", "grown": "grow",
              "men": "man", "women": "woman", "children": "child", "feet": "foot", "teeth": "tooth"}
_SUFFIXES = (
    "ational", "ations", "ation", "ously", "ness", "ments", "ment", "ingly", "ings", "ing", "edly", "ies", "ied",
    "ous", "ed", "es", "al", "ar", "ic", "ly", "s", "y", "e",
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, deterministic English stemmer (a few irregular forms mapped, spelling normalised, one suffix
    stripped, a doubled final consonant undone). 'papules'/'papular'/'papule' -> 'papul'; 'crusted'/'crusting' -> 'crust'."""
    w = _IRREGULAR.get(word.lower(), word.lower())
    w = w.replace("ae", "e").replace("oe", "e").replace("colour", "color").replace("grey", "gray")
    if len(w) <= 3 or w.isdigit():
        return w
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            w = w[: -len(suf)]
            break
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiouslz":
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_stems(text: str, framing: bool = True) -> list[str]:
    """Stems of the content words of ``text`` (stop words dropped; framing words too unless ``framing=False``)."""
    drop = STOPWORDS | FRAMING if framing else STOPWORDS
    return [stem(w) for w in words(text) if w not in drop]


def source_stems(source: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words(source))


def grounded_share(answer: str, source: str | frozenset[str]) -> float:
    """Share of the answer's content words whose stem occurs in the source (1.0 when it has none)."""
    stems = source if isinstance(source, frozenset) else source_stems(source)
    cw = content_stems(answer)
    return 1.0 if not cw else sum(s in stems for s in cw) / len(cw)


def unsupported_words(answer: str, source: str | frozenset[str]) -> list[str]:
    stems = source if isinstance(source, frozenset) else source_stems(source)
    drop = STOPWORDS | FRAMING
    return [w for w in words(answer) if w not in drop and stem(w) not in stems]


def check_pair(
    pair: VQAPair, source: str | frozenset[str], min_share: float = 1.0, figure_label: str | None = None
) -> str | None:
    """The reason this pair is rejected, or None when it passes (duplicates are checked by ``filter_pairs``)."""
    q, a = pair.question.strip(), pair.answer.strip()
    if not q or not a:
        return "empty"
    both = f"{q}\n{a}"
    if _LEAK.search(both):
        return "leak_phrase"
    if figure_label:
        num = re.sub(r"^\D+", "", figure_label).strip(" .:")
        if num and re.search(rf"(?<![\w.]){re.escape(num)}(?![\w])", both) and "." in num:
            return "leak_phrase"
    if _ADVICE.search(a):
        return "medical_advice"
    q_words = set(words(q))
    if _GENERAL.search(q) or not (q_words & IMAGE_CUES):
        return "image_independent"
    a_content = set(content_stems(a))
    if a_content and a_content <= set(content_stems(q, framing=False)):
        return "image_independent"
    if grounded_share(a, source) < min_share:
        return "ungrounded"
    return None


def question_key(question: str) -> tuple[str, ...]:
    return tuple(sorted(set(content_stems(question, framing=False))))


def filter_pairs(
    pairs: Iterable[VQAPair], source: str, min_share: float = 1.0, figure_label: str | None = None
) -> tuple[list[VQAPair], list[tuple[VQAPair, str]]]:
    """(kept pairs, [(rejected pair, reason)]) in input order."""
    stems = source_stems(source)
    kept: list[VQAPair] = []
    rejected: list[tuple[VQAPair, str]] = []
    seen: set[tuple[str, ...]] = set()
    for p in pairs:
        reason = check_pair(p, stems, min_share, figure_label)
        if reason is None:
            key = question_key(p.question)
            if key in seen:
                reason = "duplicate_question"
            else:
                seen.add(key)
        if reason is None:
            kept.append(p)
        else:
            rejected.append((p, reason))
    return kept, rejected
