// Recordings list: filters, pagination, live job progress, risk and certainty when done.

import { API, BASE, apiFetch, requireToken } from "./api.js";
import { jobView, readPage, recordingView } from "./resources.js";
import { STATUS_LABELS, colourChip, el, formatDate, formatRisk, progressBar, renderHeader, showError, stageLabel } from "./ui.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 20;
const POLL_MS = 2000;
const state = { offset: 0, total: null, filters: {}, pollTimer: null, loading: 0 };

function readFiltersFromUrl() {
  const params = new URLSearchParams(location.search);
  state.filters = {
    subject_id: params.get("subject_id") || "",
    status: params.get("status") || "",
    recorded_from: params.get("recorded_from") || "",
    recorded_to: params.get("recorded_to") || "",
  };
  state.offset = Math.max(0, Number(params.get("offset")) || 0);
  $("filter-subject").value = state.filters.subject_id;
  $("filter-status").value = state.filters.status;
  $("filter-from").value = state.filters.recorded_from;
  $("filter-to").value = state.filters.recorded_to;
}

function writeUrl() {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(state.filters)) if (v) params.set(k, v);
  if (state.offset) params.set("offset", String(state.offset));
  const query = params.toString();
  history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}`);
}

function listQuery() {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
  for (const [k, v] of Object.entries(state.filters)) if (v) params.set(k, v);
  return `${API}/recordings?${params}`;
}

function statusCell(view) {
  const cell = el("td", { class: "status-cell", dataset: { status: view.status } });
  cell.append(el("span", { class: `status status-${view.status}`, text: STATUS_LABELS[view.status] || view.status }));
  if (view.status === "queued") {
    cell.append(el("div", { class: "stage", text: stageLabel("queued") }));
  } else if (view.status === "running") {
    if (view.stage) cell.append(el("div", { class: "stage", text: stageLabel(view.stage) }));
    cell.append(progressBar(view.progress ?? 0, { label: `Analysis progress for ${view.subjectId}` }));
  } else if (view.status === "failed" && (view.errorMessage || view.errorCode)) {
    cell.append(
      el("div", { class: "stage", text: view.errorMessage || "" }),
      view.errorCode ? el("div", { class: "alert-code" }, el("code", { text: view.errorCode })) : null,
    );
  }
  return cell;
}

function row(view) {
  const link = view.assessmentId !== null ? `${BASE}/assessments/${encodeURIComponent(view.assessmentId)}` : null;
  return el(
    "tr",
    { dataset: { recordingId: String(view.id), jobId: view.jobId ?? "" } },
    el("td", {}, link ? el("a", { href: link, text: view.subjectId }) : view.subjectId),
    el("td", { class: "nowrap", text: formatDate(view.recordedOn) }),
    el("td", { class: "num", text: view.ageWeeks ?? "—" }),
    statusCell(view),
    el("td", { class: "num risk-cell", text: view.risk === null ? "—" : formatRisk(view.risk) }),
    el("td", { class: "colour-cell" }, view.colour ? colourChip(view.colour, { compact: true }) : "—"),
    el("td", {}, link ? el("a", { class: "btn btn-secondary btn-small", href: link, text: "Open report" }) : null),
  );
}

async function load() {
  const ticket = ++state.loading;
  const errorEl = $("list-error");
  errorEl.hidden = true;
  const body = $("recordings-body");
  body.setAttribute("aria-busy", "true");
  try {
    const page = readPage(await apiFetch(listQuery()));
    if (ticket !== state.loading) return;
    state.total = page.total;
    const views = page.items.map(recordingView);
    body.replaceChildren(
      ...(views.length
        ? views.map(row)
        : [el("tr", {}, el("td", { colspan: "7", class: "empty", text: hasFilters() ? "No recordings match these filters." : "No recordings yet. Start with “New analysis”." }))]),
    );
    renderPager(views.length);
    schedulePolling(views);
  } catch (err) {
    if (err.status === 401) return;
    showError(errorEl, err, { context: "The recordings could not be loaded." });
  } finally {
    body.setAttribute("aria-busy", "false");
    document.body.dataset.ready = "true";
  }
}

function hasFilters() {
  return Object.values(state.filters).some(Boolean);
}

function renderPager(count) {
  const first = count ? state.offset + 1 : 0;
  const last = state.offset + count;
  const total = state.total;
  $("list-summary").textContent = total !== null ? `Showing ${first}–${last} of ${total}` : count ? `Showing ${first}–${last}` : "";
  const pages = total !== null ? Math.max(1, Math.ceil(total / PAGE_SIZE)) : null;
  const current = Math.floor(state.offset / PAGE_SIZE) + 1;
  $("page-label").textContent = pages ? `Page ${current} of ${pages}` : `Page ${current}`;
  $("page-prev").disabled = state.offset === 0;
  $("page-next").disabled = total !== null ? last >= total : count < PAGE_SIZE;
}

// --- live progress: poll the job of every unfinished recording on the page --------------------

function schedulePolling(views) {
  clearTimeout(state.pollTimer);
  const active = views.filter((v) => (v.status === "queued" || v.status === "running") && v.jobId !== null);
  if (!active.length) return;
  state.pollTimer = setTimeout(() => pollJobs(active), POLL_MS);
}

async function pollJobs(active) {
  let finished = false;
  const still = [];
  await Promise.all(
    active.map(async (view) => {
      try {
        const job = jobView(await apiFetch(`${API}/jobs/${encodeURIComponent(view.jobId)}`));
        const tr = document.querySelector(`tr[data-recording-id="${CSS.escape(String(view.id))}"]`);
        const updated = { ...view, status: job.status, stage: job.stage, progress: job.progress, errorCode: job.errorCode, errorMessage: job.errorMessage };
        if (tr) tr.querySelector(".status-cell").replaceWith(statusCell(updated));
        if (job.status === "queued" || job.status === "running") still.push(updated);
        else finished = true;
      } catch (err) {
        if (err.status !== 401) still.push(view);
      }
    }),
  );
  if (finished) {
    load(); // a job ended: fetch the rows again for their risk and colour
  } else if (still.length) {
    state.pollTimer = setTimeout(() => pollJobs(still), POLL_MS);
  }
}

function main() {
  renderHeader("recordings");
  if (!requireToken()) return;
  readFiltersFromUrl();
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.filters = {
      subject_id: $("filter-subject").value.trim(),
      status: $("filter-status").value,
      recorded_from: $("filter-from").value,
      recorded_to: $("filter-to").value,
    };
    state.offset = 0;
    writeUrl();
    load();
  });
  $("filters").addEventListener("reset", () => {
    setTimeout(() => {
      state.filters = { subject_id: "", status: "", recorded_from: "", recorded_to: "" };
      state.offset = 0;
      writeUrl();
      load();
    });
  });
  $("page-prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    writeUrl();
    load();
  });
  $("page-next").addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    writeUrl();
    load();
  });
  load();
}

main();
