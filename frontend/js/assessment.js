// The assessment page: risk, certainty, threshold, temporal and spatial explanations, QC,
// provenance and downloads — everything read from the report the API returns (worker/report.py).

import { API, ApiError, BASE, apiFetch, downloadFile, requireToken } from "./api.js";
import { drawBoxPlot, drawCamHeatmap, drawCamSkeleton } from "./charts.js";
import {
  COLOURS,
  PUBLISHED_THRESHOLDS,
  colourChip,
  el,
  errorBox,
  formatDate,
  formatPercent,
  formatRisk,
  formatSeconds,
  formatThreshold,
  renderHeader,
  showError,
} from "./ui.js";

const $ = (id) => document.getElementById(id);
const assessmentId = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
const state = { report: null, envelope: null, recording: null, layouts: null, threshold: null, request: 0 };

/** The API may return the bare report or an envelope {id, recording_id, report, …}. */
function splitEnvelope(body) {
  if (body && typeof body === "object" && body.report && typeof body.report === "object") {
    return { report: body.report, envelope: body };
  }
  return { report: body, envelope: {} };
}

function recordingIdOf(envelope) {
  return envelope.recording_id ?? envelope.recording?.id ?? null;
}

function assessmentPath(threshold) {
  const base = `${API}/assessments/${encodeURIComponent(assessmentId)}`;
  return threshold === null || threshold === undefined ? base : `${base}?threshold=${threshold}`;
}

async function loadLayouts() {
  const response = await fetch(`${BASE}/layouts.json`);
  if (!response.ok) throw new ApiError(response.status, { title: "The skeleton figure layouts could not be loaded." });
  return response.json();
}

// --- rendering -------------------------------------------------------------------------------

function renderBanner(report) {
  const v = report.validation || {};
  const banner = $("validation-banner");
  const validated = v.validated === true;
  banner.className = `banner ${validated ? "banner-validated" : "banner-unvalidated"}`;
  banner.setAttribute("role", validated ? "note" : "alert");
  banner.dataset.validated = String(validated);
  const label = v.label || (validated ? "Clinically validated" : "NOT CLINICALLY VALIDATED");
  banner.replaceChildren(
    el("span", { class: "banner-icon", "aria-hidden": "true", text: validated ? "ℹ" : "⚠" }),
    el(
      "div",
      {},
      el("p", { class: "banner-label", id: "validation-label", text: label }),
      v.clinical_validation ? el("p", {}, el("strong", { text: "Model validation: " }), v.clinical_validation) : null,
      v.intended_use ? el("p", {}, el("strong", { text: "Intended use: " }), v.intended_use) : null,
      validated
        ? null
        : el("p", {
            text: "Do not base clinical decisions on this result. It demonstrates the software; the risk it shows has not been shown to predict cerebral palsy.",
          }),
    ),
  );
  banner.hidden = false;
}

function renderFacts(report, envelope, recording) {
  const facts = $("recording-facts");
  const rows = [];
  const subject = recording?.subject_id ?? envelope.subject_id;
  if (subject) rows.push(["Subject", subject]);
  const recordedOn = recording?.recorded_on ?? envelope.recorded_on;
  if (recordedOn) rows.push(["Recorded", formatDate(recordedOn)]);
  const age = recording?.age_weeks ?? envelope.age_weeks;
  if (age !== undefined && age !== null) rows.push(["Age at recording", `${age} weeks post-term`]);
  const rec = report.recording || {};
  if (rec.file) rows.push(["File", rec.file]);
  if (rec.duration_s !== undefined) {
    rows.push(["Analysed", `${formatSeconds(rec.duration_s)} of movement, ${report.windows.length} windows of 5 s`]);
  }
  rows.push(["Report created", formatDate(report.created_at)]);
  facts.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
}

function renderSummary(report) {
  const cp = report.classification === "CP";
  $("risk-value").textContent = formatRisk(report.risk);
  $("risk-value").dataset.risk = String(report.risk);
  const classification = $("classification");
  classification.textContent = `Classification: ${cp ? "CP — increased risk of cerebral palsy" : "no CP — risk not above the decision threshold"}`;
  classification.dataset.classification = report.classification;
  $("classification-reason").textContent = cp
    ? `The risk ${formatRisk(report.risk)} is above the decision threshold ${formatThreshold(report.threshold)}.`
    : `The risk ${formatRisk(report.risk)} is at or below the decision threshold ${formatThreshold(report.threshold)}.`;
  const certainty = $("certainty");
  certainty.replaceChildren(
    el("span", { class: "label", text: "Certainty: " }),
    colourChip(report.colour, { share: report.share_above, count: report.count_above, n: report.n_instances }),
  );
  certainty.dataset.colour = report.colour;

  const scale = $("risk-scale");
  const pct = (x) => `${Math.max(0, Math.min(1, x)) * 100}%`;
  scale.replaceChildren(
    el("div", { class: "threshold", style: `left: ${pct(report.threshold)}` }),
    el("div", { class: "threshold-label", style: `left: ${pct(report.threshold)}`, text: `threshold ${formatThreshold(report.threshold)}` }),
    el("div", { class: "marker", style: `left: ${pct(report.risk)}` }),
    el("div", { class: "marker-label", style: `left: ${pct(report.risk)}`, text: `risk ${formatRisk(report.risk)}` }),
  );

  const uncertain = report.colour === "yellow" || report.colour === "orange";
  const note = $("followup-note");
  note.className = uncertain ? "note emphasis" : "note";
  note.replaceChildren(
    el("p", {
      class: "alert-title",
      text: uncertain
        ? "This result is uncertain: the model instances disagree."
        : "How to use this result.",
    }),
    el("p", {
      text: uncertain
        ? "Consider complementary assessment: General Movement Assessment (GMA) by a certified observer and the Hammersmith Infant Neurological Examination (HINE), and follow-up as for an infant at risk."
        : "The risk supports, and does not replace, clinical judgement. Uncertain (yellow or orange) results should lead to complementary assessment: General Movement Assessment (GMA) and the Hammersmith Infant Neurological Examination (HINE).",
    }),
  );
}

function renderThresholdPicker(report) {
  const options = $("threshold-options");
  const current = Number(report.threshold);
  const values = [...PUBLISHED_THRESHOLDS];
  if (!values.some((t) => Math.abs(t - current) < 1e-9)) values.push(current);
  values.sort((a, b) => a - b);
  options.replaceChildren(
    ...values.map((t) => {
      const published = PUBLISHED_THRESHOLDS.some((p) => Math.abs(p - t) < 1e-9);
      const input = el("input", {
        type: "radio",
        name: "threshold",
        value: String(t),
        checked: Math.abs(t - current) < 1e-9,
        "aria-label": `Threshold ${formatThreshold(t)}${published ? "" : " (this report's setting)"}`,
      });
      input.addEventListener("change", () => changeThreshold(t));
      return el("label", {}, input, el("span", { text: formatThreshold(t) + (published ? "" : " *") }));
    }),
  );
}

function renderColourLegend() {
  $("colour-legend").replaceChildren(...Object.keys(COLOURS).map((c) => colourChip(c, { compact: true })));
}

function renderWindowTable(report) {
  const body = $("window-table").querySelector("tbody");
  body.replaceChildren(
    ...report.windows.map((w, i) =>
      el(
        "tr",
        {},
        el("td", { text: String(i + 1) }),
        el("td", { text: `${w.start_s.toFixed(1)}–${w.end_s.toFixed(1)} s` }),
        el("td", { class: "num", text: formatRisk(w.risk) }),
        el("td", {}, colourChip(w.colour, { share: w.share_above, count: w.count_above, n: report.n_instances })),
      ),
    ),
  );
}

function renderCamRanking(report, labels) {
  const entries = Object.entries(report.cam || {}).sort((a, b) => b[1] - a[1]);
  const list = $("cam-ranking");
  if (!entries.length) {
    list.replaceChildren(el("li", { class: "muted", text: "The model did not provide class activations." }));
    return;
  }
  list.replaceChildren(
    ...entries.slice(0, 5).map(([name, value]) => el("li", {}, el("strong", { text: labels[name] || name }), ` — ${value.toFixed(3)}`)),
  );
}

function qcWarnings(qc) {
  const warnings = [];
  for (const [section, block] of Object.entries(qc || {})) {
    if (section === "warnings" && Array.isArray(block)) warnings.push(...block);
    else if (block && typeof block === "object" && Array.isArray(block.warnings)) warnings.push(...block.warnings);
  }
  return warnings;
}

function renderQc(report, labels) {
  const qc = report.qc || {};
  const skel = qc.skeleton || {};
  const pre = qc.preprocessing || {};
  const body = $("qc-body");
  const warnings = qcWarnings(qc);
  const nodes = [];
  nodes.push(
    warnings.length
      ? el(
          "div",
          { class: "alert alert-warning", id: "qc-warnings" },
          el("p", { class: "alert-title", text: "Check the recording before trusting the result:" }),
          el("ul", { class: "warning-list" }, ...warnings.map((w) => el("li", { text: w }))),
        )
      : el("div", { class: "alert alert-success", id: "qc-warnings" }, el("p", { text: "No quality warnings." })),
  );
  const facts = [];
  if (skel.person_share !== undefined) facts.push(["Infant found in", `${formatPercent(skel.person_share)} of ${skel.frames} frames`]);
  if (skel.mean_confidence !== undefined) facts.push(["Mean tracking confidence", skel.mean_confidence.toFixed(2)]);
  if (pre.imputed_share !== undefined) facts.push(["Positions interpolated (low confidence)", formatPercent(pre.imputed_share, 1)]);
  if (pre.windows !== undefined) facts.push(["Analysis windows", String(pre.windows)]);
  if (pre.unanalysed_tail_s) facts.push(["Unanalysed end of recording", `${pre.unanalysed_tail_s.toFixed(1)} s (shorter than one window)`]);
  if (skel.jitter !== undefined && skel.jitter !== null) facts.push(["Tracking jitter", `${skel.jitter.toFixed(4)} trunk lengths per frame`]);
  if (report.recording?.kind === "skeleton") facts.push(["Input", "uploaded skeleton (no video motion capture)"]);
  if (facts.length) nodes.push(el("dl", { class: "facts" }, ...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])));

  const perKp = skel.keypoint_confidence || {};
  const imputed = pre.imputed_share_per_keypoint || {};
  const names = (report.recording?.keypoints || Object.keys(perKp)).filter((n) => n in perKp || n in imputed);
  if (names.length) {
    const rows = names.map((name) => {
      const c = perKp[name];
      const low = c !== undefined && c < 0.2;
      return el(
        "tr",
        { dataset: { keypoint: name } },
        el("td", { text: labels[name] || name }),
        el("td", { class: "num", text: c === undefined ? "—" : c.toFixed(2) }),
        el(
          "td",
          { class: "bar-cell" },
          c === undefined
            ? null
            : el("div", { class: low ? "bar low" : "bar", "aria-hidden": "true" }, el("span", { style: `width: ${Math.round(Math.min(1, c) * 100)}%` })),
        ),
        el("td", { class: "num", text: imputed[name] === undefined ? "—" : formatPercent(imputed[name], 1) }),
      );
    });
    nodes.push(
      el(
        "details",
        { open: true },
        el("summary", { text: "Tracking confidence per keypoint" }),
        el(
          "div",
          { class: "table-wrap" },
          el(
            "table",
            { id: "qc-keypoints" },
            el("thead", {}, el("tr", {}, el("th", { text: "Keypoint" }), el("th", { class: "num", text: "Mean confidence" }), el("th", { text: "" }), el("th", { class: "num", text: "Interpolated" }))),
            el("tbody", {}, ...rows),
          ),
        ),
      ),
    );
  }
  body.replaceChildren(...nodes);
}

function shortSha(sha) {
  if (!sha) return "—";
  const list = Array.isArray(sha) ? sha : [sha];
  return list.map((s) => String(s).slice(0, 12)).join(", ") + (list.length > 1 ? ` (${list.length} files)` : "");
}

function renderModels(report) {
  const v = report.validation || {};
  const rows = [];
  const pose = report.models?.pose;
  const ens = report.models?.ensemble;
  rows.push(["Motion capture (pose) model", pose ? `${pose.name} ${pose.version}` : "none (skeleton uploaded)"]);
  if (pose) rows.push(["Pose model sha256", shortSha(pose.sha256), Array.isArray(pose.sha256) ? pose.sha256.join("\n") : pose.sha256]);
  rows.push(["Prediction ensemble", ens ? `${ens.name} ${ens.version} (${report.n_instances} instances)` : "—"]);
  if (ens) rows.push(["Ensemble sha256", shortSha(ens.sha256), Array.isArray(ens.sha256) ? ens.sha256.join("\n") : ens.sha256]);
  if (report.software) rows.push(["Software", `${report.software.name} ${report.software.version}`]);
  rows.push(["Report schema", report.schema_version]);
  rows.push(["Clinical validation", v.clinical_validation || "—"]);
  rows.push(["Intended use", v.intended_use || "—"]);
  if (v.training_data) rows.push(["Training data", v.training_data]);
  const metrics = Object.entries(v.validation_metrics || {});
  if (metrics.length) rows.push(["Validation metrics", metrics.map(([k, m]) => `${k.replaceAll("_", " ")}: ${formatMetric(m)}`).join("; ")]);
  $("models-body").replaceChildren(
    el(
      "dl",
      { class: "facts", id: "model-facts" },
      ...rows.flatMap(([k, value, title]) => [el("dt", { text: k }), el("dd", { class: title ? "mono" : null, title: title || null, text: value })]),
    ),
  );
}

function renderDownloads(report, envelope) {
  const recordingId = recordingIdOf(envelope);
  const safe = (s) => String(s).replace(/[^A-Za-z0-9._-]+/g, "_");
  const tag = safe(assessmentId);
  const items = [
    ["download-report", "Report (JSON)", `${assessmentPath(report.threshold)}`, `earlycp-assessment-${tag}.json`],
    ["download-fhir", "FHIR resource (JSON)", `${API}/assessments/${encodeURIComponent(assessmentId)}/fhir`, `earlycp-assessment-${tag}.fhir.json`],
  ];
  if (recordingId !== null) {
    items.push(["download-skeleton", "Skeleton (movement data)", `${API}/recordings/${encodeURIComponent(recordingId)}/skeleton`, `earlycp-recording-${safe(recordingId)}-skeleton`]);
  }
  const errorBoxEl = $("download-error");
  $("downloads").replaceChildren(
    ...items.map(([id, text, path, name]) =>
      el("button", {
        type: "button",
        class: "btn btn-secondary",
        id,
        "data-href": path,
        text: `⬇ ${text}`,
        onclick: async (event) => {
          const button = event.currentTarget;
          button.disabled = true;
          errorBoxEl.hidden = true;
          try {
            await downloadFile(path, name);
          } catch (err) {
            showError(errorBoxEl, err, { context: `${text} could not be downloaded.` });
          } finally {
            button.disabled = false;
          }
        },
      }),
    ),
  );
}

function renderCharts(report) {
  const layoutName = report.recording?.layout;
  const figure = state.layouts?.[layoutName];
  drawBoxPlot($("boxplot"), report);
  if (figure) {
    drawCamSkeleton($("cam-skeleton"), report, figure);
  } else {
    $("cam-skeleton").replaceChildren(el("p", { class: "muted", text: `No skeleton figure is known for the layout "${layoutName}".` }));
  }
  drawCamHeatmap($("cam-heatmap"), report, figure);
}

function labelsFor(report) {
  const figure = state.layouts?.[report.recording?.layout];
  const labels = {};
  if (figure) figure.keypoints.forEach((k, i) => (labels[k] = figure.labels[i]));
  return labels;
}

function render(report, envelope) {
  state.report = report;
  const labels = labelsFor(report);
  renderBanner(report);
  renderFacts(report, envelope, state.recording);
  renderSummary(report);
  renderThresholdPicker(report);
  renderColourLegend();
  renderWindowTable(report);
  renderCamRanking(report, labels);
  renderQc(report, labels);
  renderModels(report);
  renderDownloads(report, envelope);
  $("report").hidden = false;
  renderCharts(report);
  document.title = `Assessment ${report.classification}, risk ${formatRisk(report.risk)} — EarlyCP`;
}

// --- threshold changes ----------------------------------------------------------------------

async function changeThreshold(threshold) {
  const request = ++state.request;
  const errorEl = $("threshold-error");
  errorEl.hidden = true;
  $("report").classList.add("loading");
  $("main").setAttribute("aria-busy", "true");
  try {
    const body = await apiFetch(assessmentPath(threshold));
    if (request !== state.request) return; // a newer choice is already on its way
    const { report, envelope } = splitEnvelope(body);
    state.envelope = { ...state.envelope, ...envelope };
    render(report, state.envelope);
    const url = new URL(location.href);
    url.searchParams.set("threshold", String(threshold));
    history.replaceState(null, "", url);
  } catch (err) {
    if (request !== state.request) return;
    showError(errorEl, err, { context: "The report could not be recomputed at this threshold." });
    renderThresholdPicker(state.report); // put the selection back on what is shown
  } finally {
    if (request === state.request) {
      $("report").classList.remove("loading");
      $("main").setAttribute("aria-busy", "false");
      document.body.dataset.thresholdRequests = String(request);
    }
  }
}

// --- start ----------------------------------------------------------------------------------

async function main() {
  renderHeader("recordings");
  $("print").addEventListener("click", () => window.print());
  // Plotly sizes a figure from its container; one drawn inside a closed <details> needs a resize.
  $("cam-heatmap-details").addEventListener("toggle", (event) => {
    if (event.target.open && window.Plotly && $("cam-heatmap").data) window.Plotly.Plots.resize($("cam-heatmap"));
  });
  if (!requireToken()) return;
  const wanted = new URL(location.href).searchParams.get("threshold");
  try {
    const [body, layouts] = await Promise.all([apiFetch(assessmentPath(wanted)), loadLayouts()]);
    state.layouts = layouts;
    const { report, envelope } = splitEnvelope(body);
    state.envelope = envelope;
    const recordingId = recordingIdOf(envelope);
    if (recordingId !== null) {
      try {
        state.recording = await apiFetch(`${API}/recordings/${encodeURIComponent(recordingId)}`);
      } catch (err) {
        if (err.status === 401) return;
        state.recording = null; // the facts table simply shows fewer rows
      }
    }
    $("loading").hidden = true;
    render(report, envelope);
  } catch (err) {
    $("loading").hidden = true;
    if (err.status === 401) return;
    showError($("page-error"), err, { context: "The assessment could not be shown." });
  } finally {
    $("main").setAttribute("aria-busy", "false");
    document.body.dataset.ready = "true";
  }
}

main().catch((err) => {
  $("page-error").replaceChildren(errorBox(err));
  $("page-error").hidden = false;
});

// Card metrics are numbers, lists of numbers or short texts: show numbers to 3 decimals.
function formatMetric(value) {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (Array.isArray(value)) return value.map(formatMetric).join(", ");
  if (value && typeof value === "object") return Object.entries(value).map(([k, v]) => `${k} ${formatMetric(v)}`).join(", ");
  return String(value);
}
