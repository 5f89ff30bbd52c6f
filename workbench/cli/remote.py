"""``workbench remote ...``, ``workbench push`` and ``workbench pull``.

Exit codes: 0 done (or already up to date); 2 bad name, URL or settings, no credentials, no
such bucket or folder; 3 remote unreachable or workspace busy (try again); 4 conflict: the
remote moved on since this workspace's pull (push), or local changes would be lost (pull),
nothing changed on either side; 1 damaged data (an object or bundle whose hash does not match,
an audit log that does not verify); 130 Ctrl-C (nothing committed).
"""

from __future__ import annotations

import click

from .main import Context, pass_ctx
from .output import RichProgress, plain, print_json


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


@click.group()
def remote() -> None:
    """Remotes: folders or S3-compatible storage to push to and pull from."""


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--endpoint-url", metavar="URL",
              help="S3 endpoint of an S3-compatible server (MinIO, Ceph, R2, moto).")  # fmt: skip
@pass_ctx
def add(ctx: Context, name: str, url: str, endpoint_url: str | None) -> None:
    """Add a remote NAME at URL: a folder or s3://bucket/prefix (credentials come from the
    AWS environment, never from the workspace)."""
    info = ctx.ws.add_remote(name, url, endpoint_url)
    where = f" (endpoint {info.endpoint_url})" if info.endpoint_url else ""
    plain(f"added remote {info.name}: {info.url}{where}")


@remote.command("remove")
@click.argument("name")
@pass_ctx
def remove(ctx: Context, name: str) -> None:
    """Forget remote NAME (its files are left alone)."""
    ctx.ws.remove_remote(name)
    plain(f"removed remote {name}")


@remote.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def list_(ctx: Context, as_json: bool) -> None:
    """List the configured remotes."""
    remotes = ctx.ws.remotes()
    if as_json:
        print_json(remotes)
        return
    for r in remotes:
        plain(f"{r.name}\t{r.url}" + (f"\t{r.endpoint_url}" if r.endpoint_url else ""))
    if not remotes:
        plain("no remotes (add one: workbench remote add origin URL)")


@remote.command("log")
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True, help="How many versions.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def log(ctx: Context, name: str | None, limit: int, as_json: bool) -> None:
    """The remote's versions, newest first: who pushed what, and when."""
    versions = ctx.ws.remote_versions(name, limit)
    if as_json:
        print_json(versions)
        return
    for v in versions:
        entries = v.audit_head.split(":")[0] if v.audit_head else "0"
        plain(f"v{v.version}  {v.pushed_at}  {v.pushed_by} ({v.os_account}@{v.host})  "
              f"{v.objects} objects, audit entry {entries}")  # fmt: skip
    if not versions:
        plain("nothing pushed yet")


@remote.command("head")
@click.argument("name", required=False)
@click.option("--cache-key", is_flag=True,
              help="Print key=workbench-objects-... for a CI cache (GITHUB_OUTPUT).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def head(ctx: Context, name: str | None, cache_key: bool, as_json: bool) -> None:
    """The remote's newest version (exit 0 also when nothing was pushed yet)."""
    version = ctx.ws.remote_head(name)
    if cache_key:
        plain(f"key=workbench-objects-{version.cache_key if version else 'empty'}")
    elif as_json:
        print_json(version)
    elif version is None:
        plain("nothing pushed yet")
    else:
        plain(f"v{version.version}  {version.pushed_at}  {version.pushed_by}  "
              f"bundle {version.bundle[:12]}")  # fmt: skip


@click.command()
@click.argument("name", required=False)
@pass_ctx
def push(ctx: Context, name: str | None) -> None:
    """Send this workspace to remote NAME (default: origin): new objects once, then the
    metadata as the next version. Refused (exit 4) if the remote moved on since your pull."""
    with RichProgress() as progress:
        result = ctx.ws.push(name, progress=progress)
    if result.up_to_date:
        plain(f"{result.remote} is up to date (version {result.version})")
        return
    files = f", {result.files_uploaded} prediction files" if result.files_uploaded else ""
    plain(
        f"pushed version {result.version} to {result.remote}: {result.objects_uploaded} objects "
        f"uploaded{files} ({_size(result.bytes_uploaded)}), {result.objects_present} already there"
    )


@click.command()
@click.argument("name", required=False)
@pass_ctx
def pull(ctx: Context, name: str | None) -> None:
    """Bring remote NAME's newest version here (default: origin). Refused (exit 4) if local
    changes the remote lacks would be lost."""
    with RichProgress() as progress:
        result = ctx.ws.pull(name, progress=progress)
    ahead = "; this workspace has changes to push" if result.ahead else ""
    if result.up_to_date:
        plain(f"up to date with {result.remote} (version {result.version}){ahead}")
        return
    what = ["metadata replaced"] if result.replaced else []
    what.append(f"{result.objects_downloaded} objects downloaded")
    if result.files_downloaded:
        what.append(f"{result.files_downloaded} prediction files")
    plain(
        f"pulled version {result.version} from {result.remote}: {', '.join(what)} "
        f"({_size(result.bytes_downloaded)}){ahead}"
    )
