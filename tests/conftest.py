pytest_plugins = [
    "tests.daemons.rtorrent",
    "tests.daemons.transmission",
    "tests.daemons.swarm",
    "tests.daemons.qbittorrent",
    "tests.daemons.postgres",
    "tests.api_fixtures",
    "tests.ui_fixtures",
    "nicegui.testing.user_plugin",
]
