pytest_plugins = ["tests.daemons.rtorrent", "tests.daemons.transmission", "tests.api_fixtures"]
