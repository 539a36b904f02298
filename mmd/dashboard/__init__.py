"""The daemon's read-only dashboard page (index.html, dashboard.js, dashboard.css, icon.svg):
static files the status server (mmd/status_server.py) serves at / and /dashboard; package data."""
