"""Regenerate the README's pictures: docs/img/map.png and docs/img/report.png.

Runs ``netplan demo`` (the national sample) into a temporary folder, opens its
offline ``map.html`` and ``report.html`` in headless Chromium (no network: the
demo map inlines Leaflet and loads no basemap) and writes the screenshots to
``docs/img/``, with ``docs/img/screenshots.json`` recording the SHA-256 of the
files the pictures were made from (the map and report code, its templates, the
demo job and the national sample) and of the pictures themselves.
``tests/test_docs.py`` recomputes those hashes and asks for ``make docs`` when
they differ, so the pictures cannot silently fall behind the code.

Usage::

    python scripts/screenshot_docs.py            # regenerate when stale (make docs runs this)
    python scripts/screenshot_docs.py --force    # regenerate anyway
    python scripts/screenshot_docs.py --check    # exit 1 when the pictures are stale

Without Chromium the screenshots are skipped with a message (exit 0), and the
pictures are left as they are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
STAMP_NAME = "screenshots.json"

#: What the pictures are made from, relative to the repository root (folders: every file below).
INPUTS = (
    "src/netplan/maps.py",
    "src/netplan/report.py",
    "src/netplan/demo.py",
    "src/netplan/templates",
    "data/samples/national",
)

#: Picture name -> (demo output it shows, window width, window height).
SHOTS = {
    "map.png": ("map.html", 1200, 760),
    "report.png": ("report.html", 1000, 1250),
}

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
#: Milliseconds of page time Chromium lets scripts and tiles settle before the shot.
SETTLE_MS = 5000
TIMEOUT_S = 180


def input_files(root: Path = ROOT) -> list[Path]:
    """Every file the pictures depend on, sorted (caches and hidden files left out)."""
    files: list[Path] = []
    for name in INPUTS:
        path = root / name
        if path.is_dir():
            files.extend(
                p
                for p in path.rglob("*")
                if p.is_file()
                and "__pycache__" not in p.parts
                and not any(part.startswith(".") for part in p.relative_to(root).parts)
            )
        elif path.is_file():
            files.append(path)
    return sorted(files)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_hashes(root: Path = ROOT) -> dict[str, str]:
    """Path (POSIX, relative to the root) -> SHA-256 of every input file."""
    return {p.relative_to(root).as_posix(): sha256(p) for p in input_files(root)}


def stale_reasons(root: Path = ROOT) -> list[str]:
    """Why the committed pictures do not match the current inputs (empty: they are current)."""
    img = root / "docs" / "img"
    stamp_path = img / STAMP_NAME
    if not stamp_path.is_file():
        return [f"{stamp_path.relative_to(root)} is missing"]
    stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    recorded: dict[str, str] = stamp.get("inputs", {})
    current = input_hashes(root)
    reasons = [
        f"{name} changed since the pictures were made"
        for name in sorted(current)
        if recorded.get(name) != current[name]
    ]
    reasons += [f"{name} is gone" for name in sorted(set(recorded) - set(current))]
    for picture, digest in sorted(stamp.get("images", {}).items()):
        path = img / picture
        if not path.is_file():
            reasons.append(f"docs/img/{picture} is missing")
        elif sha256(path) != digest:
            reasons.append(f"docs/img/{picture} is not the picture screenshots.json records")
    missing = sorted(set(SHOTS) - set(stamp.get("images", {})))
    reasons += [f"docs/img/{name} is not recorded" for name in missing]
    return reasons


def find_chromium() -> str | None:
    """Path of a headless-capable Chromium or Chrome, or ``None``."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(chromium: str, page: Path, target: Path, width: int, height: int) -> None:
    """Write a PNG of ``page`` (a local file) at ``width`` x ``height`` to ``target``."""
    with tempfile.TemporaryDirectory(prefix="netplan-chromium-") as profile:
        args = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--hide-scrollbars",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--mute-audio",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--virtual-time-budget={SETTLE_MS}",
            f"--screenshot={target}",
            page.resolve().as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(2, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-3:]
        msg = f"Chromium made no screenshot of {page.name} (exit {done.returncode}): {tail}"
        raise RuntimeError(msg)


def regenerate(chromium: str, img: Path = IMG) -> dict[str, object]:
    """Run the demo, take the screenshots into ``img`` and write the stamp; return the stamp."""
    from netplan.demo import run_demo  # the package, imported only when pictures are made

    img.mkdir(parents=True, exist_ok=True)
    hashes_before = input_hashes()
    with tempfile.TemporaryDirectory(prefix="netplan-docs-") as tmp:
        out = Path(tmp) / "demo"
        print("running the demo on the national sample ...", flush=True)
        run_demo(out)
        images: dict[str, str] = {}
        for picture, (page, width, height) in SHOTS.items():
            staged = Path(tmp) / picture
            screenshot(chromium, out / page, staged, width, height)
            images[picture] = sha256(staged)
            _install(staged, img / picture)
            print(f"wrote {(img / picture).relative_to(ROOT)} ({width}x{height})", flush=True)
    stamp: dict[str, object] = {
        "note": "made by scripts/screenshot_docs.py (make docs); tests/test_docs.py checks it",
        "inputs": hashes_before,
        "images": images,
        "windows": {name: [w, h] for name, (_page, w, h) in SHOTS.items()},
    }
    text = json.dumps(stamp, indent=2, sort_keys=True) + "\n"
    part = img / (STAMP_NAME + ".tmp")
    part.write_text(text, encoding="utf-8")
    os.replace(part, img / STAMP_NAME)
    return stamp


def _install(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target`` atomically (a staged copy beside it, then a rename)."""
    part = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, part)
    os.replace(part, target)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="only report whether the pictures are current"
    )
    parser.add_argument("--chromium", help="Chromium or Chrome executable (default: found)")
    parser.add_argument(
        "--force", action="store_true", help="retake the pictures even when they are current"
    )
    args = parser.parse_args(argv)
    if args.check:
        reasons = stale_reasons()
        for reason in reasons:
            print(f"stale: {reason}")
        if reasons:
            print("run `make docs` to regenerate docs/img/*.png")
        return 1 if reasons else 0
    if not args.force and not stale_reasons():
        print("docs/img pictures are current (their inputs are unchanged); --force retakes them")
        return 0
    chromium = args.chromium or find_chromium()
    if chromium is None or not Path(chromium).is_file():
        print(
            "screenshots skipped: headless Chromium not found (install Debian's `chromium`, "
            "or pass --chromium PATH); docs/img/*.png left as they are"
        )
        return 0
    regenerate(chromium)
    return 0


if __name__ == "__main__":
    sys.exit(main())
