"""Helpers for remote tests: state of a workspace as plain data, and a remote's consistency."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from workbench.objects import hash_bytes

#: every table that travels is compared; these are local (see workbench.remote.bundle)
LOCAL = {"source_cache", "drift_reference_stats", "schema_version"}


def table_rows(root: Path) -> dict[str, list[tuple]]:
    """Every travelling table's rows, sorted, from a workspace's store."""
    con = duckdb.connect(str(root / ".workbench" / "meta.duckdb"), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        ]
        return {
            t: sorted(con.execute(f'select * from "{t}"').fetchall(), key=repr)
            for t in sorted(tables)
            if t not in LOCAL
        }
    finally:
        con.close()


def object_names(root: Path) -> set[str]:
    objects = root / ".workbench" / "objects"
    return {p.parent.name + p.name for p in objects.glob("??/*") if p.is_file()}


def prediction_files(root: Path) -> dict[str, bytes]:
    top = root / ".workbench"
    return {
        p.relative_to(top).as_posix(): p.read_bytes()
        for p in (top / "predictions").rglob("*.parquet")
    }


class RemoteView:
    """Reads a remote's raw files (a folder, or a bucket through boto3)."""

    def __init__(self, kind: str, location: str, endpoint: str | None = None) -> None:
        self.kind = kind
        if kind == "folder":
            self.root = Path(location)
        else:
            import boto3

            self.bucket, _, self.prefix = location.removeprefix("s3://").partition("/")
            self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

    def keys(self, prefix: str = "") -> list[str]:
        if self.kind == "folder":
            top = self.root / prefix
            if not top.exists():
                return []
            return sorted(
                p.relative_to(self.root).as_posix()
                for p in top.rglob("*")
                if p.is_file() and not p.relative_to(self.root).as_posix().startswith("tmp/")
            )
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/{prefix}".lstrip("/")
        )
        cut = len(self.prefix) + 1 if self.prefix else 0
        return sorted(o["Key"][cut:] for page in pages for o in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        if self.kind == "folder":
            return (self.root / key).read_bytes()
        full = f"{self.prefix}/{key}".lstrip("/")
        return self.client.get_object(Bucket=self.bucket, Key=full)["Body"].read()

    def stamp(self, key: str):
        """When a key was last written."""
        if self.kind == "folder":
            return (self.root / key).stat().st_mtime_ns
        full = f"{self.prefix}/{key}".lstrip("/")
        return self.client.head_object(Bucket=self.bucket, Key=full)["LastModified"]

    def versions(self) -> list[int]:
        return [int(k.split("/")[1].removesuffix(".json")) for k in self.keys("versions/")]

    def check_consistent(self) -> None:
        """Every object is whole (its bytes hash to its name) and every version's bundle,
        contents list and objects are there and whole."""
        for key in self.keys("objects/"):
            assert hash_bytes(self.read(key)) == "".join(key.split("/")[1:]), key
        present = set(self.keys())
        for number in self.versions():
            record = json.loads(self.read(f"versions/{number:010d}.json"))
            bundle = f"bundles/{record['bundle']}.tar"
            assert hash_bytes(self.read(bundle)) == record["bundle"]
            listing = self.read(f"bundles/{record['contents']}.json")
            assert hash_bytes(listing) == record["contents"]
            contents = json.loads(listing)
            digests = [*contents["objects"], *(d for d, _ in contents["predictions"].values())]
            for digest in digests:
                assert f"objects/{digest[:2]}/{digest[2:]}" in present, digest
