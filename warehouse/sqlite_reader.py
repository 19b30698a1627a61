"""The child process that holds the extraction's ADBC SQLite connection (see warehouse/extract.py for why): one read
transaction, SQL requests as JSON lines on stdin, each answer framed on stdout as a status byte (`O` ok, `E` error),
an 8-byte length and an Arrow IPC stream (or the error text). Imports only what it needs, so it starts fast."""

from __future__ import annotations

import json
import struct
import sys
from typing import Any, BinaryIO

import pyarrow as pa

HEADER = struct.Struct("<cQ")


def run_query(conn: Any, sql: str) -> pa.Table:
    """One statement on an ADBC DBAPI connection, its whole result as Arrow."""
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return cur.fetch_arrow_table()
    finally:
        cur.close()


def to_ipc(table: pa.Table) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def send(out: BinaryIO, status: bytes, payload: bytes | pa.Buffer) -> None:
    out.write(HEADER.pack(status, len(payload)))
    out.write(memoryview(payload))
    out.flush()


def serve(path: str, requests: BinaryIO, out: BinaryIO) -> None:
    import adbc_driver_sqlite.dbapi as driver

    conn = driver.connect(path)  # autocommit off: a deferred transaction, its snapshot taken at the first read
    try:
        for line in requests:
            try:
                send(out, b"O", to_ipc(run_query(conn, json.loads(line))))
            except Exception as exc:  # reported to the parent, which raises it
                send(out, b"E", f"{type(exc).__name__}: {exc}".encode())
    finally:
        conn.rollback()
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
