"""gunicorn settings taken from Sertel's own (SERTEL_WEB_BIND, _WEB_WORKERS, _WEB_THREADS, _WEB_TIMEOUT).

Used as a config module (`gunicorn -c python:engine.gunicorn_conf engine.wsgi:app`) and by `sertel serve`.
Each worker builds its own app after the fork (no preload): database pools and the embedded PSrE's SQLite
connections must never be shared between processes.
"""

from __future__ import annotations

from typing import Any

from engine.config import load_settings


def options(settings: dict[str, Any]) -> dict[str, Any]:
    """gunicorn options for these settings: threaded workers, access log on stdout, errors on stderr."""
    return {
        "bind": [str(settings["WEB_BIND"])],
        "workers": int(settings["WEB_WORKERS"]),
        "threads": int(settings["WEB_THREADS"]),
        "worker_class": "gthread",
        "timeout": int(settings["WEB_TIMEOUT"]),
        "graceful_timeout": 30,
        "preload_app": False,
        "accesslog": "-",
        # gunicorn's default line with the request time in milliseconds at the end (bench/load_bench.py reads it).
        "access_log_format": '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)s',
        "errorlog": "-",
        # Trust X-Forwarded-* only from the reverse proxy on the same host (deploy/nginx.conf).
        "forwarded_allow_ips": "127.0.0.1,::1",
        # No gunicornc control socket: one fixed path per user would clash between two servers on a host.
        "control_socket_disable": True,
    }


_options = options(load_settings())
bind = _options["bind"]
workers = _options["workers"]
threads = _options["threads"]
worker_class = _options["worker_class"]
timeout = _options["timeout"]
graceful_timeout = _options["graceful_timeout"]
preload_app = _options["preload_app"]
accesslog = _options["accesslog"]
access_log_format = _options["access_log_format"]
errorlog = _options["errorlog"]
forwarded_allow_ips = _options["forwarded_allow_ips"]
control_socket_disable = _options["control_socket_disable"]
