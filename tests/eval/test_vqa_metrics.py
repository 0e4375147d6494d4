"""VQA metrics: our mmskin-compat scores equal nltk's corpus_bleu and the `rouge` package, our normalized scores
equal sacrebleu and rouge-score (to 1e-6), on a committed case and on MM-Skin's published VQA answers."""

from __future__ import annotations

import csv
import math
import warnings

import pytest

from eval import vqa_metrics as vm
from tests.conftest import shared_path

# Our own small case: punctuation, case, repeated words, a one-word answer, a multi-sentence answer, a trailing
# "." followed by a space (the `rouge` package then sees an empty sentence), digits and an accent.
REFS = [
    "The image shows chronic plaque psoriasis on the left elbow.",
    "Melanocytic naevus.",
    "Acanthosis with parakeratosis. Elongated rete ridges are seen. ",
    "No, the lesion is flat against the skin surface.",
    "A 3-week-old neonate with café-au-lait macules",
    "yes",
    "The the the lesion lesion is red red red.",
]
PREDS = [
    "the image shows plaque psoriasis on the elbow",
    "Melanocytic naevus with dots.",
    "Parakeratosis and acanthosis. Rete ridges elongated.",
    "No, the lesion is flat.",
    "a 3 week old neonate with cafe au lait macules.",
    "Yes.",
    "the lesion is red",
]


def perturb(text: str, i: int) -> str:
    """A deterministic perturbation of an answer: cuts, drops, swaps, case and punctuation changes, additions."""
    w = text.split()
    if not w:
        return "none"
    k = i % 7
    if k == 0:
        w = w[: max(1, len(w) // 2)]
    elif k == 1:
        w = [x for j, x in enumerate(w) if j % 4 != 1] or w[:1]
    elif k == 2 and len(w) > 2:
        w[0], w[1] = w[1], w[0]
    elif k == 3:
        w = [x.lower().strip(".,") or x for x in w]
    elif k == 4:
        w = w + ["lesion", "skin."]
    elif k == 5:
        w = ["The", "image", "shows"] + w[3:]
    return " ".join(w)


def reference_scores(refs: list[str], preds: list[str]) -> dict:
    """The same numbers from the reference packages, as MM-Skin's VQA_test.py and sacrebleu/rouge-score users
    call them."""
    from nltk.translate.bleu_score import corpus_bleu
    from rouge import Rouge
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns about zero n-gram counts
        nltk = corpus_bleu([[r.split()] for r in refs], [p.split() for p in preds],
                           weights=[tuple(w) for w in vm.COMPAT_BLEU_WEIGHTS])
    rouge_f = Rouge(metrics=["rouge-l"]).get_scores(preds, refs, avg=True)["rouge-l"]["f"]
    nr, npred = [vm.normalize(r) for r in refs], [vm.normalize(p) for p in preds]
    sacre = [BLEU(max_ngram_order=n).corpus_score(npred, [nr]).score / 100 for n in range(1, 5)]
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    rs = math.fsum(scorer.score(r, p)["rougeL"].fmeasure for r, p in zip(nr, npred)) / len(nr)
    return {"compat_bleu": nltk, "compat_rouge": rouge_f, "norm_bleu": sacre, "norm_rouge": rs}


def assert_agree(refs: list[str], preds: list[str]) -> dict:
    ours = vm.score(refs, preds)
    ref = reference_scores(refs, preds)
    c, n = ours["mmskin-compat"], ours["normalized"]
    diffs = {
        "compat_bleu": max(abs(c[f"bleu{k + 1}"] / 100 - ref["compat_bleu"][k]) for k in range(4)),
        "compat_rouge": abs(c["rougeL"] / 100 - ref["compat_rouge"]),
        "norm_bleu": max(abs(n[f"bleu{k + 1}"] / 100 - ref["norm_bleu"][k]) for k in range(4)),
        "norm_rouge": abs(n["rougeL"] / 100 - ref["norm_rouge"]),
    }
    print(f"{len(refs)} pairs: max |ours - reference| {diffs}")
    assert all(d <= 1e-6 for d in diffs.values()), diffs
    return ours


def test_committed_case_agrees_with_reference_packages():
    ours = assert_agree(REFS, PREDS)
    # the two protocols really differ on case and punctuation
    assert ours["normalized"]["bleu1"] > ours["mmskin-compat"]["bleu1"]
    # a second case: the perturbation the shared-data test uses
    assert_agree(REFS[:3], [perturb(r, i) for i, r in enumerate(REFS[:3])])


def test_hand_computed_values():
    # BLEU-1 of "a x b" against "a b c d": precision 2/3, brevity penalty exp(1 - 4/3)
    b = vm.compat_bleu(["a b c d"], ["a x b"])
    assert b[0] == pytest.approx(2 / 3 * math.exp(1 - 4 / 3), abs=1e-12)
    # no bigram match: nltk's unsmoothed BLEU-2 is (practically) 0, sacrebleu smooths it
    assert b[1] < 1e-100 and vm.sacrebleu_bleu(["a b c d"], ["a x b"], 2)[1] > 0
    assert vm.compat_bleu(["a b"], ["c d"]) == [0.0] * 4
    # the `rouge` package counts distinct words: "red red red" vs "red" is a perfect match
    assert vm.compat_rouge_l_pair("red red red", "red") == pytest.approx(1.0, abs=1e-7)
    assert vm.rouge_score_l_pair("red red red", "red") == pytest.approx(0.5)
    assert vm.normalize("Café-au-lait, 3-week-old!") == "cafe au lait 3 week old"
    assert vm.token_recall_pair(["a", "b", "b", "c"], ["b", "c", "d"]) == pytest.approx(2 / 3)


def test_empty_predictions_score_zero_where_rouge_raises():
    from rouge import Rouge

    with pytest.raises(ValueError):
        Rouge().get_scores(["."], ["psoriasis"])
    s = vm.score(["Psoriasis.", "Naevus."], [".", "Naevus."])
    assert s["empty_predictions"] == 0 and s["mmskin-compat"]["rougeL"] == pytest.approx(50.0, abs=1e-5)
    s = vm.score(["Psoriasis."], [""])
    assert s["empty_predictions"] == 1 and all(v == 0 for v in s["normalized"].values())


def test_perfect_answers_score_100():
    s = vm.score(REFS, REFS)
    for scheme in vm.SCHEMES:
        for m in vm.METRICS:
            if scheme == "mmskin-compat" and m in ("bleu2", "bleu3", "bleu4"):
                # nltk counts a hypothesis shorter than n as one n-gram (denominator max(1, count)): "yes" keeps
                # MM-Skin's BLEU-2..4 below 100 even for perfect answers
                assert s[scheme][m] < 100
                continue
            assert s[scheme][m] == pytest.approx(100.0, abs=1e-4), (scheme, m)
    long = [r for r in REFS if len(r.split()) >= 4]
    assert vm.score(long, long)["mmskin-compat"]["bleu4"] == pytest.approx(100.0, abs=1e-4)


def test_groups_per_modality():
    items = [{"reference": r, "prediction": p, "modality": m}
             for r, p, m in zip(REFS, PREDS, ["clinical", "pathology"] * 4)]
    g = vm.score_groups(items)
    assert set(g) == {"overall", "clinical", "pathology"} and g["overall"]["n"] == len(REFS)
    assert g["clinical"]["n"] + g["pathology"]["n"] == len(REFS)
    assert g["clinical"] == vm.score(REFS[0::2], PREDS[0::2])


@pytest.mark.shared
def test_mmskin_test_answers_agree_with_reference_packages():
    path = shared_path("captions", "mmskin_test_vqa.csv")
    with path.open(newline="", encoding="utf-8") as f:
        refs = [row["answer"] for row in csv.DictReader(f)]
    assert len(refs) > 5000
    preds = [perturb(r, i) for i, r in enumerate(refs)]
    ours = assert_agree(refs, preds)
    assert 0 < ours["mmskin-compat"]["bleu4"] < 100 and 0 < ours["normalized"]["rougeL"] < 100
