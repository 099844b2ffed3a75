"""Every parameter that decides a hash value, recorded in fingerprint sets and checked before use."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from auditor.defaults import DEFAULT_MIN_SHINGLES as DEFAULT_MIN_SHINGLES
from auditor.defaults import DEFAULT_NUM_PERM as DEFAULT_NUM_PERM
from auditor.defaults import DEFAULT_SEED as DEFAULT_SEED
from auditor.defaults import DEFAULT_SHINGLE_SIZE as DEFAULT_SHINGLE_SIZE
from auditor.errors import ParameterMismatchError, UsageError
from auditor.kernels.minhash import SCHEME
from auditor.kernels.normalize import NORMALIZATION_VERSION
from auditor.kernels.shingle_hash import BASE_HASH_NAME
from auditor.keys import PUBLIC_KEY_ID


@dataclass(frozen=True)
class FingerprintParams:
    """The identity of a fingerprint scheme: two sets can be compared only when these are equal."""

    num_perm: int = DEFAULT_NUM_PERM
    seed: int = DEFAULT_SEED
    shingle_size: int = DEFAULT_SHINGLE_SIZE
    scheme: str = SCHEME
    shingle_kind: str = "char"
    normalization: str = NORMALIZATION_VERSION
    base_hash: str = BASE_HASH_NAME
    key_id: str = PUBLIC_KEY_ID

    def __post_init__(self) -> None:
        if not 16 <= self.num_perm <= 1024:
            raise UsageError(
                f"--num-perm must be between 16 and 1024, got {self.num_perm}; 128 (the default) gives a "
                "containment standard error of about 0.04."
            )
        if not 0 <= self.seed < 2**32:
            raise UsageError(f"--seed (the MinHash seed) must be between 0 and 4294967295, got {self.seed}.")
        if not 3 <= self.shingle_size <= 64:
            raise UsageError(
                f"--shingle-size must be between 3 and 64 characters, got {self.shingle_size}; "
                "short shingles match long pages by chance, 12 is the default."
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str) -> FingerprintParams:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        missing = sorted(set(cls.__dataclass_fields__) - set(known))
        if missing:
            raise ParameterMismatchError(
                f"{source} does not record the parameters {', '.join(missing)}; rebuild it with `auditor fingerprint`."
            )
        return cls(**known)

    def supported(self, source: str) -> None:
        """Refuse parameters this version cannot reproduce (another scheme, normalization or hash)."""
        expected = {
            "scheme": SCHEME,
            "shingle_kind": "char",
            "normalization": NORMALIZATION_VERSION,
            "base_hash": BASE_HASH_NAME,
        }
        for name, value in expected.items():
            found = getattr(self, name)
            if found != value:
                raise ParameterMismatchError(
                    f"{source} was built with {name} {found!r}, but this auditor computes {value!r}; "
                    "rebuild the fingerprint set with this version of `auditor fingerprint`, or use the "
                    "auditor version that built it."
                )

    def require_same(self, other: FingerprintParams, source: str, other_source: str) -> None:
        """Refuse to compare artifacts built with different parameters, naming the first difference."""
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                raise ParameterMismatchError(
                    f"{source} was built with {name}={mine!r} but {other_source} with {name}={theirs!r}; "
                    "signatures are comparable only when every parameter is equal: rebuild one of them "
                    "with the other's parameters."
                )
