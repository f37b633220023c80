"""The dashboard in a real headless Chromium against a live HTTP server.

Chromium is the Debian package (/usr/bin/chromium, installed by .ci/run); Playwright drives it and
never downloads a browser. Every request the pages make is checked: anything not addressed to
the local server fails the test (plotly.js, fonts and data must all come from EarlyCP itself).
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from tests.service_fixtures import queue_skeleton_job

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SCREENSHOTS = Path("/tmp")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file() and not shutil.which("chromium"):
        pytest.fail(
            "Chromium is missing: apt-get install -y chromium (the dashboard tests need a real browser)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Watch:
    """What a page did besides rendering: requests to other hosts, JS errors, CSP violations."""

    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.external == [], f"requests to non-local hosts: {self.external}"
        assert self.errors == [], f"page errors: {self.errors}"


def open_page(browser, token: str | None, viewport=(1280, 900)):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    if token is not None:
        context.add_init_script(f"sessionStorage.setItem('earlycp.token', {json.dumps(token)})")
    watch = Watch()

    def guard(route) -> None:
        url = route.request.url
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            watch.requests.append(url)
            route.continue_()
        else:
            watch.external.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda exc: watch.errors.append(f"uncaught: {exc}"))
    page.on(
        "console",
        lambda msg: (
            watch.errors.append(f"console: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    return context, page, watch


# --- a real report -----------------------------------------------------------------------------


def _skeleton_with_movement(seconds: float):
    """A 30 Hz mpii16 skeleton whose limbs move, so windows differ and the models disagree."""
    from app.dashboard.figure import TEMPLATE_POSITIONS
    from worker.science.layouts import MPII16
    from worker.skeleton.artefact import Skeleton
    from worker.skeleton.qc import compute_qc

    frames = int(seconds * 30)
    t = np.arange(frames) / 30
    # the dashboard's template infant, in pixels (y down), as the resting posture
    pose = np.array([TEMPLATE_POSITIONS[k] for k in MPII16.keypoints]) * [60, -60] + [320, 240]
    kp = np.zeros((frames, 16, 3), np.float32)
    for j in range(16):
        kp[:, j, 0] = pose[j, 0] + 10 * np.sin(2 * np.pi * (0.3 + 0.1 * j) * t + j) * (1 + t / 10)
        kp[:, j, 1] = pose[j, 1] + 10 * np.cos(2 * np.pi * (0.25 + 0.13 * j) * t + j)
        kp[:, j, 2] = 0.5 + 0.3 * np.sin(j)
    return Skeleton(
        keypoints=kp,
        timestamps=t,
        layout="mpii16",
        keypoint_names=MPII16.keypoints,
        frame_size=(640, 480),
        pose_model={"name": "efficientpose-rt", "version": "test", "sha256": "0" * 64},
        qc=compute_qc(kp, MPII16),
    )


def _register_test_ensemble(model_dir: Path) -> str:
    """20 linear instances centred near risk 0.28, so published thresholds flip the class."""
    from tests.contract_ensembles import LinearEnsemble, random_ensemble, register

    base = random_ensemble(20, 16, seed=1)
    bias = np.random.default_rng(5).normal(-1.0, 0.9, 20).astype(np.float32)
    register(model_dir, "dashboard-test", LinearEnsemble(w=base.w * 3, c=bias, m=base.m, joints=16), "mpii16")
    return "dashboard-test"


# --- the server --------------------------------------------------------------------------------


@dataclass
class Served:
    base: str
    token: str
    assessment_id: str
    report: object  # worker.report.Report at the default threshold


class _ThreadedServer:
    """uvicorn on 127.0.0.1 in a thread: the browser talks real HTTP to the app."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _analysed_recording(database_url: str, skeleton_path: Path) -> str:
    """A recording whose stored file is a skeleton, analysed by the real worker code.

    The job runs through ``worker.tasks.execute_job`` (the code both the embedded and the Celery
    worker run) and lands in the real tables; only pose estimation is skipped, because the file
    is already a skeleton, so the report is the known one of ``_register_test_ensemble``.
    """
    from sqlalchemy import select

    from app.core.db import session_scope
    from app.core.tables import Assessment
    from worker.tasks import execute_job

    _, job_id = queue_skeleton_job(
        database_url,
        skeleton_path,
        subject_id="infant-7",
        file_name="infant-7.mp4",
        recorded_on=date(2026, 11, 2),
        created_by="dashboard-test",
    )
    assert execute_job(job_id, database_url=database_url) == "succeeded"
    with session_scope(database_url) as session:
        return str(session.scalars(select(Assessment.id).where(Assessment.job_id == job_id)).one())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Iterator[Served]:
    """The real service (create_app, embedded mode, SQLite) with a real token and assessment."""
    import httpx

    from app.auth.tokens import create_token
    from app.core.db import dispose_engines, session_scope
    from app.main import create_app
    from earlycp.config import get_settings
    from worker.report import Report

    root = tmp_path_factory.mktemp("dashboard")
    models = root / "models"
    models.mkdir()
    for onnx_file in (shared_dir / "models" / "efficientpose").glob("*.onnx"):
        (models / onnx_file.name).symlink_to(onnx_file)
    name = _register_test_ensemble(models)
    skeleton_path = root / "infant.npz"
    _skeleton_with_movement(20.0).save_npz(skeleton_path)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EARLYCP_MODEL_DIR", str(models))
        env.setenv("EARLYCP_DATA_DIR", str(root / "data"))
        env.setenv("EARLYCP_ENSEMBLE", name)
        env.delenv("EARLYCP_DATABASE_URL", raising=False)  # embedded: SQLite in the data dir
        env.delenv("EARLYCP_BROKER_URL", raising=False)
        get_settings.cache_clear()
        try:
            url = get_settings().resolved_database_url()
            with _ThreadedServer(create_app()) as base:  # embedded: migrates SQLite at start-up
                with session_scope(url) as session:
                    _, token = create_token(session, "clinician", "dashboard test")
                assessment_id = _analysed_recording(url, skeleton_path)
                body = httpx.get(
                    f"{base}/api/v1/assessments/{assessment_id}",
                    headers={"Authorization": f"Bearer {token}"},
                ).json()
                report = Report.model_validate(body["report"])
                yield Served(base=base, token=token, assessment_id=assessment_id, report=report)
        finally:
            dispose_engines()
    get_settings.cache_clear()  # the environment is restored by now


# --- the tests ---------------------------------------------------------------------------------


def _plot_data(page, element_id: str) -> list[dict]:
    return page.evaluate(
        f"() => JSON.parse(JSON.stringify(document.getElementById('{element_id}').data || []))"
    )


def _open_assessment(browser, served: Served, query: str = ""):
    context, page, watch = open_page(browser, served.token)
    page.goto(f"{served.base}/dashboard/assessments/{served.assessment_id}{query}")
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("#page-error").is_hidden(), page.inner_text("#page-error")
    page.wait_for_function("() => (document.getElementById('cam-skeleton').data || []).length > 0")
    return context, page, watch


def test_assessment_page_shows_risk_certainty_explanations_and_banner(browser, served: Served) -> None:
    from worker.science.aggregation import COLOUR_MEANING
    from worker.science.layouts import MPII16

    report = served.report
    context, page, watch = _open_assessment(browser, served)
    try:
        banner = page.locator("#validation-banner")
        assert banner.is_visible()
        assert report.validation.label in banner.inner_text()
        assert banner.get_attribute("data-validated") == "false"
        assert "banner-unvalidated" in banner.get_attribute("class")

        assert page.inner_text("#risk-value") == f"{report.risk:.2f}"
        assert page.get_attribute("#classification", "data-classification") == report.classification
        certainty = page.locator("#certainty")
        assert certainty.get_attribute("data-colour") == report.colour
        chip_text = certainty.inner_text()
        assert COLOUR_MEANING[report.colour] in chip_text  # colour is never shown without words
        assert f"{report.count_above} of {report.n_instances}" in chip_text

        traces = _plot_data(page, "boxplot")
        boxes = [t for t in traces if t["type"] == "box"]
        assert len(boxes) == len(report.windows) > 1
        for box, window in zip(boxes, report.windows, strict=True):
            assert box["x"] == [pytest.approx((window.start_s + window.end_s) / 2)]
            assert box["meta"]["colour"] == window.colour
            assert len(box["y"][0]) == report.n_instances
            assert box["median"] == [pytest.approx(window.box.median)]
        threshold = [t for t in traces if t.get("meta", {}).get("role") == "threshold"]
        assert len(threshold) == 1 and threshold[0]["line"]["dash"] == "dash"
        assert threshold[0]["y"] == [pytest.approx(report.threshold)] * 2
        risk_line = [t for t in traces if t.get("meta", {}).get("role") == "risk"]
        assert len(risk_line) == 1 and risk_line[0]["y"] == [pytest.approx(report.risk)] * 2

        skeleton = _plot_data(page, "cam-skeleton")
        keypoints = next(t for t in skeleton if t.get("meta", {}).get("role") == "keypoints")
        assert len(keypoints["x"]) == MPII16.num_joints
        assert keypoints["marker"]["color"] == [pytest.approx(report.cam[k]) for k in MPII16.keypoints]
        bones = next(t for t in skeleton if t.get("meta", {}).get("role") == "bones")
        assert len(bones["x"]) == 3 * len(MPII16.bones)

        assert page.locator("#qc-keypoints tbody tr").count() == MPII16.num_joints
        assert report.models["ensemble"].name in page.inner_text("#model-facts")
        assert "HINE" in page.inner_text("#followup-note")
        assert page.locator("#download-report").is_visible() and page.locator("#download-fhir").is_visible()
        assert any(u.endswith("/dashboard/vendor/plotly.min.js") for u in watch.requests)
        page.screenshot(path=str(SCREENSHOTS / "earlycp_dashboard_assessment.png"), full_page=True)
        watch.assert_clean()
    finally:
        context.close()


def test_changing_the_threshold_refetches_and_reclassifies(browser, served: Served) -> None:
    from worker.report import rederive

    report = served.report
    flips = [t for t in (0.15, 0.2, 0.3, 0.35) if rederive(report, t).classification != report.classification]
    assert flips, "the test ensemble must put the risk between published operating points"
    new = flips[0]
    expected = rederive(report, new)
    context, page, watch = _open_assessment(browser, served)
    try:
        with page.expect_response(lambda r: f"threshold={new}" in r.url and r.status == 200):
            page.click(f"#threshold-options label:has(input[value='{new}'])")  # as a user clicks it
        page.wait_for_function(
            "(c) => document.getElementById('classification').dataset.classification === c",
            arg=expected.classification,
        )
        assert page.get_attribute("#certainty", "data-colour") == expected.colour
        assert f"{expected.count_above} of {expected.n_instances}" in page.inner_text("#certainty")
        traces = _plot_data(page, "boxplot")
        assert [t["meta"]["colour"] for t in traces if t["type"] == "box"] == [
            w.colour for w in expected.windows
        ]
        threshold = next(t for t in traces if t.get("meta", {}).get("role") == "threshold")
        assert threshold["y"] == [pytest.approx(new)] * 2
        assert f"threshold={new}" in page.url
        page.screenshot(path=str(SCREENSHOTS / "earlycp_dashboard_threshold.png"), full_page=False)
        watch.assert_clean()
    finally:
        context.close()


def test_upload_of_a_non_video_shows_the_clinician_sentence(browser, served: Served) -> None:
    from earlycp.errors import ErrorCode

    context, page, watch = open_page(browser, served.token)
    try:
        page.goto(f"{served.base}/dashboard/upload")
        page.set_input_files(
            "#file",
            files=[{"name": "notes.mp4", "mimeType": "video/mp4", "buffer": b"these are notes, not a video"}],
        )
        page.fill("#subject_id", "TEST-001")
        page.fill("#age_weeks", "12")
        page.fill("#recorded_on", "2026-10-01")
        page.click("#upload-submit")
        alert = page.wait_for_selector("#form-error .alert-error")
        assert ErrorCode.NOT_A_VIDEO.message in alert.inner_text()
        assert page.inner_text("#form-error .alert-code code") == "NOT_A_VIDEO"
        page.screenshot(path=str(SCREENSHOTS / "earlycp_dashboard_upload_error.png"), full_page=True)
        watch.assert_clean()
    finally:
        context.close()


def test_sign_in_refuses_a_wrong_token_and_accepts_the_right_one(browser, served: Served) -> None:
    context, page, watch = open_page(browser, token=None)
    try:
        page.goto(f"{served.base}/dashboard/assessments/{served.assessment_id}")
        page.wait_for_url("**/dashboard/signin?*")  # no token: straight to sign-in
        page.fill("#token", "not-a-valid-token")
        page.click("#signin-submit")
        error = page.wait_for_selector("#signin-error .alert-error")
        assert "not accepted" in error.inner_text()
        assert page.evaluate("() => sessionStorage.getItem('earlycp.token')") is None
        page.screenshot(path=str(SCREENSHOTS / "earlycp_dashboard_signin_error.png"), full_page=True)
        page.fill("#token", served.token)
        page.click("#signin-submit")
        page.wait_for_url(f"**/dashboard/assessments/{served.assessment_id}")  # back where the user was going
        page.wait_for_selector("body[data-ready='true']")
        assert page.locator("#validation-banner").is_visible()
        watch.assert_clean()
    finally:
        context.close()


def test_every_page_loads_its_scripts_without_errors(browser, served: Served) -> None:
    """Module import errors or CSP refusals would surface here as page errors."""
    context, page, watch = open_page(browser, served.token)
    try:
        for path in ("/dashboard/", "/dashboard/upload", "/dashboard/admin", "/dashboard/signin"):
            page.goto(f"{served.base}{path}")
            page.wait_for_load_state("networkidle")
            assert page.locator("#site-header .brand").is_visible(), path
        watch.assert_clean()
    finally:
        context.close()
