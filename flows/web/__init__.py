"""`newsflow web`: a local, read-only explorer over the warehouse, search first.

Modules: state (the URL holds the whole state), app (the WSGI application: routes, headers,
errors), pages (what each page shows, read through warehouse/explore.py), replay (an archived
page as it was fetched, from the WARC file), server (a threaded stdlib WSGI server bound to
127.0.0.1 by default). Pages are server-rendered Jinja2 templates (templates/, autoescaped)
with one vendored stylesheet and one small script (static/): nothing is fetched from the
network, so it works offline.
"""
from flows.web.app import Explorer
from flows.web.server import serve

__all__ = ["Explorer", "serve"]
