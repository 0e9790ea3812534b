"""The recipe stylizer: source faces -> the same faces stylized in 3D by a recipe of atoms.

The stylized head is the source identity's neutral mesh plus the geometry atoms' displacement,
then the SAME expression and pose through the model's own rig (joints re-regressed from the
stylized neutral, as the model does for any identity). It is rendered through the source's
camera with the same renderer, so image pairs align exactly and the stylized vertices are the
3D ground truth of each image. Like diffusion's image-to-image variation, every image gets its
own random strengths around the recipe's (log-normal, ``variation`` wide), recorded per sample.
"""

from __future__ import annotations

import torch

from stylemm.render import MeshRenderer
from stylemm.stylize.atoms import TEXTURE, GeometryAtoms, TextureEffects, atoms_of
from stylemm.stylize.faces import SourceFaces, StylizedFaces
from stylemm.stylize.recipes import Recipe

MAX_STRENGTH = 2.0  # a varied strength never goes past this


class RecipeStylizer:
    """``RecipeStylizer(model, recipe).stylize(source_faces, generator) -> StylizedFaces``.

    model: the source FaceModel (its template, identity space, rig and part labels);
    variation: the std of log-strength per image (0 gives exactly the recipe's strengths);
    background: the render background, as the source renders use; backend: the renderer's
    (``stylemm.render.backends``; ``cpu-reference`` only to time the fast path against).
    """

    def __init__(self, model, recipe: Recipe, variation: float = 0.3, background: float = 1.0, backend: str = "auto"):
        if not 0 <= variation <= 2:
            raise ValueError(f"variation must be in [0, 2] (a log-strength std), got {variation}")
        self.model, self.recipe, self.variation, self.background = model, recipe, float(variation), background
        self.geometry = GeometryAtoms.of(model)
        self.texture_names = atoms_of(TEXTURE)
        self.shading = recipe.shading
        self.renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces, backend=backend)
        # A pixel's part is its triangle's: the label most of its corners have (the first on a tie).
        corners = model.part_labels[model.faces]
        self.face_parts = torch.where(corners[:, 1] == corners[:, 2], corners[:, 1], corners[:, 0])

    # -- strengths ---------------------------------------------------------------------
    def sample_strengths(self, batch: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Per-image strengths of the recipe's varied atoms: name -> (B,)."""
        out = {}
        for name, base in sorted(self.recipe.varied_atoms().items()):
            noise = torch.randn(batch, generator=generator, dtype=torch.float64)
            out[name] = (base * torch.exp(self.variation * noise)).clamp(max=MAX_STRENGTH)
        return out

    def _matrix(self, strengths: dict[str, torch.Tensor], names: list[str], batch: int) -> torch.Tensor:
        columns = [strengths.get(n, torch.zeros(batch, dtype=torch.float64)) for n in names]
        return torch.stack(columns, 1).float()

    # -- geometry ------------------------------------------------------------------------
    def neutral(self, shape: torch.Tensor, strengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """(B, N, 3) stylized neutral meshes of shapes (B, K); the recipe's own strengths by default."""
        shape = torch.atleast_2d(torch.as_tensor(shape, dtype=self.model.template.dtype))
        if strengths is None:
            strengths = {k: torch.full((len(shape),), v, dtype=torch.float64) for k, v in self.recipe.varied_atoms().items()}
        source = self.model.neutral(shape)
        return source + self.geometry.delta(source, self._matrix(strengths, self.geometry.names, len(shape)))

    def posed(self, neutral: torch.Tensor, expression: torch.Tensor, pose: dict[str, torch.Tensor]) -> torch.Tensor:
        """The model's expression + rig applied to given neutral meshes (FaceModel.pose_neutral)."""
        return self.model.pose_neutral(neutral, expression.to(neutral), pose)[0]

    # -- the stylizer ----------------------------------------------------------------------
    @torch.no_grad()
    def stylize(self, faces: SourceFaces, generator: torch.Generator) -> StylizedFaces:
        batch = len(faces)
        strengths = self.sample_strengths(batch, generator)
        source_neutral = self.model.neutral(faces.shape.to(self.model.template))
        styled_neutral = source_neutral + self.geometry.delta(source_neutral, self._matrix(strengths, self.geometry.names, batch))
        # Stylize the source mesh itself (D_src's), by what the style changes in the model's own
        # posed mesh: with no geometry atom the stylized mesh IS the source mesh, bit for bit.
        change = self.posed(styled_neutral, faces.expression, faces.pose) - self.posed(source_neutral, faces.expression, faces.pose)
        vertices = faces.vertices + change
        texture = TextureEffects.of(self.model, *faces.texture.shape[-2:]).apply(
            faces.texture, self._matrix(strengths, self.texture_names, batch), generator
        )
        render = self.renderer(vertices, faces.camera, texture=texture, background=self.background, shading=self.shading)
        triangle = render.triangle
        parts = torch.where(triangle >= 0, self.face_parts[triangle.clamp(min=0)], torch.full_like(triangle, -1))
        recorded = [{name: float(v[i]) for name, v in strengths.items()} for i in range(batch)]
        shading_atoms = {k: v for k, v in self.recipe.strengths.items() if k not in self.recipe.varied_atoms()}
        for r in recorded:
            r.update(shading_atoms)
        return StylizedFaces(images=render.rgb.clamp(0, 1), vertices=vertices, texture=texture, parts=parts, strengths=recorded)

