"""The web workspace and the decision service: ``kzcopyright serve``.

:func:`~.app.create_app` builds the ASGI application (FastAPI): the JSON API under ``/v1``
(documented by ``/openapi.json`` and the page ``/docs``) and the server-rendered pages (the
interview, the upload of a case, the answer with why, why-not and what-if, the reasoning
graph, the memo). Needs the ``web`` extra: ``pip install 'kzcopyright[web]'``.
"""
