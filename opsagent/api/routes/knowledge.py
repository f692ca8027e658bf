"""Upload runbooks and logs to ingest. Files land under <data dir>/uploads/ and are ingested from there.

A file name is a name, never a path: anything with a separator, `..`, a leading dot or a control
character is refused, and the final path is checked to be inside the uploads folder.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool

from opsagent.api.auth import IngestToken, ServicesDep
from opsagent.api.routes.common import AUTH_RESPONSES, INVALID_RESPONSE, ErrorDetail
from opsagent.config import Settings
from opsagent.knowledge.files import LOG_SUFFIXES, RUNBOOK_SUFFIXES
from opsagent.knowledge.models import DocumentKind, IngestReport

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$")
SAFE_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(/[A-Za-z0-9][A-Za-z0-9._-]{0,99}){0,4}$")
ALLOWED_SUFFIXES = RUNBOOK_SUFFIXES | LOG_SUFFIXES
MAX_FILES = 100
STAGING = ".staging"
MULTIPART_OVERHEAD = 64 * 1024  # part headers and boundaries on top of the files themselves


def uploads_root(data_dir: Path) -> Path:
    """Where uploaded knowledge is kept (one ingested root)."""
    return (data_dir / "uploads").resolve()


def safe_destination(root: Path, folder: str | None, filename: str | None) -> Path:
    """The path an upload is stored at, or a 422 saying why the name cannot be used."""
    name = (filename or "").strip()
    if not SAFE_NAME.match(name) or ".." in name:
        raise HTTPException(
            422,
            f"File name {name[:100]!r} is not allowed: use letters, digits, '.', '_', '-' and spaces, "
            "with no path (put files in a folder with the 'folder' field).",
        )
    if Path(name).suffix.lower() not in ALLOWED_SUFFIXES:
        allowed = ", ".join(sorted(ALLOWED_SUFFIXES))
        raise HTTPException(422, f"{name!r}: only runbooks and logs can be ingested ({allowed}).")
    parts: list[str] = []
    if folder:
        if not SAFE_FOLDER.match(folder) or any(p in ("..", ".") for p in folder.split("/")):
            raise HTTPException(
                422, f"Folder {folder[:100]!r} is not allowed: relative names like 'runbooks/db' only."
            )
        parts = folder.split("/")
    destination = root.joinpath(*parts, name).resolve()
    if not destination.is_relative_to(root):  # belt and braces: the patterns already exclude this
        raise HTTPException(422, f"{name!r} would be stored outside the uploads folder.")
    return destination


def build_router(settings: Settings) -> APIRouter:
    """The upload route, whose request size limit comes from settings (the app's default is 1 MiB)."""
    router = APIRouter(prefix="/v1", tags=["knowledge"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "/knowledge",
        upload_knowledge,
        methods=["POST"],
        response_model=IngestReport,
        responses={
            **INVALID_RESPONSE,
            413: {"model": ErrorDetail, "description": "Over OPSAGENT_UPLOAD_MAX_BYTES."},
        },
        # The whole request, all files together: Starlette spools parts to disk before the handler runs,
        # so this is what bounds the disk a request can use (auth is checked after the body is parsed).
        max_body_size=settings.upload_max_bytes + MULTIPART_OVERHEAD,
    )
    return router


async def upload_knowledge(
    services: ServicesDep,
    _: IngestToken,
    files: Annotated[
        list[UploadFile], File(description="Runbooks (.md, .rst, .txt) and logs (.log, .jsonl, .gz).")
    ],
    folder: Annotated[
        str | None, Form(max_length=500, description="Sub-folder of uploads/, e.g. runbooks/db")
    ] = None,
    kind: Annotated[DocumentKind | None, Form(description="Treat every file as this kind.")] = None,
) -> IngestReport:
    """Store the files and ingest them (incrementally: unchanged files are skipped)."""
    if not files:
        raise HTTPException(422, "No files: send one or more 'files' parts.")
    if len(files) > MAX_FILES:
        raise HTTPException(422, f"At most {MAX_FILES} files per request.")
    root = uploads_root(services.settings.data_dir)
    destinations = [safe_destination(root, folder, upload.filename) for upload in files]
    if len(set(destinations)) != len(destinations):
        raise HTTPException(422, "Two files have the same name.")
    await run_in_threadpool(_check_clashes, root, destinations)
    await run_in_threadpool(_store, root, files, destinations, services.settings.upload_max_bytes)
    return await run_in_threadpool(services.ingest, [root], kind)


def _check_clashes(root: Path, destinations: list[Path]) -> None:
    """A 422 when a file would replace a folder, or a folder would have to replace a file."""
    for destination in destinations:
        if destination.is_dir():
            raise HTTPException(422, f"{destination.relative_to(root)} is a folder in uploads/, not a file.")
        for parent in destination.relative_to(root).parents:
            if parent != Path(".") and (root / parent).is_file():
                raise HTTPException(422, f"{parent} is a file in uploads/, so it cannot be a folder.")


def _store(root: Path, files: list[UploadFile], destinations: list[Path], limit: int) -> None:
    """Copy each upload to a temporary file, then move them all into place.

    Only once every file is complete and within the limit does anything replace a stored file. Files
    are staged inside uploads/ (a hidden folder, which ingest skips) so the final rename is atomic.
    """
    staging = root / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for upload, destination in zip(files, destinations, strict=True):
            staged.append((_stage(upload, limit, staging), destination))
        for temporary, destination in staged:
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, destination)
    finally:
        for temporary, _destination in staged:
            temporary.unlink(missing_ok=True)


def _stage(upload: UploadFile, limit: int, staging: Path) -> Path:
    handle = tempfile.NamedTemporaryFile(prefix="upload-", dir=staging, delete=False)  # noqa: SIM115
    path = Path(handle.name)
    size = 0
    try:
        with handle:
            while chunk := upload.file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"{upload.filename!r} is over the {limit}-byte upload limit.")
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
