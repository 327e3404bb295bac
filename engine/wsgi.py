"""The WSGI application for a production server: `gunicorn -c python:engine.gunicorn_conf engine.wsgi:app`.

`sertel serve` runs the same server with the same settings; docs/operations.md describes the deployment.
"""

from __future__ import annotations

from engine.app import create_app

app = create_app()
