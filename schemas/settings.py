"""One settings object for the whole pipeline, with documented defaults.

Each stage reads only its own section; the build cache keys a stage's result on that section (plus the
sections of the stages before it), so changing, say, ``filter.min_side_px`` recomputes the filter stage and
the stages after it, never extraction.

Every value can be set from the environment: ``MMSKIN_FILTER__MIN_SIDE_PX=256``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExtractSettings(BaseModel):
    render_dpi: int = Field(150, description="dpi at which scanned pages are rendered for OCR and region finding")
    scan_max_dpi: int = Field(
        300,
        description="a scan stored at a finer resolution than render_dpi is read at its own resolution, up to this "
        "(OCR of small print on a 300 dpi scan resampled to 150 dpi loses labels and whole lines; above about 300 "
        "dpi tesseract gains little and costs more)",
    )
    min_text_chars: int = Field(
        20, description="a page whose text layer has fewer characters than this is treated as scanned"
    )
    min_wordlike_share: float = Field(
        0.5, description="a text layer whose share of word-like tokens is below this is OCR noise: OCR the page again"
    )
    full_page_image_frac: float = Field(
        0.8, description="an image covering this fraction of the page makes it a scanned page"
    )
    deskew_max_deg: float = Field(
        5.0, description="scanned pages are straightened by up to this many degrees (0 turns deskew off)"
    )
    ocr_lang: str = Field("eng", description="tesseract language")
    ocr_min_conf: float = Field(30.0, description="OCR words below this confidence (0-100) are dropped")
    ocr_psm: int = Field(3, description="tesseract page segmentation mode")
    max_image_px: int = Field(
        2048, description="longest side of a stored region image; larger ones are downscaled"
    )
    min_image_pt: float = Field(
        24.0, description="an embedded image smaller than this (either side, PDF points) is a decoration"
    )
    repeated_image_pages: int = Field(
        3, description="an image (same pixels) shown on this many pages or more is a decoration (logo, icon)"
    )
    background_min_words: int = Field(
        40,
        description="an image with this many words of page text on top of it is a page background (or a framed "
        "box this many words a sidebar), not a figure; figure labels are far fewer",
    )
    scan_min_region_frac: float = Field(
        0.01, description="a scanned-page region below this fraction of the page area is not a figure"
    )
    scan_white_level: int = Field(235, description="grey level above which a scanned pixel counts as paper")
    scan_text_pad_px: int = Field(2, description="padding around OCR words masked out before region finding")
    scan_min_nonwhite_frac: float = Field(
        0.45, description="a scanned region must be at least this fraction non-paper pixels (photos, not text)"
    )
    scan_shadow_max_ink_frac: float = Field(
        0.2,
        description="a photo-like region on the page's edge with less than this fraction of its pixels clearly "
        "darker than the paper (20 grey levels) is the scan's shading (gutter or corner shadow), not a photo; "
        "the photo regions of the dev scans have 0.44 or more, their two shadows 0.06 or less",
    )
    scan_drawn_figures: bool = Field(
        True, description="also find drawn figures (charts, plots, diagrams, panel grids) on scanned pages"
    )
    scan_body_min_words: int = Field(
        4, description="an OCR line with at least this many words (and wide enough) is running text, not a label"
    )
    scan_body_min_width_lh: float = Field(
        8.0, description="... and at least this many line heights wide; body text lines never join a figure"
    )
    scan_figure_gap_lh: float = Field(
        3.0, description="pieces of a figure (panels, a chart and its legend) at most this many line heights "
        "apart, with no body text between them, are one figure"
    )
    scan_label_gap_lh: float = Field(
        1.0, description="labels, ticks and markers at most this many line heights from a figure belong to it"
    )
    scan_table_text_frac: float = Field(
        0.05, description="a drawn region (no photo) at least this fraction covered by OCR words ..."
    )
    scan_min_drawn_frac: float = Field(
        0.002,
        description="... and with less than this fraction of ink that is neither words nor straight rules is "
        "a table (or a framed text box), not a figure",
    )
    vector_min_drawings: int = Field(
        8, description="a cluster of at least this many vector drawings can be a figure"
    )
    vector_min_area_frac: float = Field(0.02, description="minimum page-area fraction of a vector figure")
    vector_render_dpi: int = Field(200, description="dpi at which vector figures are rendered to pixels")
    placeholder_min_side_pt: float = Field(
        48.0, description="a framed box (stroked rectangle, no fill or a white one) holding only text, on a page "
        "with a caption, is a figure placeholder when both its sides are at least this long (and its area at least "
        "vector_min_area_frac of the page): web editions print one instead of an image they may not show"
    )
    placeholder_white_fill: float = Field(
        0.95, description="a box filled lighter than this (each of R, G, B in 0-1) counts as unfilled; a tinted "
        "box is a sidebar"
    )
    placeholder_max_strokes: int = Field(
        4, description="a placeholder holds at most this many drawing items besides its frame (a framed drawing "
        "has many)"
    )
    placeholder_max_overlap: float = Field(
        0.1, description="a box that an image or figure region covers by more than this share of its area is a "
        "figure's frame, not a placeholder"
    )
    uncaptioned_vector_dpi: int = Field(
        72,
        description="dpi of drawings on a page where no line starts with a caption label, and of drawings too "
        "small to be a figure anywhere: they can only become `vector_uncaptioned` or `decoration_small_drawing` "
        "rejects (watermarks, stamps, ornaments, logos), so their stored image is a preview. Set it to "
        "vector_render_dpi to render them in full",
    )


class CaptionSettings(BaseModel):
    max_caption_chars: int = Field(5000, description="a caption longer than this is cut (journal captions run to 3,000)")
    labels: list[str] = Field(
        default_factory=lambda: ["Fig", "Figure", "Figs", "Plate"],
        description="caption label words (matched case-insensitively, with an optional full stop)",
    )


class AlignSettings(BaseModel):
    max_gap_pt: float = Field(
        72.0, description="largest vertical gap between a figure and its caption (PDF points)"
    )
    min_overlap_frac: float = Field(
        0.3, description="minimum horizontal overlap (fraction of the narrower box) for caption and image"
    )
    max_regions_per_caption: int = Field(8, description="most image regions one caption can own")
    beside_slack_pt: float = Field(
        6.0, ge=0,
        description="a caption set beside an image may reach this far (PDF points) above its top or below its "
        "bottom and still stand beside it alone: its first line's ascenders sit over the image's top edge, and a "
        "region found on a scan may be a few points short of the printed picture",
    )
    max_panel_gap_pt: float = Field(
        14.0,
        description="largest white gap between two images of one row or grid (PDF points; panel letters printed "
        "under a panel do not count): two images this close side by side or one under the other, with no text "
        "between and no caption of their own each, are one figure and take one caption (pipeline.align)",
    )
    panel_min_frac: float = Field(
        0.15, gt=0, lt=0.5,
        description="splitting a compound raster into the panels its caption names (pipeline.panel_split): a panel "
        "is at least this fraction of the raster's width and height (and 16 px)",
    )
    scan_panel_dpi: float = Field(
        150.0, gt=0,
        description="a scanned region is split into panels on a copy at most this fine (dpi): a scan blurs an edge "
        "over about half a point, which the border tests (a step within 1-2 px) see as one step at 150 dpi but "
        "not at 300-400 dpi, where a drawn line or gutter between two panels reads as out of focus",
    )
    panel_letters_ocr: bool = Field(
        True,
        description="when a border between panels is doubtful, read the panel letters in the panels' corners with "
        "tesseract (one call on small corner crops) to confirm it; off: a doubtful split leaves the figure whole "
        "(panels_unsplit)",
    )


class ModalitySettings(BaseModel):
    """Modality classification (``pipeline/modality``): a trained image model combined with caption cues."""

    review_threshold: float = Field(
        0.6, ge=0, le=1, description="records whose modality confidence is below this are marked needs_review"
    )
    caption_weight: float = Field(
        1.0, ge=0,
        description="log-odds added per unit of caption cue strength (strong cue 2, weak 1): p ∝ p_image · "
        "exp(caption_weight · cues); 0 = image only",
    )
    model_path: str | None = Field(
        None,
        description="modality model file made by `mmskin modality fit`; None = the shipped "
        "models/modality/default.npz (the build's cache key holds the file's sha256, not its path)",
    )


class DemographicsSettings(BaseModel):
    """Rule-based patient age/gender mining from caption text (``pipeline/demographics.py``)."""

    enabled: bool = Field(True, description="mine age and gender; when false every record gets empty demographics")
    max_age: float = Field(
        120.0, ge=0, le=120, description="an age mention above this many years is ignored (never capped to it)"
    )
    decade_offset: float = Field(
        5.0, description='"in her 60s" / "in his sixties" = decade + this (60s -> 65)'
    )
    decade_early_offset: float = Field(2.0, description='"in her early 60s" = decade + this (62)')
    decade_mid_offset: float = Field(5.0, description='"in his mid-60s" = decade + this (65)')
    decade_late_offset: float = Field(8.0, description='"in her late 60s" = decade + this (68)')
    weeks_per_year: float = Field(52.1775, description='"8-week-old" = 8 / this years')
    days_per_year: float = Field(365.25, description='"10-day-old" = 10 / this years')
    newborn_age: float | None = Field(
        0.0,
        description='age in years given to a "newborn"/"neonate" with no number (a newborn is 0 years old, as '
        "the labelled dev data has it); None = age group infant only.",
    )
    boy_girl_child_group: bool = Field(
        False,
        description='a "boy"/"girl" with no number gives age group child; off by default because the words '
        "also cover adolescents and the dev labels leave the group empty",
    )
    pronouns: bool = Field(
        True, description="use he/his/him, she/her as weak gender evidence when no gendered noun names the patient"
    )
    age_decimals: int = Field(2, ge=0, description="ages are rounded to this many decimals (8 months = 0.67)")


class FilterSettings(BaseModel):
    min_side_px: int = Field(128, description="records whose shorter image side is below this are rejected")
    blank_std: float = Field(6.0, description="an image whose grey-level std is below this is blank")
    phash_max_distance: int = Field(
        6, description="perceptual-hash Hamming distance at or below which two images are duplicates"
    )
    face_min_frac: float = Field(
        0.04, description="a detected face must cover at least this fraction of the image's shorter side squared"
    )
    face_min_neighbors: int = Field(9, description="Haar cascade minNeighbors")
    overlay_min_score: float = Field(0.5, description="score above which an image counts as annotated")
    overlay_min_ocr_words: int = Field(1, description="OCR words inside an image that count as an overlay")
    ocr_overlay: bool = Field(True, description="run OCR inside images to find text overlays")
    sensitive_terms: list[str] = Field(
        default_factory=lambda: [
            "genital",
            "genitalia",
            "penis",
            "penile",
            "vulva",
            "vulvar",
            "vagina",
            "vaginal",
            "scrotum",
            "scrotal",
            "perianal",
            "anus",
            "anal",
            "breast",
            "nipple",
            "buttock",
            "groin",
        ],
        description="caption words that mark an image of a sensitive anatomical site",
    )
    reject_needs_review: bool = False


class VQASettings(BaseModel):
    """VQA generation (``pipeline/vqa``). The LLM fields matter only with ``generator="openai"``; base URL, key and
    model may also come from OPENAI_BASE_URL, OPENAI_API_KEY and MMSKIN_LLM_MODEL."""

    generator: Literal["template", "openai"] = Field(
        "template", description="'template' (offline, deterministic) or 'openai' (any OpenAI-compatible server)"
    )
    max_pairs: int = Field(8, ge=1, description="most question/answer pairs kept per record (after the guard)")
    n_pairs: int = Field(3, ge=1, le=20, description="question/answer pairs asked of the LLM per record")
    grounding_min_share: float = Field(
        1.0, ge=0, le=1,
        description="share of an answer's content words that must occur in the caption (with modality and "
        "demographics); 1.0 = all (see pipeline/vqa/guard.py)",
    )
    base_url: str | None = Field(None, description="server URL, e.g. http://localhost:8000/v1; None = OPENAI_BASE_URL "
                                 "or api.openai.com")
    model: str | None = Field(None, description="model name; None = MMSKIN_LLM_MODEL")
    api_key: SecretStr | None = Field(
        None, exclude=True, description="API key; None = OPENAI_API_KEY (never written to manifest.json or caches)"
    )
    timeout_s: float = Field(60.0, gt=0, description="seconds one request may take before it is retried")
    max_retries: int = Field(
        4, ge=0, description="retries per request on 429, 5xx and timeouts (exponential backoff with jitter, "
        "Retry-After honoured)"
    )
    concurrency: int = Field(16, ge=1, description="requests in flight at most")
    circuit_breaker_failures: int = Field(
        8, ge=1, description="after this many consecutive failed requests no new one is sent; the remaining "
        "records get vqa_error llm_circuit_open (a re-run tries them again)"
    )
    with_image: bool = Field(False, description="also send the image (base64 data URL) for vision models")
    response_format: Literal["auto", "json_schema", "json_object", "none"] = Field(
        "auto", description="structured output; auto = json_schema, stepping down to json_object and none when "
        "the server refuses it"
    )
    temperature: float = Field(0.2, ge=0, le=2, description="sampling temperature")
    max_tokens: int | None = Field(1024, description="most tokens per reply (None = server default)")
    price_input_per_1k: float = Field(0.0, ge=0, description="price per 1,000 prompt tokens, for the cost estimate")
    price_output_per_1k: float = Field(0.0, ge=0, description="price per 1,000 completion tokens, for the cost estimate")
    cache_path: str | None = Field(
        None, description="LLM response cache (SQLite); None = OUT/.llm-cache.sqlite. Share one path between "
        "builds so no prompt is paid for twice"
    )


class ExportSettings(BaseModel):
    test_fraction: float = Field(0.2, description="share of figures (not records) in the test split")
    split_seed: str = Field("mmskin", description="salt of the deterministic figure-level split")
    image_format: str = Field("png", description="format of exported images")


class ReviewSettings(BaseModel):
    """The curation page (`mmskin review DIR`); not part of any build stage."""

    host: str = Field("127.0.0.1", description="address the page is served on: loopback, this machine only")
    port: int = Field(8765, ge=0, le=65535, description="port of the page (0 = any free port)")
    page_size: int = Field(60, ge=1, description="records per page of the list")
    max_page_size: int = Field(500, ge=1, description="most records one list request may ask for")
    thumb_px: int = Field(256, ge=16, description="longest side of a thumbnail")


class EvaluationSettings(BaseModel):
    """`mmskin eval vqa` and `mmskin eval classify` (not part of any build stage). Training has its own YAML config
    (training/config.py)."""

    seed: int = Field(0, description="seed of generation, cross-validation folds and the probe")
    max_new_tokens: int = Field(512, ge=1, description="most tokens generated per VQA answer")
    temperature: float = Field(0.0, ge=0, description="0 = greedy decoding; MM-Skin's scripts sample at 0.2")
    batch_size: int = Field(8, ge=1, description="questions generated together (left-padded)")
    compat_bleu_weights: list[list[float]] = Field(
        [[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0], [0.33, 0.33, 0.33, 0.0], [0.25, 0.25, 0.25, 0.25]],
        description="nltk corpus_bleu weights of BLEU-1..4 in the mmskin-compat scores (MM-Skin's)")
    probe_folds: int = Field(5, ge=2, description="stratified folds choosing the linear probe's C")
    probe_c_grid: list[float] = Field([0.001, 0.01, 0.1, 1.0, 10.0, 100.0],
                                      description="inverse regularisation strengths tried for the probe")
    probe_scoring: str = Field("balanced_accuracy", description="scikit-learn scorer that picks C")
    probe_max_iter: int = Field(5000, ge=1, description="LogisticRegression iterations")
    zeroshot_prompt: str = Field(
        "Which of the following classes does this image show: {classes}? Answer with the class name only.",
        description="zero-shot question; {classes} is replaced by the class names joined with ', '")
    zeroshot_max_new_tokens: int = Field(32, ge=1, description="most tokens generated per zero-shot answer")


class Settings(BaseSettings):
    """All pipeline settings. Defaults are what the paper-style build uses."""

    model_config = SettingsConfigDict(env_prefix="MMSKIN_", env_nested_delimiter="__", extra="ignore")

    extract: ExtractSettings = ExtractSettings()
    captions: CaptionSettings = CaptionSettings()
    align: AlignSettings = AlignSettings()
    modality: ModalitySettings = ModalitySettings()
    demographics: DemographicsSettings = DemographicsSettings()
    filter: FilterSettings = FilterSettings()
    vqa: VQASettings = VQASettings()
    export: ExportSettings = ExportSettings()
    review: ReviewSettings = ReviewSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    workers: int = Field(0, description="processes for OCR and page work; 0 = all cores")
    warning_messages: int = Field(20, ge=0, description="MuPDF messages about a damaged book kept in its manifest "
                                  "entry (all of them are counted by kind)")
