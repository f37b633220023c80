"""The clinician dashboard: static pages from ``frontend/`` and the locally served plotly.js.

The service's app factory mounts :data:`router`; everything the pages need (HTML, CSS, JS,
plotly.js, skeleton figure layouts) comes from this process, so the dashboard works offline and
never asks a browser to contact another host.
"""

from app.dashboard.routes import router

__all__ = ["router"]
