"""The dashboard's static pages, scripts and styles (served by app.dashboard; no build step).

A package only so that wheels carry it: app.dashboard finds these files through the import
system, wherever EarlyCP is installed.
"""
