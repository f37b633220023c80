// Upload: the form, upload progress (XMLHttpRequest), then the job's stage and progress.

import { API, ApiError, BASE, apiFetch, requireToken, uploadForm } from "./api.js";
import { jobView } from "./resources.js";
import { STATUS_LABELS, el, errorBox, progressBar, renderHeader, showError, stageLabel } from "./ui.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1500;
const MAX_POLL_ERRORS = 5;

function validate(form) {
  const missing = [];
  if (!form.file.files.length) missing.push("the video file");
  if (!form.subject_id.value.trim()) missing.push("the subject ID");
  if (form.age_weeks.value === "" || Number.isNaN(Number(form.age_weeks.value))) missing.push("the age in weeks");
  if (!form.recorded_on.value) missing.push("the recording date");
  if (missing.length) {
    return new ApiError(422, { title: `Please fill in ${missing.join(", ")}.`, code: "FORM_INCOMPLETE" });
  }
  const age = Number(form.age_weeks.value);
  if (age < 0 || age > 60) {
    return new ApiError(422, { title: "The age must be between 0 and 60 weeks post-term.", code: "FORM_INVALID" });
  }
  if (form.recorded_on.value > new Date().toISOString().slice(0, 10)) {
    return new ApiError(422, { title: "The recording date cannot be in the future.", code: "FORM_INVALID" });
  }
  if (form.file.files[0].size === 0) {
    return new ApiError(422, { title: "The selected file is empty.", code: "EMPTY_FILE" });
  }
  return null;
}

function setJob(job) {
  $("job-block").hidden = false;
  $("job-status").replaceChildren(el("span", { class: `status status-${job.status}`, text: STATUS_LABELS[job.status] || job.status }));
  $("job-stage").textContent = job.status === "running" || job.status === "queued" ? stageLabel(job.stage || job.status) : "";
  $("job-progress").replaceChildren(progressBar(job.status === "succeeded" ? 1 : job.progress ?? 0, { label: "Analysis progress" }));
  document.body.dataset.jobStatus = job.status;
}

function jobFailed(job) {
  const err = new ApiError(422, {
    title: job.errorTitle || job.errorMessage || "The analysis failed.",
    detail: job.errorTitle ? job.errorMessage : "",
    code: job.errorCode || "ANALYSIS_FAILED",
  });
  $("job-result").replaceChildren(errorBox(err, { context: "The analysis could not be completed." }));
}

async function assessmentLink(job, recordingId) {
  let assessmentId = job.assessmentId;
  if (assessmentId === null && recordingId !== null) {
    try {
      const rec = await apiFetch(`${API}/recordings/${encodeURIComponent(recordingId)}`);
      assessmentId = rec.assessment_id ?? rec.assessment?.id ?? null;
    } catch {
      assessmentId = null;
    }
  }
  return assessmentId === null ? `${BASE}/` : `${BASE}/assessments/${encodeURIComponent(assessmentId)}`;
}

async function followJob(jobId, recordingId) {
  let errors = 0;
  for (;;) {
    let job;
    try {
      job = jobView(await apiFetch(`${API}/jobs/${encodeURIComponent(jobId)}`));
      errors = 0;
    } catch (err) {
      if (err.status === 401) return;
      errors += 1;
      if (errors >= MAX_POLL_ERRORS) {
        $("job-result").replaceChildren(errorBox(err, { context: "The analysis status could not be read. It may still finish: check the recordings list." }));
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    setJob(job);
    if (job.status === "succeeded") {
      const href = await assessmentLink(job, recordingId);
      $("job-result").replaceChildren(
        el(
          "div",
          { class: "alert alert-success", role: "status" },
          el("p", { class: "alert-title", text: "The analysis is finished." }),
          el("p", {}, el("a", { class: "btn", id: "open-assessment", href, text: "Open the assessment" })),
        ),
      );
      return;
    }
    if (job.status === "failed") {
      jobFailed(job);
      return;
    }
    if (job.status === "cancelled") {
      $("job-result").replaceChildren(el("div", { class: "alert alert-warning", role: "status" }, el("p", { text: "The analysis was cancelled." })));
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function main() {
  renderHeader("upload");
  if (!requireToken()) return;
  const form = $("upload-form");
  form.recorded_on.max = new Date().toISOString().slice(0, 10);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const formError = $("form-error");
    formError.hidden = true;
    const invalid = validate(form);
    if (invalid) {
      showError(formError, invalid);
      return;
    }
    const data = new FormData();
    data.append("file", form.file.files[0]);
    data.append("subject_id", form.subject_id.value.trim());
    data.append("age_weeks", form.age_weeks.value);
    data.append("recorded_on", form.recorded_on.value);

    const button = $("upload-submit");
    button.disabled = true;
    $("upload-status").hidden = false;
    $("job-block").hidden = true;
    $("job-result").replaceChildren();
    $("upload-label").textContent = "Uploading the video…";
    $("upload-progress").replaceChildren(progressBar(0, { label: "Upload progress" }));
    document.body.dataset.jobStatus = "uploading";
    try {
      const created = await uploadForm("recordings", data, (fraction) => {
        $("upload-progress").replaceChildren(progressBar(fraction, { label: "Upload progress" }));
      });
      $("upload-label").textContent = "Upload complete.";
      $("upload-progress").replaceChildren(progressBar(1, { label: "Upload progress" }));
      const jobId = created.job_id ?? created.job?.id;
      const recordingId = created.recording_id ?? created.recording?.id ?? created.id ?? null;
      if (jobId === undefined || jobId === null) {
        $("job-result").replaceChildren(el("p", {}, "The recording was stored. ", el("a", { href: `${BASE}/`, text: "See the recordings list." })));
        return;
      }
      setJob({ status: "queued", stage: "queued", progress: 0 });
      await followJob(jobId, recordingId);
    } catch (err) {
      if (err.status === 401) {
        location.assign(`${BASE}/signin?reason=expired&next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      $("upload-status").hidden = true;
      showError(formError, err, { context: "The video was not accepted." });
      document.body.dataset.jobStatus = "rejected";
    } finally {
      button.disabled = false;
    }
  });
}

main();
