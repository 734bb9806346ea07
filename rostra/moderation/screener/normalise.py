# ruff: noqa: RUF001, RUF002, RUF003 - this module is about look-alike characters: its tables and examples must contain them
"""Stage 0, part 1: undo the tricks people use to slip words past a filter.

``normalise(text)`` returns lower-case text in which, in this order:

1. HTML entities are decoded and Unicode is NFKC-folded (fullwidth ``ｋｉｌｌ``, mathematical
   ``𝐤𝐢𝐥𝐥``, circled and superscript letters become plain letters);
2. invisible characters (zero-width spaces and joiners, bidi controls, soft hyphens, tag
   characters, variation selectors) and combining marks (accents, "Zalgo" stacks) are removed;
3. look-alike letters from other alphabets (Cyrillic ``к``, Greek ``ο``, small capitals ``ᴋ``,
   regional-indicator letters) become Latin — for the whole text when it is mostly Latin, and
   inside mixed-script words otherwise, so a genuinely Russian or Greek post is left readable;
4. letters spaced or dotted out (``k i l l``, ``k.i.l.l``, ``k-i-l-l``) are joined, and
   punctuation inside a word (``ki.ll``, ``sh*t``, apostrophes) is dropped;
5. leetspeak inside words is decoded (``4→a 3→e 1→i 0→o 5→s 7→t @→a $→s``, and ``!``/``|``
   between letters), while numbers, ordinals, times and trailing digits (``covid19``) are left
   alone so phone numbers and addresses survive;
6. runs of three or more of a letter are squeezed (``kiiiill → kill``, ``sooo → so``), keeping a
   double letter when that makes a common word (``goooood → good``, not ``god``).

URLs, e-mail addresses and @mentions are protected from steps 4–6. The function is pure and
fast: ASCII text skips the Unicode passes, and each step is a single regular-expression pass with
no backtracking hazards (every pattern here is ours and bounded).
"""

from __future__ import annotations

import html
import re
import unicodedata

# --- step 2: invisible characters -------------------------------------------------------------

# Format characters (category Cf) cover most zero-width and bidi controls; these are the
# invisible ones that are not Cf.
_EXTRA_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180e\u3164\uffa0\u2800")
_STRIP_CATEGORIES = frozenset({"Cf", "Mn", "Me"})

# --- step 3: look-alikes ----------------------------------------------------------------------

_CYRILLIC = "аaвbеeкkмmнhоoрpсcтtуyхxіiјjѕsԁdһhӏlԛqԝwьbгrпn"
_GREEK = "αaβbεeηnιiκkνvοoρpτtυuχxωwγyμuϲcϳjσo"
_SMALL_CAPS = "ᴀaʙbᴄcᴅdᴇeғfɢgʜhɪiᴊjᴋkʟlᴍmɴnᴏoᴘpǫqʀrꜱsᴛtᴜuᴠvᴡwʏyᴢz"


def _pairs(s: str) -> dict[int, str]:
    return {ord(s[i]): s[i + 1] for i in range(0, len(s), 2)}


# Small capitals and regional indicators are letters of no script of their own: always folded.
_ALWAYS: dict[int, str] = _pairs(_SMALL_CAPS)
_ALWAYS.update({0x1F1E6 + i: chr(ord("a") + i) for i in range(26)})
_CONFUSABLES: dict[int, str] = {}
for _table in (_CYRILLIC, _GREEK):
    _CONFUSABLES.update(_pairs(_table))
# Upper-case look-alikes fold through .lower() first, so only lower case is listed; a few
# upper-case ones have no lower-case twin that looks the same.
_CONFUSABLES.update({ord("Н"): "h", ord("В"): "b", ord("М"): "m", ord("Т"): "t", ord("К"): "k", ord("Ι"): "i"})
_CONFUSABLE_CHARS = frozenset(chr(c) for c in _CONFUSABLES)

# --- steps 4–6 ----------------------------------------------------------------------------------

# URLs, e-mail addresses and mentions are kept as they are.
# Every pattern that starts with a repeated class also refuses to start inside a run of that class
# (the look-behind), so a failed match costs at most the length of one run: linear overall.
_PROTECTED = re.compile(r"(https?://\S+|www\.\S+|(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]*\w|(?<![\w@])@\w+(?:@[\w-]+(?:\.[\w-]+)+)?)")
# Three or more single characters separated by the same separator: "k i l l", "k.i.l.l".
_SPACED = re.compile(r"(?<![\w@$])([a-z0-9@$])(?P<sep>[ .\-_*~•·|+,/\\])[a-z0-9@$](?:(?P=sep)[a-z0-9@$])+(?![\w@$])")
_SPACED_SEPARATORS = re.compile(r"[ .\-_*~•·|+,/\\]")
# Punctuation inside a word: "ki.ll", "sh*t", "don't", "self-harm".
_INWORD = re.compile(r"(?<![a-z0-9@$])[a-z0-9@$]+(?:['’.*_~\-]+[a-z0-9@$]+)+")
_INWORD_SPLIT = re.compile(r"(['’.*_~\-]+)")
_WORDISH = re.compile(r"(?<![a-z0-9@$])[a-z0-9@$]+(?:[!|][a-z0-9@$]+)*")
_LEET = str.maketrans({"4": "a", "3": "e", "1": "i", "0": "o", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"})
_LEET_CHARS = frozenset("4310571@$!|")
# Numbers with units or ordinal suffixes are numbers, not leetspeak.
# Trailing digits (covid19, user123) stay digits, except a run of 1s, which is "ll" (ki11).
_NUMERIC_WORD = re.compile(
    r"\d+(?:st|nd|rd|th|s|am|pm|k|m|b|x|p|d|g|h|kg|km|mm|cm|ml|mb|gb|tb|hz|fps|mph|yo|ft|in|lb|lbs|min|hr|hrs)?"
    r"|[a-z]+(?!1+$)\d{2,}|[a-z]{1,3}[02-9]"
)
_LEET_L = str.maketrans({"1": "l"})
_RUN = re.compile(r"([a-z])\1{2,}")
_PUNCT_RUN = re.compile(r"([^\w\s])\1{3,}")
_SPACES = re.compile(r"\s+")

# Common words spelled with a double letter, so that squeezing "goooood" gives "good".
_DOUBLE_LETTER_WORDS = frozenset(
    """
    all ball call fall hall mall small tall wall stall install still will ill kill skill fill hill
    bill mill pill spill chill thrill till well bell hell sell tell fell shell smell spell yell dull
    full pull bull doll troll roll scroll toll poll good food mood cool pool fool tool school too
    zoo boo moo goo book look cook took hook room soon moon noon door floor poor blood flood wood
    hood foot boot shoot loot root proof roof see bee fee tee free tree three agree need feed seed
    weed deed feel heel peel reel wheel keep deep sleep sheep weep creep steep week seek cheek meet
    feet sweet street sheet greet queen green seen teen between beer cheer deer peer steer career
    coffee miss kiss boss loss moss toss pass mass class glass grass less mess bless dress press
    stress guess chess ass bass lass yes off staff stuff cliff sniff bluff puff tough buff cuff huff
    riff add odd egg inn butt mutt putt buzz fuzz jazz fizz happy sorry pretty really little better
    letter bitter butter matter latter shutter glitter hello yellow follow hollow pillow fellow
    mellow jelly silly belly kitty bunny funny sunny daddy mommy buddy muddy teddy dinner winner
    summer hammer sitter twitter killer kills killed killing shooter shooting shot hurry worry carry
    marry berry cherry merry tattoo balloon bottle battle cattle settle kettle little middle riddle
    puzzle apple supper upper hopper coffee toffee committee attack attacks attacked attacking
    attacker
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def normalise(text: str) -> str:
    """Return the lower-case, de-obfuscated form of ``text`` that stage 0 rules and stage 1 see."""
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = _fold_unicode(text)
    text = text.lower()
    parts = _PROTECTED.split(text)
    # re.split with one capturing group alternates: plain, protected, plain, ...
    for i in range(0, len(parts), 2):
        if parts[i]:
            parts[i] = _deobfuscate(parts[i])
    return _SPACES.sub(" ", "".join(parts)).strip()


def _fold_unicode(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    base_is_other_script = False
    marks_after_base = 0
    for ch in unicodedata.normalize("NFD", text):
        cat = unicodedata.category(ch)
        if cat in _STRIP_CATEGORIES or ch in _EXTRA_INVISIBLE:
            if cat == "Mn" and base_is_other_script and marks_after_base == 0:
                # A first mark on a non-Latin/Greek/Cyrillic letter (Devanagari vowel signs,
                # Japanese dakuten) carries meaning; stacks of marks are "Zalgo" and go.
                out.append(ch)
            marks_after_base += cat != "Cf"
            continue
        out.append(ch)
        base_is_other_script = ord(ch) >= 0x0530 and ch not in _CONFUSABLE_CHARS
        marks_after_base = 0
    text = unicodedata.normalize("NFC", "".join(out)).translate(_ALWAYS)
    if any(ch in _CONFUSABLE_CHARS for ch in text):
        text = _fold_confusables(text)
    return text


def _fold_confusables(text: str) -> str:
    latin = sum(1 for ch in text if "a" <= ch.lower() <= "z")
    letters = sum(1 for ch in text if ch.isalpha())
    if latin * 2 >= letters:
        return text.lower().translate(_CONFUSABLES)
    # Mostly another script: fold only words that mix Latin with look-alikes.
    words = text.lower().split(" ")
    return " ".join(w.translate(_CONFUSABLES) if any("a" <= c <= "z" for c in w) else w for w in words)


def _deobfuscate(text: str) -> str:
    text = _SPACED.sub(_join_spaced, text)
    text = _INWORD.sub(_join_inword, text)
    text = _WORDISH.sub(_unleet, text)
    if _RUN.search(text):
        text = _WORD_WITH_RUN.sub(_squeeze, text)
    return _PUNCT_RUN.sub("\\1\\1\\1", text)


def _join_spaced(m: re.Match[str]) -> str:
    return _SPACED_SEPARATORS.sub("", m.group(0))


def _join_inword(m: re.Match[str]) -> str:
    parts = _INWORD_SPLIT.split(m.group(0))
    if all(p.isdigit() for p in parts[::2]):
        return m.group(0)  # 3.5, 10-12, 555-0143: numbers keep their punctuation
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        left, punct, right = parts[i - 1], parts[i], parts[i + 1]
        # Two real words joined by a hyphen or a missing space stay two words; a short piece
        # means letters were split up on purpose ("ki.ll", "sh*t") or an apostrophe ("don't").
        long_pieces = len(left) >= 3 and len(right) >= 3 and punct[0] in ".-_~"
        out.append(" " if long_pieces else "")
        out.append(right)
    return "".join(out)


def _unleet(m: re.Match[str]) -> str:
    word = m.group(0)
    if word.isalpha() or not any(c in _LEET_CHARS for c in word):
        return word
    if not any(c.isalpha() for c in word) or _NUMERIC_WORD.fullmatch(word):
        return word
    decoded = word.translate(_LEET)
    if "ii" in decoded and "1" in word:
        # English barely has "ii": "ki11" and "ski11s" meant l, not i.
        decoded = word.translate(_LEET_L).translate(_LEET)
    return decoded


_WORD_WITH_RUN = re.compile(r"(?<![a-z])[a-z]*([a-z])\1{2,}[a-z]*")


def _squeeze(m: re.Match[str]) -> str:
    word = m.group(0)
    runs = [(r.start(), r.end(), r.group(1)) for r in _RUN.finditer(word)][:4]

    def build(doubled: set[int]) -> str:
        pieces, last = [], 0
        for j, (start, end, ch) in enumerate(runs):
            pieces.append(word[last:start])
            pieces.append(ch * (2 if j in doubled else 1))
            last = end
        pieces.append(word[last:])
        return "".join(pieces)

    single = build(set())
    if single in _DOUBLE_LETTER_WORDS:
        return single
    # Keep a double letter where that spells a common word: "goooood" is "good", not "god".
    for candidate in [build({k}) for k in range(len(runs))] + [build(set(range(len(runs))))]:
        if candidate in _DOUBLE_LETTER_WORDS:
            return candidate
    return single
