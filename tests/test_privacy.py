"""Private by default: keyed sets, keys kept beside the set and out of every output, public sets on purpose."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from auditor.cli import app
from auditor.keys import is_key_id, key_beside, key_matches, new_key_id
from tests.conftest import POSTS, write_parquet

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_key_beside_names_the_set_stem(tmp_path: Path) -> None:
    assert key_beside(tmp_path / "twitter.fp.parquet") == tmp_path / "twitter.key"
    assert key_beside(tmp_path / "twitter.parquet") == tmp_path / "twitter.key"
    assert key_beside(tmp_path / "twitter.fp") == tmp_path / "twitter.fp.key"


def test_fingerprint_keys_the_set_by_default_and_audits_find_the_key(tmp_path: Path, posts_file: Path) -> None:
    sets = tmp_path / "sets"
    fp = sets / "twitter.fp.parquet"
    code, output = invoke("fingerprint", str(posts_file), "-o", str(fp))
    assert code == 0, output
    key_path = sets / "twitter.key"
    assert "Keyed with" in output and "twitter.key (made)" in output
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = key_path.read_bytes().strip()
    assert len(key) == 44  # 32 random bytes, base64
    assert sorted(p.name for p in sets.iterdir()) == ["twitter.fp.parquet", "twitter.key"]  # no partial left
    info = json.loads(pq.ParquetFile(fp).metadata.metadata[b"provenance_auditor"])
    assert info["params"]["key_id"] != "public"

    corpus = write_parquet(tmp_path / "c.parquet", [{"id": "r1", "text": POSTS[0]}])
    evidence, report = tmp_path / "e.parquet", tmp_path / "r.json"
    code, output = invoke("audit", str(fp), str(corpus), "--evidence", str(evidence), "--json", str(report), "-q")
    assert code == 0, output
    assert pq.read_table(evidence).column("post_id").to_pylist() == ["p0"]
    for written in (fp, evidence, report):
        assert key not in written.read_bytes(), f"the key leaked into {written.name}"
    assert invoke("check", str(corpus), "--fingerprints", str(sets), "--workers", "1")[0] == 1  # found, key beside

    # A rebuilt set keeps the key beside it, so audits and other sets built with it still work.
    code, output = invoke("fingerprint", str(posts_file), "-o", str(fp))
    assert code == 0 and "twitter.key (reused)" in output
    assert key_path.read_bytes().strip() == key


def test_public_sets_are_built_on_purpose_and_say_what_they_expose(tmp_path: Path, posts_file: Path) -> None:
    fp = tmp_path / "open.fp.parquet"
    code, output = invoke("fingerprint", str(posts_file), "-o", str(fp), "--public")
    assert code == 0, output
    assert "Public set (no key): anyone holding it can test whether a guessed text is among its posts" in output
    assert not (tmp_path / "open.key").exists() and "not this set's key" not in " ".join(output.split())
    info = json.loads(pq.ParquetFile(fp).metadata.metadata[b"provenance_auditor"])
    assert info["params"]["key_id"] == "public"
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    out = ["--evidence", str(tmp_path / "e.parquet"), "--json", str(tmp_path / "r.json"), "-q"]
    assert invoke("audit", str(fp), str(corpus), *out)[0] == 0
    key = tmp_path / "k"
    key.write_text("a-secret-key-of-enough-bytes")
    code, output = invoke("audit", str(fp), str(corpus), "--key-file", str(key), *out)
    assert code == 2 and "is a public set (built without a key), but --key-file" in output
    code, output = invoke("fingerprint", str(posts_file), "-o", str(fp), "--public", "--key-file", str(key))
    assert code == 2 and "give --public or --key-file, not both" in output
    # Rebuilt public where a keyed build left its key: the summary says the key is not this set's.
    keyed = tmp_path / "was.fp.parquet"
    assert invoke("fingerprint", str(posts_file), "-o", str(keyed))[0] == 0 and (tmp_path / "was.key").exists()
    code, output = invoke("fingerprint", str(posts_file), "-o", str(keyed), "--public")
    assert code == 0 and f"{tmp_path / 'was.key'} beside it is not this set's key" in " ".join(output.split())


def test_key_ids_are_salted_slow_derivations_that_only_confirm_a_presented_key() -> None:
    key = b"correcthorsebatterystaple"
    first, second = new_key_id(key), new_key_id(key)
    assert first != second  # a random salt per set: ids cannot be looked up in a precomputed table
    scheme, salt, digest = first.split(":")
    assert scheme == "scrypt-n32768-r8-p1" and len(bytes.fromhex(salt)) == 16
    expected = hashlib.scrypt(
        b"provenance-auditor key id\0" + key, salt=bytes.fromhex(salt), n=1 << 15, r=8, p=1, maxmem=1 << 26, dklen=16
    )
    assert digest == expected.hex()  # memory-hard: each guess of a weak key costs a full scrypt
    unsalted = hashlib.sha256(b"provenance-auditor key id\0" + key).hexdigest()[:16]
    assert unsalted not in first and key.decode() not in first
    assert key_matches(key, first) and key_matches(key, second)
    assert not key_matches(b"correcthorsebatterystapl3", first)
    assert not key_matches(b"", first) and not key_matches(key, "public") and key_matches(b"", "public")
    assert not key_matches(key, "sha256:" + unsalted)  # ids of the old unsalted scheme confirm nothing
    assert is_key_id(first) and is_key_id("public")
    assert not is_key_id("scrypt-n32768-r8-p1:zz:00") and not is_key_id(5)
