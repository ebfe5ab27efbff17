"""`eascmd upload <file>`: put a model or processor package into the caller's model repository and
print its `oss://` path for service descriptions, like the seeds' sample output.

The file is streamed (hashed for the signature through a memory map, then sent in chunks), so
its size is not limited by memory; a progress bar on stderr follows large files.
"""
import os
import sys
import time
from pathlib import Path, PurePosixPath

from console.cli.commands import UsageError

PROGRESS_MIN_BYTES = 1024 * 1024
PROGRESS_BAR_WIDTH = 30
PROGRESS_INTERVAL_SECONDS = 0.1


def repository_path(argument: str) -> str:
    """Where the file goes in the repository: the path as given when it is relative and stays
    below the current folder (`savedmodel_example/x.tar.gz`), else just the file name."""
    path = PurePosixPath(Path(argument).as_posix())
    if path.is_absolute() or ".." in path.parts:
        return path.name
    return str(path)


def human_size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


class ProgressBar:
    """`[#######.......]  45%  12.3 MiB / 27.0 MiB` on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int):
        self.total = total
        self.shown_at = 0.0
        self.enabled = total >= PROGRESS_MIN_BYTES

    def __call__(self, sent: int) -> None:
        now = time.monotonic()
        if not self.enabled or (sent < self.total and now - self.shown_at < PROGRESS_INTERVAL_SECONDS):
            return
        self.shown_at = now
        done = int(PROGRESS_BAR_WIDTH * sent / self.total)
        sys.stderr.write(f"\r[{'#' * done}{'.' * (PROGRESS_BAR_WIDTH - done)}] {100 * sent // self.total:3d}%  "
                         f"{human_size(sent)} / {human_size(self.total)}")
        if sent >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def upload(args, session) -> int:
    file = Path(args.filename)
    if not file.is_file():
        raise UsageError(f"{args.filename} is not a file")
    client = session.client
    print(f"[OK] oss endpoint: [{client.base}]", flush=True)
    target = repository_path(args.filename)
    size = os.path.getsize(file)
    response = client.upload(f"/storage/objects/{target}", file, ProgressBar(size))
    print(f"[OK] oss target path: [{response['Uri']}]")
    print(f"Succeed: Total num: 1, size: {size:,}. OK num: 1(upload 1 files).")
    return 0


def register(subparsers, common) -> None:
    help_text = "Upload a model or processor file to your model repository and print its oss:// path."
    parser = subparsers.add_parser("upload", parents=[common], help=help_text, description=help_text)
    parser.add_argument("filename", help="file to upload; a relative path is kept as its path in the repository")
    parser.add_argument("--inner", action="store_true",
                        help="accepted for scripts written for PAI-DSW; this platform has one endpoint")
    parser.set_defaults(handler=upload)
