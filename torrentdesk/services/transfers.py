"""Copy or move a torrent to another server (SPEC §11): a persisted job whose steps are
audited and resumed after a restart where they stopped.

Steps: preflight (source found, target reachable and without the torrent, enough free space
where known) → add (paused, with the source's labels, directory and file choices; metainfo
from the store, else a magnet rebuilt with the source's trackers) → verify (same storage: the
target checks the existing data; else it downloads) → finish (copy: the target starts; move:
the source is stopped and removed WITHOUT its data, then the target starts). Each step is
written before it runs, and each is safe to run again (an add that already happened is found,
not repeated), so a kill at any moment resumes cleanly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pony.orm import Database, db_session, desc

from ..clients import AddOptions, ClientError, DuplicateTorrent, TorrentNotFound
from ..db import as_utc, utcnow
from ..torrent_input import InvalidTorrentInput, TorrentMetainfo, parse_magnet, parse_torrent_file
from .audit import AuditService
from .errors import Conflict, InvalidInput, NotFound, ServiceError
from .torrents import TorrentService

STATES = ("queued", "running", "done", "failed", "cancelled")
STEPS = ("preflight", "add", "verify", "finish", "done")
POLL_EVERY = 1.0  # seconds between looks at the target while it checks or downloads
MODES = ("copy", "move")


class TransferRefused(ServiceError):
    """The transfer cannot start (already on the target, private without metainfo …)."""


@dataclass(frozen=True, slots=True)
class TransferView:
    id: str
    source_id: str
    target_id: str
    info_hash: str
    mode: str
    same_storage: bool
    state: str
    step: str
    error: str | None
    name: str | None
    created_at: datetime
    updated_at: datetime


class TransferService:
    def __init__(self, db: Database, torrents: TorrentService, audit: AuditService) -> None:
        self._db = db
        self._torrents = torrents
        self._servers = torrents._servers
        self._audit = audit
        self._tasks: dict[str, asyncio.Task] = {}
        self.poll_every = POLL_EVERY
        # Told the transfer id whenever a job changes, so pages can redraw their list.
        self.listeners: list[Callable[[str], None]] = []

    # -- the API's verbs --

    async def create(
        self,
        user_id: int,
        source_id: str,
        info_hash: str,
        target_id: str,
        mode: str = "copy",
        same_storage: bool = False,
        download_dir: str | None = None,
        allow_magnet: bool = False,
    ) -> TransferView:
        if mode not in MODES:
            raise InvalidInput(f"mode must be copy or move, not {mode[:16]!r}")
        if source_id == target_id:
            raise InvalidInput("the target server is the torrent's own server: pick another")
        source = await asyncio.to_thread(self._servers.connection, user_id, source_id)
        await asyncio.to_thread(self._servers.connection, user_id, target_id)
        info_hash = info_hash.lower()
        try:
            await self._torrents.pool.get(source).get_torrent(info_hash)
        except TorrentNotFound:
            raise NotFound(f"torrent {info_hash} is not on {source.name}") from None
        job_id = await asyncio.to_thread(
            self._insert,
            user_id,
            source_id,
            target_id,
            info_hash,
            mode,
            same_storage,
            download_dir,
            allow_magnet,
        )
        self._launch(job_id)
        return await asyncio.to_thread(self.get, user_id, job_id)

    def list(self, user_id: int) -> list[TransferView]:
        with db_session:
            rows = self._db.Transfer.select(lambda t: t.user.id == user_id)
            return [_view(t) for t in rows.order_by(desc(self._db.Transfer.created_at))[:500]]

    def get(self, user_id: int, transfer_id: str) -> TransferView:
        with db_session:
            return _view(self._owned(user_id, transfer_id))

    async def cancel(self, user_id: int, transfer_id: str) -> tuple[TransferView, str]:
        """Stop a queued or running job; what it already did on the target stays (the reply
        says what)."""
        await asyncio.to_thread(self.get, user_id, transfer_id)  # 404 for others' jobs
        task = self._tasks.pop(transfer_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        left = await asyncio.to_thread(self._cancel_row, user_id, transfer_id)
        job = await asyncio.to_thread(self._load, transfer_id)
        self._audit_step(job, "cancel", True, left)
        return await asyncio.to_thread(self.get, user_id, transfer_id), left

    async def resume(self) -> None:
        """After a start: carry on every job that was queued or running."""
        with db_session:
            waiting = self._db.Transfer.select(lambda t: t.state in ("queued", "running"))
            ids = [t.id for t in waiting]
        for job_id in ids:
            self._launch(job_id)

    async def stop(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the job --

    def _launch(self, job_id: str) -> None:
        if job_id not in self._tasks:
            task = asyncio.get_running_loop().create_task(self._run(job_id))
            self._tasks[job_id] = task
            task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def _run(self, job_id: str) -> None:
        job = await asyncio.to_thread(self._load, job_id)
        try:
            await asyncio.to_thread(self._update, job_id, state="running")
            step = job["step"]
            while step != "done":
                await asyncio.to_thread(self._update, job_id, step=step)
                job = await asyncio.to_thread(self._load, job_id)
                detail = await getattr(self, f"_{step}")(job)
                self._audit_step(job, step, True, detail)
                step = STEPS[STEPS.index(step) + 1]
            await asyncio.to_thread(self._update, job_id, step="done", state="done")
        except asyncio.CancelledError:
            raise
        except (ServiceError, ClientError) as exc:
            self._audit_step(job, job["step"], False, str(exc))
            await asyncio.to_thread(self._update, job_id, state="failed", error=str(exc))
        except Exception as exc:  # a bug must not leave a job "running" forever
            message = f"the transfer stopped unexpectedly ({type(exc).__name__})"
            await asyncio.to_thread(self._update, job_id, state="failed", error=message)
            raise

    async def _preflight(self, job: dict) -> str:
        source, target = await self._clients(job)
        torrent = await source.get_torrent(job["info_hash"], files=True)
        try:
            await target.get_torrent(job["info_hash"])
        except TorrentNotFound:
            pass
        else:
            raise TransferRefused(
                f"{job['target_name']} already has {torrent.name}: nothing was changed"
            )
        target_session = await _session_or_none(target)
        free = target_session.free_space if target_session else None
        need = torrent.size or 0
        if free is not None and not job["same_storage"] and free.bytes < need:
            raise TransferRefused(
                f"{job['target_name']} has {free.bytes} bytes free at {free.path}, "
                f"{torrent.name} needs {need}: free some space or pick another server"
            )
        stored = await self._stored_or_exported(job, source)
        magnet = None
        if stored is None:
            magnet, private = await source.magnet_of(job["info_hash"])
            if private and not job["allow_magnet"]:
                raise TransferRefused(
                    f"{torrent.name} is private and its .torrent was not added through "
                    "torrentdesk: a magnet link would leave its tracker's rules; set "
                    "allow_magnet to transfer it anyway"
                )
        directory = job["download_dir"] or (torrent.download_dir if job["same_storage"] else None)
        plan = {
            "name": torrent.name,
            "labels": torrent.labels,
            "download_dir": directory,
            "unwanted": [f.index for f in torrent.files or [] if not f.wanted],
            "magnet": magnet,
            "source_state": torrent.state,
        }
        await asyncio.to_thread(self._update, job["id"], plan=plan)
        how = "its stored .torrent" if stored is not None else "a magnet link"
        return f"{torrent.name} → {job['target_name']} from {how}"

    async def _stored_or_exported(self, job: dict, source) -> TorrentMetainfo | None:
        """The .torrent from the store, else from the source where it hands it out (kept in
        the store then, for the add step and later transfers)."""
        store = self._torrents.metainfo
        stored = await asyncio.to_thread(store.find, job["user_id"], job["info_hash"])
        if stored is not None:
            return stored
        data = await source.metainfo_of(job["info_hash"])
        if data is None:
            return None
        try:
            meta = await asyncio.to_thread(parse_torrent_file, data)
        except InvalidTorrentInput:
            return None
        if meta.info_hash != job["info_hash"]:
            return None
        await asyncio.to_thread(store.keep, job["user_id"], meta)
        return meta

    async def _add(self, job: dict) -> str:
        plan = job["plan"]
        _, target = await self._clients(job)
        options = AddOptions(
            tuple(plan["labels"]), plan["download_dir"], tuple(plan["unwanted"])
        )
        stored = await asyncio.to_thread(
            self._torrents.metainfo.find, job["user_id"], job["info_hash"]
        )
        try:
            if stored is not None:
                await target.add_torrent(stored, False, options)
            else:
                magnet = parse_magnet(plan["magnet"])
                await target.add_magnet(magnet, False, options)
        except DuplicateTorrent:  # added before a restart: the step ran already
            pass
        except InvalidTorrentInput as exc:
            raise TransferRefused(f"the source's magnet link is not usable: {exc}") from None
        self._torrents._notify(job["target_id"])
        return f"added paused to {job['target_name']} in {plan['download_dir'] or 'its default'}"

    async def _verify(self, job: dict) -> str:
        _, target = await self._clients(job)
        if job["same_storage"]:
            await _one(target.recheck([job["info_hash"]]))
            await asyncio.sleep(self.poll_every)
            torrent = await self._settled(target, job["info_hash"])
            if torrent.progress < 1.0:
                raise TransferRefused(
                    f"{job['target_name']} found {torrent.progress:.1%} of the data of "
                    f"{torrent.name} in {torrent.download_dir}: is that storage really shared? "
                    "The torrent stays there, paused"
                )
            return f"{job['target_name']} verified the data: 100 %"
        await _one(target.start([job["info_hash"]]))
        while (torrent := await target.get_torrent(job["info_hash"])).progress < 1.0:
            await asyncio.sleep(self.poll_every * 5)
        return f"{job['target_name']} downloaded {torrent.name}"

    async def _finish(self, job: dict) -> str:
        source, target = await self._clients(job)
        info_hash = job["info_hash"]
        if job["mode"] == "move":
            try:
                await _one(source.stop([info_hash]))
                await _one(source.erase([info_hash], delete_data=False))
            except TorrentNotFound:  # removed before a restart
                pass
            self._torrents._notify(job["source_id"])
        if job["mode"] == "move" or job["plan"].get("source_state") != "stopped":
            await _one(target.start([info_hash]))
        self._torrents._notify(job["target_id"])
        if job["mode"] == "move":
            return f"removed from {job['source_name']} (its data kept); {job['target_name']} seeds"
        return f"copied: on {job['source_name']} and {job['target_name']}"

    async def _settled(self, client, info_hash: str):
        while (torrent := await client.get_torrent(info_hash)).state == "checking":
            await asyncio.sleep(self.poll_every)
        return torrent

    async def _clients(self, job: dict):
        source = await asyncio.to_thread(self._connection_of, job, "source_id")
        target = await asyncio.to_thread(self._connection_of, job, "target_id")
        return self._torrents.pool.get(source), self._torrents.pool.get(target)

    def _connection_of(self, job: dict, key: str):
        try:
            return self._servers.connection(job["user_id"], job[key])
        except NotFound:
            raise TransferRefused(f"the {key[:6]} server was deleted meanwhile") from None

    def _audit_step(self, job: dict, step: str, ok: bool, detail: str | None) -> None:
        server = job["target_id"] if step != "finish" or job["mode"] == "copy" else job["source_id"]
        self._audit.record(
            job["user_id"], f"transfer.{step}", ok, server, job["info_hash"], detail
        )

    # -- rows --

    def _insert(self, user_id, source_id, target_id, info_hash, mode, same, directory, magnet):
        with db_session:
            return self._db.Transfer(
                user=user_id,
                source_id=source_id,
                target_id=target_id,
                info_hash=info_hash,
                mode=mode,
                same_storage=same,
                download_dir=directory,
                allow_magnet=magnet,
                plan={},
            ).id

    def _load(self, job_id: str) -> dict:
        with db_session:
            t = self._db.Transfer[job_id]
            names = {
                s.id: s.name
                for s in self._db.TorrentServer.select(lambda s: s.id in (t.source_id, t.target_id))
            }
            return {
                "id": t.id,
                "user_id": t.user.id,
                "source_id": t.source_id,
                "target_id": t.target_id,
                "source_name": names.get(t.source_id, "the source server"),
                "target_name": names.get(t.target_id, "the target server"),
                "info_hash": t.info_hash,
                "mode": t.mode,
                "same_storage": t.same_storage,
                "allow_magnet": t.allow_magnet,
                "download_dir": t.download_dir,
                "step": t.step,
                "plan": dict(t.plan or {}),
            }

    def _update(self, job_id: str, **changes) -> None:
        with db_session:
            row = self._db.Transfer[job_id]
            if row.state == "cancelled":
                return
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
        for listener in self.listeners:
            listener(job_id)

    def _cancel_row(self, user_id: int, transfer_id: str) -> str:
        with db_session:
            row = self._owned(user_id, transfer_id)
            if row.state in ("done", "failed", "cancelled"):
                raise Conflict(f"the transfer is {row.state} already: nothing to cancel")
            done = STEPS.index(row.step)
            row.state = "cancelled"
            row.updated_at = utcnow()
            target = self._db.TorrentServer.get(id=row.target_id)
            where = target.name if target is not None else "the target server"
            torrent = (row.plan or {}).get("name") or row.info_hash
        if done < STEPS.index("add"):
            return f"nothing was added to {where}"
        if done == STEPS.index("add"):  # the add may have reached the target before the cancel
            return f"{torrent} may have been added to {where}, paused: remove it there if so"
        if done == STEPS.index("verify"):
            return f"{torrent} stays on {where} as it got (checking or downloading it)"
        return f"{torrent} stays on {where}; the source may be stopped or removed already"

    def _owned(self, user_id: int, transfer_id: str):
        row = self._db.Transfer.get(id=transfer_id) if len(transfer_id) <= 36 else None
        if row is None or row.user.id != user_id:
            raise NotFound(f"no transfer with id {transfer_id[:40]!r}")
        return row


async def _one(call) -> None:
    """Run a verb on one hash; its failure for that hash raised."""
    failures = await call
    for error in failures.values():
        raise error


async def _session_or_none(client):
    try:
        return await client.session()
    except ClientError:
        return None


def _view(t) -> TransferView:
    return TransferView(
        t.id,
        t.source_id,
        t.target_id,
        t.info_hash,
        t.mode,
        t.same_storage,
        t.state,
        t.step,
        t.error,
        (t.plan or {}).get("name"),
        as_utc(t.created_at),
        as_utc(t.updated_at),
    )
