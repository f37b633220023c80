// Talking to the EarlyCP REST API: the bearer token, JSON calls, problem+json errors, uploads.
//
// The token lives in sessionStorage only (gone when the tab closes); every call sends it as
// "Authorization: Bearer …". A 401 anywhere sends the user back to sign-in with a reason.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
export const BASE = meta("earlycp-base") || "/dashboard";
export const API = meta("earlycp-api") || "/api/v1";
const TOKEN_KEY = "earlycp.token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An API failure carrying the problem+json fields a clinician-facing message is built from. */
export class ApiError extends Error {
  constructor(status, problem = {}) {
    const title = problem.title || defaultTitle(status);
    super(title);
    this.status = status;
    this.code = problem.code || (status ? `HTTP_${status}` : "NETWORK");
    this.title = title;
    this.detail = typeof problem.detail === "string" ? problem.detail : detailText(problem.detail);
    this.problem = problem;
  }
}

function defaultTitle(status) {
  if (!status) return "The EarlyCP service could not be reached. Check the network connection and try again.";
  if (status === 401) return "Your sign-in token was not accepted. Please sign in again.";
  if (status === 403) return "Your account is not allowed to do this.";
  if (status === 404) return "This item could not be found. It may have been deleted.";
  if (status === 413) return "The file is too large to upload.";
  if (status >= 500) return "The EarlyCP service had an internal problem. Please try again later.";
  return "The request could not be completed.";
}

// FastAPI validation errors put a list in "detail"; turn it into one readable line.
function detailText(detail) {
  if (!detail) return "";
  if (Array.isArray(detail)) {
    return detail
      .map((d) => (d && d.msg ? `${(d.loc || []).filter((p) => p !== "body").join(" › ")}: ${d.msg}` : String(d)))
      .join("; ");
  }
  return typeof detail === "object" ? JSON.stringify(detail) : String(detail);
}

async function parseProblem(response) {
  const text = await response.text();
  if (!text) return {};
  try {
    const body = JSON.parse(text);
    return body && typeof body === "object" ? body : { detail: String(body) };
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

/** Where the sign-in page sends the user back to after a fresh token. */
export function signinUrl(reason) {
  const next = location.pathname + location.search + location.hash;
  const params = new URLSearchParams({ next });
  if (reason) params.set("reason", reason);
  return `${BASE}/signin?${params}`;
}

function onUnauthorized() {
  clearToken();
  location.assign(signinUrl("expired"));
}

/** Redirects to sign-in (and never resolves) when no token is stored. */
export function requireToken() {
  const token = getToken();
  if (!token) {
    location.assign(signinUrl());
    return null;
  }
  return token;
}

/** GET/POST JSON with the bearer token; throws ApiError on a non-2xx answer. */
export async function apiFetch(path, { method = "GET", body, signal, redirectOn401 = true, raw = false } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path.startsWith("http") || path.startsWith("/") ? path : `${API}/${path}`, {
      method,
      headers,
      body: payload,
      signal,
      credentials: "omit",
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, {});
  }
  if (!response.ok) {
    const problem = await parseProblem(response);
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && redirectOn401) onUnauthorized();
    throw error;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

/** Uploads with XMLHttpRequest, because only XHR reports upload progress. */
export function uploadForm(path, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${API}/${path}`);
    const token = getToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Accept", "application/json, application/problem+json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total, event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : {};
      } catch {
        body = { detail: xhr.responseText.slice(0, 300) };
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body);
      } else {
        if (xhr.status === 401) clearToken();
        reject(new ApiError(xhr.status, body));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, {})));
    xhr.addEventListener("abort", () => reject(new ApiError(0, { title: "The upload was cancelled." })));
    xhr.send(formData);
  });
}

/** Downloads a protected file: fetch with the token, then save the blob under a file name. */
export async function downloadFile(path, fallbackName) {
  const response = await apiFetch(path, { raw: true });
  const disposition = response.headers.get("content-disposition") || "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}
