// Job queue for administrators: counts per status and the most recent jobs, refreshed live.

import { API, apiFetch, requireToken } from "./api.js";
import { jobView } from "./resources.js";
import { STATUS_LABELS, el, formatDate, progressBar, renderHeader, showError, stageLabel } from "./ui.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 3000;
const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];

function renderSummary(jobs, counts) {
  const tally = counts ?? Object.fromEntries(STATUSES.map((s) => [s, jobs.filter((j) => j.status === s).length]));
  $("queue-summary").replaceChildren(
    el(
      "dl",
      { class: "facts" },
      ...STATUSES.flatMap((s) => [el("dt", { text: STATUS_LABELS[s] }), el("dd", { dataset: { status: s }, text: String(tally[s] ?? 0) })]),
    ),
  );
  $("queue-summary-card").hidden = false;
}

function renderJobs(raw) {
  const rows = raw.map((r) => {
    const job = jobView(r);
    const statusCell = el("td", {}, el("span", { class: `status status-${job.status}`, text: STATUS_LABELS[job.status] || job.status }));
    if (job.status === "running") statusCell.append(progressBar(job.progress ?? 0, { label: `Job ${job.id}` }));
    return el(
      "tr",
      { dataset: { jobId: String(job.id) } },
      el("td", { class: "mono", text: String(job.id) }),
      el("td", { class: "mono", text: job.recordingId ?? "—" }),
      statusCell,
      el("td", { text: stageLabel(job.stage) || "—" }),
      el("td", { text: formatDate(r.created_at) }),
      el("td", {}, job.errorCode ? el("code", { text: job.errorCode }) : "", job.errorMessage ? ` ${job.errorMessage}` : ""),
    );
  });
  $("jobs-body").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "6", class: "empty", text: "No jobs." }))]));
  $("queue-card").hidden = false;
}

async function refresh() {
  try {
    // The service exposes counts per status and the workers (GET /admin/queue), no job list.
    const body = await apiFetch(`${API}/admin/queue`);
    renderSummary([], body?.jobs ?? {});
    if (Array.isArray(body?.items)) renderJobs(body.items);
    $("admin-error").hidden = true;
    setTimeout(refresh, REFRESH_MS);
  } catch (err) {
    if (err.status === 401) return;
    if (err.status === 404 || err.status === 405) {
      err.title = "This EarlyCP service does not offer a job queue overview.";
    } else if (err.status === 403) {
      err.title = "The job queue is only visible with an administrator token.";
    }
    showError($("admin-error"), err);
  } finally {
    document.body.dataset.ready = "true";
  }
}

function main() {
  renderHeader("admin");
  if (!requireToken()) return;
  refresh();
}

main();
