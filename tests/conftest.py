pytest_plugins = ["tests.daemons.rtorrent", "tests.daemons.transmission"]
