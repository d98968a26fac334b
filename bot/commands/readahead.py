"""Reading an import file in a helper process, one chunk ahead of the command that stores it.

Parsing and checking a chunk (core.ingest) is mostly Python, and so is handing
it to the database; in one process the two would take turns on the GIL. A
helper process parses chunk k+1 while the command stores chunk k, so a large
import takes about as long as storing it alone.

The helper sends a chunk as soon as it is parsed, and a pipe holds far less than
a chunk, so the helper waits until the command takes it before it parses the
next: at most one chunk is ahead, and memory stays that of two chunks. The
helper never touches the database: each chunk is stored, or not, by the command
in one transaction, so stopping anywhere (a later chunk that cannot be read,
Ctrl-C, the helper dying) leaves whole chunks only.

Spawned rather than forked: the command holds open database connections and
maybe threads by then, which a forked child must not inherit.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO

import pandas as pd

from core.ingest import FileError, Rejected

ChunkReader = Callable[[IO[bytes]], Iterator[tuple[pd.DataFrame, list[Rejected]]]]
# A chunk's valid rows, its rejected rows, and how far into the file (in bytes) it ends.
Chunk = tuple[pd.DataFrame, list[Rejected], int]

# Young-generation collections while importing: a chunk makes hundreds of thousands of
# containers that live until the chunk is stored, and the default (every 700) scans
# and promotes them again and again.
IMPORT_GC_THRESHOLD = (100_000, 50, 1000)


def read_inline(read: ChunkReader, handle: IO[bytes]) -> Iterator[Chunk]:
    """The chunks read in this process (small files: a helper would take longer to start)."""
    for frame, rejected in read(handle):
        yield frame, rejected, handle.tell()


@contextmanager
def read_ahead(read: ChunkReader, path: Path) -> Iterator[Iterator[Chunk]]:
    """The chunks `read` makes of the file at `path`, parsed in a helper process.

    `read` must pickle (a module-level function, or a functools.partial of one).
    A FileError in the helper is raised here when its chunk's turn comes, after
    the chunks before it; the helper is stopped when the block ends, however it ends.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    helper = context.Process(
        target=_produce,
        args=(read, str(path), sender),
        name="cxbot-import-reader",
        daemon=True,
    )
    helper.start()
    sender.close()  # the helper's end: when it exits, recv() here sees the end of the pipe
    try:
        yield _received(receiver, helper)
    finally:
        receiver.close()
        if helper.is_alive():
            helper.terminate()
        helper.join()


def _received(receiver: Connection, helper: multiprocessing.process.BaseProcess) -> Iterator[Chunk]:
    while True:
        try:
            kind, *body = receiver.recv()
        except EOFError:
            helper.join()
            raise RuntimeError(
                f"the process reading the file stopped unexpectedly (exit code {helper.exitcode})"
            ) from None
        if kind == "chunk":
            frame, rejected, position = body
            yield frame, rejected, position
        elif kind == "end":
            return
        elif kind == "file":
            raise FileError(body[0])
        else:
            raise RuntimeError(f"reading the file failed in the helper process:\n{body[0]}")


def _produce(read: ChunkReader, path: str, sender: Connection) -> None:
    """The helper process: parse the file, send each chunk, then one closing message."""
    # Ctrl-C reaches the whole process group; the command decides what happens (it
    # rolls back its open chunk and stops this process).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    gc.set_threshold(*IMPORT_GC_THRESHOLD)
    try:
        with open(path, "rb") as handle:
            for frame, rejected, position in read_inline(read, handle):
                sender.send(("chunk", frame, rejected, position))
        sender.send(("end",))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the command stopped listening
    except FileError as exc:
        _send_last(sender, ("file", str(exc)))
    except OSError as exc:
        _send_last(sender, ("file", f"cannot read the file: {exc.strerror or exc}"))
    except Exception:
        _send_last(sender, ("crash", traceback.format_exc()))
    finally:
        sender.close()


def _send_last(sender: Connection, message: tuple[str, str]) -> None:
    # Why the helper stops; the command may have stopped listening already.
    with suppress(BrokenPipeError, ConnectionResetError):
        sender.send(message)
