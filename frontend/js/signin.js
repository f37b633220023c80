// Sign-in: paste a bearer token, check it against the API, keep it in sessionStorage.

import { API, ApiError, BASE, apiFetch, clearToken, setToken } from "./api.js";
import { el, renderHeader, showError } from "./ui.js";

const $ = (id) => document.getElementById(id);

function safeNext(raw) {
  // Only same-site dashboard paths: never an open redirect to another host.
  if (raw && raw.startsWith(`${BASE}/`) && !raw.startsWith("//") && !raw.includes("://")) return raw;
  return `${BASE}/`;
}

function main() {
  renderHeader("signin");
  const params = new URLSearchParams(location.search);
  if (params.get("reason") === "expired") {
    const box = $("signin-reason");
    box.replaceChildren(
      el(
        "div",
        { class: "alert alert-warning", role: "status" },
        el("p", { class: "alert-title", text: "Your session ended: the token was not accepted any more (expired or revoked)." }),
        el("p", { text: "Please paste a valid token to continue." }),
      ),
    );
    box.hidden = false;
  }
  const form = $("signin-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const errorEl = $("signin-error");
    errorEl.hidden = true;
    const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
    if (!token) {
      showError(errorEl, new ApiError(400, { title: "Please paste your access token.", code: "TOKEN_MISSING" }));
      $("token").focus();
      return;
    }
    const button = $("signin-submit");
    button.disabled = true;
    setToken(token);
    try {
      // Any authenticated read proves the token; one row keeps it cheap.
      await apiFetch(`${API}/recordings?limit=1`, { redirectOn401: false });
      location.assign(safeNext(params.get("next")));
    } catch (err) {
      clearToken();
      if (err.status === 401) {
        err.title =
          "This token was not accepted. Check that it was copied completely, or ask an administrator for a new one.";
      }
      showError(errorEl, err);
      $("token").focus();
    } finally {
      button.disabled = false;
    }
  });
}

main();
