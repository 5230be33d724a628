"""flows/dedupe/minhash.py: folding, signatures, LSH keys (pure numpy, no warehouse)."""
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from opencc import OpenCC

from flows.dedupe.minhash import (MinHasher, MinHashParams, batch_candidate_pairs, exact_jaccard, fold,
                           fold_many, fold_str, jaccard_estimate, naive_signature, split_folded, text_hash)
from flows.extract.normalise import clean_body, strip_pinyin
from flows.extract.script import to_simplified
from mirror.build import annotate

DOCS = Path(__file__).resolve().parent / "data" / "dedupe" / "docs.jsonl"


@pytest.fixture(scope="module")
def texts():
    with DOCS.open(encoding="utf-8") as f:
        return [json.loads(line)["text_simplified"] for line in f]


def test_fold_keeps_letters_and_digits_and_drops_annotation():
    assert fold_str("２０２５年，推动“双碳”！\n\n第二段　文字") == "2025年推动双碳第二段文字"
    # Han-dominant text: a left-over pinyin group or a spaced-letter watermark is not content
    body = "山東將加強與太平洋島國合作，打造國際零碳島，推動(dòng)成立 t a np ai fan g.com 國際零碳島嶼聯盟。"
    assert fold_str(body) == "山東將加強與太平洋島國合作打造國際零碳島推動成立國際零碳島嶼聯盟"
    assert fold_str("COP16 and PM2.5") == "cop16andpm25"          # Latin text keeps its letters
    assert fold_str("") == "" and fold_str(None) == ""
    assert fold_str("𠀀中文") == "𠀀中文"                              # CJK extension B kept


def test_traditional_pinyin_copy_folds_like_the_original():
    original = "山东将加强与太平洋岛国合作,打造国际零碳岛,推动成立国际零碳岛屿联盟。"
    farm = annotate(OpenCC("s2t").convert(original))               # 推動(dòng) ...
    assert "(dòng)" in farm
    stored = to_simplified(clean_body(strip_pinyin(farm)))         # what the pipeline keeps
    assert fold_str(stored) == fold_str(original)


def test_fold_many_equals_fold_one_by_one(texts):
    sample = texts[:40] + ["", None, "abc", "ｆｕｌｌ"]
    codes, lengths = fold_many(sample)
    for part, t in zip(split_folded(codes, lengths), sample):
        assert np.array_equal(part, fold(t))
    assert text_hash(fold("一样的文字。")) == text_hash(fold("一样的 文字"))


def test_batch_signatures_equal_one_at_a_time_and_are_deterministic(texts):
    h = MinHasher()
    batch = h.sign(texts[:60] + ["短", ""]).signatures
    single = np.stack([h.sign([t]).signatures[0] for t in texts[:60] + ["短", ""]])
    assert np.array_equal(batch, single)
    assert np.array_equal(MinHasher().sign(texts[:5]).signatures, batch[:5])
    assert (batch[-1] == np.iinfo(np.uint32).max).all()             # empty text: no shingle
    other = MinHasher(MinHashParams(seed=1)).sign(texts[:5]).signatures
    assert not np.array_equal(other, batch[:5])


def test_estimate_tracks_exact_jaccard(texts):
    h = MinHasher()
    sig = h.sign(texts[:80]).signatures
    errs = []
    for i, j in itertools.combinations(range(80), 2):
        jac = exact_jaccard(texts[i], texts[j])
        if jac > 0.05:
            errs.append(float(jaccard_estimate(sig[i], sig[j])) - jac)
    errs = np.array(errs)
    assert len(errs) > 100
    assert abs(errs.mean()) < 0.01                                  # unbiased
    assert np.sqrt((errs ** 2).mean()) < 0.045                     # ~ sqrt(J(1-J)/128)


def test_naive_loop_estimates_the_same_similarity(texts):
    a, b = texts[0], texts[0][:len(texts[0]) * 3 // 4] + "编辑：李华"
    fast = MinHasher().sign([a, b]).signatures
    naive = [naive_signature(a), naive_signature(b)]
    jac = exact_jaccard(a, b)
    assert abs(float(jaccard_estimate(*fast)) - jac) < 0.15
    assert abs(float(jaccard_estimate(*naive)) - jac) < 0.15


def test_band_keys_and_candidate_probability():
    p = MinHashParams()
    h = MinHasher(p)
    sig = h.sign(["生态环境厅召开专题会议研究部署大气污染防治工作"] * 2 + ["完全不同的另一篇文章内容在这里"]).signatures
    keys = h.band_keys(sig)
    assert keys.shape == (3, p.bands) and keys.dtype == np.int64
    assert (keys[0] == keys[1]).all() and not (keys[0] == keys[2]).any()
    assert p.candidate_probability(p.threshold) > 0.999
    assert p.candidate_probability(0.1) < 0.01
    with pytest.raises(ValueError):
        MinHashParams(bands=40, rows=4)


def test_batch_candidate_pairs_match_brute_force_and_connect_big_buckets():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 25, size=(150, 4))
    got = set(map(tuple, batch_candidate_pairs(keys, max_group=1000).tolist()))
    want = {(i, j) for i, j in itertools.combinations(range(150), 2) if (keys[i] == keys[j]).any()}
    assert got == want
    # 400 copies of one text share every bucket: capped pairing still connects all of them
    keys = np.zeros((400, 3), dtype=np.int64)
    pairs = batch_candidate_pairs(keys)
    assert len(pairs) < 400 * 40
    parent = list(range(400))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b in pairs.tolist():
        parent[find(a)] = find(b)
    assert len({find(i) for i in range(400)}) == 1
