// mmskin review: the curation page. Plain DOM code, no libraries.
// Text from the PDFs (captions, ids, reasons, evidence, VQA pairs) is only ever put into the page with
// textContent, title, option values or data attributes: never parsed as HTML.
"use strict";

const FILTERS = ["modality", "reason", "needs_review", "kept", "curated", "q"];
const MODALITY_KEYS = { c: "clinical", d: "dermoscopy", p: "pathology", o: "other" };
const GENDER_KEYS = { m: "male", f: "female", u: null };

// full: id -> the record with its VQA pairs (the list leaves them out), fetched when the record is shown
const state = { records: [], total: 0, offset: 0, limit: 0, sel: -1, facets: null, loading: false, hidden: 0,
  full: new Map(), pending: new Set(), seq: 0 };

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function pathUrl(prefix, rel) {
  return prefix + String(rel).split("/").map(encodeURIComponent).join("/");
}

function exportedText(rec) {
  return rec.subcaption !== null && rec.subcaption !== undefined ? rec.subcaption : rec.caption;
}

function ageTitle(rec) {
  return rec.age === null || rec.age === undefined ? "" : rec.age + " years";
}

function status(msg, isError) {
  const s = $("status");
  s.textContent = msg;
  s.className = isError ? "error" : "";
}

// ---- URL <-> filters (a reload shows the same view) ----
function readUrl() {
  const params = new URLSearchParams(location.search);
  for (const f of FILTERS) {
    const input = $("f-" + f);
    const v = params.get(f) || "";
    if (input.tagName === "SELECT" && v && ![...input.options].some((o) => o.value === v)) {
      const opt = el("option", null, v);
      opt.value = v;
      input.appendChild(opt);
    }
    input.value = v;
  }
  $("f-decorations").checked = params.get("decorations") === "show";
  state.offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
}

function writeUrl() {
  const params = new URLSearchParams();
  for (const f of FILTERS) {
    const v = $("f-" + f).value;
    if (v) params.set(f, v);
  }
  if ($("f-decorations").checked) params.set("decorations", "show");
  if (state.offset) params.set("offset", String(state.offset));
  const sel = state.records[state.sel];
  const qs = params.toString();
  history.replaceState(null, "", location.pathname + (qs ? "?" + qs : "") + (sel ? "#" + encodeURIComponent(sel.id) : ""));
}

// ---- server ----
async function api(path, options) {
  const res = await fetch(path, Object.assign({ headers: { "Content-Type": "application/json" } }, options || {}));
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    let msg = res.status + " " + res.statusText;
    if (body && Array.isArray(body.detail)) {
      msg = body.detail.map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("; ");
    } else if (body && body.detail) {
      msg = String(body.detail);
    }
    throw new Error(msg);
  }
  return body;
}

// the filters as the list endpoint takes them; decorations (page furniture) are hidden unless asked for
function filterParams() {
  const params = new URLSearchParams();
  for (const f of FILTERS) {
    const v = $("f-" + f).value;
    if (v) params.set(f, v);
  }
  params.set("decorations", $("f-decorations").checked ? "show" : "hide");
  return params;
}

// a load answered after a later one started (quick filter changes, h) is dropped: the page shows the last asked
async function load(selectId) {
  const params = filterParams();
  params.set("offset", String(state.offset));
  const seq = ++state.seq;
  state.loading = true;
  document.body.dataset.ready = "0";
  try {
    const data = await api("/api/records?" + params.toString());
    if (seq !== state.seq) return;
    state.records = data.records;
    state.total = data.total;
    state.limit = data.limit;
    state.facets = data.facets;
    state.hidden = data.hidden_decorations || 0;
    state.full.clear();
    if (state.offset > 0 && state.offset >= state.total) {
      state.offset = 0;
      return load(selectId);
    }
    renderFacets(data.facets, data.overrides, state.hidden);
    renderGrid();
    let idx = selectId ? state.records.findIndex((r) => r.id === selectId) : -1;
    if (idx < 0 && state.records.length) idx = 0;
    select(idx);
    status("");
  } catch (e) {
    if (seq === state.seq) status("could not load records: " + e.message, true);
  } finally {
    if (seq === state.seq) {
      state.loading = false;
      document.body.dataset.ready = "1";
    }
  }
}

async function send(change) {
  const rec = state.records[state.sel];
  if (!rec) return;
  const body = Object.assign({ record_id: rec.id }, change);
  try {
    const data = await api("/api/overrides", { method: "POST", body: JSON.stringify(body) });
    const updated = data.record;
    state.full.set(updated.id, updated);
    state.records[state.sel] = updated;
    replaceCard(state.sel);
    renderDetail();
    const what = Object.keys(change).filter((k) => k !== "reason").join(", ");
    status("saved " + what + " for " + rec.id);
    refreshCounts();
  } catch (e) {
    status("not saved: " + e.message, true);
  }
}

async function refreshCounts() {
  try {
    const params = filterParams();
    params.set("limit", "1");
    const data = await api("/api/records?" + params.toString());
    renderFacets(data.facets, data.overrides, data.hidden_decorations || 0);
  } catch (e) {
    // the counts wait for the next load
  }
}

// ---- rendering ----
async function loadFull(id) {
  if (state.pending.has(id)) return;
  state.pending.add(id);
  try {
    state.full.set(id, await api("/api/records/" + encodeURIComponent(id)));
  } catch (e) {
    state.full.set(id, { failed: e.message }); // shown as such; the next load tries again
  } finally {
    state.pending.delete(id);
  }
  const rec = state.records[state.sel];
  if (rec && rec.id === id) renderVqa(rec);
}

function renderFacets(f, overrides, hidden) {
  const reason = $("f-reason");
  const current = reason.value;
  while (reason.options.length > 2) reason.remove(2);
  const names = Object.keys(f.reasons);
  if (current && current !== "none" && !names.includes(current)) names.push(current);
  for (const name of names) {
    const opt = el("option", null, name + (f.reasons[name] !== undefined ? " (" + f.reasons[name] + ")" : ""));
    opt.value = name;
    reason.appendChild(opt);
  }
  reason.value = current;
  const parts = [
    f.records + " records", f.kept + " kept", f.needs_review + " need review", f.curated + " curated",
  ];
  const showing = $("f-decorations").checked;
  if (!showing && f.decorations) parts.push(f.decorations + " decorations hidden");
  if (overrides && overrides.dropped) parts.push(overrides.dropped + " override lines not applied");
  $("counts").textContent = parts.join(" · ");
  $("decorations-count").textContent = showing ? "(" + f.decorations + ")" : "(" + (hidden || 0) + " hidden)";
  const end = Math.min(state.offset + state.records.length, state.total);
  $("range").textContent = state.total ? state.offset + 1 + "–" + end + " of " + state.total : "no records match";
  $("prev-page").disabled = state.offset <= 0;
  $("next-page").disabled = end >= state.total;
}

function card(rec, i) {
  const c = el("article", "card");
  c.dataset.id = rec.id;
  c.dataset.index = String(i);
  c.tabIndex = -1;
  if (!rec.kept) c.classList.add("rejected");
  if (rec.needs_review) c.classList.add("review");
  const img = el("img", "thumb");
  img.loading = "lazy";
  img.alt = "";
  img.src = pathUrl("/thumbs/", rec.image);
  c.appendChild(img);
  const meta = el("div", "meta");
  const mod = el("span", "modality " + rec.modality, rec.modality);
  mod.dataset.field = "modality";
  mod.title = rec.modality_explained || "";
  meta.appendChild(mod);
  meta.appendChild(el("span", "conf", Number(rec.modality_confidence).toFixed(2)));
  const demo = el("span", "demo");
  demo.dataset.field = "demographics";
  const age = el("span", "age", rec.age === null ? "age ?" : rec.age_printed || rec.age + " years");
  age.dataset.field = "age";
  age.title = ageTitle(rec);
  demo.appendChild(age);
  demo.appendChild(document.createTextNode(" · " + (rec.gender || "gender ?")));
  meta.appendChild(demo);
  if (rec.reject_reasons.some((r) => r.startsWith("decoration_"))) c.classList.add("decoration");
  if (rec.needs_review) meta.appendChild(el("span", "badge review", "needs review"));
  if (rec.curated && rec.curated.length) meta.appendChild(el("span", "badge curated", "curated"));
  c.appendChild(meta);
  const cap = el("p", "caption", exportedText(rec) || "(no caption)");
  cap.dataset.field = "caption";
  c.appendChild(cap);
  const reasons = el("div", "reasons");
  reasons.dataset.field = "reasons";
  for (const r of rec.reject_reasons) reasons.appendChild(el("span", "badge reason", r));
  for (const r of rec.overruled_reasons || []) reasons.appendChild(el("span", "badge overruled", "overruled: " + r));
  c.appendChild(reasons);
  c.addEventListener("click", () => select(i));
  return c;
}

function renderGrid() {
  const grid = $("grid");
  clear(grid);
  state.records.forEach((rec, i) => grid.appendChild(card(rec, i)));
  if (!state.records.length) grid.appendChild(el("p", "empty", "No records match these filters."));
}

function replaceCard(i) {
  const grid = $("grid");
  const old = grid.children[i];
  const fresh = card(state.records[i], i);
  if (i === state.sel) fresh.classList.add("selected");
  grid.replaceChild(fresh, old);
}

function select(i) {
  const grid = $("grid");
  if (state.sel >= 0 && grid.children[state.sel]) grid.children[state.sel].classList.remove("selected");
  state.sel = i;
  if (i >= 0 && grid.children[i]) {
    grid.children[i].classList.add("selected");
    grid.children[i].scrollIntoView({ block: "nearest" });
  }
  renderDetail();
  writeUrl();
}

function renderDetail() {
  const rec = state.records[state.sel];
  const body = $("detail-body");
  document.querySelector("#detail .empty").hidden = !!rec;
  body.hidden = !rec;
  if (!rec) return;
  $("d-image").src = pathUrl("/media/", rec.image);
  $("d-id").textContent = rec.id;
  $("d-source").textContent = rec.source_pdf + ", page " + rec.page + (rec.figure_label ? ", " + rec.figure_label : "") +
    (rec.panel ? " panel " + rec.panel : "");
  const st = [rec.kept ? "kept" : "rejected: " + rec.reject_reasons.join(", ")];
  if (rec.overruled_reasons && rec.overruled_reasons.length) st.push("overruled: " + rec.overruled_reasons.join(", "));
  if (rec.needs_review) st.push("needs review");
  if (rec.duplicate_of) st.push("duplicate of " + rec.duplicate_of);
  if (rec.curated && rec.curated.length) st.push("curated: " + rec.curated.join(", "));
  $("d-status").textContent = st.join(" · ");
  for (const b of document.querySelectorAll("[data-modality]")) {
    b.classList.toggle("active", b.dataset.modality === rec.modality);
  }
  $("d-modality").textContent = rec.modality + " " + Number(rec.modality_confidence).toFixed(2);
  $("d-modality-evidence").textContent = rec.modality_explained || "";
  $("d-modality-evidence").title = (rec.modality_evidence || []).join("; ");
  $("d-age-printed").textContent = rec.age === null ? "unknown" : rec.age_printed || rec.age + " years";
  $("d-age-printed").title = ageTitle(rec);
  if (document.activeElement !== $("d-age")) $("d-age").value = rec.age === null ? "" : String(rec.age);
  $("d-gender").value = rec.gender || "";
  $("d-demographics").textContent = (rec.age_group ? "age group " + rec.age_group + "; " : "") +
    (rec.demographics_evidence || []).join("; ");
  if (document.activeElement !== $("d-caption")) $("d-caption").value = exportedText(rec) || "";
  $("d-figure-caption").textContent = rec.subcaption !== null ? rec.caption : "";
  $("d-figure-caption").parentElement.hidden = rec.subcaption === null;
  renderVqa(rec);
}

function renderVqa(rec) {
  const list = $("d-vqa");
  clear(list);
  const full = state.full.get(rec.id);
  if (!full) {
    $("d-vqa-count").textContent = "";
    $("d-vqa-note").textContent = "loading…";
    loadFull(rec.id);
    return;
  }
  if (full.failed) {
    $("d-vqa-count").textContent = "";
    $("d-vqa-note").textContent = "could not load the VQA pairs: " + full.failed;
    return;
  }
  const pairs = full.vqa || [];
  for (const pair of pairs) {
    const li = el("li", "qa");
    const kind = pair.kind || pair.type;
    if (kind) li.appendChild(el("span", "badge kind", kind));
    const q = el("p", "q", pair.question);
    q.dataset.field = "question";
    const a = el("p", "a", pair.answer);
    a.dataset.field = "answer";
    li.appendChild(q);
    li.appendChild(a);
    list.appendChild(li);
  }
  $("d-vqa-count").textContent = "(" + pairs.length + ")";
  const notes = [];
  if (!pairs.length) notes.push(full.vqa_error ? "no VQA: " + full.vqa_error : "no VQA pairs");
  const rejected = (full.vqa_rejected || []).length;
  if (rejected) notes.push(rejected + " generated pair" + (rejected === 1 ? "" : "s") + " rejected by the guard");
  $("d-vqa-note").textContent = notes.join("; ");
}

function selectedId() {
  const rec = state.records[state.sel];
  return rec ? rec.id : undefined;
}

// showing or hiding decorations keeps the selected record selected when it is still in the list
function toggleDecorations() {
  $("f-decorations").checked = !$("f-decorations").checked;
  state.offset = 0;
  load(selectedId());
}

// ---- actions ----
function move(delta) {
  const n = state.records.length;
  const next = state.sel + delta;
  if (next >= n && state.offset + n < state.total) return page(1);
  if (next < 0 && state.offset > 0) return page(-1, true);
  if (n) select(Math.max(0, Math.min(n - 1, next)));
}

async function page(dir, selectLast) {
  if (state.loading) return;
  const offset = state.offset + dir * state.limit;
  if (offset < 0 || offset >= state.total) return;
  state.offset = offset;
  await load();
  if (selectLast && state.records.length) select(state.records.length - 1);
}

function saveAge() {
  const raw = $("d-age").value.trim();
  const age = raw === "" ? null : Number(raw);
  if (age !== null && !Number.isFinite(age)) {
    status("age must be a number of years", true);
    return;
  }
  $("d-age").blur();
  send({ age: age });
}

function saveCaption() {
  $("d-caption").blur();
  send({ caption: $("d-caption").value });
}

function resetCaption() {
  const rec = state.records[state.sel];
  $("d-caption").value = rec ? exportedText(rec) || "" : "";
  $("d-caption").blur();
}

function toggleHelp() {
  const d = $("help");
  if (d.open) d.close();
  else d.showModal();
}

function onKey(e) {
  const t = e.target;
  const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
  if (typing) {
    if (t.id === "d-caption") {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveCaption(); }
      else if (e.key === "Escape") { e.preventDefault(); resetCaption(); }
    } else if (t.id === "d-age") {
      if (e.key === "Enter") { e.preventDefault(); saveAge(); }
      else if (e.key === "Escape") { e.preventDefault(); renderDetail(); t.blur(); }
    } else if (e.key === "Escape") {
      t.blur();
    }
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if ($("help").open && e.key !== "?") return;
  const k = e.key;
  if (k === "j" || k === "ArrowRight" || k === "ArrowDown") move(1);
  else if (k === "k" || k === "ArrowLeft" || k === "ArrowUp") move(-1);
  else if (k === "]") page(1);
  else if (k === "[") page(-1);
  else if (k in MODALITY_KEYS) send({ modality: MODALITY_KEYS[k] });
  else if (k in GENDER_KEYS) send({ gender: GENDER_KEYS[k] });
  else if (k === "a") send({ decision: "accept" });
  else if (k === "r") send({ decision: "reject", reason: $("d-reason").value });
  else if (k === "e") { if (state.records[state.sel]) $("d-caption").focus(); }
  else if (k === "y") { if (state.records[state.sel]) { $("d-age").focus(); $("d-age").select(); } }
  else if (k === "/") $("f-q").focus();
  else if (k === "h") toggleDecorations();
  else if (k === "?") toggleHelp();
  else return;
  e.preventDefault();
}

function init() {
  readUrl();
  const wanted = location.hash ? decodeURIComponent(location.hash.slice(1)) : null;
  for (const f of FILTERS) {
    const input = $("f-" + f);
    let timer = null;
    input.addEventListener(f === "q" ? "input" : "change", () => {
      state.offset = 0;
      clearTimeout(timer);
      if (f === "q") timer = setTimeout(load, 250);
      else { input.blur(); load(); }
    });
  }
  $("f-decorations").addEventListener("change", () => {
    state.offset = 0;
    $("f-decorations").blur();
    load(selectedId());
  });
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("prev-page").addEventListener("click", () => page(-1));
  $("next-page").addEventListener("click", () => page(1));
  $("help-button").addEventListener("click", toggleHelp);
  $("help-close").addEventListener("click", () => $("help").close());
  for (const b of document.querySelectorAll("[data-modality]")) {
    b.addEventListener("click", () => send({ modality: b.dataset.modality }));
  }
  $("d-age-save").addEventListener("click", saveAge);
  $("d-gender").addEventListener("change", () => { $("d-gender").blur(); send({ gender: $("d-gender").value || null }); });
  $("d-accept").addEventListener("click", () => send({ decision: "accept" }));
  $("d-reject").addEventListener("click", () => send({ decision: "reject", reason: $("d-reason").value }));
  $("d-caption-save").addEventListener("click", saveCaption);
  $("d-caption-reset").addEventListener("click", resetCaption);
  document.addEventListener("keydown", onKey);
  load(wanted);
}

document.addEventListener("DOMContentLoaded", init);
