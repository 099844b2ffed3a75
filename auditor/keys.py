"""Keys of the base hash: where they live, how they are read and made, and how a set names its key.

A set's slots invert to shingle hashes, so whoever can compute the base hash can test guessed text
against the set. Keyed sets are therefore the default: `auditor fingerprint` makes a random key beside
the set (`<set>.key`, mode 0600), records only the key's id in the set, and audits look for the key
beside the set. The key itself is never written into a set, an evidence file or a report.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from auditor.errors import InputError, ParameterMismatchError, UsageError, cannot_write_fix

KEY_SUFFIX = ".key"
MIN_KEY_BYTES = 16
NEW_KEY_BYTES = 32
PUBLIC_KEY_ID = "public"
# Key ids: scrypt of the key with a random salt per set (RFC 7914). The cost is fixed by the scheme name,
# so a tampered id cannot ask for a derivation that exhausts memory.
KEY_ID_SCHEME = "scrypt-n32768-r8-p1"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 1 << 15, 8, 1
_SALT_BYTES = 16
_DIGEST_BYTES = 16
_KEY_ID = re.compile(rf"{KEY_ID_SCHEME}:([0-9a-f]{{{2 * _SALT_BYTES}}}):([0-9a-f]{{{2 * _DIGEST_BYTES}}})")
_SET_SUFFIXES = (".fp.parquet", ".parquet")


def key_beside(set_path: Path) -> Path:
    """Where the key of a set lives by default: `twitter.fp.parquet` has its key in `twitter.key`."""
    name = set_path.name
    for suffix in _SET_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name.removesuffix(suffix)
            break
    return set_path.with_name(name + KEY_SUFFIX)


def read_key(path: Path) -> bytes:
    """The key in a key file: its bytes without surrounding white space, at least 16 of them."""
    try:
        key = path.read_bytes().strip()
    except OSError as error:
        raise InputError(f"{path}: cannot read the key file ({error.strerror}); check the path.") from None
    if len(key) < MIN_KEY_BYTES:
        raise InputError(
            f"{path}: a key needs at least {MIN_KEY_BYTES} bytes; make one with `head -c 32 /dev/urandom | base64`."
        )
    return key


def create_key(path: Path) -> bytes:
    """Write a new random key (32 bytes, base64 text) to `path`, readable by its owner only.

    Written to a temporary file of mode 0600 in the same directory and renamed into place, so no other
    user can ever read it and no half-written key is left behind.
    """
    key = base64.b64encode(secrets.token_bytes(NEW_KEY_BYTES))
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(descriptor, 0o600)  # whatever the umask
            os.write(descriptor, key + b"\n")
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):  # not there, or its folder is not one (a file in the way)
            partial.unlink(missing_ok=True)
        fix = cannot_write_fix(error.errno, "choose another --output or pass --key-file")
        raise InputError(f"{path}: cannot write the key of the set ({error.strerror}); {fix}.") from None
    return key


def key_for_new_set(set_path: Path, key_file: Path | None, public: bool) -> tuple[bytes, Path | None, bool]:
    """The key a new set is built with: (key, its file, whether the file was made now).

    `--public` builds an unkeyed set; `--key-file` uses that key; otherwise the key beside the set is
    reused when it exists (a rebuilt set keeps its key), or a new one is made there.
    """
    if public:
        if key_file is not None:
            raise UsageError("give --public or --key-file, not both: a public set has no key.")
        return b"", None, False
    if key_file is not None:
        return read_key(key_file), key_file, False
    beside = key_beside(set_path)
    if beside.exists():
        return read_key(beside), beside, False
    return create_key(beside), beside, True


def key_for_set(set_path: Path, recorded_key_id: str, key_file: Path | None) -> bytes:
    """The key to audit a set with: none for a public set, else `key_file` or the key beside the set,
    checked against the id the set records."""
    if recorded_key_id == PUBLIC_KEY_ID:
        if key_file is not None:
            raise UsageError(
                f"{set_path} is a public set (built without a key), but --key-file {key_file} was given; "
                "drop --key-file, or rebuild the set with that key."
            )
        return b""
    path = key_file if key_file is not None else key_beside(set_path)
    if key_file is None and not path.exists():
        raise InputError(
            f"{set_path} is keyed, but no key was found beside it at {path}; pass --key-file with the key "
            "file it was built with."
        )
    key = read_key(path)
    if not key_matches(key, recorded_key_id):
        raise ParameterMismatchError(
            f"{set_path} was built with another key than {path}; pass the --key-file it was built with."
        )
    return key


def new_key_id(key: bytes, salt: bytes | None = None) -> str:
    """The id recorded in a set built with `key`: `public` for none, else a salted slow derivation.

    A fresh random salt per set and a memory-hard derivation (scrypt, RFC 7914) make the id useless for
    guessing a weak key offline: it only confirms a key that is presented (`key_matches`).
    """
    if not key:
        return PUBLIC_KEY_ID
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    return f"{KEY_ID_SCHEME}:{salt.hex()}:{_derive(key, salt).hex()}"


def is_key_id(value: object) -> bool:
    """Whether `value` is an id this version records: `public` or a salted derivation."""
    return isinstance(value, str) and (value == PUBLIC_KEY_ID or _KEY_ID.fullmatch(value) is not None)


def key_matches(key: bytes, recorded_key_id: str) -> bool:
    """Whether `key` is the key a set recording `recorded_key_id` was built with."""
    if recorded_key_id == PUBLIC_KEY_ID or not key:
        return recorded_key_id == PUBLIC_KEY_ID and not key
    parsed = _KEY_ID.fullmatch(recorded_key_id)
    if parsed is None:
        return False
    salt, digest = bytes.fromhex(parsed.group(1)), bytes.fromhex(parsed.group(2))
    return hmac.compare_digest(_derive(key, salt), digest)


@functools.lru_cache(maxsize=32)
def _derive(key: bytes, salt: bytes) -> bytes:
    """scrypt of the key; cached, as a run checks the same key against the same id several times."""
    return hashlib.scrypt(
        b"provenance-auditor key id\0" + key,
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=2 * 128 * _SCRYPT_R * _SCRYPT_N,
        dklen=_DIGEST_BYTES,
    )
