"""ledger.keys against RFC 8032, Wycheproof and CCTV Ed25519 vectors, plus key-file safety."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.signing import SigningKey

from ledger import keys
from ledger.errors import InvalidInput, LedgerError, NotAllowed, NotFound

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
ED25519 = CONFORMANCE / "ed25519"

# The pinned libsodium rule set accepts exactly these CCTV vectors (by "number").
CCTV_ACCEPTED_COUNT = 43
CCTV_ACCEPTED_DIGEST = "36521713b91ca5d28544f38cd646b5494f5911399bfe4635a8bf2f2a88f13bcf"


def _json(relative: str) -> object:
    path = ED25519 / relative
    if not path.is_file():
        pytest.skip(f"conformance data not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def _rfc8032() -> list[dict]:
    return _json("rfc8032/rfc8032-section-7.1-ed25519.json")["vectors"]  # type: ignore[index]


def test_rfc8032_sign_and_verify_byte_exact() -> None:
    vectors = _rfc8032()
    assert [v["name"] for v in vectors] == ["TEST 1", "TEST 2", "TEST 3", "TEST 1024"]
    for v in vectors:
        key = SigningKey(bytes.fromhex(v["secretKey"]))
        public_key, message = bytes(key.verify_key), bytes.fromhex(v["message"])
        assert public_key.hex() == v["publicKey"]
        signature = key.sign(message).signature
        assert signature.hex() == v["signature"]
        assert keys.verify(public_key, message, signature)
        assert keys.check_public_key(public_key) == public_key
        tampered = bytearray(signature)
        tampered[0] ^= 1
        assert not keys.verify(public_key, message, bytes(tampered))
        assert not keys.verify(public_key, message + b"x", signature)


def test_wycheproof_every_test_gives_expected_result() -> None:
    data = _json("wycheproof/ed25519_test.json")
    count = 0
    mismatches = []
    for group in data["testGroups"]:  # type: ignore[index]
        public_key = bytes.fromhex(group["publicKey"]["pk"])
        for test in group["tests"]:
            count += 1
            got = keys.verify(public_key, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
            if got != (test["result"] == "valid"):
                mismatches.append(test["tcId"])
    assert count == data["numberOfTests"] == 151  # type: ignore[index]
    assert mismatches == []


def _cctv() -> list[dict]:
    return _json("cctv/ed25519vectors.json")  # type: ignore[return-value]


def _cctv_verify(v: dict) -> bool:
    return keys.verify(bytes.fromhex(v["key"]), v["msg"].encode(), bytes.fromhex(v["sig"]))


def test_cctv_exact_accept_set_of_pinned_rules() -> None:
    vectors = _cctv()
    assert len(vectors) == 914
    accepted = [v["number"] for v in vectors if _cctv_verify(v)]
    assert len(accepted) == CCTV_ACCEPTED_COUNT
    digest = hashlib.sha256(",".join(map(str, sorted(accepted))).encode()).hexdigest()
    assert digest == CCTV_ACCEPTED_DIGEST


def test_cctv_accepted_vectors_match_documented_rules() -> None:
    # What the module docstring promises: small-order or non-canonical A/R never verify;
    # only mixed-order ("low_order_component") points can slip through.
    rejected_flags = {"low_order_A", "low_order_R", "non_canonical_A", "non_canonical_R"}
    for v in _cctv():
        if rejected_flags & set(v["flags"] or ()):
            assert not _cctv_verify(v), v["number"]


def test_cctv_accept_set_is_subset_of_openssl() -> None:
    # An independent implementation (OpenSSL via `cryptography`) accepts a superset (208).
    def openssl(v: dict) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(v["key"])).verify(
                bytes.fromhex(v["sig"]), v["msg"].encode()
            )
        except Exception:
            return False
        return True

    vectors = _cctv()
    ours = {v["number"] for v in vectors if _cctv_verify(v)}
    theirs = {v["number"] for v in vectors if openssl(v)}
    assert len(theirs) == 208
    assert ours < theirs


def test_cctv_bad_public_keys_are_rejected_by_check_public_key() -> None:
    bad = [v for v in _cctv() if {"non_canonical_A", "low_order_A"} & set(v["flags"] or ())]
    assert len(bad) > 500
    for v in bad:
        with pytest.raises(InvalidInput):
            keys.check_public_key(bytes.fromhex(v["key"]))


def test_check_public_key_rejects_bad_lengths_and_accepts_real_keys() -> None:
    for raw in (b"", bytes(31), bytes(33)):
        with pytest.raises(InvalidInput):
            keys.check_public_key(raw)
    for _ in range(20):
        public_key = bytes(keys.generate().verify_key)
        assert keys.check_public_key(public_key) == public_key


def test_check_public_key_rejects_non_canonical_y() -> None:
    # y = p + 1 encodes the same point as y = 1 (the identity) non-canonically.
    p = 2**255 - 19
    with pytest.raises(InvalidInput):
        keys.check_public_key((p + 1).to_bytes(32, "little"))


def test_verify_rejects_wrong_lengths() -> None:
    key = keys.generate()
    sig = key.sign(b"m").signature
    pk = bytes(key.verify_key)
    assert keys.verify(pk, b"m", sig)
    assert not keys.verify(pk[:31], b"m", sig)
    assert not keys.verify(pk, b"m", sig[:63])
    assert not keys.verify(pk, b"m", sig + b"\x00")


def test_public_key_id() -> None:
    pk = bytes.fromhex(_rfc8032()[0]["publicKey"])
    assert keys.public_key_id(pk) == hashlib.sha256(pk).hexdigest()[:16]
    assert keys.public_key_id(pk) != keys.public_key_id(bytes(keys.generate().verify_key))


@pytest.fixture
def open_umask():
    # With umask 0 a careless writer would produce a world-readable file.
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_key_file_round_trip_mode_0600(tmp_path: Path, open_umask: None) -> None:
    key = keys.generate()
    path = tmp_path / "node.key"
    keys.save_signing_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert bytes(keys.load_signing_key(path)) == bytes(key)
    header, seed, end = path.read_text(encoding="ascii").split("\n")
    assert header == keys.KEY_FILE_HEADER and seed == bytes(key).hex() and end == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.key"]  # no temp file left


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    first = keys.generate()
    keys.save_signing_key(path, first)
    with pytest.raises(NotAllowed):
        keys.save_signing_key(path, keys.generate())
    assert bytes(keys.load_signing_key(path)) == bytes(first)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o610])
def test_load_refuses_group_or_other_access(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "node.key"
    keys.save_signing_key(path, keys.generate())
    path.chmod(mode)
    with pytest.raises(NotAllowed, match="chmod 600"):
        keys.load_signing_key(path)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        keys.load_signing_key(tmp_path / "missing.key")
    bad_files = {
        "header": "something-else v1\n" + "00" * 32 + "\n",
        "short": keys.KEY_FILE_HEADER + "\n" + "00" * 31 + "\n",
        "upper": keys.KEY_FILE_HEADER + "\n" + "AB" * 32 + "\n",
        "trailing": keys.KEY_FILE_HEADER + "\n" + "00" * 32 + "\nextra\n",
        "binary": "\xff\xfe",
    }
    for name, content in bad_files.items():
        path = tmp_path / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="latin-1") as fh:
            fh.write(content)
        with pytest.raises(InvalidInput):
            keys.load_signing_key(path)
    assert issubclass(NotAllowed, LedgerError) and issubclass(NotFound, LedgerError)


def test_bound_verifier_agrees_with_verify_on_every_vector() -> None:
    # verifier_for is the verification loop's fast path: it must apply exactly verify's rules.
    cases = [(bytes.fromhex(v["key"]), v["msg"].encode(), bytes.fromhex(v["sig"])) for v in _cctv()]
    for group in _json("wycheproof/ed25519_test.json")["testGroups"]:  # type: ignore[index]
        public_key = bytes.fromhex(group["publicKey"]["pk"])
        cases += [
            (public_key, bytes.fromhex(t["msg"]), bytes.fromhex(t["sig"])) for t in group["tests"]
        ]
    outcomes = [keys.verifier_for(pk)(msg, sig) for pk, msg, sig in cases]
    assert outcomes == [keys.verify(pk, msg, sig) for pk, msg, sig in cases]
    assert outcomes.count(True) > 100


def test_bound_verifier_reuses_and_grows_its_buffer() -> None:
    key = keys.generate()
    check = keys.verifier_for(bytes(key.verify_key))
    for size in (0, 10, 5000, 100_000, 3):  # longer than the first buffer, then short again
        message = os.urandom(size)
        signature = key.sign(message).signature
        assert check(message, signature)
        assert not check(message + b"x", signature)
    assert not check(b"m", key.sign(b"m").signature[:63])
    assert not keys.verifier_for(bytes(31))(b"m", key.sign(b"m").signature)
