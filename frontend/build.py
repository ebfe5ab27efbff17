"""Copy the console's browser packages from node_modules into a git-ignored static folder.

Run by `npm install`/`npm ci` (package.json `postinstall`) or on its own after them:

    npm ci --no-audit --no-fund && python3 frontend/build.py

Only the files the pages load are copied, each with its licence, so Django's static finders
serve them under /static/frontend/vendor/ and nothing is fetched from a CDN at run time.
"""
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "frontend" / "static" / "frontend" / "vendor"

# package -> files to copy (relative to the package folder)
FILES = {
    "htmx.org": ["dist/htmx.min.js", "LICENSE"],
    "uplot": ["dist/uPlot.iife.min.js", "dist/uPlot.min.css", "LICENSE"],
}


def build() -> list[Path]:
    copied = []
    for package, names in FILES.items():
        source = NODE_MODULES / package
        if not source.is_dir():
            raise SystemExit(f"{source} is missing: run `npm ci` in {ROOT} first")
        target = VENDOR / package
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            destination = target / Path(name).name
            shutil.copyfile(source / name, destination)
            copied.append(destination)
    return copied


if __name__ == "__main__":
    files = build()
    print(f"frontend/build.py: {len(files)} files in {VENDOR.relative_to(ROOT)}", file=sys.stderr)
