"""Executes Jupyter notebooks headlessly, for `deno task notebooks`.

nbclient stops collecting a cell's outputs at the kernel's "idle" status
message. The Deno kernel (2.9) can publish a cell's stdout, displays and
result a few milliseconds *after* its idle message, so plain
`jupyter nbconvert --execute` silently drops outputs. This subclass keeps
reading IOPub for a short grace period after idle and keeps every message
that belongs to the cell.

The Deno kernel also, rarely, fails its start-up handshake ("Invalid
Signature" before any cell ran); such a notebook is started once more in a
fresh kernel. A failing cell or a timeout is never retried.

usage: python3 execute.py --output-dir DIR --timeout SECONDS NOTEBOOK...
Exit status 1 when any cell fails (its error is printed), 0 otherwise.
"""
import argparse
import asyncio
import os
import sys
import time
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError

GRACE_SECONDS = 0.3
KERNEL_START_RETRIES = 1


class GraceClient(NotebookClient):
    """NotebookClient that also keeps IOPub messages arriving just after idle."""

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        idle = False
        while True:
            try:
                msg = await self.kc.iopub_channel.get_msg(
                    timeout=GRACE_SECONDS if idle else None)
            except (Empty, asyncio.TimeoutError):
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                idle = True


def run(path, timeout):
    """Executes one notebook in a fresh Deno kernel: (notebook, error or None, seconds)."""
    nb = nbformat.read(path, as_version=4)
    client = GraceClient(
        nb, timeout=timeout, kernel_name="deno",
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    start = time.monotonic()
    try:
        client.execute()
        return nb, None, time.monotonic() - start
    except Exception as e:  # a failing cell, a timeout, a dead kernel
        return nb, e, time.monotonic() - start


def any_cell_ran(nb):
    """Whether any code cell of an executed notebook got an execution count."""
    return any(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output-dir", required=True)
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("notebooks", nargs="+")
    args = p.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    failed = 0
    for path in args.notebooks:
        out = os.path.join(args.output_dir, os.path.basename(path))
        for attempt in range(1 + KERNEL_START_RETRIES):
            nb, error, elapsed = run(path, args.timeout)
            if error is None or isinstance(error, CellExecutionError) \
                    or any_cell_ran(nb) or attempt == KERNEL_START_RETRIES:
                break
            print(f"retry   {path}: the kernel failed before any cell ran"
                  f" ({error!r})", file=sys.stderr, flush=True)
        if error is None:
            print(f"ok      {path} ({elapsed:.0f} s)", flush=True)
        else:
            failed += 1
            print(f"FAILED  {path} ({elapsed:.0f} s)\n{error}",
                  file=sys.stderr, flush=True)
        nbformat.write(nb, out)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
