"""The dashboard router without a browser: pages, security headers, assets, plotly.js, layouts."""

from __future__ import annotations

from pathlib import Path

import plotly
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.dashboard import router
from app.dashboard.figure import TEMPLATE_POSITIONS
from app.dashboard.routes import FRONTEND_DIR, PAGES
from worker.science.layouts import LAYOUTS


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


@pytest.mark.parametrize(
    ("path", "script"),
    [
        ("/dashboard/", "recordings.js"),
        ("/dashboard/signin", "signin.js"),
        ("/dashboard/upload", "upload.js"),
        ("/dashboard/assessments/abc-123", "assessment.js"),
        ("/dashboard/admin", "admin.js"),
    ],
)
def test_pages_are_served_with_mount_points_and_a_strict_csp(
    client: TestClient, path: str, script: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "%%" not in html  # every placeholder filled
    assert f'src="/dashboard/static/js/{script}"' in html
    assert '<meta name="earlycp-api" content="/api/v1">' in html
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "default-src 'self'" in csp
    assert "http" not in html.lower().replace("http-equiv", "")  # no absolute URL to any host


def test_pages_follow_the_root_path_behind_a_proxy() -> None:
    app = FastAPI()
    app.include_router(router)
    html = TestClient(app, root_path="/earlycp").get("/dashboard/assessments/1").text
    assert 'src="/earlycp/dashboard/static/js/assessment.js"' in html
    assert '<meta name="earlycp-api" content="/earlycp/api/v1">' in html


def test_dashboard_without_slash_redirects(client: TestClient) -> None:
    response = client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/dashboard/"


def test_plotly_js_comes_from_the_installed_python_package(client: TestClient) -> None:
    response = client.get("/dashboard/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert response.content == shipped.read_bytes()


def test_static_assets_have_script_and_style_types(client: TestClient) -> None:
    js = client.get("/dashboard/static/js/assessment.js")
    css = client.get("/dashboard/static/css/dashboard.css")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/static/../../pyproject.toml",
        "/dashboard/static/%2e%2e/%2e%2e/pyproject.toml",
        "/dashboard/static/index.html",  # pages only through their routes (placeholders filled)
        "/dashboard/static/js/missing.js",
    ],
)
def test_static_route_refuses_anything_but_frontend_assets(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_every_page_file_exists() -> None:
    for name in PAGES.values():
        assert (FRONTEND_DIR / name).is_file(), name


def test_layout_figures_carry_the_bones_of_worker_science_layouts(client: TestClient) -> None:
    figures = client.get("/dashboard/layouts.json").json()
    assert set(figures) == set(LAYOUTS)
    for name, layout in LAYOUTS.items():
        fig = figures[name]
        assert fig["keypoints"] == list(layout.keypoints)
        assert [tuple(b) for b in fig["bones"]] == list(layout.bones)
        assert len(fig["positions"]) == layout.num_joints
        for a, b in layout.bones:  # no bone collapses to a point in the template
            assert fig["positions"][a] != fig["positions"][b]
        # the infant's right side is drawn on the viewer's left
        for right, left in layout.symmetric_pairs:
            assert (
                TEMPLATE_POSITIONS[layout.keypoints[right]][0]
                < 0
                < TEMPLATE_POSITIONS[layout.keypoints[left]][0]
            )
