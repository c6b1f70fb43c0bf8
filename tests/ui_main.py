"""The app as the NiceGUI `user` fixture runs it (pytest ini `main_file`): the same wiring as
`torrentdesk` serves (`torrentdesk.app.mount`), on the services that the `ui_app` fixture
(tests/ui_fixtures.py) built for this test in its own temporary data dir."""

from nicegui import app, ui

from tests.ui_fixtures import current
from torrentdesk.app import mount
from torrentdesk.middleware import HostPolicy
from torrentdesk.ui.auth import SESSION_OPTIONS

assert current.services is not None, "list the ui_app fixture before `user`"
mount(app, current.services, HostPolicy.serving("127.0.0.1", ["test"]))  # httpx: http://test
ui.run(
    storage_secret="torrentdesk ui tests", session_middleware_kwargs=SESSION_OPTIONS, reload=False
)
