"""Remotes: push a workspace to a folder or S3-compatible storage, pull it elsewhere.

Layout of a remote (the same in a folder and under an S3 prefix)::

    FORMAT                     "workbench-remote 1"
    objects/ab/cdef...         the workspace's objects, named by their BLAKE3 digest
    bundles/<digest>.tar       metadata bundles (see ``bundle``)
    bundles/<digest>.json      contents lists: objects and prediction files of a version
    versions/0000000001.json   one per push: bundle, contents, audit head, who, when

**A push** exports the metadata in one read transaction, uploads the objects and prediction
files the remote lacks (content-addressed: each once, ever), then the bundle and its contents
list, and commits by *creating* the next version file, a write that succeeds only if that name
is absent (S3 ``If-None-Match: *``; a hard link in a folder). Until that moment the remote's
newest version is unchanged; killed anywhere, a push leaves complete objects nothing names yet.
Two pushes racing for one number: one creates it, the other is refused, nothing overwritten.

**Optimistic concurrency** rests on the audit log, whose hash chain names a history: a push is
accepted only when the remote's newest audit entry is in this workspace's chain (the remote is
an ancestor of what we push); a workspace that pulled version 3 and pushes after someone else
pushed version 4 is refused. **A pull** replaces the local metadata only when the local chain's
newest entry is in the remote's (nothing local would be lost) or the workspace is empty;
otherwise it refuses. Objects and prediction files are only ever added, never removed. Hash
chains cannot be merged without rewriting one of them, so there is no merge: work done on a
stale copy is redone on a fresh pull.

Pushes and pulls are not audit entries (the version files record who pushed what and when):
an entry of its own would make every pulled workspace differ from its remote.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__, audit
from ..errors import Conflict, InputError, IntegrityError, NotFoundError, WorkbenchError
from ..integrity import referenced_objects
from ..objects import hash_bytes, hash_file
from ..processes import os_account
from ..progress import NULL_PROGRESS, Progress
from ..store import SCHEMA_VERSION
from . import bundle
from .backends import Backend, Report, open_backend
from .records import Contents, PullResult, PushResult, RemoteInfo, RemoteVersion, SyncState
from .transfer import Transfer, run_transfers
from .url import parse_url, validate_endpoint, validate_name

if TYPE_CHECKING:
    import duckdb

    from ..context import Context

__all__ = ["RemoteService"]

_FORMAT = b"workbench-remote 1\n"
_STATE_FILE = "remotes.json"


def _version_key(version: int) -> str:
    return f"versions/{version:010d}.json"


def _object_key(digest: str) -> str:
    return f"objects/{digest[:2]}/{digest[2:]}"


class RemoteService:
    """Remotes of one workspace: configuration, push, pull and the remote's versions."""

    def __init__(self, ctx: Context, open: Callable[..., Backend] = open_backend) -> None:
        self.ctx = ctx
        self._open_backend = open

    # -- configuration -----------------------------------------------------------------------

    def remotes(self) -> list[RemoteInfo]:
        """The configured remotes (settings file and ``WORKBENCH_REMOTES__*`` variables)."""
        return [
            RemoteInfo(name, r.url, r.endpoint_url)
            for name, r in sorted(self.ctx.settings.remotes.items())
        ]

    def add(self, name: str, url: str, endpoint_url: str | None = None) -> RemoteInfo:
        """Add a remote to the settings file (``[remotes.NAME]``); nothing is contacted."""
        from ..settings_file import add_table, read_settings

        validate_name(name)
        parsed = parse_url(url, self.ctx.root)
        endpoint = validate_endpoint(endpoint_url)
        if parsed.kind == "folder":
            assert parsed.path is not None
            if parsed.path.is_relative_to(self.ctx.dir.resolve()):
                raise InputError(f"a remote cannot live inside the workspace ({parsed.path})")
            if endpoint:
                raise InputError("an endpoint URL is for s3:// remotes only")
        if name in (read_settings(self.ctx.dir).get("remotes") or {}):
            raise InputError(
                f"remote {name!r} exists", hint=f"`workbench remote remove {name}` first"
            )
        add_table(self.ctx.dir, f"remotes.{name}", {"url": str(parsed), "endpoint_url": endpoint})
        self._reload_settings()
        return self.get(name)

    def remove(self, name: str) -> None:
        """Remove a remote from the settings file (the remote itself is left alone)."""
        from ..settings_file import remove_table

        info = self.get(name)
        if not remove_table(self.ctx.dir, f"remotes.{info.name}"):
            raise InputError(
                f"remote {name!r} comes from the environment (WORKBENCH_REMOTES__"
                f"{name.upper()}__URL), not from the settings file"
            )
        self._reload_settings()
        state = self._state()
        if state.pop(name, None) is not None:
            self._save_state(state)

    def _reload_settings(self) -> None:
        self.ctx.__dict__.pop("settings", None)

    def get(self, name: str | None = None) -> RemoteInfo:
        """A remote by name; without one, ``origin`` or the only remote."""
        remotes = {r.name: r for r in self.remotes()}
        if name is None:
            if "origin" in remotes:
                return remotes["origin"]
            if len(remotes) == 1:
                return next(iter(remotes.values()))
            if not remotes:
                raise InputError(
                    "this workspace has no remote", hint="workbench remote add origin URL"
                )
            raise InputError(f"say which remote: {', '.join(remotes)}")
        if name not in remotes:
            raise NotFoundError(
                f"no remote {name!r}", hint=f"remotes: {', '.join(remotes) or 'none'}"
            )
        return remotes[name]

    def _backend(self, info: RemoteInfo) -> Backend:
        return self._open_backend(info.url, info.endpoint_url, self.ctx.root)

    # -- the remote's versions ---------------------------------------------------------------

    def _version_numbers(self, backend: Backend) -> list[int]:
        numbers = []
        for key in backend.list("versions/"):
            stem = key.rsplit("/", 1)[-1].removesuffix(".json")
            if stem.isdigit():
                numbers.append(int(stem))
        return sorted(numbers)

    def _read_version(self, backend: Backend, number: int) -> RemoteVersion:
        key = _version_key(number)
        data = backend.get_bytes(key)
        if data is None:
            raise IntegrityError(f"the remote lost {key}")
        return RemoteVersion.from_json(data, key)

    def _latest(self, backend: Backend) -> RemoteVersion | None:
        numbers = self._version_numbers(backend)
        return self._read_version(backend, numbers[-1]) if numbers else None

    def head(self, name: str | None = None) -> RemoteVersion | None:
        """The remote's newest version (None when nothing was pushed yet)."""
        backend = self._backend(self.get(name))
        self._check_format(backend, writing=False)
        return self._latest(backend)

    def versions(self, name: str | None = None, limit: int | None = 20) -> list[RemoteVersion]:
        """The remote's versions, newest first."""
        backend = self._backend(self.get(name))
        self._check_format(backend, writing=False)
        numbers = self._version_numbers(backend)[::-1]
        return [self._read_version(backend, n) for n in numbers[:limit]]

    def _check_format(self, backend: Backend, writing: bool) -> None:
        marker = backend.get_bytes("FORMAT") if not writing else None
        if writing:
            backend.check_writable()
            marker = backend.get_bytes("FORMAT")
        if marker is None:
            if backend.list("versions/"):
                raise IntegrityError(f"{backend.describe()} has versions but no FORMAT file")
            if writing:
                backend.create("FORMAT", _FORMAT)
            return
        if not marker.startswith(b"workbench-remote "):
            raise InputError(f"{backend.describe()} is not a workbench remote")
        if marker != _FORMAT:
            raise WorkbenchError(
                f"{backend.describe()} has format {marker.decode(errors='replace').strip()!r}",
                hint="upgrade the workbench package",
            )

    def _open(
        self, name: str | None, progress: Progress, writing: bool
    ) -> tuple[RemoteInfo, Backend, RemoteVersion | None]:
        """The remote, its backend (checked) and its newest version."""
        info = self.get(name)
        backend = self._backend(info)
        progress.start(f"checking {info.name} ({backend.describe()})")
        self._check_format(backend, writing=writing)
        return info, backend, self._latest(backend)

    def _contents(self, backend: Backend, version: RemoteVersion | None) -> Contents:
        if version is None:
            return Contents()
        data = backend.get_bytes(f"bundles/{version.contents}.json")
        if data is None:
            raise IntegrityError(f"the remote lost the contents list of version {version.version}")
        if hash_bytes(data) != version.contents:
            raise IntegrityError(f"the contents list of version {version.version} is damaged")
        return Contents.from_json(data)

    # -- local state -------------------------------------------------------------------------

    def _state(self) -> dict[str, dict]:
        path = self.ctx.dir / _STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_state(self, state: dict[str, dict]) -> None:
        path = self.ctx.dir / _STATE_FILE
        temp = path.with_name(f".{_STATE_FILE}.{uuid.uuid4().hex[:8]}")
        try:
            temp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(temp, path)
        except OSError as exc:
            raise WorkbenchError(f"cannot write {path}: {exc.strerror}") from None
        finally:
            temp.unlink(missing_ok=True)

    def _remember(self, name: str, version: int, head: str | None, direction: str) -> None:
        state = self._state()
        state[name] = asdict(SyncState(version, head, direction, _now()))
        self._save_state(state)

    def sync_state(self, name: str | None = None) -> SyncState | None:
        """What this workspace last pushed to or pulled from a remote (None: never)."""
        raw = self._state().get(self.get(name).name)
        try:
            return SyncState(**raw) if raw else None
        except TypeError:
            return None

    def last_pull_seq(self) -> int | None:
        """The audit sequence number this workspace had after its newest pull (None: never
        pulled); entries after it are work done here since."""
        pulls = [s for s in self._state().values() if s.get("direction") == "pull"]
        if not pulls:
            return None
        newest = max(pulls, key=lambda s: str(s.get("at")))
        head = newest.get("audit_head")
        return int(str(head).split(":")[0]) if head else 0

    # -- push --------------------------------------------------------------------------------

    def _work_dir(self) -> Path:
        """A scratch folder under ``tmp/`` named after this process (swept if it dies)."""
        tmp = self.ctx.objects.tmp
        tmp.mkdir(parents=True, exist_ok=True)
        work = tmp / f"{os.getpid()}-{uuid.uuid4().hex}"
        work.mkdir()
        return work

    def _local_predictions(self) -> dict[str, tuple[str, int]]:
        """The prediction log's files (segments and compactions; temp files are dotted)."""
        top = self.ctx.dir / "predictions"
        found: dict[str, tuple[str, int]] = {}
        if not top.is_dir():
            return found
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or not name.endswith(".parquet"):
                    continue
                path = Path(folder) / name
                rel = path.relative_to(self.ctx.dir).as_posix()
                found[rel] = (hash_file(path), path.stat().st_size)
        return found

    def push(self, name: str | None = None, progress: Progress = NULL_PROGRESS) -> PushResult:
        """Send this workspace's state to a remote (see the module doc)."""
        info, backend, latest = self._open(name, progress, writing=True)
        if latest is not None and latest.schema_version > SCHEMA_VERSION:
            raise WorkbenchError(
                f"{info.name} was pushed by a newer workbench (schema {latest.schema_version})",
                hint="upgrade the workbench package",
            )
        remote_contents = self._contents(backend, latest)
        objects = self.ctx.objects
        work = self._work_dir()
        try:
            with objects.writing():  # gc waits: the objects we send stay until they are sent
                tar = work / "bundle.tar"
                with self.ctx.store.read() as con:
                    _refuse_damaged_log(con)
                    head = audit.head(con)
                    if latest is not None and latest.audit_head:
                        _refuse_stale(con, info.name, latest)
                    manifest = bundle.export_bundle(con, tar)
                    digests = referenced_objects(con, exclude=bundle.LOCAL_TABLES)
                local_files = self._local_predictions()
                contents = Contents(
                    {d: objects.path(d).stat().st_size for d in sorted(digests)},
                    {**remote_contents.predictions, **local_files},
                )
                head_text = str(head) if head else None
                if (
                    latest is not None
                    and head_text == latest.audit_head
                    and not (local_files.keys() - remote_contents.predictions.keys())
                ):
                    self._remember(info.name, latest.version, head_text, "push")
                    return PushResult(info.name, latest.version, True)
                if head is None and not local_files:
                    raise InputError("nothing to push: the workspace is empty")
                sent = self._upload_all(backend, contents, local_files, progress)
                progress.start(f"uploading the metadata of {info.name}")
                bundle_digest = hash_file(tar)
                backend.upload(f"bundles/{bundle_digest}.tar", tar, lambda n: None)
                listing = contents.to_json()
                contents_digest = hash_bytes(listing)
                backend.put_bytes(f"bundles/{contents_digest}.json", listing)
                number = latest.version + 1 if latest else 1
                progress.start(f"committing version {number} of {info.name}")
                progress.check_cancelled()
                record = RemoteVersion(
                    number, latest.version if latest else None, bundle_digest, contents_digest,
                    manifest.audit_head, SCHEMA_VERSION, len(contents.objects), self.ctx.actor,
                    os_account(), socket.gethostname(), _now(), __version__,
                )  # fmt: skip
                if not backend.create(_version_key(number), record.to_json()):
                    raise Conflict(
                        f"someone pushed version {number} to {info.name} while this push ran; "
                        "nothing was overwritten",
                        hint=f"workbench pull {info.name}, then push again",
                    )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self._remember(info.name, number, head_text, "push")
        return PushResult(info.name, number, False, *sent)

    def _upload_all(
        self,
        backend: Backend,
        contents: Contents,
        local_files: dict[str, tuple[str, int]],
        progress: Progress,
    ) -> tuple[int, int, int, int]:
        """Upload the objects and prediction files the remote lacks: (objects uploaded,
        objects already there, files uploaded, bytes)."""
        progress.start(f"listing the objects of {backend.describe()}")
        present = {"".join(k.split("/")[1:]) for k in backend.list("objects/")}
        sources: dict[str, Path] = {d: self.ctx.objects.path(d) for d in contents.objects}
        files_new = 0
        for rel, (digest, _) in local_files.items():
            if digest not in present and digest not in sources:
                files_new += 1
            sources.setdefault(digest, self.ctx.dir / rel)
        missing = sorted(d for d in sources if d not in present)

        def send(digest: str) -> Callable[[Report], None]:
            return lambda report: backend.upload(_object_key(digest), sources[digest], report)

        jobs = [Transfer(sources[d].stat().st_size, send(d)) for d in missing]
        sent = run_transfers(jobs, progress, f"uploading {len(jobs)} objects", _threads(backend))
        uploaded_objects = sum(1 for d in missing if d in contents.objects)
        already = sum(1 for d in contents.objects if d in present)
        return uploaded_objects, already, files_new, sent

    # -- pull --------------------------------------------------------------------------------

    def pull(self, name: str | None = None, progress: Progress = NULL_PROGRESS) -> PullResult:
        """Bring a remote's newest version here (see the module doc)."""
        info, backend, latest = self._open(name, progress, writing=False)
        if latest is None:
            raise InputError(f"remote {info.name} is empty: nothing to pull")
        contents = self._contents(backend, latest)
        with self.ctx.store.read() as con:
            head = audit.head(con)
            local_rows = _governed_rows(con)
            # the remote's history is part of ours: nothing to take, perhaps something to push
            ahead = latest.audit_head is None or _chain_holds(con, latest.audit_head)
        head_text = str(head) if head else None
        ahead = ahead and head_text != latest.audit_head
        objects = self.ctx.objects
        work = self._work_dir()
        try:
            new_db = None
            if head_text != latest.audit_head and not ahead:
                new_db = self._build(backend, latest, contents, work, progress)
                self._refuse_losing_work(new_db, info.name, latest, head_text, local_rows)
            missing = [d for d in contents.objects if not objects.exists(d)]
            files = {
                rel: entry
                for rel, entry in contents.predictions.items()
                if not (self.ctx.dir / rel).exists()
            }
            if new_db is None and not missing and not files:
                if not ahead:
                    self._remember(info.name, latest.version, head_text, "pull")
                return PullResult(info.name, latest.version, True, ahead=ahead)
            with objects.writing():  # objects first, then the records that name them
                got = self._download_objects(backend, contents, missing, progress)
                if new_db is not None:
                    progress.start(f"replacing the metadata with version {latest.version}")
                    self.ctx.store.swap_in(new_db, _carry_local(head_text))
            got += self._download_files(backend, files, work, progress)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not ahead:
            self._remember(info.name, latest.version, latest.audit_head, "pull")
        return PullResult(info.name, latest.version, False, new_db is not None, len(missing),
                          len(files), got, ahead)  # fmt: skip

    def _build(
        self,
        backend: Backend,
        version: RemoteVersion,
        contents: Contents,
        work: Path,
        progress: Progress,
    ) -> Path:
        """Download a version's bundle and build (and verify) its database under ``work``."""
        progress.start(f"downloading the metadata of version {version.version}")
        tar = work / "bundle.tar"
        backend.download(f"bundles/{version.bundle}.tar", tar, lambda n: None)
        if hash_file(tar) != version.bundle:
            raise IntegrityError(f"the metadata bundle of version {version.version} is damaged")
        progress.check_cancelled()
        progress.start(f"checking the metadata of version {version.version}")
        manifest = bundle.read_bundle(tar, work / "bundle")
        if manifest.audit_head != version.audit_head:
            raise IntegrityError(f"version {version.version}'s bundle has another audit head")
        db = work / "meta.duckdb"
        bundle.build_store(work / "bundle", manifest, db)
        import duckdb

        con = duckdb.connect(str(db), read_only=True)
        try:
            needed = referenced_objects(con, exclude=bundle.LOCAL_TABLES)
        finally:
            con.close()
        lacking = sorted(needed - contents.objects.keys())
        if lacking:
            raise IntegrityError(
                f"version {version.version} names {len(lacking)} objects its contents list "
                f"lacks (first {lacking[0][:12]})"
            )
        return db

    def _refuse_losing_work(
        self,
        new_db: Path,
        name: str,
        version: RemoteVersion,
        head: str | None,
        local_rows: int,
    ) -> None:
        """Refuse a pull that would drop local work: the local chain's newest entry must be in
        the remote's (or the workspace must be empty)."""
        if head is None:
            if local_rows:
                raise Conflict(
                    f"this workspace holds {local_rows} records but no audit log; pulling "
                    f"{name} would replace them",
                    hint="pull into an empty workspace",
                )
            return
        import duckdb

        con = duckdb.connect(str(new_db), read_only=True)
        try:
            holds = _chain_holds(con, head)
        finally:
            con.close()
        if not holds:
            seq = head.split(":")[0]
            raise Conflict(
                f"this workspace has changes that {name} version {version.version} lacks "
                f"(its audit log ends at entry {seq}, which the remote's does not hold); "
                "pulling would lose them, so nothing was changed",
                hint=f"push them if nobody pushed since your last pull, or pull into a fresh "
                f"workspace and redo them there (`workbench init NEW && cd NEW && workbench "
                f"remote add {name} URL && workbench pull {name}`)",
            )

    def _download_objects(
        self, backend: Backend, contents: Contents, missing: list[str], progress: Progress
    ) -> int:
        objects = self.ctx.objects

        def fetch(digest: str) -> Callable[[Report], None]:
            def run(report: Report) -> None:
                with objects.temp_path() as temp:
                    backend.download(_object_key(digest), temp, report)
                    actual = hash_file(temp)
                    if actual != digest:
                        raise IntegrityError(
                            f"the remote's object {digest[:12]} is damaged "
                            f"(its bytes hash to {actual[:12]})"
                        )
                    objects.adopt(temp, digest)

            return run

        jobs = [Transfer(contents.objects[d], fetch(d)) for d in missing]
        return run_transfers(jobs, progress, f"downloading {len(jobs)} objects", _threads(backend))

    def _download_files(
        self,
        backend: Backend,
        files: dict[str, tuple[str, int]],
        work: Path,
        progress: Progress,
    ) -> int:
        """Prediction-log files the workspace lacks, each renamed into place once whole."""

        def fetch(rel: str, digest: str) -> Callable[[Report], None]:
            def run(report: Report) -> None:
                dest = self.ctx.dir / rel
                temp = work / f"{uuid.uuid4().hex}.part"
                backend.download(_object_key(digest), temp, report)
                if hash_file(temp) != digest:
                    raise IntegrityError(f"the remote's copy of {rel} is damaged")
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, dest)

            return run

        jobs = [Transfer(size, fetch(rel, digest)) for rel, (digest, size) in files.items()]
        return run_transfers(
            jobs, progress, f"downloading {len(jobs)} prediction files", _threads(backend)
        )


def _threads(backend: Backend) -> int:
    return 2 if backend.url.kind == "folder" else 8


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _chain_holds(con: duckdb.DuckDBPyConnection, anchor: str) -> bool:
    seq, _, digest = anchor.partition(":")
    rows = con.execute(
        "select count(*) from audit_log where seq = ? and hash = ?", [int(seq), digest]
    ).fetchall()
    return bool(rows[0][0])


def _governed_rows(con: duckdb.DuckDBPyConnection) -> int:
    # table names are the fixed governed list, never user text
    return sum(con.execute(f'select count(*) from "{t}"').fetchall()[0][0] for t in audit.GOVERNED)


def _refuse_damaged_log(con: duckdb.DuckDBPyConnection) -> None:
    problems = audit.verify(con)
    if problems:
        raise IntegrityError(
            f"the audit log does not verify ({len(problems)} problems; first: {problems[0]}); "
            "nothing was pushed",
            hint="see `workbench audit verify`",
        )


def _refuse_stale(con: duckdb.DuckDBPyConnection, name: str, latest: RemoteVersion) -> None:
    assert latest.audit_head is not None
    if not _chain_holds(con, latest.audit_head):
        raise Conflict(
            f"{name} has moved on: version {latest.version} (pushed by {latest.pushed_by} at "
            f"{latest.pushed_at}) holds changes this workspace has not pulled; nothing was "
            "pushed",
            hint=f"workbench pull {name} (it refuses if your own changes would be lost)",
        )


def _carry_local(expected_head: str | None) -> Callable:
    """What ``Store.swap_in`` does under its lock: check nobody wrote here since the pull
    began, then keep the local tables (source cache, reference statistics) in the new file."""

    def carry(old: duckdb.DuckDBPyConnection, fresh: duckdb.DuckDBPyConnection) -> None:
        now = audit.head(old)
        if (str(now) if now else None) != expected_head:
            raise Conflict(
                "the workspace changed while pulling; nothing was replaced",
                hint="pull again",
            )
        for table in bundle.LOCAL_TABLES:
            if table == "schema_version":
                continue
            result = old.execute(f'select * from "{table}"')  # fixed table names
            names = [d[0] for d in result.description or ()]
            rows = result.fetchall()
            if rows:
                columns = ", ".join(f'"{n}"' for n in names)  # names from DuckDB's catalog
                marks = ", ".join("?" for _ in names)
                fresh.executemany(
                    f'insert or ignore into "{table}" ({columns}) values ({marks})', rows
                )

    return carry
