// mmskin review: the curation page. Plain DOM code, no libraries.
// Text from the PDFs (captions, ids, reasons, evidence) is only ever put into the page with textContent,
// option values or data attributes: never parsed as HTML.
"use strict";

const FILTERS = ["modality", "reason", "needs_review", "kept", "curated", "q"];
const MODALITY_KEYS = { c: "clinical", d: "dermoscopy", p: "pathology", o: "other" };
const GENDER_KEYS = { m: "male", f: "female", u: null };

const state = { records: [], total: 0, offset: 0, limit: 0, sel: -1, facets: null, loading: false };

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
  state.offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
}

function writeUrl() {
  const params = new URLSearchParams();
  for (const f of FILTERS) {
    const v = $("f-" + f).value;
    if (v) params.set(f, v);
  }
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

async function load(selectId) {
  const params = new URLSearchParams();
  for (const f of FILTERS) {
    const v = $("f-" + f).value;
    if (v) params.set(f, v);
  }
  params.set("offset", String(state.offset));
  state.loading = true;
  document.body.dataset.ready = "0";
  try {
    const data = await api("/api/records?" + params.toString());
    state.records = data.records;
    state.total = data.total;
    state.limit = data.limit;
    state.facets = data.facets;
    if (state.offset > 0 && state.offset >= state.total) {
      state.offset = 0;
      return load(selectId);
    }
    renderFacets(data.facets, data.overrides);
    renderGrid();
    let idx = selectId ? state.records.findIndex((r) => r.id === selectId) : -1;
    if (idx < 0 && state.records.length) idx = 0;
    select(idx);
    status("");
  } catch (e) {
    status("could not load records: " + e.message, true);
  } finally {
    state.loading = false;
    document.body.dataset.ready = "1";
  }
}

async function send(change) {
  const rec = state.records[state.sel];
  if (!rec) return;
  const body = Object.assign({ record_id: rec.id }, change);
  try {
    const data = await api("/api/overrides", { method: "POST", body: JSON.stringify(body) });
    const updated = data.record;
    delete updated.vqa;
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
    const data = await api("/api/records?limit=1");
    renderFacets(data.facets, data.overrides);
  } catch (e) {
    // the counts wait for the next load
  }
}

// ---- rendering ----
function renderFacets(f, overrides) {
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
  if (overrides && overrides.dropped) parts.push(overrides.dropped + " override lines not applied");
  $("counts").textContent = parts.join(" · ");
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
  meta.appendChild(mod);
  meta.appendChild(el("span", "conf", Number(rec.modality_confidence).toFixed(2)));
  const demo = el("span", "demo", (rec.age === null ? "age ?" : rec.age + " y") + " · " + (rec.gender || "gender ?"));
  demo.dataset.field = "demographics";
  meta.appendChild(demo);
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
  $("d-modality-evidence").textContent = (rec.modality_evidence || []).join("; ");
  if (document.activeElement !== $("d-age")) $("d-age").value = rec.age === null ? "" : String(rec.age);
  $("d-gender").value = rec.gender || "";
  $("d-demographics").textContent = (rec.age_group ? "age group " + rec.age_group + "; " : "") +
    (rec.demographics_evidence || []).join("; ");
  if (document.activeElement !== $("d-caption")) $("d-caption").value = exportedText(rec) || "";
  $("d-figure-caption").textContent = rec.subcaption !== null ? rec.caption : "";
  $("d-figure-caption").parentElement.hidden = rec.subcaption === null;
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
