"""The app: a plain ``FastAPI()`` with Sessionary installed and its own router.

Serve it with ``sessionary serve --app projects.app:app`` after
``sessionary db upgrade`` (``SESSIONARY_MIGRATIONS=migrations``).
"""

from fastapi import FastAPI

from projects.router import router
from sessionary import install

app = FastAPI(title="Projects")
install(app)  # Sessionary's routes, middleware, errors and lifespan; settings from SESSIONARY_*
app.include_router(router)
