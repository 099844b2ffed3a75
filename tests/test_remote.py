"""Remote corpora: S3 against a local moto server on 127.0.0.1, hf:// through a local fsspec stand-in, http://
from a local server with range requests. Nothing leaves the machine."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from auditor.build import build_fingerprint_set
from auditor.errors import InputError
from auditor.files import sha256_of
from auditor.fingerprint import Fingerprinter
from auditor.sources import corpus as corpus_source
from auditor.sources import remote
from auditor.sources.corpus import expand_corpus_paths, open_corpus
from auditor.sources.posts import PostSource
from auditor.sources.remote import RemoteObject, S3Settings, Store, is_data_name, remote_error
from benchmarks.synthetic import Writer
from tests.conftest import POSTS, write_jsonl
from tests.test_cli import REPORT_SCHEMA, invoke, one_error_sentence

BUCKET = "corpus-bucket"
FILLER = Writer(seed=5)
SHARDS = ("kind=pages/part-0.parquet", "kind=pages/part-1.parquet", "kind=posts/part-0.parquet")
# Left out of every directory and prefix search: markers, checksums, unfinished writes, hidden files.
LEFTOVERS = ("_SUCCESS", "kind=pages/.part-0.parquet.crc", "_temporary/0/part-9.parquet", ".hidden/part-8.parquet")
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_NO_SIGN_REQUEST",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A fingerprint set of the five posts and a corpus of three shards (several row groups each) carrying
    four of them, beside the files a directory search must leave out."""
    folder = tmp_path_factory.mktemp("remote")
    records = [{"id": f"p{i}", "text": text} for i, text in enumerate(POSTS)]
    fingerprints = folder / "set.fp.parquet"
    build_fingerprint_set([PostSource(write_jsonl(folder / "posts.jsonl", records))], fingerprints, Fingerprinter())
    corpus = folder / "corpus"
    for index, shard in enumerate(SHARDS):
        rows = [{"id": f"{index}-{i}", "text": FILLER.post()} for i in range(24)]
        rows[3 + index]["text"] = POSTS[index]
        rows[17]["text"] = FILLER.page(2_000, 4_000, quoted=[POSTS[3]]) if index == 1 else None
        (corpus / shard).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), corpus / shard, row_group_size=5)
    for leftover in LEFTOVERS:
        (corpus / leftover).parent.mkdir(parents=True, exist_ok=True)
        (corpus / leftover).write_bytes((corpus / SHARDS[0]).read_bytes() if leftover.endswith("parquet") else b"")
    return fingerprints, corpus


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint(world: tuple[Path, Path]) -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 holding the corpus (leftovers included) under s3://corpus-bucket/corpus/,
    and a text file under empty/."""
    server_module = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's request log
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = _client(endpoint)
    client.create_bucket(Bucket=BUCKET)
    _, corpus = world
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        client.put_object(Bucket=BUCKET, Key=f"corpus/{path.relative_to(corpus).as_posix()}", Body=path.read_bytes())
    client.put_object(Bucket=BUCKET, Key="empty/readme.txt", Body=b"no shards here")
    yield endpoint
    server.stop()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS setting of the machine leaks in: no profile files, no instance metadata service."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _client(endpoint: str) -> Any:
    boto3 = pytest.importorskip("boto3")
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )


def _use_s3(monkeypatch: pytest.MonkeyPatch, endpoint: str, credentials: bool = True) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    if credentials:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")


def _audit(fingerprints: Path, corpus: str, output: Path, *options: str) -> tuple[pa.Table, dict[str, Any]]:
    evidence, report = output / "evidence.parquet", output / "report.json"
    code, text = invoke(
        "audit", str(fingerprints), corpus, "--evidence", str(evidence), "--json", str(report), "-q", *options
    )
    assert code == 0, text
    return pq.read_table(evidence), json.loads(report.read_text())


def _renamed(evidence: pa.Table, names: dict[str, str]) -> pa.Table:
    files = pa.array([names[name] for name in evidence.column("corpus_file").to_pylist()], pa.string())
    index = evidence.schema.get_field_index("corpus_file")
    return evidence.set_column(index, evidence.schema.field(index), files)


def _same_findings(local: dict[str, Any], remote: dict[str, Any]) -> None:
    for key in ("counts", "rates", "claims", "detection_limit"):
        assert remote[key] == local[key], key
    assert [f["rows_matched"] for f in remote["files"]] == [f["rows_matched"] for f in local["files"]]


def test_an_s3_prefix_audits_like_the_same_files_read_locally(
    world: tuple[Path, Path], s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fingerprints, corpus = world
    monkeypatch.setattr(corpus_source, "TARGET_PART_BYTES", 1)  # a part per row group: ranged reads of each
    local_evidence, local = _audit(fingerprints, str(corpus), tmp_path / "local")
    _use_s3(monkeypatch, s3_endpoint)
    remote_evidence, remote = _audit(fingerprints, f"s3://{BUCKET}/corpus/", tmp_path / "s3", "--workers", "2")
    urls = {str(corpus / shard): f"s3://{BUCKET}/corpus/{shard}" for shard in SHARDS}
    assert local_evidence.num_rows == 4 and set(pc.unique(local_evidence.column("corpus_file")).to_pylist()) == set(
        urls
    )
    assert remote_evidence.equals(_renamed(local_evidence, urls))
    _same_findings(local, remote)
    jsonschema.validate(remote, REPORT_SCHEMA)
    for shard, item, local_item in zip(
        SHARDS, remote["inputs"]["corpus_files"], local["inputs"]["corpus_files"], strict=True
    ):
        data = (corpus / shard).read_bytes()
        assert item["name"] == f"s3://{BUCKET}/corpus/{shard}" and item["size"] == len(data)
        assert item["sha256"] == local_item["sha256"] == hashlib.sha256(data).hexdigest()
        assert item["etag"] == hashlib.md5(data).hexdigest()  # a single-part upload's ETag is its MD5
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["last_modified"])
        assert "etag" not in local_item and "last_modified" not in local_item
    code, text = invoke("report", str(tmp_path / "s3" / "report.json"), "--format", "json")
    assert code == 0 and json.loads(text)["inputs"]["corpus_files"] == remote["inputs"]["corpus_files"]


def test_globs_and_single_objects_on_s3_select_as_locally(
    world: tuple[Path, Path], s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fingerprints, corpus = world
    _use_s3(monkeypatch, s3_endpoint)
    for pattern in ("*/part-0.parquet", "kind=pages/*.parquet", "**/*.parquet", "kind=[p]*/part-?.parquet", "**"):
        local = [Path(p).relative_to(corpus).as_posix() for p in expand_corpus_paths([f"{corpus}/{pattern}"])]
        remote = expand_corpus_paths([f"s3://{BUCKET}/corpus/{pattern}"])
        assert [str(r).removeprefix(f"s3://{BUCKET}/corpus/") for r in remote] == local, pattern
    assert len(expand_corpus_paths([f"s3://{BUCKET}/corpus"])) == len(SHARDS)  # a prefix without its slash
    shard = SHARDS[1]
    local_evidence, local = _audit(fingerprints, str(corpus / shard), tmp_path / "local")
    remote_evidence, remote = _audit(fingerprints, f"s3://{BUCKET}/corpus/{shard}", tmp_path / "s3")
    assert local_evidence.num_rows == 2
    assert remote_evidence.equals(_renamed(local_evidence, {str(corpus / shard): f"s3://{BUCKET}/corpus/{shard}"}))
    _same_findings(local, remote)
    with pytest.raises(InputError, match=r"the pattern matches no \.parquet objects"):
        expand_corpus_paths([f"s3://{BUCKET}/corpus/*/nothing-*.parquet"])


def test_s3_failures_exit_2_with_one_sentence_naming_the_url_and_the_fix(
    world: tuple[Path, Path], s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fingerprints, _ = world

    def error_of(url: str) -> str:
        code, output = invoke("audit", str(fingerprints), url, "--evidence", str(tmp_path / "e.parquet"), "-q")
        assert code == 2, output
        sentence = one_error_sentence(output)
        assert url in sentence, sentence
        return sentence

    _use_s3(monkeypatch, s3_endpoint, credentials=False)
    assert "no AWS credentials were found; set AWS_ACCESS_KEY_ID" in error_of(f"s3://{BUCKET}/corpus/")
    _use_s3(monkeypatch, s3_endpoint)
    assert "the bucket no-such-bucket does not exist" in error_of("s3://no-such-bucket/corpus/")
    assert "the bucket no-such-bucket does not exist" in error_of("s3://no-such-bucket/corpus/*.parquet")
    assert "holds no .parquet objects" in error_of(f"s3://{BUCKET}/empty/")
    assert "no such object or prefix" in error_of(f"s3://{BUCKET}/absent/")
    assert "scheme ftp:// is not supported" in error_of("ftp://example.org/corpus/")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    assert "cannot reach http://127.0.0.1" in error_of(f"s3://{BUCKET}/corpus/")
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    assert "the AWS profile 'nobody'" in error_of(f"s3://{BUCKET}/corpus/")
    monkeypatch.setattr(remote, "GCS_RETRY_SECONDS", 1.0)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{_free_port()}")
    assert "cannot reach http://127.0.0.1" in error_of("gs://corpus-bucket/corpus/")


def test_an_object_replaced_during_the_audit_is_refused(
    world: tuple[Path, Path], s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, corpus = world
    _use_s3(monkeypatch, s3_endpoint)
    client, url = _client(s3_endpoint), f"s3://{BUCKET}/changing/part-0.parquet"
    client.put_object(Bucket=BUCKET, Key="changing/part-0.parquet", Body=(corpus / SHARDS[0]).read_bytes())
    [corpus_file] = open_corpus([url])
    assert sha256_of(corpus_file.path) == hashlib.sha256((corpus / SHARDS[0]).read_bytes()).hexdigest()
    client.put_object(Bucket=BUCKET, Key="changing/part-0.parquet", Body=(corpus / SHARDS[1]).read_bytes())
    with pytest.raises(InputError, match=f"{re.escape(url)}: the object changed during the audit"):
        list(corpus_file.batches())
    with pytest.raises(InputError, match="the object changed during the audit"):
        sha256_of(corpus_file.path)


def test_s3_settings_follow_the_aws_environment_and_profile(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[default]\nregion = eu-west-3\n\n[profile minio]\nendpoint_url = http://127.0.0.1:9000\nregion = local\n"
    )
    base = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    default = S3Settings.from_environment(base)
    assert (default.region, default.endpoint, default.scheme, default.credentials) == (
        "eu-west-3",
        None,
        "https",
        "profile default",
    )
    minio = S3Settings.from_environment({**base, "AWS_PROFILE": "minio"})
    assert (minio.region, minio.endpoint, minio.scheme) == ("local", "127.0.0.1:9000", "http")
    both = {**base, "AWS_ENDPOINT_URL": "https://r2.example:443", "AWS_ENDPOINT_URL_S3": "http://s3.local:9000"}
    assert S3Settings.from_environment(both).endpoint == "s3.local:9000"  # the service's own variable first
    ignored = S3Settings.from_environment(
        {**both, "AWS_PROFILE": "minio", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    )
    assert ignored.endpoint is None
    keys = S3Settings.from_environment({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "x"})
    assert (keys.credentials, keys.region) == ("environment", "x")
    bare = S3Settings.from_environment(
        {"AWS_ENDPOINT_URL": "http://localhost:9000", **base, "AWS_CONFIG_FILE": "/none"}
    )
    assert (bare.credentials, bare.region, bare.anonymous) == (None, "us-east-1", False)
    assert S3Settings.from_environment({"AWS_NO_SIGN_REQUEST": "YES"}).anonymous


def test_store_failures_are_told_apart_by_what_the_client_said() -> None:
    url = "s3://b/k.parquet"
    unsigned = Store("s3", "s3://", None, s3=S3Settings.from_environment({"AWS_ENDPOINT_URL": "http://h:1"}))
    keyed = Store(
        "s3", "s3://", None, s3=S3Settings.from_environment({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    )
    denied = OSError("When reading 'k' in bucket 'b': AWS Error ACCESS_DENIED during HeadObject operation")
    assert "no AWS credentials were found" in str(remote_error(url, denied, unsigned))
    assert "access denied with the AWS credentials from the environment" in str(remote_error(url, denied, keyed))
    assert "the bucket b does not exist at AWS S3" in str(remote_error(url, OSError("AWS Error NO_SUCH_BUCKET"), keyed))
    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")
    assert "cannot reach h:8443 ([Errno 111] Connect call" in str(remote_error("https://h:8443/x.parquet", refused))
    assert "no such object" in str(remote_error("hf://datasets/o/n/x.parquet", FileNotFoundError("x")))
    assert str(remote_error(url, OSError("something else"), keyed)).startswith(
        f"{url}: cannot be read (something else)"
    )


def test_leftovers_of_spark_and_hidden_files_are_never_shards() -> None:
    assert is_data_name("kind=a/part-0.parquet") and is_data_name("x.PQ")
    for name in ("_SUCCESS", "a/.part-0.parquet.crc", "_temporary/0/part-0.parquet", ".git/x.parquet", "a/_b.parquet"):
        assert not is_data_name(name), name


@pytest.fixture
def local_hub(world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the Hugging Face Hub: `hf://datasets/org/posts/...` are files of a local directory."""
    pytest.importorskip("fsspec")
    from fsspec.implementations.dirfs import DirFileSystem
    from fsspec.implementations.local import LocalFileSystem

    _, corpus = world
    hub = corpus.parent / "hub"
    if not hub.exists():
        shutil.copytree(corpus, hub / "datasets" / "org" / "posts")

    class LocalHub(DirFileSystem):  # type: ignore[misc]
        protocol = "hf"

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(path=str(hub), fs=LocalFileSystem())

    monkeypatch.setitem(sys.modules["fsspec.registry"]._registry, "hf", LocalHub)
    return hub


def test_an_hf_path_audits_like_the_same_files_read_locally(
    world: tuple[Path, Path], local_hub: Path, tmp_path: Path
) -> None:
    fingerprints, corpus = world
    local_evidence, local = _audit(fingerprints, str(corpus), tmp_path / "local")
    remote_evidence, remote = _audit(fingerprints, "hf://datasets/org/posts", tmp_path / "hf")
    urls = {str(corpus / shard): f"hf://datasets/org/posts/{shard}" for shard in SHARDS}
    assert remote_evidence.equals(_renamed(local_evidence, urls))
    _same_findings(local, remote)
    assert [f["sha256"] for f in remote["inputs"]["corpus_files"]] == [
        f["sha256"] for f in local["inputs"]["corpus_files"]
    ]
    assert all(re.fullmatch(r"\d{4}-.*Z", f["last_modified"]) for f in remote["inputs"]["corpus_files"])
    jsonschema.validate(remote, REPORT_SCHEMA)
    single = expand_corpus_paths([f"hf://datasets/org/posts/{SHARDS[2]}", "hf://datasets/org/posts/kind=p*/*.parquet"])
    assert [str(s) for s in single] == [f"hf://datasets/org/posts/{s}" for s in (SHARDS[2], SHARDS[0], SHARDS[1])]


def test_a_missing_optional_dependency_names_the_extra(
    world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fingerprints, _ = world
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if fsspec were not installed
    for url in ("hf://datasets/org/posts/", "https://example.org/corpus.parquet"):
        code, output = invoke("audit", str(fingerprints), url, "--evidence", str(tmp_path / "e.parquet"), "-q")
        sentence = one_error_sentence(output)
        assert code == 2 and url in sentence and 'pip install "provenance-auditor[remote]"' in sentence, sentence


class _RangeHandler(BaseHTTPRequestHandler):
    """Serves files of `root` with byte ranges, an ETag and Last-Modified; directories as link lists."""

    root = Path()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        from urllib.parse import unquote, urlsplit

        path = self.root / unquote(urlsplit(self.path).path.lstrip("/"))
        if path.is_dir():
            links = "".join(
                f'<a href="{p.name}{"/" if p.is_dir() else ""}">{p.name}</a>' for p in sorted(path.iterdir())
            )
            data = f"<html><body>{links}</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data if body else b"")
            return
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start, end = 0, len(data) - 1
        ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if ranged:
            start, end = int(ranged.group(1)), min(int(ranged.group(2) or end), end)
        self.send_response(206 if ranged else 200)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{hashlib.md5(data).hexdigest()}"')
        self.send_header("Last-Modified", formatdate(path.stat().st_mtime, usegmt=True))
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if body:
            self.wfile.write(data[start : end + 1])


@pytest.fixture
def http_root(world: tuple[Path, Path]) -> Iterator[str]:
    pytest.importorskip("aiohttp")
    _, corpus = world
    handler = type("Handler", (_RangeHandler,), {"root": corpus.parent})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_files_audit_like_the_same_files_read_locally(
    world: tuple[Path, Path], http_root: str, tmp_path: Path
) -> None:
    fingerprints, corpus = world
    shard = SHARDS[0]
    local_evidence, local = _audit(fingerprints, str(corpus / shard), tmp_path / "local", "--no-hash-corpus")
    url = f"{http_root}/corpus/{shard}"
    remote_evidence, remote = _audit(fingerprints, url, tmp_path / "http")
    assert remote_evidence.equals(_renamed(local_evidence, {str(corpus / shard): url}))
    _same_findings(local, remote)
    [item] = remote["inputs"]["corpus_files"]
    data = (corpus / shard).read_bytes()
    assert (item["etag"], item["sha256"]) == (hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest())
    assert [str(found) for found in expand_corpus_paths([f"{url}?download=1"])] == [f"{url}?download=1"]
    listed = expand_corpus_paths([f"{http_root}/corpus/"])
    assert [str(found) for found in listed] == [f"{http_root}/corpus/{s}" for s in SHARDS]
    assert all(isinstance(found, RemoteObject) for found in listed)
