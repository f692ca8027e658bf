"""Upload runbooks and logs to ingest. Files land under <data dir>/uploads/ and are ingested from there.

A file name is a name, never a path: anything with a separator, `..`, a leading dot or a control
character is refused, and the final path is checked to be inside the uploads folder.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from opsagent.api.auth import AuthFirstRoute, IngestToken, ServicesDep
from opsagent.api.routes.common import AUTH_RESPONSES, INVALID_RESPONSE, ErrorDetail
from opsagent.api.upload_limits import ExpandedBudget, FileMeter, UploadLimitError, UploadLimits
from opsagent.config import Settings
from opsagent.knowledge.files import LOG_SUFFIXES, RUNBOOK_SUFFIXES
from opsagent.knowledge.models import DocumentKind, IngestReport

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$")
SAFE_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(/[A-Za-z0-9][A-Za-z0-9._-]{0,99}){0,4}$")
ALLOWED_SUFFIXES = RUNBOOK_SUFFIXES | LOG_SUFFIXES
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


UPLOAD_FORM = {
    "type": "object",
    "required": ["files"],
    "properties": {
        "files": {
            "type": "array",
            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
            "description": "Runbooks (.md, .rst, .txt) and logs (.log, .jsonl, .gz).",
        },
        "folder": {
            "type": "string",
            "maxLength": 500,
            "description": "Sub-folder of uploads/, e.g. runbooks/db",
        },
        "kind": {
            "type": "string",
            "enum": [kind.value for kind in DocumentKind],
            "description": "Treat every file as this kind.",
        },
    },
}
# The form is parsed by the handler, after the token is checked, so FastAPI cannot infer it: declare it.
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": UPLOAD_FORM}}}}
FORM_FIELDS = 2 + 8  # folder and kind, and a little room for clients that add their own fields


def build_router(settings: Settings) -> APIRouter:
    """The upload route. Its size limits come from settings and are enforced by the handler."""
    router = APIRouter(prefix="/v1", tags=["knowledge"], responses=AUTH_RESPONSES, route_class=AuthFirstRoute)
    router.add_api_route(
        "/knowledge",
        upload_knowledge,
        methods=["POST"],
        response_model=IngestReport,
        responses={
            **INVALID_RESPONSE,
            408: {"model": ErrorDetail, "description": "The body did not arrive within the body timeout."},
            413: {
                "model": ErrorDetail,
                "description": "Over a limit: OPSAGENT_UPLOAD_MAX_BYTES (as sent), _MAX_EXPANDED_BYTES "
                "(decompressed), _MAX_FILES, or OPSAGENT_MAX_RUNBOOK_BYTES (one runbook).",
            },
        },
        openapi_extra=UPLOAD_BODY,
        # The app-wide 1 MiB cap would answer a bare "Content Too Large": the handler bounds the body
        # itself (upload_max_bytes plus multipart framing) and says which setting to raise.
        max_body_size=sys.maxsize,
    )
    return router


async def upload_knowledge(request: Request, services: ServicesDep, _: IngestToken) -> IngestReport:
    """Store the files and ingest them (incrementally: unchanged files are skipped).

    Multipart `files` (one part per file), optional `folder` and `kind`. The token is checked before a
    byte of the body is read; then every limit is checked while the body streams in, so an upload over
    one never reaches the uploads folder.
    """
    limits = UploadLimits.from_settings(services.settings)
    try:
        form = await _read_form(request, limits)
    except UploadLimitError as exc:
        raise HTTPException(exc.status, exc.message) from None
    try:
        files, folder, kind = _fields(form)
        try:
            limits.check_file_count(len(files))
        except UploadLimitError as exc:
            raise HTTPException(exc.status, exc.message) from None
        root = uploads_root(services.settings.data_dir)
        destinations = [safe_destination(root, folder, upload.filename) for upload in files]
        if len(set(destinations)) != len(destinations):
            raise HTTPException(422, "Two files have the same name.")
        await run_in_threadpool(_check_clashes, root, destinations)
        try:
            await run_in_threadpool(_store, root, files, destinations, limits, kind)
        except UploadLimitError as exc:
            raise HTTPException(exc.status, exc.message) from None
    finally:
        await form.close()
    return await run_in_threadpool(services.ingest, [root], kind)


async def _read_form(request: Request, limits: UploadLimits) -> FormData:
    """The multipart form, read with the request's size capped (413 past it, naming the setting)."""
    cap = limits.request_bytes + MULTIPART_OVERHEAD
    too_large = UploadLimitError(
        413,
        f"The upload is over the {limits.request_bytes}-byte limit (OPSAGENT_UPLOAD_MAX_BYTES, all files "
        "together as sent): send fewer or smaller files per request, or raise the setting.",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap:
                raise too_large
        return message

    try:
        # max_files one over the limit: the count is refused below with the setting's name.
        return await Request(request.scope, receive).form(max_files=limits.files + 1, max_fields=FORM_FIELDS)
    except StarletteHTTPException as exc:  # Starlette's multipart errors (400): malformed, too many parts
        if exc.status_code != 400:
            raise  # e.g. the body timeout (408)
        if "Too many files" in str(exc.detail):
            raise limits.too_many_files("More than " + str(limits.files + 1)) from None
        raise HTTPException(400, f"The multipart body could not be read: {exc.detail}") from None


def _fields(form: FormData) -> tuple[list[UploadFile], str | None, DocumentKind | None]:
    """The form's `files`, `folder` and `kind`, or a 422 saying which one is wrong."""
    files = form.getlist("files")
    if not files:
        raise HTTPException(422, "No files: send one or more 'files' parts.")
    if not all(isinstance(upload, UploadFile) for upload in files):
        raise HTTPException(422, "'files' must be file parts (with a filename), not plain form fields.")
    folder = _text_field(form, "folder", 500)
    kind_text = _text_field(form, "kind", 32)
    kind: DocumentKind | None = None
    if kind_text:
        try:
            kind = DocumentKind(kind_text)
        except ValueError:
            allowed = ", ".join(k.value for k in DocumentKind)
            raise HTTPException(422, f"kind {kind_text[:32]!r} is not one of: {allowed}.") from None
    return [upload for upload in files if isinstance(upload, UploadFile)], folder or None, kind


def _text_field(form: FormData, name: str, max_length: int) -> str | None:
    values = form.getlist(name)
    if not values:
        return None
    if len(values) > 1 or not isinstance(values[0], str):
        raise HTTPException(422, f"'{name}' must be one plain form field.")
    if len(values[0]) > max_length:
        raise HTTPException(422, f"'{name}' is longer than {max_length} characters.")
    return values[0]


def _check_clashes(root: Path, destinations: list[Path]) -> None:
    """A 422 when a file would replace a folder, or a folder would have to replace a file."""
    for destination in destinations:
        if destination.is_dir():
            raise HTTPException(422, f"{destination.relative_to(root)} is a folder in uploads/, not a file.")
        for parent in destination.relative_to(root).parents:
            if parent != Path(".") and (root / parent).is_file():
                raise HTTPException(422, f"{parent} is a file in uploads/, so it cannot be a folder.")


def _store(
    root: Path,
    files: list[UploadFile],
    destinations: list[Path],
    limits: UploadLimits,
    kind: DocumentKind | None,
) -> None:
    """Copy each upload to a temporary file, metering it, then move them all into place.

    Only once every file is complete and within the limits does anything replace a stored file. Files
    are staged inside uploads/ (a hidden folder, which ingest skips) so the final rename is atomic.
    """
    staging = root / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    budget = ExpandedBudget(limits.expanded_bytes)
    try:
        for upload, destination in zip(files, destinations, strict=True):
            runbook = kind is DocumentKind.RUNBOOK or (
                kind is None and destination.suffix.lower() in RUNBOOK_SUFFIXES
            )
            meter = FileMeter(upload.filename or destination.name, limits, budget, runbook=runbook)
            staged.append((_stage(upload, meter, staging), destination))
        for temporary, destination in staged:
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, destination)
    finally:
        for temporary, _destination in staged:
            temporary.unlink(missing_ok=True)


def _stage(upload: UploadFile, meter: FileMeter, staging: Path) -> Path:
    handle = tempfile.NamedTemporaryFile(prefix="upload-", dir=staging, delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        with handle:
            upload.file.seek(0)
            while chunk := upload.file.read(1 << 20):
                meter.feed(chunk)
                handle.write(chunk)
            meter.finish()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
