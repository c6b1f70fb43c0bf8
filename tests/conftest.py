pytest_plugins = [
    "tests.daemons.rtorrent",
    "tests.daemons.transmission",
    "tests.daemons.qbittorrent",
    "tests.api_fixtures",
    "tests.ui_fixtures",
    "nicegui.testing.user_plugin",
]
