"""Language detection that is right on Chinese, deterministic everywhere.

langdetect alone calls short Chinese text Korean or Japanese and splits Chinese into zh-cn /
zh-tw by script, so the decision is made in this order:

1. count writing systems in a sample of the text: Han characters, kana, hangul syllables and
   words of alphabetic scripts (Latin, Cyrillic, Greek, Arabic ...), one unit each;
2. kana (>= 5% of the units) means Japanese, hangul (>= 5%) Korean: Chinese text has neither,
   and Japanese / Korean text that is mostly Han characters is still caught;
3. Han characters making up >= 50% of the units means Chinese, 'zh': the script (simplified /
   traditional) is a separate field (flows.extract.script.detect_script), never part of the language;
4. anything else goes to langdetect, with its own factory and a fixed seed, so the same text
   always gets the same answer whatever else the process has done with langdetect. Its zh-cn /
   zh-tw answers are folded into 'zh'.

Text with nothing to go on (empty, digits, punctuation) is None, which the tags record as 'und'.
Only step 4 costs anything (langdetect runs ~2 ms on 500 characters); steps 1-3 are two regex
passes over at most 2,000 characters.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

SAMPLE = 2000            # characters looked at for the script census
LANGDETECT_SAMPLE = 500  # characters given to langdetect (its cost grows with length)
HAN_SHARE = 0.5          # Han characters / all units at or above which the text is Chinese
KANA_SHARE = 0.05
HANGUL_SHARE = 0.05
SEED = 0

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_KANA = re.compile("[\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL = re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
# one run of letters of an alphabetic (or abugida) script counts as one unit, like one Han character
_WORD = re.compile("[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u0590-\u05ff\u0600-\u06ff"
                   "\u0900-\u097f\u0e00-\u0e7f\u1e00-\u1eff]+")


@dataclass(frozen=True)
class Detection:
    language: str | None     # 'zh', an ISO 639-1 code from langdetect, or None
    confidence: float        # share of the deciding script, or langdetect's probability
    han_share: float         # Han characters / all units in the sample
    method: str              # 'han' | 'kana' | 'hangul' | 'langdetect' | 'none'


@functools.lru_cache(maxsize=1)
def _factory():
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.seed = SEED      # per-instance: the module-level langdetect.detect() stays untouched
    return factory


def census(text: str) -> tuple[int, int, int, int]:
    """(Han characters, kana, hangul, alphabetic words) in the first SAMPLE characters."""
    sample = (text or "")[:SAMPLE]
    return (len(_HAN.findall(sample)), len(_KANA.findall(sample)), len(_HANGUL.findall(sample)),
            len(_WORD.findall(sample)))


def detect(text: str | None) -> Detection:
    han, kana, hangul, words = census(text or "")
    units = han + kana + hangul + words
    if units == 0:
        return Detection(None, 0.0, 0.0, "none")
    han_share = han / units
    if kana / units >= KANA_SHARE:
        return Detection("ja", round((kana + han) / units, 3), round(han_share, 3), "kana")
    if hangul / units >= HANGUL_SHARE:
        return Detection("ko", round((hangul + han) / units, 3), round(han_share, 3), "hangul")
    if han_share >= HAN_SHARE:
        return Detection("zh", round(han_share, 3), round(han_share, 3), "han")
    try:
        from langdetect.lang_detect_exception import LangDetectException
        detector = _factory().create()
        detector.append(text[:LANGDETECT_SAMPLE])
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):  # no usable features: unknown is honest
        return Detection(None, 0.0, round(han_share, 3), "none")
    lang = "zh" if best.lang.startswith("zh") else best.lang
    return Detection(lang, round(best.prob, 3), round(han_share, 3), "langdetect")


def detect_language(text: str | None) -> str | None:
    """Drop-in for flows.process.detect_language: 'zh', another ISO 639-1 code, or None."""
    return detect(text).language


def bcp47(language: str | None, script: str | None) -> str:
    """'zh' + 'simplified' -> 'zh-Hans', + 'traditional' -> 'zh-Hant'; None -> 'und'."""
    if not language:
        return "und"
    if language == "zh" and script in ("simplified", "traditional"):
        return "zh-Hans" if script == "simplified" else "zh-Hant"
    return language
