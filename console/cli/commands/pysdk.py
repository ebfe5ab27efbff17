"""`eascmd pysdk init <dir>` and `eascmd pysdk pack <dir>`: the seeds' Python processor workflow.

`init` writes a BaseProcessor template (`app.py`), a service description (`app.json`) and an
`ENV` virtualenv made with the interpreter eascmd runs on, which is the platform runtime's, so
packages installed with `ENV/bin/pip` load on the platform. A `.pth` file links the platform into
ENV, so `ENV/bin/python app.py` serves the processor locally with `import allspark` working.

`pack` makes `<dir>.tar.gz` next to the folder, rooted at it (`app.py`, `ENV/…` at the top, as
the platform expects), without that machine-specific `.pth` file and without links that point
outside the folder (ENV/bin/python → the system interpreter; the platform runs its own).
"""
import json
import os
import re
import site
import subprocess
import sys
import tarfile
from pathlib import Path

import services.runtime
from console.cli.commands import UsageError

PLATFORM_PTH = "eas_platform.pth"

APP_TEMPLATE = '''\
"""A custom Python processor for the EAS platform.

Try it locally:
    ENV/bin/python app.py
    curl http://127.0.0.1:8080/ -d '2 105'
Package it with `eascmd pysdk pack <this folder>` and deploy app.json with `eascmd create app.json`.
"""
import allspark


class MyProcessor(allspark.BaseProcessor):
    """Answers whether y is below the line w1 * x + w0 for a request body "x y"."""

    def initialize(self):
        """Runs once per worker process, before the first request: load models here."""
        self.weights = {"w0": 100, "w1": 2}

    def pre_process(self, data):
        x, y = data.split(b" ")
        return int(x), int(y)

    def post_process(self, data):
        return data.encode("utf-8")

    def process(self, data):
        """Answer one request body (bytes) with (response bytes, HTTP status)."""
        try:
            x, y = self.pre_process(data)
        except ValueError:
            return b"expected two integers: x y", 400
        line = self.weights["w1"] * x + self.weights["w0"]
        return self.post_process("True" if line >= y else "False"), 200


if __name__ == "__main__":
    # worker_threads: requests processed concurrently in each worker process.
    MyProcessor(worker_threads=10).run()
'''


def service_name(folder: Path) -> str:
    """A valid service name from the folder name (lowercase letters, digits, underscores)."""
    name = re.sub(r"[^a-z0-9_]+", "_", folder.name.lower()).strip("_")
    return name if re.match(r"^[a-z]", name) else f"pysdk_{name}".rstrip("_")


def app_json(folder: Path) -> dict:
    return {
        "name": service_name(folder),
        "processor_entry": "./app.py",
        "processor_type": "python",
        "processor_path": str(folder.parent / f"{folder.name}.tar.gz"),
        "metadata": {"instance": 1, "cpu": 1, "memory": 2000},
    }


def link_platform(env: Path) -> None:
    """Put the platform (and its `allspark` module) on ENV's path, after ENV's own packages."""
    compat = Path(services.runtime.__file__).parent / "compat"
    project_root = Path(services.runtime.__file__).parents[2]
    paths = [compat, project_root, *map(Path, site.getsitepackages())]
    for site_packages in env.glob("lib/python*/site-packages"):
        (site_packages / PLATFORM_PTH).write_text("".join(f"{p}\n" for p in paths))


def init(args, session) -> int:
    folder = Path(args.directory).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    env = folder / "ENV"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if env.exists():
        print(f"[PYSDK] Keeping the existing Python environment: {env}")
    else:
        print(f"[PYSDK] Creating Python {version} environment (the platform runtime's): {env}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    link_platform(env)
    for file_name, content in (("app.py", APP_TEMPLATE), ("app.json", json.dumps(app_json(folder), indent=4) + "\n")):
        path = folder / file_name
        if path.exists():
            print(f"[PYSDK] Keeping the existing {path}")
        else:
            path.write_text(content, encoding="utf-8")
            print(f"[PYSDK] Writing {path}")
    print(f"[PYSDK] Done. Install packages with {env}/bin/pip, try it with `cd {folder} && ENV/bin/python app.py`, "
          f"then run `eascmd pysdk pack {args.directory}`.")
    return 0


def leaves_folder(path: Path, folder: Path) -> bool:
    """Whether a link points outside the folder (or nowhere), which safe extraction refuses."""
    target = Path(os.path.normpath(path.parent / os.readlink(path)))
    return not target.is_relative_to(folder)


def pack(args, session) -> int:
    folder = Path(args.directory).resolve()
    if not (folder / "ENV").is_dir():
        raise UsageError(f"{folder} has no ENV folder; create one with `eascmd pysdk init {args.directory}`")
    archive = folder.parent / f"{folder.name}.tar.gz"
    print(f"[PYSDK] Creating package: {archive}", flush=True)
    skipped = []

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        path = folder / info.name
        if info.issym() and leaves_folder(path, folder):
            skipped.append(info.name)
            return None
        if path.name == PLATFORM_PTH:
            return None
        return info

    with tarfile.open(archive, "w:gz") as tar:
        for entry in sorted(folder.iterdir()):
            tar.add(entry, arcname=entry.name, filter=keep)
    if skipped:
        print(f"[PYSDK] Left out {len(skipped)} links to outside the folder ({', '.join(skipped[:3])}"
              f"{', …' if len(skipped) > 3 else ''}): the platform runs its own Python.")
    return 0


def register(subparsers, common) -> None:
    pysdk = subparsers.add_parser("pysdk", parents=[common], help="Python processor projects: init, pack.",
                                  description="Create and package custom Python processors.")
    commands = pysdk.add_subparsers(dest="pysdk_command", required=True, metavar="<command>")
    help_text = "Create a processor project: app.py template, app.json and an ENV virtualenv."
    parser = commands.add_parser("init", parents=[common], help=help_text, description=help_text)
    parser.add_argument("directory", help="project folder (created if missing)")
    parser.set_defaults(handler=init)
    help_text = "Package a processor project with its ENV into <dir>.tar.gz next to it."
    parser = commands.add_parser("pack", parents=[common], help=help_text, description=help_text)
    parser.add_argument("directory", help="project folder made by `pysdk init`")
    parser.set_defaults(handler=pack)
