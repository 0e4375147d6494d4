"""Open-ended VQA scores, two ways, all in percent.

``mmskin-compat`` reproduces MM-Skin's VQA_test.py: BLEU-1..4 as nltk's ``corpus_bleu`` computes them on
whitespace tokens, unsmoothed, with the cumulative weights (1,0,0,0), (.5,.5,0,0), (.33,.33,.33,0),
(.25,.25,.25,.25); ROUGE-L as the F of the ``rouge`` package (``Rouge().get_scores(hyps, refs, avg=True)``:
summary-level union LCS over '.'-split sentences, distinct words), averaged over pairs. Case and punctuation
count ("Psoriasis." and "psoriasis" differ).

``normalized`` is the sound protocol: text lower-cased, accents folded and every character that is not a-z or
0-9 made a space; BLEU-1..4 as sacrebleu computes corpus BLEU (uniform weights over orders 1..n, exponential
smoothing of zero counts) and ROUGE-L F as rouge-score computes it (plain LCS, no stemming), averaged over pairs.

Both also report token recall: the mean share of a reference's distinct tokens found in the prediction.

The implementations are our own (plain Python, no package state); tests check them against nltk, ``rouge``,
sacrebleu and rouge-score to 1e-6.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections import Counter
from typing import Iterable, Sequence

COMPAT_BLEU_WEIGHTS: tuple[tuple[float, ...], ...] = (
    (1.0, 0.0, 0.0, 0.0), (0.5, 0.5, 0.0, 0.0), (0.33, 0.33, 0.33, 0.0), (0.25, 0.25, 0.25, 0.25),
)
METRICS = ("bleu1", "bleu2", "bleu3", "bleu4", "rougeL", "token_recall")
SCHEMES = ("mmskin-compat", "normalized")
_NLTK_ZERO = sys.float_info.min  # nltk's unsmoothed stand-in for a zero n-gram precision
_SACREBLEU_LOG_ZERO = -9999999999  # sacrebleu's log of a zero precision
_ROUGE_EPS = 1e-8  # the `rouge` package's F denominator guard


# ---- tokens ---------------------------------------------------------------------------------------------------

def compat_tokens(text: str) -> list[str]:
    return text.split()


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """Lower case, accents folded (é -> e), every run of other characters one space."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", folded.lower()).strip()


def normalized_tokens(text: str) -> list[str]:
    return normalize(text).split()


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _lcs_table(a: Sequence[str], b: Sequence[str]) -> list[list[int]]:
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        ai, row, prev = a[i - 1], t[i], t[i - 1]
        for j in range(1, len(b) + 1):
            row[j] = prev[j - 1] + 1 if ai == b[j - 1] else (prev[j] if prev[j] >= row[j - 1] else row[j - 1])
    return t


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    return _lcs_table(a, b)[-1][-1] if a and b else 0


# ---- mmskin-compat --------------------------------------------------------------------------------------------

def compat_bleu(refs: Sequence[str], preds: Sequence[str],
                weights: Sequence[Sequence[float]] = COMPAT_BLEU_WEIGHTS) -> list[float]:
    """nltk corpus_bleu (one reference per prediction, no smoothing) for each weight vector; in [0, 1]."""
    max_n = max(len(w) for w in weights)
    num, den = [0] * (max_n + 1), [0] * (max_n + 1)
    hyp_len = ref_len = 0
    for ref, pred in zip(refs, preds, strict=True):
        r, h = compat_tokens(ref), compat_tokens(pred)
        for n in range(1, max_n + 1):
            hc = _ngrams(h, n) if len(h) >= n else Counter()
            rc = _ngrams(r, n) if len(r) >= n else Counter()
            num[n] += sum(min(c, rc[g]) for g, c in hc.items())
            den[n] += max(1, sum(hc.values()))
        hyp_len += len(h)
        ref_len += len(r)
    if num[1] == 0:
        return [0.0 for _ in weights]
    bp = 1.0 if hyp_len > ref_len else (0.0 if hyp_len == 0 else math.exp(1 - ref_len / hyp_len))
    p = [num[n] / den[n] if num[n] else _NLTK_ZERO for n in range(1, max_n + 1)]
    return [bp * math.exp(math.fsum(w * math.log(pi) for w, pi in zip(wv, p))) for wv in weights]


def _rouge_sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in text.split(".") if len(s) > 0]


def _lcs_words(a: list[str], b: list[str]) -> list[str]:
    """The words of the LCS the `rouge` package reconstructs (its backtracking order)."""
    t = _lcs_table(a, b)
    i, j, out = len(a), len(b), []
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            i, j = i - 1, j - 1
        elif t[i - 1][j] > t[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return out


def compat_rouge_l_pair(ref: str, pred: str) -> float:
    """ROUGE-L F of one pair as ``rouge.Rouge`` computes it; 0 where the package raises (an empty prediction)."""
    hyp_s, ref_s = _rouge_sentences(pred), _rouge_sentences(ref)
    if not hyp_s or not ref_s:
        return 0.0
    hyp_words = [s.split(" ") for s in hyp_s]
    m = len({w for s in ref_s for w in s.split(" ")})
    n = len({w for s in hyp_words for w in s})
    union: set[str] = set()
    for rs in ref_s:
        rw = rs.split(" ")
        for hw in hyp_words:
            union.update(_lcs_words(rw, hw))
    r, p = len(union) / m, len(union) / n
    return 2.0 * (p * r) / (p + r + _ROUGE_EPS)


# ---- normalized -----------------------------------------------------------------------------------------------

def sacrebleu_bleu(refs: Sequence[str], preds: Sequence[str], max_order: int = 4) -> list[float]:
    """Corpus BLEU-1..max_order as sacrebleu computes it (exp smoothing) on the normalized texts; in [0, 1]."""
    correct, total = [0] * max_order, [0] * max_order
    sys_len = ref_len = 0
    for ref, pred in zip(refs, preds, strict=True):
        r, h = normalized_tokens(ref), normalized_tokens(pred)
        sys_len += len(h)
        ref_len += len(r)
        for k in range(max_order):
            hc, rc = _ngrams(h, k + 1), _ngrams(r, k + 1)
            correct[k] += sum(min(c, rc[g]) for g, c in hc.items())
            total[k] += max(0, len(h) - k)
    out = []
    for order in range(1, max_order + 1):
        bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
        if not any(correct[:order]):
            out.append(0.0)
            continue
        prec, smooth = [0.0] * order, 1.0
        for k in range(order):
            if total[k] == 0:
                break
            if correct[k] == 0:
                smooth *= 2
                prec[k] = 100.0 / (smooth * total[k])
            else:
                prec[k] = 100.0 * correct[k] / total[k]
        logs = [math.log(x) if x > 0 else _SACREBLEU_LOG_ZERO for x in prec]
        out.append(bp * math.exp(sum(logs) / order) / 100.0)
    return out


def rouge_score_l_pair(ref: str, pred: str) -> float:
    """ROUGE-L F as rouge-score's RougeScorer(['rougeL']) gives it on the normalized texts."""
    r, h = normalized_tokens(ref), normalized_tokens(pred)
    lcs = lcs_length(r, h)
    if not lcs:
        return 0.0
    p, rc = lcs / len(h), lcs / len(r)
    return 2 * p * rc / (p + rc)


# ---- both -----------------------------------------------------------------------------------------------------

def token_recall_pair(ref_tokens: Iterable[str], pred_tokens: Iterable[str]) -> float:
    ref = set(ref_tokens)
    return len(ref & set(pred_tokens)) / len(ref) if ref else 0.0


def _mean(xs: list[float]) -> float:
    return math.fsum(xs) / len(xs) if xs else 0.0


def score(refs: Sequence[str], preds: Sequence[str],
          bleu_weights: Sequence[Sequence[float]] = COMPAT_BLEU_WEIGHTS) -> dict:
    """{"n", "empty_predictions", "mmskin-compat": {metric: percent}, "normalized": {metric: percent}}."""
    if len(refs) != len(preds):
        raise ValueError(f"{len(refs)} references but {len(preds)} predictions")
    if not refs:
        return {"n": 0, "empty_predictions": 0, **{s: {m: None for m in METRICS} for s in SCHEMES}}
    cb = compat_bleu(refs, preds, bleu_weights)
    nb = sacrebleu_bleu(refs, preds, 4)
    compat = {f"bleu{k + 1}": 100 * v for k, v in enumerate(cb)}
    compat["rougeL"] = 100 * _mean([compat_rouge_l_pair(r, p) for r, p in zip(refs, preds)])
    compat["token_recall"] = 100 * _mean([token_recall_pair(compat_tokens(r), compat_tokens(p))
                                          for r, p in zip(refs, preds)])
    norm = {f"bleu{k + 1}": 100 * v for k, v in enumerate(nb)}
    norm["rougeL"] = 100 * _mean([rouge_score_l_pair(r, p) for r, p in zip(refs, preds)])
    norm["token_recall"] = 100 * _mean([token_recall_pair(normalized_tokens(r), normalized_tokens(p))
                                        for r, p in zip(refs, preds)])
    return {"n": len(refs), "empty_predictions": sum(not p.strip() for p in preds),
            "mmskin-compat": compat, "normalized": norm}


def score_groups(items: Sequence[dict], group_key: str = "modality",
                 bleu_weights: Sequence[Sequence[float]] = COMPAT_BLEU_WEIGHTS) -> dict:
    """Scores overall and per group; items are dicts with "reference", "prediction" and the group key."""
    groups: dict[str, list[dict]] = {}
    for it in items:
        groups.setdefault(str(it.get(group_key) or "unknown"), []).append(it)
    out = {"overall": score([i["reference"] for i in items], [i["prediction"] for i in items], bleu_weights)}
    for g in sorted(groups):
        out[g] = score([i["reference"] for i in groups[g]], [i["prediction"] for i in groups[g]], bleu_weights)
    return out
