// The shapes of the service's resources, read in one place: if the API renames a field, only
// this file changes.

/** A page of a paginated list: {items, total}. */
export function readPage(body) {
  if (Array.isArray(body)) return { items: body, total: null };
  const items = body?.items ?? body?.results ?? body?.data ?? [];
  const total = body?.total ?? body?.count ?? null;
  return { items, total: total === null ? null : Number(total) };
}

/** A recording row as the list and the assessment page use it. */
export function recordingView(r) {
  const job = r.job && typeof r.job === "object" ? r.job : {};
  const assessment = r.assessment && typeof r.assessment === "object" ? r.assessment : {};
  const status = job.status ?? r.job_status ?? r.status ?? "queued";
  return {
    id: r.id,
    subjectId: r.subject_id ?? "—",
    recordedOn: r.recorded_on ?? null,
    ageWeeks: r.age_weeks ?? null,
    status,
    stage: job.stage ?? r.stage ?? null,
    progress: job.progress ?? r.progress ?? null,
    jobId: job.id ?? r.job_id ?? null,
    errorCode: job.error?.code ?? job.error_code ?? r.error_code ?? r.error?.code ?? null,
    errorMessage: job.error?.message ?? job.error_message ?? r.error_message ?? r.error?.message ?? null,
    assessmentId: assessment.id ?? r.assessment_id ?? null,
    risk: assessment.risk ?? r.risk ?? null,
    colour: assessment.colour ?? r.colour ?? null,
    classification: assessment.classification ?? r.classification ?? null,
  };
}

/** A job as the upload page and the list poll it. */
export function jobView(j) {
  return {
    id: j.id,
    status: j.status,
    stage: j.stage ?? null,
    progress: j.progress ?? null,
    errorCode: j.error?.code ?? j.error_code ?? null,
    errorTitle: j.error?.title ?? null,
    errorMessage: j.error?.message ?? j.error?.detail ?? j.error_message ?? null,
    recordingId: j.recording_id ?? null,
    assessmentId: j.assessment_id ?? null,
  };
}
