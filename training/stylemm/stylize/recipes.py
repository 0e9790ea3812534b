"""Named styles: recipes of style atoms with strengths, each with the English prompt it stands for.

The paper's six styles (disney, pixar-child, orc, baby, statue, neanderthal) and six more.
A recipe's shading atoms set the renderer's shading for the whole dataset (they are not varied
per image, so the trainer renders with exactly the same shading).
"""

from __future__ import annotations

from dataclasses import dataclass

from stylemm.stylize.atoms import ATOMS, SHADING, combined_shading


class UnknownStyle(KeyError):
    """A style name that no recipe has; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


@dataclass(frozen=True)
class Recipe:
    name: str
    prompt: str
    strengths: dict[str, float]  # atom name -> strength (1 is the atom's nominal effect)

    def __post_init__(self):
        unknown = sorted(set(self.strengths) - set(ATOMS))
        if unknown:
            raise ValueError(f"recipe '{self.name}' names unknown atoms {unknown}; known atoms: {list(ATOMS)}")
        bad = {k: v for k, v in self.strengths.items() if not 0 <= v <= 2}
        if bad:
            raise ValueError(f"recipe '{self.name}' has strengths outside [0, 2]: {bad}")

    @property
    def shading(self):
        """The stylemm.render.shading.Shading this recipe renders with."""
        return combined_shading(self.strengths)

    def varied_atoms(self) -> dict[str, float]:
        """The geometry and texture atoms (those that vary per image)."""
        return {k: v for k, v in self.strengths.items() if ATOMS[k].kind != SHADING}

    def to_dict(self) -> dict:
        return {"name": self.name, "prompt": self.prompt, "strengths": dict(self.strengths),
                "shading": self.shading.to_dict()}  # fmt: skip


_RECIPES = [
    Recipe("disney", "a Disney animated film character with big eyes, a small nose and smooth skin",
           {"big-eyes": 1.0, "button-nose": 0.8, "big-cranium": 0.4, "chubby-cheeks": 0.3, "airbrushed": 1.0,
            "flat-colours": 0.35, "toon-shading": 0.5}),  # fmt: skip
    Recipe("pixar-child", "a Pixar 3D animated child with huge eyes, chubby cheeks and a small chin",
           {"big-eyes": 1.4, "big-cranium": 0.9, "chubby-cheeks": 0.8, "button-nose": 0.9, "airbrushed": 1.0,
            "rosy-cheeks": 0.7, "matte": 0.6}),  # fmt: skip
    Recipe("orc", "a green orc with a broad heavy jaw, a heavy brow and a flat nose",
           {"green-skin": 1.0, "heavy-jaw": 1.2, "brow-ridge": 1.1, "flat-wide-nose": 1.0, "muzzle": 0.8,
            "small-eyes": 0.7, "pointed-ears": 0.6, "warts": 0.6, "dark-eye-sockets": 0.4}),  # fmt: skip
    Recipe("baby", "a baby with a round chubby face, a tiny nose and rosy cheeks",
           {"chubby-cheeks": 0.6, "big-cranium": 1.2, "button-nose": 1.1, "big-eyes": 0.7, "rosy-cheeks": 0.9,
            "airbrushed": 1.0, "matte": 0.4}),  # fmt: skip
    Recipe("statue", "a classical stone statue", {"stone": 1.0, "airbrushed": 0.6, "matte": 1.0}),
    Recipe("neanderthal", "a neanderthal caveman with a heavy brow ridge, a sloping forehead and a wide nose",
           {"brow-ridge": 1.4, "sloped-forehead": 0.7, "flat-wide-nose": 1.0, "heavy-jaw": 0.9, "muzzle": 0.6,
            "small-eyes": 0.5}),  # fmt: skip
    Recipe("elf", "a fantasy elf with long pointed ears and a long narrow face",
           {"pointed-ears": 1.3, "long-face": 0.9, "big-eyes": 0.3, "airbrushed": 0.8, "glossy": 0.2}),
    Recipe("zombie", "a rotting zombie with grey skin, dark eye sockets and hollow cheeks",
           {"grey-blue-skin": 1.0, "dark-eye-sockets": 1.0, "gaunt-cheeks": 1.2, "warts": 0.7, "matte": 0.5}),
    Recipe("bronze-bust", "a bronze bust sculpture", {"bronze": 1.0, "glossy": 1.0, "airbrushed": 0.5, "brow-ridge": 0.3}),
    Recipe("goblin", "a green goblin with big pointed ears and a long nose",
           {"green-skin": 0.8, "pointed-ears": 1.5, "long-nose": 1.2, "wide-mouth": 0.8, "big-eyes": 0.4,
            "warts": 0.8, "gaunt-cheeks": 0.5}),  # fmt: skip
    Recipe("clay-toon", "a claymation character made of modelling clay",
           {"clay": 1.0, "flat-colours": 0.4, "toon-shading": 0.8, "wide-mouth": 0.8, "big-eyes": 0.5,
            "chubby-cheeks": 0.5, "flat-wide-nose": 0.4}),  # fmt: skip
    Recipe("alien", "a grey alien with a huge cranium, large eyes and a tiny chin",
           {"grey-blue-skin": 1.2, "big-cranium": 1.5, "big-eyes": 1.3, "button-nose": 1.0, "airbrushed": 1.0,
            "glossy": 0.4}),  # fmt: skip
]
RECIPES: dict[str, Recipe] = {r.name: r for r in _RECIPES}


def list_styles() -> list[str]:
    return list(RECIPES)


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise UnknownStyle(f"unknown style '{name}'; known styles: {', '.join(RECIPES)} (or use a free prompt)")
    return RECIPES[name]
