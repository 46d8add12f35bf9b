"""An independent Noise (revision 34) implementation for sk-phone's tests.

Written from the Noise specification and docs/PROTOCOL.md §1,
on python3-cryptography, to check lib/noise.c byte for byte. Only what
sk-phone uses: DH "P256" (65-byte uncompressed public keys, the 32-byte
X coordinate as DH output), AESGCM, SHA256, and the two patterns
IKpsk0 and KKpsk0. DH "25519" and a few more patterns are here only to
check this file against published Noise test vectors (cacophony), so
that it cannot share a misreading of the spec with lib/noise.c.
Not for production: no wiping, no constant time.
"""

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HASHLEN = 32
PUBLEN = 65
TAGLEN = 16
MAX_MSG = 65535
MAX_NONCE = 2 ** 64 - 1

# Pattern name -> (initiator pre-message, responder pre-message, messages).
PATTERNS = {
    "IKpsk0": ([], ["s"], [["psk", "e", "es", "s", "ss"], ["e", "ee", "se"]]),
    "KKpsk0": (["s"], ["s"], [["psk", "e", "es", "ss"], ["e", "ee", "se"]]),
    # Only for the published vectors:
    "IK": ([], ["s"], [["e", "es", "s", "ss"], ["e", "ee", "se"]]),
    "KK": (["s"], ["s"], [["e", "es", "ss"], ["e", "ee", "se"]]),
    "IKpsk1": ([], ["s"], [["e", "es", "s", "ss", "psk"],
                           ["e", "ee", "se"]]),
    "IKpsk2": ([], ["s"], [["e", "es", "s", "ss"],
                           ["e", "ee", "se", "psk"]]),
}
PROLOGUES = {
    "IKpsk0": b"sk-phone pair v1",
    "KKpsk0": b"sk-phone request v1",
}


class NoiseError(Exception):
    """Any refusal: bad tag, bad point, bad length, wrong order."""


def sha256(data):
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize()


def hmac_sha256(key, data):
    m = hmac.HMAC(key, hashes.SHA256())
    m.update(data)
    return m.finalize()


def noise_hkdf(chaining_key, ikm, num_outputs):
    """HKDF() of section 4.3 of the spec."""
    temp_key = hmac_sha256(chaining_key, ikm)
    outputs = []
    prev = b""
    for i in range(1, num_outputs + 1):
        prev = hmac_sha256(temp_key, prev + bytes([i]))
        outputs.append(prev)
    return outputs


class KeyPair:
    """A P-256 key pair from a 32-byte big-endian scalar."""

    def __init__(self, scalar=None):
        if scalar is None:
            self.priv = ec.generate_private_key(ec.SECP256R1())
        else:
            if len(scalar) != 32:
                raise ValueError("scalar must be 32 bytes")
            self.priv = ec.derive_private_key(
                int.from_bytes(scalar, "big"), ec.SECP256R1())
        self.pub = self.priv.public_key().public_bytes(
            serialization.Encoding.X962,
            serialization.PublicFormat.UncompressedPoint)


def load_public(pub):
    """Only 65-byte uncompressed points on the curve."""
    if len(pub) != PUBLEN or pub[0] != 0x04:
        raise NoiseError("not an uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), bytes(pub))
    except ValueError as exc:
        raise NoiseError("point not on the curve") from exc


class P256:
    """sk-phone's DH: 65-byte public keys, the X coordinate as output."""
    name = "P256"
    publen = PUBLEN
    keypair = KeyPair

    @staticmethod
    def check(pub):
        load_public(pub)

    @staticmethod
    def dh(keypair, pub):
        out = keypair.priv.exchange(ec.ECDH(), load_public(pub))
        assert len(out) == 32
        return out


class X25519KeyPair:
    def __init__(self, raw=None):
        self.priv = (x25519.X25519PrivateKey.generate() if raw is None else
                     x25519.X25519PrivateKey.from_private_bytes(raw))
        self.pub = self.priv.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class X25519:
    """The spec's DH "25519", only to run the published vectors."""
    name = "25519"
    publen = 32
    keypair = X25519KeyPair

    @staticmethod
    def check(pub):
        if len(pub) != 32:
            raise NoiseError("bad 25519 key")

    @staticmethod
    def dh(keypair, pub):
        return keypair.priv.exchange(
            x25519.X25519PublicKey.from_public_bytes(bytes(pub)))


def nonce_bytes(n):
    return b"\x00" * 4 + n.to_bytes(8, "big")


class CipherState:
    def __init__(self, k=None):
        self.k = k
        self.n = 0

    def has_key(self):
        return self.k is not None

    def encrypt_with_ad(self, ad, plaintext):
        if self.k is None:
            return plaintext
        if self.n == MAX_NONCE:
            raise NoiseError("nonce exhausted")
        ct = AESGCM(self.k).encrypt(nonce_bytes(self.n), plaintext, ad)
        self.n += 1
        return ct

    def decrypt_with_ad(self, ad, ciphertext):
        if self.k is None:
            return ciphertext
        if self.n == MAX_NONCE:
            raise NoiseError("nonce exhausted")
        try:
            pt = AESGCM(self.k).decrypt(nonce_bytes(self.n), ciphertext, ad)
        except InvalidTag as exc:
            raise NoiseError("bad tag") from exc
        self.n += 1
        return pt


class SymmetricState:
    def __init__(self, protocol_name):
        if len(protocol_name) <= HASHLEN:
            self.h = protocol_name + b"\x00" * (HASHLEN - len(protocol_name))
        else:
            self.h = sha256(protocol_name)
        self.ck = self.h
        self.cs = CipherState()

    def mix_key(self, ikm):
        self.ck, temp_k = noise_hkdf(self.ck, ikm, 2)
        self.cs = CipherState(temp_k)

    def mix_hash(self, data):
        self.h = sha256(self.h + data)

    def mix_key_and_hash(self, ikm):
        self.ck, temp_h, temp_k = noise_hkdf(self.ck, ikm, 3)
        self.mix_hash(temp_h)
        self.cs = CipherState(temp_k)

    def encrypt_and_hash(self, plaintext):
        ct = self.cs.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(ct)
        return ct

    def decrypt_and_hash(self, ciphertext):
        pt = self.cs.decrypt_with_ad(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return pt

    def split(self):
        k1, k2 = noise_hkdf(self.ck, b"", 2)
        return CipherState(k1), CipherState(k2)


class Transport:
    """The two CipherStates after Split(), seen from one side."""

    def __init__(self, c1, c2, initiator):
        self.c1, self.c2 = c1, c2
        self.send = c1 if initiator else c2
        self.recv = c2 if initiator else c1

    def encrypt(self, plaintext):
        if len(plaintext) + TAGLEN > MAX_MSG:
            raise NoiseError("too large")
        return self.send.encrypt_with_ad(b"", plaintext)

    def decrypt(self, ciphertext):
        if len(ciphertext) > MAX_MSG:
            raise NoiseError("too large")
        if len(ciphertext) < TAGLEN:
            raise NoiseError("truncated")
        return self.recv.decrypt_with_ad(b"", ciphertext)


class HandshakeState:
    """Initialize(), WriteMessage(), ReadMessage() of section 5.3.

    s, e: KeyPair (e None: a fresh one when needed); rs: 65 bytes or None.
    s_on_wire lets a test send another public key in the `s` token.
    """

    def __init__(self, pattern, initiator, s, rs=None, psk=None,
                 prologue=None, e=None, dh=P256):
        pre_i, pre_r, self.messages = PATTERNS[pattern]
        self.dh = dh
        self.name = ("Noise_%s_%s_AESGCM_SHA256" % (pattern,
                                                    dh.name)).encode()
        self.initiator = initiator
        self.psk_mode = "psk" in pattern
        self.s, self.e, self.rs, self.re = s, e, rs, None
        self.psk = psk
        self.s_on_wire = None
        self.ss = SymmetricState(self.name)
        # (message number, step, h, ck) after each step, for the doc.
        self.trace = [(0, "name", self.ss.h, self.ss.ck)]
        self.ss.mix_hash(PROLOGUES.get(pattern, b"") if prologue is None
                         else prologue)
        self.trace.append((0, "prologue", self.ss.h, self.ss.ck))
        for who, keys in (("i", pre_i), ("r", pre_r)):
            for token in keys:
                assert token == "s"
                mine = (who == "i") == initiator
                self.ss.mix_hash(self.s.pub if mine else self.rs)
                self.trace.append((0, "pre " + who + " s", self.ss.h,
                                   self.ss.ck))
        self.index = 0
        self.transport = None

    def _note(self, token):
        self.trace.append((self.index + 1, token, self.ss.h, self.ss.ck))

    def _dh_token(self, token):
        dh = self.dh.dh
        if token == "ee":
            self.ss.mix_key(dh(self.e, self.re))
        elif token == "es":
            self.ss.mix_key(dh(self.e, self.rs) if self.initiator
                            else dh(self.s, self.re))
        elif token == "se":
            self.ss.mix_key(dh(self.s, self.re) if self.initiator
                            else dh(self.e, self.rs))
        elif token == "ss":
            self.ss.mix_key(dh(self.s, self.rs))
        elif token == "psk":
            self.ss.mix_key_and_hash(self.psk)
        else:
            raise AssertionError(token)

    def _turn_is_mine(self):
        return (self.index % 2 == 0) == self.initiator

    def _finish(self):
        self.index += 1
        if self.index == len(self.messages):
            c1, c2 = self.ss.split()
            self.transport = Transport(c1, c2, self.initiator)

    def write_message(self, payload):
        if self.index >= len(self.messages) or not self._turn_is_mine():
            raise NoiseError("not my turn")
        out = b""
        for token in self.messages[self.index]:
            if token == "e":
                if self.e is None:
                    self.e = self.dh.keypair()
                out += self.e.pub
                self.ss.mix_hash(self.e.pub)
                if self.psk_mode:
                    self.ss.mix_key(self.e.pub)
            elif token == "s":
                pub = self.s.pub if self.s_on_wire is None else self.s_on_wire
                out += self.ss.encrypt_and_hash(pub)
            else:
                self._dh_token(token)
            self._note(token)
        out += self.ss.encrypt_and_hash(payload)
        self._note("payload")
        if len(out) > MAX_MSG:
            raise NoiseError("too large")
        self._finish()
        return out

    def read_message(self, message):
        if self.index >= len(self.messages) or self._turn_is_mine():
            raise NoiseError("not my turn")
        if len(message) > MAX_MSG:
            raise NoiseError("too large")
        rest = bytes(message)
        for token in self.messages[self.index]:
            if token == "e":
                n = self.dh.publen
                if len(rest) < n:
                    raise NoiseError("truncated")
                self.re, rest = rest[:n], rest[n:]
                self.dh.check(self.re)
                self.ss.mix_hash(self.re)
                if self.psk_mode:
                    self.ss.mix_key(self.re)
            elif token == "s":
                n = self.dh.publen + (TAGLEN if self.ss.cs.has_key() else 0)
                if len(rest) < n:
                    raise NoiseError("truncated")
                rs = self.ss.decrypt_and_hash(rest[:n])
                rest = rest[n:]
                self.dh.check(rs)
                self.rs = rs
            else:
                self._dh_token(token)
            self._note(token)
        if self.ss.cs.has_key() and len(rest) < TAGLEN:
            raise NoiseError("truncated")
        payload = self.ss.decrypt_and_hash(rest)
        self._note("payload")
        self._finish()
        return payload

    def handshake_hash(self):
        return self.ss.h
