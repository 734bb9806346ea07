"""Stage 1 features: hashed word 1-2 grams, skip-bigrams and character 3-5 grams of the normalised text.

The text is first reduced to a *feature text*: URLs become ``zzurlzz`` plus their host's words,
@mentions become ``zzuserzz``, e-mail addresses ``zzemailzz``, phone numbers ``zzphonezz``, a
street address's number-and-street-type shape adds ``zzaddrzz``, and every remaining digit becomes
``0`` (so "42 Maple Street" and "17 Oak Street" look alike). Tokens are words and single
punctuation or emoji characters, joined by single spaces.

Every n-gram is hashed with a polynomial hash modulo 2**64 computed for all n-grams at once in
numpy (prefix sums of ``c_k · R**k``, then multiplication by ``R**-a``), finalised with the
splitmix64 mixer. The top ``bits`` bits choose the bucket and one low bit the sign, so colliding
n-grams tend to cancel instead of adding up. Word and character n-grams use different salts.

``hashed_features`` returns the bucket indices and signed values of one post with the values
scaled to unit length (character n-grams weighted by ``CHAR_WEIGHT``); the same function serves
training and inference, so they cannot drift.
"""

from __future__ import annotations

import re

import numpy as np

MAX_FEATURE_CHARS = 4000  # longer posts are scored on their first 4,000 normalised characters
FEATURES_VERSION = 3  # bump whenever the features change: a model records the version it was trained with
CHAR_NGRAMS = (3, 4, 5)
CHAR_WEIGHT = 0.5  # chosen on the validation split (small differences between 0.3 and 1)

_URL = re.compile(r"(?:https?://|www\.)([^\s/?#]+)\S*")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]*\w")  # look-behind: linear on long runs
_MENTION = re.compile(r"(?<![\w@])@\w+(?:@[\w-]+(?:\.[\w-]+)+)?")
# Phone numbers: 7+ digits with the usual separators, optionally a +country prefix.
_PHONE = re.compile(
    r"(?<![\w.])(?:\+?\d{1,3}[ .\-]?)?(?:\(\d{2,4}\)[ .\-]?)?\d{2,4}[ .\-]\d{3,4}(?:[ .\-]\d{2,4})?(?![\w.])|(?<!\w)\d{10,12}(?!\w)"
)
_STREET = re.compile(
    r"\b\d{1,5}[a-z]? (?:[a-z]+ ){1,3}(?:st|street|ave|avenue|rd|road|ln|lane|dr|drive|blvd|boulevard|ct|court|way|pl|place|terrace|close|crescent|cres)\b"
)
_DIGIT = re.compile(r"\d")
_TOKEN = re.compile(r"[a-z0-9_]+|[^\sa-z0-9_]")

_MASK64 = (1 << 64) - 1
_R = 0x100000001B3  # odd, so invertible modulo 2**64
_R_INV = pow(_R, -1, 1 << 64)
_POW = np.empty(MAX_FEATURE_CHARS + 64, dtype=np.uint64)
_INV_POW = np.empty(MAX_FEATURE_CHARS + 64, dtype=np.uint64)
_p, _q = 1, 1
for _i in range(len(_POW)):
    _POW[_i], _INV_POW[_i] = _p, _q
    _p, _q = (_p * _R) & _MASK64, (_q * _R_INV) & _MASK64

_SALT_CHAR = np.uint64(0x9E3779B97F4A7C15)
_SALT_WORD = np.uint64(0xC2B2AE3D27D4EB4F)
_SALT_BIGRAM = np.uint64(0x165667B19E3779F9)
_SALT_SKIP = np.uint64(0x27D4EB2F165667C5)
_SKIP_MULT = np.uint64(0x9FB21C651E98DF25)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_ONE = np.uint64(1)


def feature_text(normalised: str) -> str:
    """The token string the hashed n-grams are taken from (see the module docstring)."""
    text = normalised
    if "@" in text:
        text = _EMAIL.sub(" zzemailzz ", text)
        text = _MENTION.sub(" zzuserzz ", text)
    if "http" in text or "www." in text:
        text = _URL.sub(lambda m: " zzurlzz " + m.group(1).replace(".", " ") + " ", text)
    if _DIGIT.search(text):
        text = _PHONE.sub(" zzphonezz ", text)
        text = _STREET.sub(lambda m: m.group(0) + " zzaddrzz ", text)
        text = _DIGIT.sub("0", text)
    return " ".join(_TOKEN.findall(text[:MAX_FEATURE_CHARS]))[:MAX_FEATURE_CHARS]


def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _S30)
    h = h * _M1
    h = h ^ (h >> _S27)
    h = h * _M2
    return h ^ (h >> _S31)


def substring_hashes(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Polynomial hashes (mod 2**64) of ``text[starts[i]:ends[i]]`` for the code points ``codes``."""
    prefix = np.zeros(len(codes) + 1, dtype=np.uint64)
    np.cumsum(codes * _POW[: len(codes)], out=prefix[1:])
    return (prefix[ends] - prefix[starts]) * _INV_POW[starts]


def text_codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def raw_hashes(ftext: str) -> tuple[np.ndarray, int]:
    """Salted, unmixed 64-bit hashes of every n-gram of a feature text, character n-grams first,
    and how many of them are character n-grams."""
    padded = f" {ftext} "
    codes = text_codes(padded)
    n = len(codes)
    pieces = []
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(codes * _POW[:n], out=prefix[1:])
    for k in CHAR_NGRAMS:
        if n >= k:
            starts = np.arange(n - k + 1)
            pieces.append(((prefix[starts + k] - prefix[starts]) * _INV_POW[starts]) ^ _SALT_CHAR)
    n_char = sum(len(p) for p in pieces)
    # Word boundaries: tokens are separated by exactly one space in the padded text.
    spaces = np.flatnonzero(codes == 32)
    if len(spaces) >= 2:
        w_start = spaces[:-1] + 1
        w_end = spaces[1:]
        words = (prefix[w_end] - prefix[w_start]) * _INV_POW[w_start]
        pieces.append(words ^ _SALT_WORD)
        if len(w_start) >= 2:
            b_start, b_end = w_start[:-1], w_end[1:]
            pieces.append(((prefix[b_end] - prefix[b_start]) * _INV_POW[b_start]) ^ _SALT_BIGRAM)
        if len(w_start) >= 3:
            # Skip-bigrams (w_i, w_i+2): "kill ... you" whatever word sits between.
            pieces.append((words[:-2] * _SKIP_MULT + words[2:]) ^ _SALT_SKIP)
    if not pieces:
        return np.zeros(0, dtype=np.uint64), 0
    return np.concatenate(pieces), n_char


def hashed_features(normalised: str, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket indices (int64) and signed values (float32, unit length) of one normalised post."""
    raw, n_char = raw_hashes(feature_text(normalised))
    h = _mix(raw)
    if len(h) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx = (h >> np.uint64(64 - bits)).astype(np.int64)
    values = (h & _ONE).astype(np.float32) * 2.0 - 1.0
    # Character n-grams outnumber word features about 4 to 1; CHAR_WEIGHT keeps words audible.
    values[:n_char] *= np.float32(CHAR_WEIGHT)
    norm = np.sqrt(n_char * CHAR_WEIGHT**2 + (len(h) - n_char))
    return idx, values / np.float32(norm)


def feature_config() -> dict[str, object]:
    """What a model must have been trained with to be scored by this code."""
    return {
        "version": FEATURES_VERSION,
        "char_ngrams": list(CHAR_NGRAMS),
        "char_weight": CHAR_WEIGHT,
        "max_chars": MAX_FEATURE_CHARS,
    }
