#!/usr/bin/env python
"""Write the four synthetic sample textbooks and their ground-truth JSON files.

    python sample_pdfs/make_samples.py [--out sample_pdfs]

Fixed seeds + fixed PDF metadata: running it twice gives byte-identical files.
All text below (prose and captions) was written for this project; all pixels are
generated procedurally by ``synth.images``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

from synth.books import (  # noqa: E402
    NBSP,
    SOFT_HYPHEN,
    BookLayout,
    Figure,
    Panel,
    Table,
    draw_skin_schematic,
    filler_paragraph,
    rasterize_scanned,
    save_pdf,
    write_truth,
)

SH = SOFT_HYPHEN


def T(s: str) -> str:
    """'~' marks a non-breaking space (keeps 'Fig. 1.2' references on one line)."""
    return s.replace("~", NBSP)


def fill(lay: BookLayout, rng: np.random.Generator, n: int = 1, sentences: Tuple[int, int] = (4, 6)):
    for _ in range(n):
        lay.para(filler_paragraph(rng, int(rng.integers(sentences[0], sentences[1] + 1))))


# ============================================================================ book 1
def book_digital() -> BookLayout:
    stem = "derm_atlas_digital"
    lay = BookLayout(stem, "Atlas of Clinical Dermatology", "Chapter 1 \u00b7 Morphology of Skin Lesions",
                     columns=2, logo_seed=11, logo_color=(40, 90, 140), first_page_number=1)
    rng = np.random.default_rng(1001)

    lay.heading("1 Morphology of Skin Lesions", size=15)
    lay.para(T(
        "Accurate description of skin lesions is the foundation of dermatological diagnosis. Before considering a "
        "differential diagnosis, the examiner should define the primary lesion, its colour, its surface and its "
        "distribution, and only then look for secondary changes such as crusting or excoriation. This chapter "
        "introduces the vocabulary used throughout the atlas and illustrates it with clinical photographs, "
        "dermoscopic images and histological sections."))
    lay.para(T(
        "A systematic approach begins at a distance, with the whole skin surface examined in good light, and then "
        "moves close to individual lesions. Palpation adds information that inspection cannot: a plaque is felt as "
        "a raised, flat-topped area, whereas a nodule extends into the deeper dermis. The chronic plaque of "
        "psoriasis (Fig.~1.1) shows how elevation, sharp demarcation and scale combine into a recognisable pattern."))
    lay.figure(Figure(
        "Fig. 1.1",
        "Chronic plaque psoriasis on the extensor aspect of the left elbow in a 45-year-old woman. The sharply "
        "demarcated erythematous plaque carries silvery scale; she reported a 3-year history of intermittent flares.",
        [Panel("clinical", 111, (480, 360), "jpeg", {"kind": "plaque", "tone": 1.0})],
        age=45, gender="female"))
    fill(lay, rng, 1)

    lay.heading("1.1 Primary lesions")
    lay.para(T(
        "Primary lesions are the initial changes produced by the disease process itself. They are classified by "
        "size, elevation and content, as summarised in Table~1.1. A macule is a flat change in colour; when larger "
        "than 10 mm it is often called a patch. Papules and plaques are raised and solid, whereas vesicles and "
        "bullae contain clear fluid. The drawings in Fig.~1.2 show these lesions in cross-section."))
    lay.figure(Figure(
        "Fig. 1.2",
        "Schematic cross-section of the primary skin lesions: macule, papule, plaque, nodule, vesicle and bulla, "
        "drawn relative to the skin surface and the subcutis.",
        [Panel("diagram", 112, (560, 360), "png_rgba", {"variant": "lesions"})],
        modality="other"))
    lay.para(T(
        "Size thresholds are conventions rather than biological boundaries, and a single eruption may contain "
        "lesions of several types. The description should therefore name the dominant lesion and mention the "
        "others, for example papules coalescing into plaques."))
    lay.table(Table(
        "Table 1.1", "Primary skin lesions and their defining features.",
        [("Lesion", "Definition", "Example"),
         ("Macule", "Flat, < 10 mm", "Freckle"),
         ("Patch", "Flat, > 10 mm", "Vitiligo"),
         ("Papule", "Raised, solid, < 10 mm", "Viral wart"),
         ("Plaque", "Raised, flat-topped, > 10 mm", "Psoriasis"),
         ("Nodule", "Solid, deep, > 10 mm", "Lipoma"),
         ("Vesicle", "Clear fluid, < 5 mm", "Herpes simplex"),
         ("Bulla", "Clear fluid, > 5 mm", "Pemphigoid")],
        col_fracs=(0.24, 0.46, 0.30)))
    fill(lay, rng, 2)

    lay.heading("1.2 Dermoscopy")
    lay.para(T(
        "Dermoscopy uses a magnifying lens and a light source, with polarisation or immersion fluid, to reveal "
        "pigment and vascular structures below the stratum corneum. The pigment network of a benign naevus is "
        "regular and fades gradually towards the periphery (see Fig.~1.3), whereas an atypical network with thick, "
        "irregular lines raises concern for melanoma."))
    lay.figure(Figure(
        "Fig. 1.3",
        "Dermoscopy of a benign compound naevus on the upper back of a man aged 62, showing a regular reticular "
        "pigment network that fades towards the periphery and a few central brown globules.",
        [Panel("dermoscopy", 113, (420, 420), "jpeg", {"pattern": "reticular", "hairs": 1})],
        age=62, gender="male"))
    lay.para(T(
        "Globules, dots and streaks should be described by their colour, size and distribution. Hairs crossing the "
        "field of view and air bubbles under the contact plate are common artefacts and should not be mistaken "
        "for structures within the lesion."))
    fill(lay, rng, 1)

    lay.heading("1.3 Inflammatory dermatoses")
    lay.para(T(
        "Eczematous eruptions show ill-defined erythema, papulovesicles and, in chronic lesions, lichenification. "
        "Nummular eczema produces coin-shaped plaques that may ooze and crust (Fig.~1.4); in infants the cheeks "
        "and extensor limbs are favoured sites. Psoriasis, in contrast, forms well-demarcated plaques with thick "
        "silvery scale and a predilection for the elbows, knees and scalp."))
    lay.figure(Figure(
        "Fig. 1.4",
        "Nummular eczema on the anterior shins of an 8-month-old boy: multiple coin-shaped, oozing and crusted "
        "erythematous plaques, the largest 25 mm across, present for 10 days.",
        [Panel("clinical", 114, (600, 280), "jpeg", {"kind": "plaque", "tone": 2.2})],
        span=True, age=8 / 12, gender="male"))
    fill(lay, rng, 2)

    lay.heading("1.4 Histopathological correlation")
    lay.para(T(
        "Biopsy specimens are read at scanning magnification first, looking at the overall architecture of the "
        "epidermis and the pattern of any inflammatory infiltrate. Psoriasis shows regular epidermal hyperplasia "
        "with parakeratosis (Fig.~1.5), while lichen planus is defined by an interface pattern with a dense band of "
        "lymphocytes at the dermo-epidermal junction (Fig.~1.6)."))
    lay.figure(Figure(
        "Fig. 1.5",
        f"Psoriasis (H&E, \u00d7100). Regular elongation of the rete ridges, dilated papillary capillaries and a "
        f"confluent hyper{SH}keratosis with para{SH}kera{SH}tosis; the supra{SH}papillary plate is thinned and "
        f"neutrophils collect in the stratum corneum.",
        [Panel("pathology", 115, (400, 300), "png", {})],
        position="above"))
    fill(lay, rng, 1)
    lay.figure(Figure(
        "Fig. 1.6",
        f"Lichen planus, biopsy from the volar wrist (female, 33 years). Compact ortho{SH}kera{SH}tosis, "
        f"wedge-shaped hyper{SH}granu{SH}losis and a band-like lymphocytic infiltrate obscuring the "
        f"dermo-epidermal junction (H&E, \u00d7200).",
        [Panel("pathology", 116, (480, 360), "jpeg", {"infiltrate": True})],
        position="above", age=33, gender="female"))
    fill(lay, rng, 1)

    lay.heading("1.5 Pigmented lesions")
    lay.para(T(
        "Pigmented lesions range from flat, evenly coloured caf\u00e9-au-lait macules (Fig.~1.7) to nodular "
        "melanoma. The ABCD criteria - asymmetry, border irregularity, colour variation and a diameter above "
        "6 mm - remain a useful screening aid, but change over time is the most important single warning sign."))
    lay.figure(Figure(
        "Fig. 1.7",
        "Caf\u00e9-au-lait macule on the flank of a girl, 7 years: a uniformly light-brown, sharply marginated "
        "patch with smooth borders, 40 mm in its longest axis.",
        [Panel("clinical", 117, (480, 360), "jpeg_cmyk", {"kind": "macule", "tone": 0.6})],
        age=7, gender="female"))
    lay.para(T(
        "Comparing the clinical and dermoscopic views of the same lesion, as in Fig.~1.8, improves diagnostic "
        "accuracy. Dermatofibromas are firm papules, usually on the legs, that dimple on lateral compression; "
        "dermoscopically they show a delicate peripheral network surrounding a central white area (Fig.~1.9)."))
    lay.figure(Figure(
        "Fig. 1.8",
        "Superficial spreading melanoma on the right calf of a woman in her 70s. (a) Clinical view of an "
        "asymmetric, irregularly pigmented macule with notched borders. (b) Dermoscopy of the same lesion showing "
        "an atypical network, irregular globules and regression structures.",
        [Panel("clinical", 118, (480, 360), "jpeg", {"kind": "melanoma", "tone": 0.8}, letter="a",
               subcaption="Clinical view of an asymmetric, irregularly pigmented macule with notched borders."),
         Panel("dermoscopy", 119, (360, 360), "jpeg", {"pattern": "atypical", "hairs": 0}, letter="b",
               subcaption="Dermoscopy of the same lesion showing an atypical network, irregular globules and "
                          "regression structures.")],
        span=True, age=75, gender="female"))
    lay.figure(Figure(
        "Fig. 1.9",
        "Dermatofibroma on the thigh of a 29-year-old woman. Dermoscopy shows a delicate peripheral pigment "
        "network around a central white scar-like patch.",
        [Panel("dermoscopy", 120, (400, 400), "jpeg", {"pattern": "globular", "hairs": 2})],
        age=29, gender="female"))
    fill(lay, rng, 2)

    lay.heading("1.6 Vesicles and blisters")
    lay.para(T(
        "Vesicles are small, superficial fluid-filled lesions less than 5 mm across; bullae are larger. "
        "Intraepidermal blisters are flaccid and rupture easily, leaving erosions, while subepidermal blisters are "
        "tense and may contain blood. Grouped vesicles on an erythematous base suggest herpes simplex infection, "
        "which in the newborn is a medical emergency (Fig.~1.10)."))
    lay.figure(Figure(
        "Fig. 1.10",
        "Neonatal herpes simplex virus infection in a 3-week-old neonate (male): clusters of tense, clear vesicles "
        "2-3 mm across on an erythematous base over the left temple and scalp, with early crusting at the margin.",
        [Panel("clinical", 121, (480, 360), "jpeg", {"kind": "vesicles", "tone": 1.3})],
        age=3 * 7 / 365.25, gender="male"))
    fill(lay, rng, 3)
    lay.heading("1.7 Scale and surface change")
    lay.para(T(
        "Scale is a visible accumulation of stratum corneum. Fine, branny scale is typical of pityriasis "
        "versicolor, whereas thick, adherent scale on a thickened, leathery plaque points to chronic rubbing, as "
        "in lichen simplex chronicus (Fig.~1.11). Removing the scale gently may reveal pinpoint bleeding in "
        "psoriasis, a useful bedside sign."))
    lay.figure(Figure(
        "Fig. 1.11",
        "Lichen simplex chronicus on the nape of the neck of a man in his 50s: a lichenified, scaly plaque with "
        "exaggerated skin markings and excoriations, the result of habitual scratching.",
        [Panel("clinical", 122, (480, 360), "png", {"kind": "scaly", "tone": 3.4})],
        age=55, gender="male"))
    fill(lay, rng, 4)
    lay.heading("1.8 A practical sequence")
    lay.para(T(
        "In practice the examiner records the primary lesion, then its colour, shape, border and surface, then "
        "the arrangement of lesions relative to one another, and finally their distribution on the body. Each "
        "later chapter of this atlas follows the same order, so that the figures can be compared directly."))
    fill(lay, rng, 5)
    lay.heading("1.9 Documentation and photography")
    lay.para(T(
        "Good clinical photographs complement the written description. An overview image records the "
        "distribution, a medium view shows the arrangement of lesions and a close-up with a ruler documents their "
        "size and surface. Dermoscopic images should be taken perpendicular to the skin, with the lesion centred "
        "in the field of view."))
    fill(lay, rng, 9)
    return lay.finish()


# ============================================================================ book 2
def book_vector() -> BookLayout:
    stem = "derm_vector_overlay"
    lay = BookLayout(stem, "Dermatology for Primary Care", "2 \u00b7 Skin Structure and Skin Cancer",
                     columns=1, body_size=10.0, leading=13.0, logo_seed=22, logo_color=(150, 60, 60),
                     margins=(64.0, 70.0, 64.0, 60.0), first_page_number=23)
    rng = np.random.default_rng(2002)
    lay.heading("2 Skin Structure and Skin Cancer", size=15)
    lay.para(T(
        "The skin consists of three layers: the epidermis, a stratified squamous epithelium that renews itself "
        "roughly every four weeks; the dermis, a connective tissue rich in collagen, vessels and nerves; and the "
        "subcutis, composed mainly of fat lobules separated by fibrous septa. Adnexal structures - hair follicles, "
        "sebaceous glands and eccrine sweat glands - arise from the epidermis and extend deep into the dermis, as "
        "shown schematically in Figure~2-1."))
    lay.figure(Figure(
        "Figure 2-1",
        "Schematic cross-section of normal skin showing the epidermis, dermis and subcutis with a hair follicle, "
        "sebaceous gland, eccrine sweat gland and the superficial and deep vascular plexuses.",
        [], modality="other", vector=draw_skin_schematic, vector_aspect=1.75, width_frac=0.86))
    lay.para(T(
        "Most skin cancers arise from keratinocytes of the epidermis. Basal cell carcinoma is the commonest "
        "malignancy in fair-skinned populations; it grows slowly, rarely metastasises and favours the face. Its "
        "clinical hallmarks are a pearly, translucent edge and fine branching vessels (Figure~2-2)."))
    fill(lay, rng, 1)
    lay.figure(Figure(
        "Figure 2-2",
        f"Nodular basal cell carcinoma on the nasal ala of a man aged 71. The arrow marks the pearly, "
        f"tel{SH}angi{SH}ectatic rolled border; the lesion had been enlarging slowly for 18 months.",
        [Panel("clinical", 211, (480, 360), "jpeg", {"kind": "nodule", "tone": 0.5},
               overlay={"target": (0.47, 0.45), "letter": "A"})],
        width_frac=0.62, age=71, gender="male"))
    lay.para(T(
        "Histologically, nodular basal cell carcinoma forms islands of basaloid cells with peripheral palisading "
        "and clefts between tumour and stroma (Figure~2-3). Dermoscopy is particularly helpful for pigmented "
        "variants, which may otherwise be confused with melanoma."))
    lay.figure(Figure(
        "Figure 2-3",
        "Nodular basal cell carcinoma (H&E, \u00d740) excised from the cheek of an 80-year-old woman: basaloid "
        "islands with peripheral palisading and retraction artefact in the dermis.",
        [Panel("pathology", 212, (480, 320), "jpeg", {})],
        position="above", width_frac=0.62, age=80, gender="female"))
    fill(lay, rng, 1)
    lay.figure(Figure(
        "Figure 2-4",
        "Dermoscopy of a pigmented basal cell carcinoma on the shoulder of a 54-year-old female patient: "
        "arborising vessels, blue-grey ovoid nests and leaf-like areas.",
        [Panel("dermoscopy", 213, (400, 400), "jpeg", {"pattern": "atypical", "hairs": 1})],
        width_frac=0.5, age=54, gender="female"))
    lay.para(T(
        "The incidence of basal cell carcinoma rises steeply with age (Figure~2-5), reflecting cumulative "
        "ultraviolet exposure. Surgical excision with a margin of 4 mm clears most small, well-defined tumours."))
    lay.figure(Figure(
        "Figure 2-5",
        "Age distribution of 412 patients with basal cell carcinoma treated in the clinic between 2015 and 2020; "
        "lesions were most frequent after 60 years of age.",
        [Panel("chart", 214, (520, 340), "png", {"kind": "bar", "title": "Basal cell carcinoma: cases by age",
                                                  "categories": ["<40", "40-49", "50-59", "60-69", "70-79", "80+"]})],
        modality="other", width_frac=0.6))
    fill(lay, rng, 4)
    return lay.finish()


# ============================================================================ book 3
def book_scanned_layout() -> BookLayout:
    stem = "derm_atlas_scanned"
    lay = BookLayout(stem, "Handbook of Skin Disease", "Infections, Infestations and Reactive Erythemas",
                     columns=1, body_size=10.0, leading=13.2, logo_seed=33, logo_color=(60, 110, 60),
                     margins=(62.0, 70.0, 62.0, 60.0), first_page_number=57)
    rng = np.random.default_rng(3003)
    lay.heading("3 Infections, Infestations and Reactive Erythemas", size=14)
    lay.para(T(
        "Superficial fungal infections are among the commonest reasons for a skin consultation. Dermatophytes "
        "invade keratin of the stratum corneum, hair and nails, and the inflammatory response they provoke is "
        "strongest at the advancing edge, which produces the characteristic annular outline (FIG.~3.1). Scrapings "
        "for microscopy and culture should be taken from that edge."))
    lay.figure(Figure(
        "FIG. 3.1",
        "Tinea corporis on the trunk of a 12-year-old boy: an annular, scaly plaque with an active raised edge and "
        "central clearing, present for 6 weeks.",
        [Panel("clinical", 311, (480, 330), "jpeg", {"kind": "annular", "tone": 1.5})],
        width_frac=0.62, age=12, gender="male"))
    fill(lay, rng, 1)
    lay.figure(Figure(
        "FIG. 3.2",
        "Dermoscopy of an acquired melanocytic naevus on the forearm in a woman aged 38, with a regular network "
        "and a few central globules.",
        [Panel("dermoscopy", 312, (400, 400), "jpeg", {"pattern": "reticular", "hairs": 0})],
        width_frac=0.45, age=38, gender="female"))
    lay.para(T(
        "Eczematous reactions share a common histological pattern, spongiosis, in which fluid separates the "
        "keratinocytes of the epidermis (FIG.~3.3). Acute lesions may progress to intraepidermal vesicles."))
    lay.figure(Figure(
        "FIG. 3.3",
        "Spongiotic dermatitis (H&E, \u00d7200): intercellular oedema of the epidermis with a superficial "
        "perivascular lymphocytic infiltrate.",
        [Panel("pathology", 313, (480, 320), "jpeg", {"infiltrate": True})],
        width_frac=0.6))
    fill(lay, rng, 1)
    lay.para(T(
        "Urticaria produces transient wheals that resolve within 24 hours without a mark, whereas scabies is "
        "betrayed by burrows in the finger webs and at the wrists (FIG.~3.4A and FIG.~3.4B)."))
    lay.figure_row([
        Figure("FIG. 3.4A",
               "Acute urticaria on the back of a 5-year-old girl: transient, oedematous wheals with a pale centre "
               "and an erythematous flare.",
               [Panel("clinical", 314, (400, 300), "jpeg", {"kind": "wheals", "tone": 0.7})],
               age=5, gender="female"),
        Figure("FIG. 3.4B",
               "Dermoscopy of a pigmented lesion at the wrist of a man in his 20s, partly obscured by terminal "
               "hairs.",
               [Panel("dermoscopy", 315, (400, 300), "jpeg", {"pattern": "globular", "hairs": 4})],
               age=25, gender="male"),
    ])
    fill(lay, rng, 2)
    lay.heading("Reactive erythemas")
    lay.para(T(
        "Erythema multiforme is an acute, self-limiting reaction, most often triggered by herpes simplex virus. "
        "Its typical target lesions have three concentric zones and favour the hands and forearms (Plate~7). "
        "Bullous pemphigoid, by contrast, is a chronic autoimmune blistering disease of older people in which "
        "tense blisters arise on urticated plaques (Plate~8)."))
    lay.figure(Figure(
        "Plate 7",
        "Erythema multiforme in a 19-year-old man: target lesions with three concentric zones on the dorsal hands, "
        "appearing 10 days after an episode of herpes labialis.",
        [Panel("clinical", 316, (480, 340), "jpeg", {"kind": "annular", "tone": 3.0})],
        position="above", width_frac=0.6, age=19, gender="male"))
    lay.figure(Figure(
        "Plate 8",
        "Bullous pemphigoid, skin biopsy from the thigh of a 67-year-old woman (H&E, \u00d7100): a subepidermal "
        "blister containing eosinophils.",
        [Panel("pathology", 317, (480, 320), "jpeg", {"infiltrate": True})],
        width_frac=0.6, age=67, gender="female"))
    fill(lay, rng, 2)
    lay.heading("Principles of management")
    lay.para(T(
        "Management starts with a confident diagnosis. Topical treatment is sufficient for most localised "
        "infections and eczematous eruptions, while widespread or recurrent disease may need systemic therapy. "
        "Patients should be given a written plan that explains how much of each preparation to apply and for how "
        "long."))
    fill(lay, rng, 4)
    return lay.finish()


# ============================================================================ book 4
def book_faces() -> BookLayout:
    """Faces and annotated images, for the identifiable-face and overlay filters.

    The six faces (``Panel("face", ...)``) are drawn procedurally by ``synth.faces.make_face``: a shaded
    ellipse head in one of our skin tones, eyes with dark pupils under brow shadows, a shaded nose, lips, hair
    and ears, with the lesion the caption names; no photographs. Four look at the camera, two are turned
    (profile). The seven annotated images (six here, plus Figure 2-2) carry marks burned into the pixels by
    ``synth.images.add_annotation``: a yellow circle, a dashed cyan outline, blue arrows on a histological
    section, white arrows with letters, a green arrow with an asterisk, and a white word with a leader line.
    The truth marks them ``"face": true`` / ``"overlay": true``.
    """
    stem = "derm_face_annotated"
    lay = BookLayout(stem, "Clinical Dermatology Casebook", "4 \u00b7 Facial Dermatoses and Annotated Cases",
                     columns=1, body_size=10.0, leading=13.0, logo_seed=44, logo_color=(110, 70, 140),
                     margins=(64.0, 70.0, 64.0, 60.0), first_page_number=91)
    rng = np.random.default_rng(4004)
    lay.heading("4 Facial Dermatoses and Annotated Cases", size=15)
    lay.para(T(
        "The face is the most visible site of skin disease and the one patients notice first. Acne, rosacea, "
        "lupus erythematosus and the pigmentary disorders all favour it, and sun-damaged facial skin is the "
        "commonest site of basal cell carcinoma and lentigo maligna. Whole-face photographs record the "
        "distribution of an eruption (Fig.~4.1 and Fig.~4.2), but they also identify the patient, so published "
        "images need consent and are often cropped."))
    lay.figure_row([
        Figure("Fig. 4.1",
               "Acne vulgaris in a 17-year-old boy: inflammatory papules and pustules over the cheek and jaw, "
               "present for 2 years.",
               [Panel("face", 4010, (360, 440), "jpeg", {"view": "frontal", "tone": 2.5, "lesion": "acne", "hair": 0})],
               age=17, gender="male"),
        Figure("Fig. 4.2",
               "Systemic lupus erythematosus in a woman aged 34: a malar rash across both cheeks that spares the "
               "nasolabial folds.",
               [Panel("face", 402, (360, 440), "jpeg", {"view": "frontal", "tone": 1.5, "lesion": "malar", "hair": 3})],
               age=34, gender="female"),
    ])
    fill(lay, rng, 1)
    lay.para(T(
        "Annotations draw the reader's eye to the feature under discussion. In Fig.~4.3 a circle marks the "
        "pinpoint bleeding left when the scale of a psoriatic plaque is scraped away."))
    lay.figure(Figure(
        "Fig. 4.3",
        "Chronic plaque psoriasis on the knee of a 52-year-old man. The yellow circle marks pinpoint bleeding "
        "after removal of the scale (Auspitz sign).",
        [Panel("clinical", 403, (480, 360), "jpeg", {"kind": "plaque", "tone": 1.2},
               overlay={"style": "circle", "target": (0.5, 0.5)})],
        width_frac=0.62, age=52, gender="male"))
    fill(lay, rng, 1)
    lay.heading("4.1 Tumours of the face")
    lay.para(T(
        "Basal cell carcinoma favours the nose, the inner canthus and the nasolabial fold. A profile view shows "
        "the height of a nodular tumour better than a frontal one (Fig.~4.4). Seborrhoeic keratoses are benign "
        "and sharply demarcated, a border that dermoscopy makes plain (Fig.~4.5)."))
    lay.figure(Figure(
        "Fig. 4.4",
        "Nodular basal cell carcinoma on the nose of a man in his 60s, seen in profile: a pearly nodule with "
        "fine telangiectasia.",
        [Panel("face", 404, (360, 440), "jpeg", {"view": "profile", "tone": 3.5, "lesion": "nodule", "hair": 1})],
        width_frac=0.42, age=65, gender="male"))
    lay.figure(Figure(
        "Fig. 4.5",
        "Dermoscopy of a seborrhoeic keratosis. The dashed outline follows the sharply demarcated border; "
        "milia-like cysts and comedo-like openings lie within it.",
        [Panel("dermoscopy", 405, (400, 400), "jpeg", {"pattern": "globular", "hairs": 0},
               overlay={"style": "dashed", "target": (0.5, 0.5)})],
        width_frac=0.45))
    fill(lay, rng, 1)
    lay.heading("4.2 Pigmentary disorders and blistering")
    lay.para(T(
        "Melasma produces symmetrical brown patches on the cheeks and forehead that darken with sun exposure "
        "(Fig.~4.6). Pemphigus vulgaris, by contrast, is defined histologically by loss of adhesion between "
        "keratinocytes above the basal layer (Fig.~4.7)."))
    lay.figure_row([
        Figure("Fig. 4.6",
               "Melasma in a 41-year-old woman: a light-brown patch with an irregular border on the cheek.",
               [Panel("face", 406, (360, 440), "jpeg", {"view": "frontal", "tone": 3.5, "lesion": "pigmented", "hair": 0})],
               age=41, gender="female"),
        Figure("Fig. 4.7",
               "Pemphigus vulgaris (H&E, \u00d7200). The arrows mark acantholytic keratinocytes floating in a "
               "suprabasal cleft.",
               [Panel("pathology", 407, (480, 320), "jpeg", {"infiltrate": True},
                      overlay={"style": "blue_arrows", "target": (0.5, 0.35)})]),
    ])
    fill(lay, rng, 1)
    lay.figure(Figure(
        "Fig. 4.8",
        "Erythema migrans on the thigh of a 9-year-old girl, 10 days after a tick bite: B, the expanding "
        "erythematous ring; C, the central bite site.",
        [Panel("clinical", 408, (480, 360), "jpeg", {"kind": "annular", "tone": 1.0},
               overlay={"style": "labels", "target": (0.5, 0.5)})],
        width_frac=0.6, age=9, gender="female"))
    fill(lay, rng, 1)
    lay.heading("4.3 Redness of the face")
    lay.para(T(
        "Rosacea causes persistent centrofacial erythema with papules but, unlike acne, no comedones "
        "(Fig.~4.9). Lentigo maligna, a melanoma in situ of sun-damaged skin, grows slowly for years as an "
        "irregular brown patch (Fig.~4.10)."))
    lay.figure_row([
        Figure("Fig. 4.9",
               "Rosacea in a woman in her 50s: persistent erythema of both cheeks with a few papules.",
               [Panel("face", 409, (360, 440), "jpeg", {"view": "frontal", "tone": 4.3, "lesion": "malar", "hair": 1})],
               age=55, gender="female"),
        Figure("Fig. 4.10",
               "Lentigo maligna on the cheek of an 82-year-old man, seen in profile: an irregular brown patch.",
               [Panel("face", 4100, (360, 440), "jpeg", {"view": "profile", "tone": 2.5, "lesion": "pigmented", "hair": 2})],
               age=82, gender="male"),
    ])
    fill(lay, rng, 1)
    lay.heading("4.4 Infections in children")
    lay.para(T(
        "Molluscum contagiosum forms dome-shaped, umbilicated papules (Fig.~4.11). Impetigo begins as fragile "
        "vesicles that rupture and leave honey-coloured crusts (Fig.~4.12)."))
    lay.figure(Figure(
        "Fig. 4.11",
        "Molluscum contagiosum on the abdomen of a 4-year-old boy. The arrow points to a central umbilication; "
        "the asterisk marks an inflamed lesion.",
        [Panel("clinical", 411, (480, 360), "jpeg", {"kind": "vesicles", "tone": 2.0},
               overlay={"style": "green_arrow", "target": (0.5, 0.5)})],
        width_frac=0.6, age=4, gender="male"))
    lay.figure(Figure(
        "Fig. 4.12",
        "Impetigo on the forearm of a 6-year-old girl: honey-coloured crusts on an erythematous base, labelled "
        "on the image.",
        [Panel("clinical", 412, (480, 360), "jpeg", {"kind": "plaque", "tone": 3.0},
               overlay={"style": "text", "target": (0.55, 0.55), "text": "crust"})],
        width_frac=0.6, age=6, gender="female"))
    lay.para(T(
        "Not every clinical image needs marks: a plain photograph of the whole lesion, as in Fig.~4.13, is "
        "often clearer."))
    lay.figure(Figure(
        "Fig. 4.13",
        "Granuloma annulare on the dorsum of the hand of a 23-year-old woman: an annular plaque of skin-coloured "
        "papules.",
        [Panel("clinical", 413, (480, 360), "jpeg", {"kind": "annular", "tone": 0.8})],
        width_frac=0.6, age=23, gender="female"))
    fill(lay, rng, 3)
    return lay.finish()


# ============================================================================ driver
def build(out_dir: str) -> List[str]:
    """Write all sample PDFs and truth files into out_dir; return the written paths."""
    os.makedirs(out_dir, exist_ok=True)
    written = []

    lay = book_digital()
    assert lay.hyphenated_breaks >= 1, "expected at least one soft-hyphen line break in a caption"
    written += _save(lay, out_dir, "Atlas of Clinical Dermatology (synthetic sample)")

    lay = book_vector()
    written += _save(lay, out_dir, "Dermatology for Primary Care (synthetic sample)")

    lay = book_faces()
    written += _save(lay, out_dir, "Clinical Dermatology Casebook (synthetic sample)")

    lay = book_scanned_layout()
    truth = lay.truth(scanned=True)
    scanned = rasterize_scanned(lay.doc, seed=3333, dpi=150, quality=72)
    pdf = os.path.join(out_dir, f"{lay.stem}.pdf")
    save_pdf(scanned, pdf, "Handbook of Skin Disease (synthetic scanned sample)")
    truth["page_count"] = scanned.page_count
    tj = os.path.join(out_dir, f"{lay.stem}.truth.json")
    write_truth(truth, tj)
    written += [pdf, tj]
    return written


def _save(lay: BookLayout, out_dir: str, title: str) -> List[str]:
    pdf = os.path.join(out_dir, f"{lay.stem}.pdf")
    tj = os.path.join(out_dir, f"{lay.stem}.truth.json")
    truth = lay.truth(scanned=False)
    save_pdf(lay.doc, pdf, title)
    write_truth(truth, tj)
    return [pdf, tj]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HERE, help="output directory (default: this script's directory)")
    args = ap.parse_args(argv)
    for p in build(args.out):
        print(p, os.path.getsize(p))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
