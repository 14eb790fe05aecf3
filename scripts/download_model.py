"""Fetch the small English vosk model into models/ (or --dest): checked, then unpacked atomically.

    python scripts/download_model.py [--dest DIR] [--url URL] [--sha256 HEX] [--size BYTES]

The archive is checked against its known size and SHA-256 (alphacephei publishes
no digest; the values below are the published zip's, as recorded by several
independent projects), tested as a zip, unpacked into a temporary folder and
only then renamed into place, so an interrupted or failed run leaves nothing
behind. Nothing here touches the network until `main` is called.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

MODEL_NAME = "vosk-model-small-en-us-0.15"
DEFAULT_URL = f"https://alphacephei.com/vosk/models/{MODEL_NAME}.zip"
EXPECTED_BYTES = 41_205_931
EXPECTED_SHA256 = "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"
DEFAULT_DEST = Path(__file__).resolve().parents[1] / "models"
MODEL_MARKERS = ("am/final.mdl", "conf/model.conf")
TIMEOUT_SECONDS = 30.0
BLOCK_BYTES = 1 << 16


class DownloadError(Exception):
    """A download or unpack step failed; the message says what to do."""


def looks_like_model(path: Path) -> bool:
    return path.is_dir() and any((path / m).is_file() for m in MODEL_MARKERS)


def _progress(done: int, total: int | None) -> None:
    mb = done / 1e6
    if total:
        text = f"\r  {mb:6.1f} / {total / 1e6:.1f} MB  {100 * done / total:3.0f}%"
    else:
        text = f"\r  {mb:6.1f} MB"
    sys.stderr.write(text)
    sys.stderr.flush()


def fetch(url: str, target: Path, expected_bytes: int | None) -> str:
    """Stream url into target with a progress line; returns the SHA-256 of what came."""
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url} answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"could not reach {url} ({reason}); are you offline? Connect to the internet "
            f"once, or fetch {url} on another machine and unzip it into {target.parent} "
            "(`massage-assistant start --model FOLDER` uses a model unzipped anywhere)"
        ) from exc
    digest = hashlib.sha256()
    done = 0
    header = response.headers.get("Content-Length")
    total = int(header) if header and header.isdigit() else expected_bytes
    last = 0.0
    try:
        with response, target.open("wb") as out:
            while block := response.read(BLOCK_BYTES):
                out.write(block)
                digest.update(block)
                done += len(block)
                if expected_bytes is not None and done > expected_bytes:
                    raise DownloadError(
                        f"{url} is larger than the expected {expected_bytes} bytes: "
                        "not the model this script knows"
                    )
                now = time.monotonic()
                if now - last > 0.2:
                    _progress(done, total)
                    last = now
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DownloadError(f"the download from {url} broke off ({exc}); try again") from exc
    _progress(done, total)
    sys.stderr.write("\n")
    if expected_bytes is not None and done != expected_bytes:
        raise DownloadError(
            f"got {done} bytes from {url}, expected {expected_bytes}: incomplete or a "
            "different file; try again"
        )
    return digest.hexdigest()


def _check_members(archive: zipfile.ZipFile) -> None:
    for name in archive.namelist():
        parts = PurePosixPath(name).parts
        if name.startswith(("/", "\\")) or ".." in parts or ":" in name:
            raise DownloadError(f"the archive holds an unsafe path ({name!r}); not unpacking it")
    bad = archive.testzip()
    if bad is not None:
        raise DownloadError(f"the archive is damaged (first bad member {bad}); try again")


def unpack(archive_path: Path, dest: Path) -> Path:
    """Unzip into a temporary folder in dest, then rename the model folder into place."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"the download is not a zip archive ({exc}); try again") from exc
    scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
    try:
        with archive:
            _check_members(archive)
            archive.extractall(scratch)
        entries = [p for p in scratch.iterdir() if not p.name.startswith(".")]
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else scratch
        if not looks_like_model(root):
            raise DownloadError(
                "the archive does not hold a vosk model (no am/final.mdl or conf/model.conf)"
            )
        name = root.name if root is not scratch else archive_path.stem.removesuffix(".zip")
        final = dest / name
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=".old-", dir=dest))
            os.replace(final, old / name)
            os.replace(root, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(root, final)
        return final
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def download(
    url: str, dest: Path, sha256: str | None, size: int | None, force: bool = False
) -> Path:
    """The whole job; returns the model folder. Leaves nothing behind when it fails."""
    dest.mkdir(parents=True, exist_ok=True)
    existing = dest / PurePosixPath(url).name.removesuffix(".zip")
    if not force and looks_like_model(existing):
        return existing
    fd, name = tempfile.mkstemp(prefix=".download-", suffix=".zip.part", dir=dest)
    os.close(fd)
    part = Path(name)
    try:
        sys.stderr.write(f"downloading {url}\n")
        got = fetch(url, part, size)
        if sha256 is not None and got != sha256.lower():
            raise DownloadError(
                f"checksum mismatch for {url}: got sha256 {got}, expected {sha256}; "
                "the file is damaged or not the expected model"
            )
        return unpack(part, dest)
    finally:
        part.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where models live")
    parser.add_argument("--url", default=DEFAULT_URL, help="where to fetch the zip from")
    parser.add_argument("--sha256", help="expected SHA-256 (default: the known one for the "
                        "default URL; none checked for another URL)")
    parser.add_argument("--size", type=int, help="expected size in bytes (same default rule)")
    parser.add_argument("--force", action="store_true", help="fetch even if already present")
    args = parser.parse_args(argv)
    default = args.url == DEFAULT_URL
    sha256 = args.sha256 or (EXPECTED_SHA256 if default else None)
    size = args.size if args.size is not None else (EXPECTED_BYTES if default else None)
    try:
        folder = download(args.url, args.dest, sha256, size, args.force)
    except DownloadError as exc:
        sys.stderr.write(f"download-model: {exc}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"download-model: cannot write to {args.dest}: {exc}\n")
        return 1
    sys.stderr.write(f"model ready in {folder}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
