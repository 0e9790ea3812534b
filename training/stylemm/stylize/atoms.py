"""Style atoms: a short English description plus one geometry, texture or shading effect.

Named styles (``recipes``) and free prompts (``prompt``) are both sets of atoms with
strengths in [0, ~1.5] (1 is the atom's nominal effect). ``bind_geometry(model)`` and
``TextureEffects(model, height, width)`` precompute everything that does not depend on the
face, so stylizing a batch is a few small tensor operations.

Geometry atoms deform the identity's NEUTRAL mesh, so expressions and the rig act on the
stylized head as on the source. They are made of three kinds of term, all identity-dependent:
  * ``Scale``: a part-masked scaling about the part's own centre in this identity;
  * ``Shift``: a part-masked translation in units of this identity's part size;
  * ``Target``: MakeHuman's own authored shape targets (OpenHead's source data), scaled by
    this identity's part size against the template's.
Each term's mask is 1 on its region of the model's part labels and fades smoothly
(Gaussian in the distance to the region on the template). Eyeballs are kept rigid: after the
terms, each eyeball becomes the similarity transform (move + uniform scale) that best follows
what the terms did to it, so it stays a sphere in its socket.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import cKDTree

GEOMETRY, TEXTURE, SHADING = "geometry", "texture", "shading"
RIGID_PARTS = ("left_eyeball", "right_eyeball")


# -- regions and geometry terms ----------------------------------------------------------
@dataclass(frozen=True)
class Region:
    """Vertices of some parts (optionally one side, a height band, or a ball around the core).

    core: parts whose centroid is the region's centre and whose RMS radius is its size;
    parts: the masked parts (default: the core); within: keep only vertices closer than this
    (metres, on the template) to the core centre; y_range: keep template heights in it;
    falloff: sigma (metres) of the Gaussian fade outside the region; sides: split into the
    subject's left (+x) and right (-x) halves, each with its own centre (eyes, ears, cheeks).
    """

    core: tuple[str, ...]
    parts: tuple[str, ...] = ()
    within: float | None = None
    y_range: tuple[float, float] = (-math.inf, math.inf)
    falloff: float = 0.01
    sides: bool = False


@dataclass(frozen=True)
class Scale:
    """Scale the region about its centre by ``factor`` (x, y, z) at strength 1."""

    region: Region
    factor: tuple[float, float, float]


@dataclass(frozen=True)
class Shift:
    """Move the region by ``offset`` (x outwards from the midline, y up, z forwards) in
    units of the region's size (its RMS radius) at strength 1."""

    region: Region
    offset: tuple[float, float, float]


@dataclass(frozen=True)
class Target:
    """MakeHuman targets ('folder/name' -> weight; 'l-'/'r-' pairs are listed both), scaled by
    the size of ``region`` in this identity over its size on the template."""

    weights: dict[str, float]
    region: Region


@dataclass(frozen=True)
class Atom:
    name: str
    description: str  # short English: what the prompt matcher compares against
    kind: str  # GEOMETRY, TEXTURE or SHADING
    synonyms: tuple[str, ...] = ()  # other ways to say it (the matcher takes the best)
    terms: tuple = ()  # geometry: Scale / Shift / Target
    effect: str = ""  # texture: the name of a TextureEffects method
    params: dict = field(default_factory=dict)  # texture: that method's options; shading: parameter changes

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.description, *self.synonyms)


# -- the catalogue -----------------------------------------------------------------------
EYES = Region(core=("left_eyeball", "right_eyeball"), parts=("left_eyeball", "right_eyeball", "eyes", "face"),
              within=0.0175, falloff=0.012, sides=True)  # fmt: skip
NOSE = Region(core=("nose",), falloff=0.008)
EARS = Region(core=("ears",), falloff=0.015, sides=True)
HEAD = Region(core=("scalp", "face", "eyes", "nose", "mouth", "ears"), falloff=0.02)
CHEEKS = Region(core=("face",), y_range=(-0.03, 0.03), falloff=0.01, sides=True)
LOWER_FACE = Region(core=("face", "mouth", "teeth", "tongue"), parts=("face", "mouth", "teeth", "tongue", "neck"),
                    y_range=(-0.2, -0.01), falloff=0.015)  # fmt: skip
CHIN = Region(core=("face", "mouth"), y_range=(-0.2, -0.045), falloff=0.012)
MOUTH = Region(core=("mouth",), parts=("mouth", "teeth", "tongue"), falloff=0.01)
CRANIUM = Region(core=("scalp", "face"), parts=("scalp", "face", "ears"), y_range=(0.07, 0.3), falloff=0.025)
BROW = Region(core=("face", "eyes"), y_range=(0.05, 0.07), falloff=0.012)

_GEOMETRY = [
    Atom("big-eyes", "large round eyes", GEOMETRY, ("big eyes", "huge cartoon eyes", "wide eyes"),
         terms=(Scale(EYES, (1.4, 1.4, 1.4)), Target({"eyes/l-eye-height2-incr": 0.8, "eyes/r-eye-height2-incr": 0.8}, EYES))),
    Atom("small-eyes", "small deep-set eyes", GEOMETRY, ("beady eyes", "narrow eyes"),
         terms=(Scale(EYES, (0.82, 0.82, 0.82)), Shift(EYES, (0.0, 0.0, -0.12)))),
    Atom("button-nose", "small button nose", GEOMETRY, ("tiny nose", "cute upturned nose"),
         terms=(Scale(NOSE, (0.72, 0.72, 0.62)), Target({"nose/nose-point-up": 0.6}, NOSE))),
    Atom("flat-wide-nose", "flat wide nose", GEOMETRY, ("broad flat nose", "pug nose", "snout"),
         terms=(Scale(NOSE, (1.45, 0.92, 0.7)), Target({"nose/nose-flaring-incr": 1.0, "nose/nose-nostrils-width-incr": 1.0}, NOSE))),
    Atom("long-nose", "long pointed nose", GEOMETRY, ("hooked nose", "big sharp nose"),
         terms=(Scale(NOSE, (0.9, 1.15, 1.6)), Target({"nose/nose-point-down": 0.8, "nose/nose-hump-incr": 0.6}, NOSE))),
    Atom("heavy-jaw", "broad heavy jaw", GEOMETRY, ("square jaw", "massive jaw", "strong chin"),
         terms=(Target({"chin/chin-width-incr": 1.0, "chin/chin-bones-incr": 1.0, "chin/chin-jaw-drop-incr": 0.6}, HEAD),
                Scale(LOWER_FACE, (1.22, 1.05, 1.06)))),
    Atom("muzzle", "protruding jaw and mouth", GEOMETRY, ("underbite", "prognathous jaw", "jutting muzzle"),
         terms=(Target({"chin/chin-prognathism-incr": 1.0, "mouth/mouth-trans-forward": 1.0, "mouth/mouth-scale-horiz-incr": 0.6}, HEAD),)),
    Atom("wide-mouth", "wide mouth with full lips", GEOMETRY, ("big mouth", "thick lips"),
         terms=(Scale(MOUTH, (1.25, 1.1, 1.05)), Target({"mouth/mouth-upperlip-volume-incr": 0.8, "mouth/mouth-lowerlip-volume-incr": 0.8}, MOUTH))),
    Atom("pointed-ears", "pointed ears", GEOMETRY, ("elf ears", "long pointy ears"),
         terms=(Target({"ears/l-ear-shape-pointed": 0.75, "ears/r-ear-shape-pointed": 0.75,
                        "ears/l-ear-scale-vert-incr": 0.5, "ears/r-ear-scale-vert-incr": 0.5}, EARS),  # fmt: skip
                Shift(EARS, (0.1, 0.25, -0.05)))),
    Atom("brow-ridge", "heavy brow ridge", GEOMETRY, ("thick protruding brow", "beetle brow", "caveman brow"),
         terms=(Target({"eyebrows/eyebrows-trans-forward": 0.9, "eyebrows/eyebrows-trans-down": 0.5}, HEAD),
                Shift(BROW, (0.0, -0.03, 0.1)))),
    Atom("sloped-forehead", "low sloping forehead", GEOMETRY, ("receding forehead", "flat skull"),
         terms=(Target({"forehead/forehead-trans-backward": 1.0, "forehead/forehead-scale-vert-decr": 0.4}, HEAD),)),
    Atom("chubby-cheeks", "chubby cheeks", GEOMETRY, ("round chubby face", "plump cheeks", "fat face"),
         terms=(Target({"cheek/l-cheek-volume-incr": 1.0, "cheek/r-cheek-volume-incr": 1.0, "head/head-fat-incr": 0.3,
                        "head/head-round": 0.5}, HEAD),)),  # fmt: skip
    Atom("gaunt-cheeks", "sunken gaunt cheeks", GEOMETRY, ("hollow cheeks", "skeletal face", "emaciated"),
         terms=(Target({"cheek/l-cheek-volume-decr": 1.0, "cheek/r-cheek-volume-decr": 1.0, "cheek/l-cheek-bones-incr": 1.0,
                        "cheek/r-cheek-bones-incr": 1.0, "head/head-fat-decr": 0.8}, HEAD),)),  # fmt: skip
    Atom("big-cranium", "big cranium, small chin", GEOMETRY, ("large head small chin", "huge forehead", "bulging skull"),
         terms=(Scale(CRANIUM, (1.12, 1.25, 1.1)), Scale(CHIN, (0.8, 0.72, 0.85)),
                Target({"chin/chin-height-decr": 0.8, "chin/chin-width-decr": 0.6}, HEAD))),
    Atom("long-face", "long narrow face", GEOMETRY, ("elongated face", "thin face", "narrow head"),
         terms=(Target({"head/head-scale-vert-incr": 0.8, "head/head-scale-horiz-decr": 0.6, "chin/chin-height-incr": 0.6,
                        "head/head-oval": 0.6}, HEAD),)),  # fmt: skip
]

_TEXTURE = [
    Atom("green-skin", "green skin", TEXTURE, ("green-skinned", "olive green complexion"),
         effect="tint", params={"colour": (0.36, 0.58, 0.22)}),
    Atom("grey-blue-skin", "grey-blue skin", TEXTURE, ("pale bluish grey skin", "ashen corpse skin", "blue skin"),
         effect="tint", params={"colour": (0.52, 0.6, 0.68)}),
    Atom("stone", "grey stone", TEXTURE, ("carved stone", "granite", "statue made of stone"),
         effect="material", params={"colour": (0.62, 0.6, 0.56), "detail": 0.35, "grain": 0.07, "eyes": 0.85}),
    Atom("bronze", "cast bronze", TEXTURE, ("bronze metal", "brass", "metallic copper"),
         effect="material", params={"colour": (0.6, 0.4, 0.2), "detail": 0.6, "grain": 0.05, "eyes": 0.9}),
    Atom("clay", "modelling clay", TEXTURE, ("plasticine", "terracotta", "claymation"),
         effect="material", params={"colour": (0.78, 0.5, 0.36), "detail": 0.3, "grain": 0.04, "eyes": 0.0, "blur": True}),
    Atom("marble", "white marble", TEXTURE, ("polished marble", "alabaster"),
         effect="material", params={"colour": (0.9, 0.89, 0.86), "detail": 0.25, "grain": 0.03, "eyes": 0.9, "veins": True}),
    Atom("airbrushed", "smooth airbrushed skin", TEXTURE, ("flawless smooth skin", "soft skin", "clean cartoon skin"),
         effect="airbrush"),
    Atom("rosy-cheeks", "rosy cheeks", TEXTURE, ("blushing red cheeks", "pink cheeks"), effect="rosy"),
    Atom("warts", "warts and spots", TEXTURE, ("blemished bumpy skin", "spotty skin", "pockmarks"), effect="spots"),
    Atom("flat-colours", "toon flat colours", TEXTURE, ("cartoon flat colors", "cel colours", "simple flat paint"), effect="flat"),
    Atom("dark-eye-sockets", "dark sunken eye sockets", TEXTURE, ("dark circles around the eyes", "tired bruised eyes"),
         effect="eye_shadow"),
]

_SHADING = [
    Atom("toon-shading", "toon shading", SHADING, ("cel shading", "cartoon render"), params={"toon": 1.0, "ambient": 0.15}),
    Atom("matte", "matte surface", SHADING, ("soft diffuse light", "dull unpolished"), params={"ambient": 0.2}),
    Atom("glossy", "glossy shiny surface", SHADING, ("polished", "shiny metal", "specular highlights"),
         params={"specular": 0.35}),
]

ATOMS: dict[str, Atom] = {atom.name: atom for atom in _GEOMETRY + _TEXTURE + _SHADING}
ATOM_NAMES = list(ATOMS)


def atoms_of(kind: str) -> list[str]:
    return [name for name, atom in ATOMS.items() if atom.kind == kind]


def get_atom(name: str) -> Atom:
    if name not in ATOMS:
        raise KeyError(f"unknown style atom '{name}'; known atoms: {ATOM_NAMES}")
    return ATOMS[name]


# -- geometry: bound to one model ----------------------------------------------------------
class GeometryAtoms:
    """The geometry atoms precomputed for one face model: ``delta(neutral, strengths)``.

    ``GeometryAtoms.of(model)`` builds them once per model object and reuses them.
    """

    _built: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, model) -> "GeometryAtoms":
        if model not in cls._built:
            cls._built[model] = cls(model)
        return cls._built[model]

    def __init__(self, model):
        self.names = atoms_of(GEOMETRY)
        self.model = model
        template = model.template.double()
        self._terms = [[_bind_term(term, model, template) for term in ATOMS[name].terms] for name in self.names]
        self._rigid = [torch.nonzero(model.part_mask(p))[:, 0] for p in RIGID_PARTS if p in model.part_names]

    def delta(self, neutral: torch.Tensor, strengths: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) displacement of the neutral meshes for (B, A) strengths (A = len(self.names))."""
        if strengths.shape != (len(neutral), len(self.names)):
            raise ValueError(f"strengths must be (B, {len(self.names)}) for the atoms {self.names}, got {tuple(strengths.shape)}")
        out = torch.zeros_like(neutral)
        for a, terms in enumerate(self._terms):
            s = strengths[:, a].to(neutral)
            if not bool((s != 0).any()):
                continue
            for term in terms:
                out = term(neutral, s, out)
        return self._keep_rigid(neutral, out)

    def _keep_rigid(self, neutral: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """Replace each eyeball's displacement by the move + uniform scale that best follows it."""
        for index in self._rigid:
            before = neutral[:, index]
            after = before + delta[:, index]
            c0, c1 = before.mean(1, keepdim=True), after.mean(1, keepdim=True)
            scale = ((after - c1).square().sum((1, 2)) / (before - c0).square().sum((1, 2))).sqrt()
            delta[:, index] = c1 + scale[:, None, None] * (before - c0) - before
        return delta


class _BoundTerm:
    """One term on one side: support vertices, their weights, the region's core."""

    def __init__(self, support, weights, core, template, effect):
        self.support, self.core = support, core
        self.weights = weights.float()[:, None]  # (S, 1)
        template_core = template[core]
        self.template_size = float((template_core - template_core.mean(0)).square().sum(-1).mean().sqrt())
        self.effect = effect  # ("scale", (3,)) | ("shift", (3,)) | ("offsets", (S, 3))

    def __call__(self, neutral, strength, out):
        core = neutral[:, self.core]
        centre = core.mean(1, keepdim=True)  # (B, 1, 3): this identity's part centre
        kind, value = self.effect
        s = strength[:, None, None]
        if kind == "scale":
            d = (value.to(neutral) - 1) * (neutral[:, self.support] - centre)
        else:
            size = (core - centre).square().sum(-1).mean(1).sqrt()[:, None, None]  # this identity's part size
            d = value.to(neutral) * (size if kind == "shift" else size / self.template_size)
        return out.index_add(1, self.support, s * self.weights.to(neutral) * d)


def _bind_term(term, model, template) -> _Sides:
    region = term.region
    bound = []
    for side in ((1, -1) if region.sides else (0,)):
        core = _select(model, template, region.core, region, side, use_within=False)
        if len(core) == 0:
            raise ValueError(f"region {region} is empty on model '{model.name}'")
        if isinstance(term, Target):
            offsets = target_offsets(model, tuple(sorted(term.weights.items())), side)
            support = torch.nonzero(offsets.norm(dim=-1) > 1e-7)[:, 0]
            # Authored targets carry their own smooth falloff: weight 1 where they act.
            bound.append(_BoundTerm(support, torch.ones(len(support)), core, template, ("offsets", offsets[support])))
            continue
        anchor = _select(model, template, region.parts or region.core, region, side, use_within=True)
        distance, _ = cKDTree(template[anchor].numpy()).query(template.numpy())
        weights = torch.exp(-0.5 * (torch.as_tensor(distance) / region.falloff) ** 2)
        support = torch.nonzero(weights > 1e-3)[:, 0]
        if isinstance(term, Scale):
            effect = ("scale", torch.tensor(term.factor, dtype=torch.float32))
        else:
            offset = torch.tensor(term.offset, dtype=torch.float32)
            offset[0] *= side or 1  # x is "outwards from the midline"
            effect = ("shift", offset)
        bound.append(_BoundTerm(support, weights[support], core, template, effect))
    return _Sides(bound)


class _Sides:
    def __init__(self, terms):
        self.terms = terms

    def __call__(self, neutral, strength, out):
        for term in self.terms:
            out = term(neutral, strength, out)
        return out


def _select(model, template, parts, region: Region, side: int, use_within: bool) -> torch.Tensor:
    mask = model.part_mask(*parts)
    y = template[:, 1]
    mask &= (y >= region.y_range[0]) & (y <= region.y_range[1])
    if side:
        mask &= template[:, 0] * side > 0
    if use_within and region.within is not None:
        core = _select(model, template, region.core, region, side, use_within=False)
        mask &= (template - template[core].mean(0)).norm(dim=-1) < region.within
        mask[core] = True
    return torch.nonzero(mask)[:, 0]


def target_offsets(model, weights: tuple[tuple[str, float], ...], side: int = 0) -> torch.Tensor:
    """(N, 3) float32 metres: the weighted sum of MakeHuman targets on the model's vertices.

    With side = +1 / -1 only the 'l-' / 'r-' targets (and unsided ones, halved per side) count,
    so a sided region gets its own side's target and its own size ratio.
    """
    if model.name != "openhead":
        raise ValueError(f"this atom uses MakeHuman shape targets, which only OpenHead has (model '{model.name}'); "
                         "use atoms made of Scale and Shift terms for other models")  # fmt: skip
    total = np.zeros((model.num_vertices, 3))
    for name, w in weights:
        sided = name.split("/")[1][:2] in ("l-", "r-")
        if side and sided and name.split("/")[1][:2] != ("l-" if side > 0 else "r-"):
            continue
        total += (w * (0.5 if side and not sided else 1.0)) * _target(name)
    return torch.as_tensor(total, dtype=torch.float32)


@lru_cache(maxsize=None)
def _target(name: str) -> np.ndarray:
    from stylemm.facemodel.openhead import DECIMETRES
    from stylemm.facemodel.openhead.assets import read_target

    data, vertices = _makehuman()
    folder, stem = name.split("/")
    paths = [p for p in data.target_paths(folder) if p.name.split(".target")[0] == stem]
    if not paths:
        raise ValueError(f"MakeHuman has no target '{name}' (in {data.root / 'mpfb2' / 'targets' / folder})")
    return read_target(paths[0], len(data.base_mesh.vertices))[vertices] * DECIMETRES


@lru_cache(maxsize=1)
def _makehuman():
    from stylemm.facemodel.openhead.assets import MakeHumanData
    from stylemm.facemodel.openhead.crop import crop_head

    data = MakeHumanData()
    return data, crop_head(data.base_mesh).source_vertices


# -- texture: bound to one model and texture size ---------------------------------------------
LUMA = torch.tensor([0.299, 0.587, 0.114])


class TextureEffects:
    """The texture atoms in one UV layout: ``apply(textures, strengths, generator)``.

    Every effect works on the identity's own texture (its luminance detail, lips and brows
    carry over), so eyes, lips and brows stay readable for landmark detectors.
    """

    ORDER = ("airbrush", "tint", "material", "flat", "rosy", "spots", "eye_shadow")
    _built: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, model, height: int, width: int) -> "TextureEffects":
        """Built once per model object and texture size, then reused."""
        sizes = cls._built.setdefault(model, {})
        if (height, width) not in sizes:
            sizes[height, width] = cls(model, height, width)
        return sizes[height, width]

    def __init__(self, model, height: int, width: int):
        from stylemm.textures import SkinTextures

        skin = SkinTextures(model, height, width)
        self.height, self.width = height, width
        m = skin.masks
        self.masks = m
        self.covered = skin.texels.covered.float()
        self.features = (m["lips"] + m["brows"]).clamp(max=1)
        self.plain_skin = m["skin"] * (1 - self.features)
        self.sclera = m["eyeball"] * (1 - m["iris"])
        # The procedural cheek mask stops at part borders; blurred over the skin it is one soft patch.
        cheeks = _masked_blur(m["cheeks"].clamp(max=1)[None, None], m["skin"], max(1, width // 100))[0, 0] * self.plain_skin
        self.cheeks = cheeks / cheeks.max().clamp(min=1e-6)
        eyeball_centres = [model.template[model.part_mask(p)].mean(0) for p in RIGID_PARTS if p in model.part_names]
        position = skin.texels.position
        gap = torch.stack([(position - c).norm(dim=-1) for c in eyeball_centres]).min(0).values
        self.sockets = torch.exp(-0.5 * ((gap - 0.013).clamp(min=0) / 0.007) ** 2) * m["skin"]
        self.names = atoms_of(TEXTURE)

    def apply(self, textures: torch.Tensor, strengths: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, 3, H, W) textures in [0, 1], (B, A) strengths -> stylized textures."""
        if textures.shape[-2:] != (self.height, self.width):
            raise ValueError(f"textures are {tuple(textures.shape[-2:])}, these effects were built for {(self.height, self.width)}")
        out = textures.float()
        for effect in self.ORDER:
            for a, name in enumerate(self.names):
                atom = ATOMS[name]
                s = strengths[:, a].float()[:, None, None, None]
                if atom.effect == effect and bool((s != 0).any()):
                    out = getattr(self, effect)(out, s, generator, **atom.params).clamp(0, 1)
        return out

    # Each effect: (B, 3, H, W) texture, (B, 1, 1, 1) strength -> texture; strength 1 is nominal.
    def tint(self, tex, s, generator, colour):
        relative = self._relative_luminance(tex)
        target = torch.tensor(colour)[None, :, None, None] * relative ** 0.9
        return tex + s * self.masks["skin"] * (target - tex)

    def material(self, tex, s, generator, colour, detail, grain, eyes, blur=False, veins=False):
        source = _masked_blur(tex, self.covered, 5) if blur else tex
        relative = self._relative_luminance(source) ** detail
        # Grain at two scales: fine speckle and broad mottling.
        mottle = 0.6 * self._noise(len(tex), 160, generator) + 0.4 * self._noise(len(tex), 12, generator)
        target = torch.tensor(colour)[None, :, None, None] * relative * (1 + grain * mottle)
        if veins:
            u = torch.linspace(0, 1, self.width)[None, None, None, :]
            swirl = 3.0 * self._noise(len(tex), 5, generator) + 10 * u
            target = target * (1 - 0.3 * torch.exp(-torch.sin(math.pi * swirl).abs() / 0.06))
        where = self.masks["skin"] + eyes * self.masks["eyeball"] + self.masks["teeth"] + self.masks["tongue"]
        return tex + s * where.clamp(max=1) * (target - tex)

    def airbrush(self, tex, s, generator):
        smooth = _masked_blur(tex, self.plain_skin, 4)
        return tex + s * self.plain_skin * (smooth - tex)

    def rosy(self, tex, s, generator):
        flushed = tex * torch.tensor([1.12, 0.62, 0.66])[None, :, None, None]
        return tex + s * 0.55 * self.cheeks * (flushed - tex)

    def spots(self, tex, s, generator):
        spots = (self._noise(len(tex), 90, generator, standardise=False) > 0.93).float()
        spots = _masked_blur(spots, torch.ones_like(self.covered), 1)
        dark = tex * torch.tensor([0.55, 0.5, 0.35])[None, :, None, None]
        return tex + s * (2 * spots).clamp(max=1) * self.plain_skin * (dark - tex)

    def flat(self, tex, s, generator):
        flat = tex
        for mask in (self.plain_skin, self.masks["lips"], self.masks["brows"], self.sclera, self.masks["iris"]):
            mean = (tex * mask).sum((2, 3), keepdim=True) / mask.sum().clamp(min=1e-6)
            flat = torch.lerp(flat, mean.expand_as(tex), mask.clamp(max=1))
        return tex + s * (flat - tex)

    def eye_shadow(self, tex, s, generator):
        dark = tex * torch.tensor([0.42, 0.36, 0.44])[None, :, None, None]
        return tex + s * self.sockets * (dark - tex)

    # -- helpers --
    def _relative_luminance(self, tex):
        """Luminance over the mean skin luminance of each texture, in [0, 2]."""
        luma = (tex * LUMA[None, :, None, None]).sum(1, keepdim=True)
        skin = self.plain_skin
        mean = (luma * skin).sum((2, 3), keepdim=True) / skin.sum()
        return (luma / mean.clamp(min=1e-3)).clamp(0, 2)

    def _noise(self, batch, cells, generator, standardise=True):
        """Smooth random field (B, 1, H, W): standardised (bicubic), or in [0, 1] (bilinear)."""
        rows = max(2, int(cells * self.height / self.width))
        grid = torch.rand(batch, 1, rows, cells, generator=generator)
        field = F.interpolate(grid, size=(self.height, self.width), mode="bicubic" if standardise else "bilinear", align_corners=False)
        if not standardise:
            return field
        return (field - field.mean((2, 3), keepdim=True)) / (field.std((2, 3), keepdim=True) + 1e-6)


def _masked_blur(image: torch.Tensor, mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Box-blur (twice) of ``image`` over ``mask`` only, so nothing outside bleeds in."""
    k = 2 * radius + 1
    weight = mask.expand(1, 1, *mask.shape[-2:]).float()
    num, den = image * weight, weight
    for _ in range(2):
        num = F.avg_pool2d(num, k, 1, radius, count_include_pad=False)
        den = F.avg_pool2d(den, k, 1, radius, count_include_pad=False)
    return num / den.clamp(min=1e-6)


def combined_shading(strengths: dict[str, float]):
    """The renderer's Shading for the shading atoms' strengths (each adds its parameter changes)."""
    from stylemm.render.shading import Shading

    shading = Shading()
    for name in atoms_of(SHADING):
        if strengths.get(name, 0.0):
            shading = shading.plus(ATOMS[name].params, strengths[name])
    return shading
