// Shared pieces of every page: the header, error messages, certainty chips and formatting.

import { BASE, clearToken, getToken } from "./api.js";

/** Certainty colours (method.md step 4); the text always travels with the colour. */
export const COLOURS = {
  green: { label: "Green", meaning: "certain no CP", hex: "#2e7d32" },
  yellow: { label: "Yellow", meaning: "uncertain no CP", hex: "#f2c200" },
  orange: { label: "Orange", meaning: "uncertain CP", hex: "#e8710a" },
  red: { label: "Red", meaning: "certain CP", hex: "#c62828" },
};

export const PUBLISHED_THRESHOLDS = [0.15, 0.2, 0.25, 0.3, 0.35];

export const STATUS_LABELS = {
  queued: "Waiting in queue",
  running: "Analysing",
  succeeded: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
  uploaded: "Uploaded",
};

export const STAGE_LABELS = {
  queued: "Waiting for a free analysis slot",
  uploading: "Uploading the video",
  probing: "Checking the video",
  decoding: "Reading the video",
  pose: "Tracking the infant's movements (motion capture)",
  skeleton: "Tracking the infant's movements (motion capture)",
  preprocessing: "Preparing the movement data",
  predicting: "Computing the risk with the model ensemble",
  report: "Writing the report",
  storing: "Saving the results",
  reporting: "Writing the report",
  done: "Finished",
  succeeded: "Finished",
};

export function stageLabel(stage) {
  if (!stage) return "";
  return STAGE_LABELS[stage] || stage.replace(/_/g, " ");
}

/** Creates an element: el("p", {class: "x", text: "…"}, child, …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function colourChip(colour, { share, count, n, compact = false } = {}) {
  const info = COLOURS[colour];
  if (!info) return el("span", { class: "chip chip-unknown", text: colour || "—" });
  let text = compact ? `${info.label}: ${info.meaning}` : `${info.label} — ${info.meaning}`;
  if (share !== undefined && share !== null && !compact) {
    const counted = count !== undefined && n ? ` (${count} of ${n})` : "";
    text += `, ${formatPercent(share)} of model instances above threshold${counted}`;
  }
  return el(
    "span",
    { class: `chip chip-${colour}`, dataset: { colour } },
    el("span", { class: "chip-swatch", "aria-hidden": "true" }),
    el("span", { class: "chip-text", text }),
  );
}

export function formatPercent(share, digits = 0) {
  if (share === undefined || share === null || Number.isNaN(share)) return "—";
  return `${(share * 100).toFixed(digits)} %`;
}

export function formatRisk(risk) {
  if (risk === undefined || risk === null || Number.isNaN(Number(risk))) return "—";
  return Number(risk).toFixed(2);
}

export function formatThreshold(t) {
  return Number(t).toFixed(2);
}

export function formatDate(value) {
  if (!value) return "—";
  // Dates without time (recorded_on) are shown as written; timestamps in the local time zone.
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatSeconds(s) {
  if (s === undefined || s === null) return "—";
  const total = Math.round(Number(s));
  const m = Math.floor(total / 60);
  const sec = total % 60;
  return m ? `${m} min ${sec} s` : `${sec} s`;
}

/** The standard error box: the clinician sentence first, technical detail second, code small. */
export function errorBox(err, { context } = {}) {
  const title = err?.title || err?.message || "Something went wrong.";
  const detail = err?.detail && err.detail !== title ? err.detail : "";
  return el(
    "div",
    { class: "alert alert-error", role: "alert" },
    context ? el("p", { class: "alert-context", text: context }) : null,
    el("p", { class: "alert-title", text: title }),
    detail ? el("p", { class: "alert-detail", text: detail }) : null,
    err?.code ? el("p", { class: "alert-code" }, "Error code: ", el("code", { text: err.code })) : null,
  );
}

export function showError(container, err, options) {
  container.replaceChildren(errorBox(err, options));
  container.hidden = false;
}

export function progressBar(fraction, { label } = {}) {
  const value = Math.max(0, Math.min(1, Number(fraction) || 0));
  const pct = Math.round(value * 100);
  return el(
    "div",
    { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct), "aria-label": label || "Progress" },
    el("div", { class: "progress-fill", style: `width: ${pct}%` }),
    el("span", { class: "progress-text", text: `${pct} %` }),
  );
}

/** Header with navigation and sign-out; marks the current page. */
export function renderHeader(current) {
  const header = document.getElementById("site-header");
  if (!header) return;
  const link = (key, href, text) =>
    el("a", { href, class: current === key ? "nav-link active" : "nav-link", "aria-current": current === key ? "page" : null, text });
  const nav = el(
    "nav",
    { class: "site-nav", "aria-label": "Main" },
    link("recordings", `${BASE}/`, "Recordings"),
    link("upload", `${BASE}/upload`, "New analysis"),
    link("admin", `${BASE}/admin`, "Job queue"),
  );
  const signout = getToken()
    ? el("button", {
        type: "button",
        class: "btn btn-quiet",
        id: "signout",
        text: "Sign out",
        onclick: () => {
          clearToken();
          location.assign(`${BASE}/signin`);
        },
      })
    : null;
  header.replaceChildren(
    el(
      "div",
      { class: "header-inner" },
      el("a", { class: "brand", href: `${BASE}/` }, el("span", { class: "brand-mark", "aria-hidden": "true", text: "◆" }), "EarlyCP"),
      nav,
      signout,
    ),
  );
}
