"""Corpus files in object stores and on the web, named by URL: s3://, gs://, hf://, http:// and https://.

Every store is reached through one `pyarrow.fs.FileSystem`, so listing, reading and hashing are written once:
S3 and Google Cloud Storage through pyarrow's own clients, the Hugging Face Hub and plain HTTP through
fsspec wrapped in `PyFileSystem(FSSpecHandler(...))`. fsspec (with aiohttp or huggingface_hub) is an optional
extra, imported only when such a URL is given.

pyarrow's S3 client reads credentials from the usual AWS chain (environment, profile, instance metadata)
but not the endpoint settings, so `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` and the profile's
`endpoint_url` and `region` are read here and passed through: MinIO, R2 and local servers work. Timeouts
and retries are bounded so that an unreachable store fails in seconds with one sentence, not a hang.

A `RemoteObject` is a plain value (URL and identity): a process that reads it builds its own client, so
objects cross forks and pickles. The identity (size, ETag or version, last modified) is what the store
said when the corpus was opened; the report records it beside the SHA-256 read from the whole object.
"""

from __future__ import annotations

import configparser
import datetime
import email.utils
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from auditor.errors import InputError

REMOTE_EXTRA = 'pip install "provenance-auditor[remote]"'
SCHEMES = ("s3", "gs", "gcs", "hf", "http", "https")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
# Bounded so an unreachable endpoint fails within seconds: connection attempts, retries of S3 requests,
# and the time the GCS client keeps retrying.
CONNECT_TIMEOUT_SECONDS = 5.0
S3_MAX_ATTEMPTS = 3
GCS_RETRY_SECONDS = 20.0
HASH_BLOCK_BYTES = 8 << 20  # a ranged read per block when a remote object is hashed whole


def is_url(argument: str) -> bool:
    """Whether a corpus argument names a URL (scheme://...) rather than a local path."""
    return _URL.match(argument) is not None


def is_data_name(relative: str) -> bool:
    """A Parquet shard, not a marker or a leftover: the name ends in a Parquet suffix and no part of the path
    below the searched root is hidden or starts with `_` (Spark and Hive leave `_SUCCESS`, `_metadata`,
    `.crc` files and `_temporary/` directories of unfinished writes beside the shards)."""
    parts = relative.split("/")
    if not parts[-1].lower().endswith(PARQUET_SUFFIXES):
        return False
    return not any(part.startswith((".", "_")) for part in parts if part)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------------------------------------------------
# S3 settings from the AWS environment and profile


@dataclass(frozen=True)
class S3Settings:
    """How to reach S3: what the AWS environment and profile say, resolved once per client."""

    region: str | None
    endpoint: str | None  # host[:port], for pyarrow's endpoint_override
    scheme: str  # https, or http for a local endpoint
    endpoint_url: str | None  # as configured, for messages
    anonymous: bool
    credentials: str | None  # where credentials come from, None when no source was found
    metadata_service: bool  # whether the SDK may still ask the instance metadata service

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> S3Settings:
        env = os.environ if environ is None else environ
        profile_name = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE")
        profile = profile_name or "default"
        config = _ini_section(
            env.get("AWS_CONFIG_FILE", "~/.aws/config"), "default" if profile == "default" else f"profile {profile}"
        )
        stored = _ini_section(env.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"), profile)
        if profile_name and config is None and stored is None:
            raise InputError(
                f"the AWS profile {profile_name!r} is in neither the AWS config nor the credentials file; name an "
                "existing profile in AWS_PROFILE, or unset it."
            )
        candidates = [
            ("AWS_ENDPOINT_URL_S3", env.get("AWS_ENDPOINT_URL_S3")),
            ("AWS_ENDPOINT_URL", env.get("AWS_ENDPOINT_URL")),
            (f"endpoint_url of the AWS profile {profile}", (config or {}).get("endpoint_url")),
        ]
        if _truthy(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
            candidates = []
        source, endpoint_url = next(((name, value) for name, value in candidates if value), ("", None))
        endpoint, scheme = None, "https"
        if endpoint_url:
            endpoint, scheme = _split_endpoint(endpoint_url, source)
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or (config or {}).get("region")
        if region is None and endpoint is not None:
            region = "us-east-1"  # what MinIO, R2 (auto) and local servers accept
        credentials = None
        if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
            credentials = "environment"
        elif env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
            credentials = "web identity"
        elif env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
            credentials = "container"
        elif config is not None or stored is not None:
            credentials = f"profile {profile}"
        return cls(
            region=region,
            endpoint=endpoint,
            scheme=scheme,
            endpoint_url=endpoint_url,
            anonymous=_truthy(env.get("AWS_NO_SIGN_REQUEST")),
            credentials=credentials,
            metadata_service=not _truthy(env.get("AWS_EC2_METADATA_DISABLED")),
        )

    @property
    def where(self) -> str:
        return self.endpoint_url or "AWS S3"


def _ini_section(file: str, section: str) -> dict[str, str] | None:
    """A section of an AWS config or credentials file, or None when the file or the section is absent."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(Path(file).expanduser(), encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as error:
        raise InputError(f"the AWS config file {file} cannot be read ({error}); fix or move it.") from None
    return dict(parser.items(section)) if parser.has_section(section) else None


def _split_endpoint(endpoint_url: str, source: str) -> tuple[str, str]:
    """host[:port] and scheme of an endpoint URL (`http://127.0.0.1:9000`, or a bare `host:port`)."""
    match = _URL.match(endpoint_url)
    scheme, rest = (match.group(1).lower(), match.group(2)) if match else ("https", endpoint_url)
    host = rest.split("/", 1)[0]
    if scheme not in ("http", "https") or not host:
        raise InputError(f"{source} {endpoint_url!r} is not an endpoint URL; give one like http://127.0.0.1:9000.")
    return host, scheme


# ---------------------------------------------------------------------------------------------------------
# Stores: a pyarrow FileSystem and the mapping between its paths and URLs


@dataclass(frozen=True)
class Store:
    """One remote file system: URLs `prefix + path` are `path` in `filesystem`."""

    scheme: str
    prefix: str  # "s3://", "gs://", "hf://"; "" for HTTP, whose paths are the URLs
    filesystem: pafs.FileSystem
    fsspec: Any = None  # the fsspec file system under a PyFileSystem, asked for object details
    s3: S3Settings | None = None

    def path_of(self, url: str) -> str:
        return url[len(self.prefix) :] if self.prefix else url

    def url_of(self, path: str) -> str:
        return self.prefix + path if self.prefix else path


_S3_CLIENTS: dict[tuple[int, S3Settings, str | None], pafs.FileSystem] = {}
_S3_REGIONS: dict[str, str | None] = {}
_GCS_CLIENTS: dict[tuple[int, str, float], pafs.FileSystem] = {}


def _s3_store(url: str, scheme: str, bucket: str) -> Store:
    try:
        settings = S3Settings.from_environment()
    except InputError as error:
        raise InputError(f"{url}: {error}") from None
    region = settings.region
    if region is None and settings.endpoint is None:
        # The bucket's own region (one unsigned HEAD request to AWS), so buckets outside the SDK's
        # default region are read without redirect errors.
        if bucket not in _S3_REGIONS:
            try:
                _S3_REGIONS[bucket] = pafs.resolve_s3_region(bucket)
            except (OSError, ValueError):
                _S3_REGIONS[bucket] = None
        region = _S3_REGIONS[bucket]
    # One client per process and settings: clients are not shared across forks.
    key = (os.getpid(), settings, region)
    if key not in _S3_CLIENTS:
        options: dict[str, Any] = {
            "anonymous": settings.anonymous,
            "scheme": settings.scheme,
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=S3_MAX_ATTEMPTS),
        }
        if region is not None:
            options["region"] = region
        if settings.endpoint is not None:
            options["endpoint_override"] = settings.endpoint
        _S3_CLIENTS[key] = pafs.S3FileSystem(**options)
    return Store(scheme, f"{scheme}://", _S3_CLIENTS[key], s3=settings)


def _gcs_store(url: str, scheme: str) -> Store:
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    options: dict[str, Any] = {"retry_time_limit": datetime.timedelta(seconds=GCS_RETRY_SECONDS)}
    if emulator:
        try:
            host, transport = _split_endpoint(
                emulator if "://" in emulator else f"http://{emulator}", "STORAGE_EMULATOR_HOST"
            )
        except InputError as error:
            raise InputError(f"{url}: {error}") from None
        options.update(anonymous=True, endpoint_override=host, scheme=transport)
    key = (os.getpid(), emulator or "", GCS_RETRY_SECONDS)
    if key not in _GCS_CLIENTS:
        _GCS_CLIENTS[key] = pafs.GcsFileSystem(**options)
    return Store(scheme, f"{scheme}://", _GCS_CLIENTS[key])


def _fsspec_store(scheme: str, url: str) -> Store:
    try:
        import fsspec
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        if scheme in ("http", "https"):
            import aiohttp

            timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_SECONDS, sock_read=60)
            filesystem = fsspec.filesystem(scheme, client_kwargs={"timeout": timeout})
        else:
            filesystem = fsspec.filesystem(scheme)
    except ImportError as error:
        raise InputError(
            f"{url}: reading {scheme}:// paths needs optional dependencies that are not installed ({error}); "
            f"run `{REMOTE_EXTRA}`."
        ) from None
    return Store(
        scheme,
        "" if scheme in ("http", "https") else f"{scheme}://",
        PyFileSystem(FSSpecHandler(filesystem)),
        filesystem,
    )


def store_of(url: str) -> Store:
    """The store a URL lives in; an error naming the URL for a scheme that is not supported."""
    match = _URL.match(url)
    if match is None:
        raise InputError(f"{url}: not a URL; give scheme://... or a local path.")
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme not in SCHEMES:
        raise InputError(
            f"{url}: the scheme {scheme}:// is not supported; use a local path or s3://, gs://, hf:// or https:// "
            "(copy the corpus to one of these)."
        )
    if scheme in ("s3", "gs", "gcs") and not rest.split("/", 1)[0]:
        raise InputError(f"{url}: the URL names no bucket; give {scheme}://BUCKET/PREFIX.")
    if scheme == "s3":
        return _s3_store(url, scheme, rest.split("/", 1)[0])
    if scheme in ("gs", "gcs"):
        return _gcs_store(url, scheme)
    return _fsspec_store(scheme, url)


# ---------------------------------------------------------------------------------------------------------
# Errors: one sentence naming the URL and the fix


def remote_error(url: str, error: BaseException, store: Store | None = None) -> InputError:
    """The InputError for a failed request to a remote store, classified from what the client said."""
    text = " ".join(str(error).split()) or type(error).__name__
    lowered = text.lower()
    settings = store.s3 if store is not None else None
    where = settings.where if settings is not None else _place(url)
    if "no_such_bucket" in lowered or "nosuchbucket" in lowered or "bucket does not exist" in lowered:
        return missing_bucket(url, _URL.sub(r"\2", url).split("/", 1)[0], where)
    unreachable = (
        "network_connection",
        "curlcode",
        "could not connect",
        "cannot connect",
        "couldn't connect",
        "could not resolve",
        "couldn't resolve",
        "connection refused",
        "timed out",
        "timeout",
        "unavailable",
    )
    if isinstance(error, (ConnectionError, TimeoutError)) or any(marker in lowered for marker in unreachable):
        fix = "check the network and AWS_ENDPOINT_URL" if settings is not None else "check the network and the URL"
        return InputError(f"{url}: cannot reach {where} ({_short(text)}); {fix}.")
    denied = ("access_denied", "accessdenied", "invalidaccesskeyid", "signaturedoesnotmatch", "forbidden", "403")
    if any(marker in lowered for marker in denied) or isinstance(error, PermissionError):
        if settings is not None and settings.credentials is None and not settings.anonymous:
            return missing_credentials(url)
        if settings is not None:
            return InputError(
                f"{url}: access denied with the AWS credentials from the {settings.credentials or 'anonymous access'} "
                f"({_short(text)}); check the keys, AWS_PROFILE and the bucket policy."
            )
        return InputError(f"{url}: access denied ({_short(text)}); check the credentials for this store.")
    if isinstance(error, FileNotFoundError) or "not found" in lowered or "404" in lowered:
        return InputError(f"{url}: no such object or prefix; check the URL.")
    return InputError(f"{url}: cannot be read ({_short(text)}); check the URL and the credentials.")


def _place(url: str) -> str:
    """Where a URL's store is, for messages."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "hf":
        return "the Hugging Face Hub"
    if scheme.lower() in ("gs", "gcs"):
        return os.environ.get("STORAGE_EMULATOR_HOST") or "Google Cloud Storage"
    return rest.split("/", 1)[0] or "the server"


def missing_bucket(url: str, bucket: str, where: str) -> InputError:
    return InputError(f"{url}: the bucket {bucket} does not exist at {where}; check the bucket name and the endpoint.")


def missing_credentials(url: str) -> InputError:
    return InputError(
        f"{url}: no AWS credentials were found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE "
        "(or AWS_NO_SIGN_REQUEST=YES for a public bucket)."
    )


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def _requests(url: str, store: Store) -> Iterator[None]:
    """Turn a failed request into one sentence naming the URL."""
    try:
        yield
    except InputError:
        raise
    except (OSError, ValueError, pa.ArrowException) as error:
        raise remote_error(url, error, store) from None


# ---------------------------------------------------------------------------------------------------------
# Objects


@dataclass(frozen=True)
class RemoteObject:
    """One object of a remote corpus, named by its URL, with its identity as the store gave it."""

    url: str
    size: int | None = None
    etag: str | None = None
    version: str | None = None
    last_modified: str | None = None  # ISO 8601, UTC

    def __str__(self) -> str:
        return self.url

    @property
    def name(self) -> str:
        return self.url

    def open_file(self) -> pa.NativeFile:
        """A random-access file (ranged reads), for Parquet footers, column chunks and row groups; refused when
        the object is no longer the one the corpus was opened with."""
        store = store_of(self.url)
        with _requests(self.url, store):
            handle = store.filesystem.open_input_file(store.path_of(self.url))
        self._check_unchanged(store, handle)
        return handle

    def identified(self, handle: pa.NativeFile) -> RemoteObject:
        """This object with its size, ETag or version and last-modified time, from the open handle (S3 and GCS
        answer them with the HEAD request that opened it) or, for fsspec stores, from the store's listing."""
        store = store_of(self.url)
        with _requests(self.url, store):
            size = int(handle.size())
            found = _details(store, self.url, handle)
        etag = _text(found.get("etag") or found.get("blob-id") or _lfs_oid(found.get("lfs")))
        version = _text(found.get("versionid") or found.get("version-id") or found.get("generation"))
        modified = found.get("last-modified") or found.get("lastmodified") or found.get("updated") or found.get("mtime")
        return replace(
            self,
            size=size,
            etag=etag.strip('"') if etag else None,
            version=version,
            last_modified=_timestamp(modified),
        )

    def sha256(self) -> str:
        """SHA-256 of the whole object, read as a stream of large ranged reads (of the same object that was
        scanned: S3 and GCS say its ETag when the stream opens)."""
        store = store_of(self.url)
        digest = hashlib.sha256()
        with _requests(self.url, store), store.filesystem.open_input_stream(store.path_of(self.url)) as stream:
            self._check_unchanged(store, stream)
            while block := stream.read(HASH_BLOCK_BYTES):
                digest.update(block)
        return digest.hexdigest()

    def _check_unchanged(self, store: Store, handle: pa.NativeFile) -> None:
        """For stores that answer an object's ETag when it is opened (S3, GCS): the same ETag as when the corpus
        was opened, so the rows scanned and the hash recorded belong to one version of the object."""
        if self.etag is None or store.fsspec is not None:
            return
        with _requests(self.url, store):
            now = _text(_details(store, self.url, handle).get("etag"))
        if now is not None and now.strip('"') != self.etag:
            raise InputError(
                f"{self.url}: the object changed during the audit (ETag {self.etag} became {now.strip(chr(34))}); "
                "rerun the audit when the corpus is no longer being written."
            )


def _details(store: Store, url: str, handle: pa.NativeFile) -> dict[str, Any]:
    """What the store says about an object, keys lowercased with `-` for `_`: the open handle's metadata
    (pyarrow's S3 and GCS clients), or the fsspec file system's info."""
    if store.fsspec is not None:
        details = dict(store.fsspec.info(store.path_of(url)))
    else:
        details = {
            key.decode() if isinstance(key, bytes) else str(key): value for key, value in handle.metadata().items()
        }
    return {key.lower().replace("_", "-"): value for key, value in details.items()}


def _lfs_oid(lfs: Any) -> Any:
    return lfs.get("sha256") or lfs.get("oid") if isinstance(lfs, dict) else None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _timestamp(value: Any) -> str | None:
    """An ISO 8601 UTC time from what stores give: ISO text, an HTTP date, a datetime or a POSIX time."""
    if value is None or value == "":
        return None
    moment: datetime.datetime | None = None
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, (int, float)):
        moment = datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc)
    else:
        text = value.decode() if isinstance(value, bytes) else str(value)
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                moment = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------------------
# Expansion: a URL to the Parquet objects it names


def expand_url(argument: str) -> list[RemoteObject]:
    """A single object, every Parquet object under a prefix (recursively, markers and hidden parts left
    out), or the objects a glob matches, in a stable order."""
    store = store_of(argument)
    if (
        store.s3 is not None
        and store.s3.credentials is None
        and not store.s3.anonymous
        and not store.s3.metadata_service
    ):
        raise missing_credentials(argument)
    path = store.path_of(argument)
    if store.prefix and _has_magic(path):  # an HTTP URL is never a pattern: `?` starts its query
        return _expand_glob(argument, store, path)
    # HTTP has no prefixes: a URL ending in `/` is an index page to list, any other names one file.
    listing = not store.prefix and path.endswith("/")
    root = path if listing else path.rstrip("/")
    with _requests(argument, store):
        if not listing:
            info = store.filesystem.get_file_info(root)
            if info.type == pafs.FileType.File:
                return [RemoteObject(argument, info.size)]
            if info.type == pafs.FileType.NotFound:
                _check_bucket(argument, store, root)
                raise InputError(f"{argument}: no such object or prefix; check the URL.")
        listed = store.filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    found = sorted(
        (
            RemoteObject(store.url_of(item.path), item.size)
            for item in listed
            if item.type == pafs.FileType.File and is_data_name(_relative(item.path, root))
        ),
        key=lambda item: item.url,
    )
    if not found:
        raise InputError(f"{argument}: holds no .parquet objects; point at the corpus shards.")
    return found


def _relative(path: str, root: str) -> str:
    return path[len(root) :].lstrip("/") if path.startswith(root) else path


def _check_bucket(url: str, store: Store, path: str) -> None:
    """For a path that was not found: a missing bucket is named as such."""
    if store.prefix not in ("s3://", "gs://", "gcs://"):
        return
    bucket = path.split("/", 1)[0]
    if store.filesystem.get_file_info(bucket).type == pafs.FileType.NotFound:
        raise missing_bucket(url, bucket, store.s3.where if store.s3 is not None else _place(url))


def _has_magic(path: str) -> bool:
    return any(character in path for character in "*?[")


def _expand_glob(argument: str, store: Store, path: str) -> list[RemoteObject]:
    parts = path.split("/")
    first_magic = next(i for i, part in enumerate(parts) if _has_magic(part))
    if store.prefix in ("s3://", "gs://", "gcs://") and first_magic == 0:
        raise InputError(
            f"{argument}: a pattern cannot match bucket names; name the bucket and put the pattern after it."
        )
    root = "/".join(parts[:first_magic])
    pattern = _glob_regex(path)
    with _requests(argument, store):
        listed = store.filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
        if not listed:
            _check_bucket(argument, store, root)
    found = sorted(
        (
            RemoteObject(store.url_of(item.path), item.size)
            for item in listed
            if item.type == pafs.FileType.File
            and pattern.match(item.path)
            and is_data_name(item.path.rsplit("/", 1)[-1])
        ),
        key=lambda item: item.url,
    )
    if not found:
        raise InputError(f"{argument}: the pattern matches no .parquet objects; check the pattern.")
    return found


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A regular expression for a glob over `/`-separated paths, as glob.glob with recursive=True: `*` and
    `?` stay within a part, `[...]` is a class, a part `**` matches any number of parts, and a wildcard
    never matches a hidden name (one starting with `.`) unless the pattern's part starts with `.` too."""
    visible = r"(?!\.)[^/]+"
    out: list[str] = []
    parts = pattern.split("/")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append(f"(?:{visible}(?:/{visible})*)?" if last else f"(?:{visible}/)*")
            continue
        hidden_guard = "" if part.startswith(".") or not _has_magic(part) else r"(?!\.)"
        out.append(hidden_guard + _glob_part(part) + ("" if last else "/"))
    return re.compile("".join(out) + r"\Z")


def _glob_part(part: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(part):
        character = part[i]
        end = part.find("]", i + 2) if character == "[" else -1
        if character == "*":
            out.append("[^/]*")
        elif character == "?":
            out.append("[^/]")
        elif end > 0:
            body = part[i + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(character))
        i += 1
    return "".join(out)
