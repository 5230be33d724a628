"""MinHash signatures and LSH band keys over character shingles, batch-vectorised with numpy.

Pure functions over strings and arrays: no DuckDB, no Prefect. `flows/dedupe/batch.py` uses them
and `warehouse/clusters.py` stores what they produce.

Matching text. The simplified copy of the body (`text_simplified`) is folded to a sequence of
code points by one table lookup per character: NFKC (full-width digits and letters become
ASCII), lower case, and everything that is not a letter or a digit dropped (punctuation,
spaces, paragraph breaks). In Han-dominant text Latin letters are dropped too, so a
left-over pinyin annotation, a spaced-letter watermark or an URL does not count as content.
Exact duplicates share `text_hash` (blake2b of the folded text).

Signatures. Every window of `shingle` folded characters is hashed to 32 bits (a polynomial
over the code points with random 64-bit multipliers, then the murmur3 finaliser), for the
whole batch at once. Permutation i is h -> (a_i * h + b_i) mod 2**32 with a_i odd, a
bijection on 32-bit values; the signature is the minimum per permutation. The batch is one
concatenated array; each permutation is two vector operations and one `minimum.reduceat`,
so the Python loop runs `num_perm` times per batch rather than once per shingle.

LSH. The first `bands * rows` signature values are cut into `bands` bands of `rows` values;
each band is hashed to a signed 64-bit key (salted by the band number). Two texts become
candidates when any band key is equal; P(candidate) = 1 - (1 - J**rows) ** bands.
"""
from __future__ import annotations

import functools
import hashlib
import unicodedata
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

U32 = np.uint32
U64 = np.uint64
_M1 = U64(0xFF51AFD7ED558CCD)
_M2 = U64(0xC4CEB9FE1A85EC53)
_S33 = U64(33)


@dataclass(frozen=True)
class MinHashParams:
    """What a signature and a match depend on. Defaults measured in docs/dedupe.md."""

    shingle: int = 5          # characters per shingle
    num_perm: int = 128       # signature length
    bands: int = 32           # LSH bands ...
    rows: int = 4             # ... of this many values (bands * rows <= num_perm)
    threshold: float = 0.7    # Jaccard at or above which two texts are one story
    min_chars: int = 30       # folded texts shorter than this are never matched (singletons)
    seed: int = 20250715      # permutations and shingle hash multipliers

    def __post_init__(self):
        if self.shingle < 1 or self.num_perm < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("shingle, num_perm, bands and rows must be positive")
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")

    @property
    def signature_key(self) -> str:
        """Signatures made with the same key are comparable (threshold and bands are not in it)."""
        return f"v1-k{self.shingle}-p{self.num_perm}-s{self.seed}"

    @property
    def lsh_key(self) -> str:
        return f"{self.signature_key}-b{self.bands}r{self.rows}"

    def candidate_probability(self, jaccard: float) -> float:
        return 1.0 - (1.0 - jaccard ** self.rows) ** self.bands

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# folding text to matching code points

def _is_latin_letter(cp: int) -> bool:
    return (0x61 <= cp <= 0x7A) or (0xC0 <= cp <= 0x24F) or (0x1E00 <= cp <= 0x1EFF)


@functools.lru_cache(maxsize=1)
def _fold_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BMP code point -> folded code point (0 = drop) and the class of the folded character
    (0 dropped, 1 Han, 2 Latin letter, 3 other letter or digit); Han and Latin masks."""
    table = np.zeros(0x10000, dtype=np.uint16)
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        n = unicodedata.normalize("NFKC", chr(cp)).lower()
        if len(n) == 1 and n.isalnum() and ord(n) <= 0xFFFF:
            table[cp] = ord(n)
    han = np.zeros(0x10000, dtype=bool)
    han[0x3400:0xA000] = True
    han[0xF900:0xFB00] = True
    latin = np.zeros(0x10000, dtype=bool)
    for cp in range(0x10000):
        if _is_latin_letter(cp):
            latin[cp] = True
    cls = np.where(table == 0, 0, np.where(han[table], 1, np.where(latin[table], 2, 3))).astype(np.uint8)
    return table, cls, han, latin


def fold_many(texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Folded code points of many texts in one pass: the concatenation and each text's length."""
    table, cls, han, latin = _fold_table()
    texts = [t or "" for t in texts]
    n = len(texts)
    raw = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    joined = "".join(texts)
    if not joined:
        return np.zeros(0, dtype=U32), np.zeros(n, dtype=np.int64)
    units = np.frombuffer(joined.encode("utf-16-le", "surrogatepass"), dtype="<u2")
    if not ((units >= 0xD800) & (units <= 0xDFFF)).any():   # the usual case: all in the BMP
        out = table[units]
        c = cls[units]
    else:                               # supplementary planes (CJK extensions): kept as they are
        cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        big = cps > 0xFFFF
        small = np.where(big, 0, cps)
        out = np.where(big, cps, table[small].astype(U32))
        c = np.where(big, 1, cls[small]).astype(np.uint8)
    keep = c != 0
    doc = np.repeat(np.arange(n, dtype=np.int32), raw)
    n_keep = np.bincount(doc[keep], minlength=n)
    n_han = np.bincount(doc[c == 1], minlength=n)
    # Han-dominant text: Latin letters are annotation (pinyin, watermarks, URLs), not content
    dominant = n_han * 2 >= n_keep
    if dominant.any():
        keep &= ~((c == 2) & dominant[doc])
    return out[keep].astype(U32), np.bincount(doc[keep], minlength=n).astype(np.int64)


def fold(text: str | None) -> np.ndarray:
    """Folded code points of one text (see the module docstring)."""
    return fold_many([text])[0]


def split_folded(codes: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """The concatenation from fold_many as one array (view) per text."""
    bounds = np.cumsum(lengths)
    return np.split(codes, bounds[:-1]) if len(lengths) else []


def fold_str(text: str | None) -> str:
    """The folded text as a string (debugging, docs and tests)."""
    return fold(text).astype("<u4").tobytes().decode("utf-32-le")


def text_hash(folded: np.ndarray) -> str:
    """Exact-duplicate key: equal folded texts, equal hash."""
    return hashlib.blake2b(folded.astype("<u4", copy=False).tobytes(), digest_size=16).hexdigest()


# ---------------------------------------------------------------------------------------------
# hashing

def _fmix64(h: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser, in place."""
    h ^= h >> _S33
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


@dataclass(frozen=True)
class Signed:
    """A signed batch: one row per input text, in input order."""

    lengths: np.ndarray        # folded length per text (int64)
    text_hashes: list[str]
    signatures: np.ndarray     # (n, num_perm) uint32; rows of texts with no shingle are all 0xFFFFFFFF

    def __len__(self) -> int:
        return len(self.text_hashes)


class MinHasher:
    """Signs batches of texts; the same params and seed always give the same signatures."""

    def __init__(self, params: MinHashParams | None = None):
        self.params = p = params or MinHashParams()
        rng = np.random.default_rng(p.seed)
        self.shingle_mult = rng.integers(1, 2**63, size=p.shingle, dtype=np.int64).astype(U64) * U64(2) + U64(1)
        self.a = (rng.integers(0, 2**32, size=p.num_perm, dtype=np.int64).astype(U32) | U32(1))
        self.b = rng.integers(0, 2**32, size=p.num_perm, dtype=np.int64).astype(U32)
        self.row_mult = rng.integers(1, 2**63, size=p.rows, dtype=np.int64).astype(U64) * U64(2) + U64(1)
        self.band_salt = rng.integers(0, 2**63, size=p.bands, dtype=np.int64).astype(U64)

    # -- shingles ------------------------------------------------------------------------------
    def shingle_hashes(self, folded: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """All shingle hashes of a batch, concatenated, and the count per text."""
        lengths = np.fromiter((len(f) for f in folded), dtype=np.int64, count=len(folded))
        codes = np.concatenate(folded) if len(folded) else np.zeros(0, dtype=U32)
        return self.shingle_hashes_concat(codes, lengths)

    def shingle_hashes_concat(self, codes: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shingle hashes of concatenated folded texts (see fold_many) and the count per text.

        A text shorter than one shingle but not empty is one shingle (the whole text)."""
        k = self.params.shingle
        lengths = np.asarray(lengths, dtype=np.int64)
        counts = np.where(lengths >= k, lengths - k + 1, np.minimum(lengths, 1))
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, dtype=U32), counts
        # window hash at every position of the concatenation; windows crossing a text's end
        # are never selected below (the tail is padded with zeros)
        padded = np.concatenate([codes.astype(U64), np.zeros(k - 1, dtype=U64)])
        h = padded[:total] * self.shingle_mult[0]
        for j in range(1, k):
            h += padded[j:j + total] * self.shingle_mult[j]
        h += U64(k)
        _fmix64(h)
        starts = np.cumsum(lengths) - lengths
        out_starts = np.cumsum(counts) - counts
        src = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(starts - out_starts, counts)
        out = (h[src] >> U64(32)).astype(U32)
        for i in np.flatnonzero((lengths > 0) & (lengths < k)):   # whole-text shingle
            text = codes[starts[i]:starts[i] + lengths[i]]
            acc = (sum(int(c) * int(m) for c, m in zip(text, self.shingle_mult)) + int(lengths[i])) \
                & 0xFFFFFFFFFFFFFFFF
            out[out_starts[i]] = U32(int(_fmix64(np.array([acc], dtype=U64))[0]) >> 32)
        return out, counts

    # -- signatures ----------------------------------------------------------------------------
    def sign_folded(self, folded: Sequence[np.ndarray], chunk_shingles: int = 1 << 16) -> np.ndarray:
        """(n, num_perm) uint32 minimum per permutation; rows of empty texts are all-ones."""
        lengths = np.fromiter((len(f) for f in folded), dtype=np.int64, count=len(folded))
        codes = np.concatenate(folded) if len(folded) else np.zeros(0, dtype=U32)
        return self.sign_concat(codes, lengths, chunk_shingles)

    def sign_concat(self, codes: np.ndarray, lengths: np.ndarray, chunk_shingles: int = 1 << 16) -> np.ndarray:
        """Signatures of concatenated folded texts. Sub-batches of ~chunk_shingles shingles keep
        the working arrays in cache (measured: 64k is about twice as fast as 512k)."""
        lengths = np.asarray(lengths, dtype=np.int64)
        n, P = len(lengths), self.params.num_perm
        sig = np.full((n, P), np.iinfo(U32).max, dtype=U32)
        starts = np.cumsum(lengths) - lengths
        # sub-batch boundaries: greedy runs of texts up to chunk_shingles characters
        i = 0
        cum = np.cumsum(lengths)
        while i < n:
            base = cum[i] - lengths[i]
            j = int(np.searchsorted(cum, base + chunk_shingles, side="right"))
            j = max(j, i + 1)
            part = codes[starts[i]:starts[i] + int(lengths[i:j].sum())]
            hashes, counts = self.shingle_hashes_concat(part, lengths[i:j])
            nz = np.flatnonzero(counts > 0)
            if nz.size:
                offsets = (np.cumsum(counts) - counts)[nz]
                tmp = np.empty_like(hashes)
                mins = np.empty((P, nz.size), dtype=U32)
                for p in range(P):
                    np.multiply(hashes, self.a[p], out=tmp)
                    np.add(tmp, self.b[p], out=tmp)
                    np.minimum.reduceat(tmp, offsets, out=mins[p])
                sig[i + nz] = mins.T
            i = j
        return sig

    def sign(self, texts: Sequence[str | None]) -> Signed:
        codes, lengths = fold_many(texts)
        bounds = np.cumsum(lengths) - lengths
        return Signed(lengths=lengths,
                      text_hashes=[text_hash(codes[a:a + n]) for a, n in zip(bounds.tolist(), lengths.tolist())],
                      signatures=self.sign_concat(codes, lengths))

    # -- LSH -----------------------------------------------------------------------------------
    def band_keys(self, sig: np.ndarray) -> np.ndarray:
        """(n, bands) int64 keys: equal key in some band = LSH candidate."""
        p = self.params
        s = sig[:, :p.bands * p.rows].astype(U64).reshape(len(sig), p.bands, p.rows)
        h = np.broadcast_to(self.band_salt, (len(sig), p.bands)).copy()
        for r in range(p.rows):
            h += s[:, :, r] * self.row_mult[r]
            h = _fmix64(h)
        return h.view(np.int64)


def jaccard_estimate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of equal signature values, row by row (a, b: (n, P) or (P,))."""
    return (np.asarray(a) == np.asarray(b)).mean(axis=-1)


def pair_estimates(sigs_a: np.ndarray, rows_a: np.ndarray, sigs_b: np.ndarray, rows_b: np.ndarray,
                   chunk: int = 1 << 16) -> np.ndarray:
    """jaccard_estimate(sigs_a[rows_a], sigs_b[rows_b]), `chunk` pairs at a time: a batch of
    near-identical texts has millions of candidate pairs, whose gathered signatures would take
    gigabytes at once (2.5 GB for 20,000 templated pages); this takes ~70 MB."""
    out = np.empty(len(rows_a), dtype=np.float64)
    for s in range(0, len(rows_a), chunk):
        out[s:s + chunk] = jaccard_estimate(sigs_a[rows_a[s:s + chunk]], sigs_b[rows_b[s:s + chunk]])
    return out


def exact_jaccard(x: str, y: str, shingle: int = 5) -> float:
    """Jaccard of the folded shingle sets (for measurements and tests; slow)."""
    fx, fy = fold_str(x), fold_str(y)

    def sh(s):
        return {s[i:i + shingle] for i in range(max(len(s) - shingle + 1, 1))} if s else set()
    a, b = sh(fx), sh(fy)
    return len(a & b) / len(a | b) if a or b else 0.0


def batch_candidate_pairs(keys: np.ndarray, max_group: int = 64, anchors: int = 8) -> np.ndarray:
    """Pairs (i, j), i < j, of rows sharing a band key. A bucket of more than `max_group` rows
    (hundreds of copies of one text) pairs every row with the bucket's first `anchors` rows and
    its `anchors` predecessors instead of with all of them: enough to connect the cluster."""
    n, bands = keys.shape
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    flat = keys.reshape(-1)
    rows = np.repeat(np.arange(n, dtype=np.int64)[:, None], bands, axis=1).reshape(-1)
    band = np.tile(np.arange(bands, dtype=np.int64), n)
    order = np.lexsort((rows, flat, band))
    fk, fb, fr = flat[order], band[order], rows[order]
    new = np.ones(len(fk), dtype=bool)
    new[1:] = (fk[1:] != fk[:-1]) | (fb[1:] != fb[:-1])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(fk)))
    out = []
    # buckets of one size at a time: a (buckets, size) matrix of rows, all pairs by index
    for size in np.unique(sizes[(sizes > 1) & (sizes <= max_group)]):
        grp = starts[sizes == size]
        members = fr[grp[:, None] + np.arange(size)[None, :]]
        ii, jj = np.triu_indices(int(size), 1)
        out.append(np.stack([members[:, ii].reshape(-1), members[:, jj].reshape(-1)], axis=1))
    for s, size in zip(starts[sizes > max_group], sizes[sizes > max_group]):
        members = fr[s:s + size]
        idx = np.arange(size)
        ii = np.concatenate([np.minimum(idx[anchors:], a) for a in range(anchors)] +
                            [idx[d:] - d for d in range(1, anchors + 1)])
        jj = np.concatenate([idx[anchors:]] * anchors + [idx[d:] for d in range(1, anchors + 1)])
        out.append(np.stack([members[ii], members[jj]], axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs.sort(axis=1)
    return np.unique(pairs, axis=0)


# ---------------------------------------------------------------------------------------------
# the naive baseline (benchmark only)

def naive_signature(text: str, params: MinHashParams | None = None) -> np.ndarray:
    """What a MinHash fed shingle by shingle does (datasketch's `update` loop): per shingle, a
    SHA-1 to 32 bits, then the permutations (a*h + b) mod (2**61 - 1) over a numpy vector.
    Same idea and cost profile as datasketch 1.6 `MinHash.update`; not bit-compatible with
    `MinHasher` (different hash functions), which is why tests compare estimates, not bits."""
    p = params or MinHashParams()
    rng = np.random.RandomState(p.seed)
    prime, max_hash = (1 << 61) - 1, (1 << 32) - 1
    a = rng.randint(1, prime, size=p.num_perm, dtype=np.uint64)
    b = rng.randint(0, prime, size=p.num_perm, dtype=np.uint64)
    values = np.full(p.num_perm, max_hash, dtype=np.uint64)
    s = fold_str(text)
    k = p.shingle
    for i in range(max(len(s) - k + 1, 1 if s else 0)):
        hv = int.from_bytes(hashlib.sha1(s[i:i + k].encode("utf-8")).digest()[:4], "little")
        phv = np.bitwise_and((a * np.uint64(hv) + b) % np.uint64(prime), np.uint64(max_hash))
        values = np.minimum(phv, values)
    return values.astype(U32)
