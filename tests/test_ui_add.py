"""The add-torrent dialog against real daemons: magnet links and .torrent files to a chosen
server that is remembered; failures named per server and per file; rows appear at once."""

import pytest
from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User

from tests.torrent_factory import magnet_for, make_torrent, random_info_hash
from tests.ui_fixtures import element, eventually, sign_in, the_grid
from torrentdesk.ui.add_dialog import BY_RULES

pytestmark = pytest.mark.daemon


async def upload(user: User, name: str, data: bytes) -> None:
    [uploader] = user.find(kind=ui.upload).elements
    await uploader.handle_uploads([SmallFileUpload(name, "application/x-bittorrent", data)])


async def test_magnet_and_file_to_chosen_servers_remembered(
    ui_app,
    two_servers,
    rtorrent_clean,
    user: User,
) -> None:
    _, tr, rt = two_servers
    await sign_in(user)
    await eventually(lambda: set(element(user, "add-server").options) == {tr, rt, BY_RULES})
    user.find(marker="open-add").click()

    # A magnet to rTorrent, added paused.
    element(user, "add-server").value = rt
    element(user, "add-start").value = False
    magnet_hash = random_info_hash()
    # rTorrent drops tracker-less magnets (no DHT here): give it one.
    magnet = magnet_for(magnet_hash, "via magnet") + "&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce"
    element(user, "add-links").value = magnet + "\n"
    user.find(marker="add-submit").click()
    await user.should_see("Added to rt-box: via magnet", retries=50)
    await eventually(
        lambda: f"{rt}:{magnet_hash}" in ui_app.spy.rows(the_grid(user)), message="magnet row"
    )
    assert magnet_hash in rtorrent_clean.hashes()

    # A .torrent file (and a broken one) to Transmission.
    user.find(marker="open-add").click()
    assert element(user, "add-server").value == rt  # still the last choice
    element(user, "add-server").value = tr
    good = make_torrent("via file")
    await upload(user, "good.torrent", good.data)
    await upload(user, "broken.torrent", b"not bencoded at all")
    await user.should_see("via file · 48.1 KiB")
    [error] = [e.text for e in user.find(marker="add-file-error").elements]
    assert error  # says why, before anything reaches a server
    user.find(marker="add-submit").click()
    await user.should_see("Added to tr-box: via file", retries=50)
    await eventually(
        lambda: f"{tr}:{good.info_hash}" in ui_app.spy.rows(the_grid(user)), message="file row"
    )
    rows = ui_app.spy.rows(the_grid(user))
    assert rows[f"{tr}:{good.info_hash}"]["server_name"] == "tr-box"
    assert rows[f"{rt}:{magnet_hash}"]["server_name"] == "rt-box"

    # The choice survives a reload (remembered in the user's storage).
    await user.open("/")
    assert element(user, "add-server").value == tr
    assert element(user, "add-start").value is False


async def test_failures_name_the_server_and_keep_the_input(
    ui_app,
    two_servers,
    user: User,
) -> None:
    user_id, tr, _ = two_servers
    torrent = make_torrent("twice")
    await ui_app.services.torrents.upload(user_id, tr, torrent.data, start=False)
    await sign_in(user)
    user.find(marker="open-add").click()
    element(user, "add-server").value = tr
    await upload(user, "twice.torrent", torrent.data)
    element(user, "add-links").value = "ftp://example.com/x.torrent"
    user.find(marker="add-submit").click()
    await user.should_see("Could not add ftp://example.com/x.torrent: tr-box: ", retries=50)
    await user.should_see("Could not add twice.torrent: tr-box: ", retries=50)
    # Nothing was added, the failed line stays for correction, the file shows its error.
    assert element(user, "add-links").value == "ftp://example.com/x.torrent"
    [error] = [e.text for e in user.find(marker="add-file-error").elements]
    assert error.startswith("tr-box: ")
    actions = ui_app.services.audit.latest(user_id, 1)
    assert (actions[0].action, actions[0].ok) == ("torrent.add", False)


async def test_labels_and_directory_on_add_with_the_servers_default_offered(
    ui_app, two_servers, transmission_clean, rtorrent_clean, tmp_path, user: User
) -> None:
    user_id, tr, rt = two_servers
    await sign_in(user)
    await eventually(lambda: set(element(user, "add-server").options) == {tr, rt, BY_RULES})
    user.find(marker="open-add").click()
    element(user, "add-server").value = rt
    directory = element(user, "add-directory")
    await eventually(
        lambda: directory._props.get("placeholder") == str(rtorrent_clean.download_dir),
        message="rTorrent's default directory offered",
    )
    element(user, "add-server").value = tr
    await eventually(
        lambda: directory._props.get("placeholder") == str(transmission_clean.download_dir),
        message="Transmission's default directory offered",
    )
    target = tmp_path / "labelled adds"
    target.mkdir()
    torrent = make_torrent("labelled add")
    await upload(user, "labelled.torrent", torrent.data)
    element(user, "add-labels").value = ["from the ui", "ünï"]
    directory.value = str(target)
    user.find(marker="add-submit").click()
    await user.should_see("Added to tr-box: labelled add", retries=50)
    row = await eventually(
        lambda: ui_app.spy.rows(the_grid(user)).get(f"{tr}:{torrent.info_hash}"), message="row"
    )
    assert row["labels"] == ["from the ui", "ünï"]
    # The directory is not a grid column (the browser's rows leave it out): the page's row.
    [page_row] = [r for r in ui_app.services.live.view(user_id)[0] if r["id"] == row["id"]]
    assert page_row["download_dir"] == str(target)
    # Remembered for that server, offered first the next time.
    user.find(marker="open-add").click()
    await eventually(
        lambda: directory._props.get("_autocomplete")
        == [str(target), str(transmission_clean.download_dir)],
        message="recent directory offered",
    )


async def test_one_magnet_to_two_servers_and_by_the_add_rules(
    ui_app, two_servers, transmission_clean, rtorrent_clean, user: User
) -> None:
    user_id, tr, rt = two_servers
    await sign_in(user)
    await eventually(lambda: set(element(user, "add-server").options) == {tr, rt, BY_RULES})
    user.find(marker="open-add").click()
    element(user, "add-server").value = tr
    await eventually(lambda: element(user, "add-more-servers").options == {rt: "rt-box"})
    element(user, "add-more-servers").value = [rt]
    element(user, "add-start").value = False
    both = random_info_hash()
    tracker = "&tr=http%3A%2F%2F127.0.0.1%3A9%2Fa"  # rTorrent drops tracker-less magnets
    element(user, "add-links").value = magnet_for(both, "on both") + tracker
    user.find(marker="add-submit").click()
    await user.should_see("Added to tr-box: on both")
    await user.should_see("Added to rt-box: on both")
    assert transmission_clean.field(both, "hashString") == both
    assert both in rtorrent_clean.hashes()

    # By the add rules: the preview says where before anything is added, the add goes there.
    ui_app.services.torrents.rules.put(
        user_id, [{"match": {"name_regex": "^linux"}, "target": {"server_ids": [rt]}}]
    )
    user.find(marker="open-add").click()
    element(user, "add-server").value = BY_RULES
    ruled = random_info_hash()
    element(user, "add-links").value = magnet_for(ruled, "linux iso") + tracker
    user.find(marker="add-links").trigger("blur")
    await eventually(
        lambda: element(user, "add-rule-preview").text == "Rule 1: linux iso → rt-box"
    )
    await user.should_not_see(marker="add-more-servers")  # the rules choose all servers
    user.find(marker="add-submit").click()
    await user.should_see("Added to rt-box: linux iso")
    assert ruled in rtorrent_clean.hashes()
