"""How well a style pack (D_style, G_style) models its style, against known ground truth (paper 4.3-4.4).

- face diversity as the paper measures it: PCA of 1,000 neutral meshes of random identities,
  the sum of the top-100 explained variances (in the deformer's unit frame), beside the source model's and their ratio;
- geometry recovery against the recipe stylizer's 3D truth on held-out identities, expressions,
  poses and views never trained on (another seed than any dataset's): mean and p99 vertex error
  in mm, and the mean style displacement (truth - source) they are measured against. The
  recipe's own strengths are the target (no per-image variation: the style's mean);
- appearance recovery: PSNR of D_style + G_style renders against the stylized images of the same
  held-out samples (and the source networks' PSNR, for scale);
- expression fidelity: how far jawOpen opens the mouth and eyeBlink closes the lids on the
  stylized faces, as a ratio of the source model's (1 is perfect);
- style score (paper Table 2): CLIP image-text similarity of renders to the prompt, with local
  CLIP weights only.
"""

from __future__ import annotations

import numpy as np
import torch

HELD_OUT_SEED = 2_718_281  # no dataset of the project uses it: identities never trained on
DIVERSITY_SEED = 31_415
# MediaPipe face-mesh points (on the embedded landmarks): inner lips, upper / lower eyelids.
LIPS = (13, 14)
EYELIDS = ((159, 145), (386, 374))


@torch.no_grad()
def diversity(deformer, shape_dim: int, expression_dim: int, count: int = 1000, components: int = 100,
              seed: int = DIVERSITY_SEED, batch: int = 100, unit: float = 1.0) -> float:  # fmt: skip
    """Sum of the top ``components`` PCA explained variances of ``count`` neutral meshes, in
    metres / ``unit``: ``evaluate`` passes the source deformer's ``scale`` (the template's half
    extent), the normalised frame in which the paper's FLAME value 12.21 seems measured."""
    from sklearn.decomposition import PCA

    shapes = torch.from_numpy(np.random.default_rng(seed).standard_normal((count, shape_dim)).astype(np.float32))
    meshes = [deformer(shapes[i : i + batch], torch.zeros(len(shapes[i : i + batch]), expression_dim)) for i in range(0, count, batch)]
    flat = (torch.cat(meshes) / unit).flatten(1).double().numpy()
    return float(PCA(n_components=min(components, count)).fit(flat).explained_variance_.sum())


@torch.no_grad()
def held_out(model, source, recipe, count: int, size: int, seed: int = HELD_OUT_SEED):
    """Held-out source faces and their recipe-stylized truth (the recipe's own strengths)."""
    from stylemm.stylize.recipe_stylizer import RecipeStylizer
    from stylemm.stylize.source import SourceSampler

    sampler = SourceSampler(model, source.deformer, source.texture_generator, size)
    faces = sampler.sample(seed, range(count))
    stylized = RecipeStylizer(model, recipe, variation=0.0).stylize(faces, torch.Generator().manual_seed(seed))
    return faces, stylized


@torch.no_grad()
def recovery(model, pack, source, recipe, count: int = 32, size: int = 256, seed: int = HELD_OUT_SEED) -> dict:
    """Geometry (mm) and appearance (PSNR, dB) of the pack against the recipe on held-out samples."""
    from stylemm.render import MeshRenderer
    from stylemm.stylize.source import posed_vertices

    faces, truth = held_out(model, source, recipe, count, size, seed)
    posed = posed_vertices(model, pack.deformer, faces.shape, faces.expression, faces.pose)
    error = (posed - truth.vertices).norm(dim=-1) * 1000
    style = (truth.vertices - faces.vertices).norm(dim=-1) * 1000
    source_error = style  # D_src's error against the truth is the style displacement itself
    renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces)

    def psnr(vertices, generator) -> float:
        rgb = renderer(vertices, faces.camera, texture=generator.texture(faces.texture_z), shading=recipe.shading).rgb.clamp(0, 1)
        mse = (rgb - truth.images).square().mean((1, 2, 3))
        return float((10 * torch.log10(1 / mse.clamp(min=1e-12))).mean())

    return {
        "samples": count,
        "seed": seed,
        "image_size": size,
        "geometry": {
            "mean_mm": float(error.mean()),
            "p99_mm": float(error.quantile(0.99)),
            "style_displacement_mean_mm": float(style.mean()),
            "style_displacement_p99_mm": float(style.quantile(0.99)),
            "error_over_displacement": float(error.mean() / style.mean()),
            "source_mean_mm": float(source_error.mean()),
        },
        "appearance": {
            "psnr_db": psnr(posed, pack.texture_generator),
            "source_psnr_db": psnr(faces.vertices, source.texture_generator),
        },
    }


@torch.no_grad()
def _gaps(deformer, model, embedding, shapes: torch.Tensor, expression: dict[str, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """(lip gap, mean eyelid gap) per identity in mm for one expression (unposed meshes)."""
    weights = torch.zeros(len(shapes), len(model.expression_names))
    for name, value in expression.items():
        weights[:, model.expression_names.index(name)] = value
    points = embedding.points(deformer(shapes, weights), model.faces.long())
    lips = (points[:, LIPS[0]] - points[:, LIPS[1]]).norm(dim=-1)
    lids = torch.stack([(points[:, a] - points[:, b]).norm(dim=-1) for a, b in EYELIDS]).mean(0)
    return lips * 1000, lids * 1000


@torch.no_grad()
def expression_fidelity(model, pack, source, count: int = 32, seed: int = HELD_OUT_SEED) -> dict:
    """How much jawOpen opens the lips and eyeBlink closes the lids, stylized vs source (mm and ratio)."""
    from stylemm.landmarks import load_embedding

    embedding = load_embedding(model)
    shapes = torch.from_numpy(np.random.default_rng(seed).standard_normal((count, model.shape_dim)).astype(np.float32))
    out = {}
    for name, network in (("style", pack.deformer), ("source", source.deformer)):
        lips0, lids0 = _gaps(network, model, embedding, shapes, {})
        lips1, _ = _gaps(network, model, embedding, shapes, {"jawOpen": 1.0})
        _, lids1 = _gaps(network, model, embedding, shapes, {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0})
        out[name] = {"jaw_open_mm": float((lips1 - lips0).mean()), "blink_closes_mm": float((lids0 - lids1).mean()),
                     "open_eye_mm": float(lids0.mean()), "blinked_eye_mm": float(lids1.mean())}  # fmt: skip
    out["jaw_open_ratio"] = out["style"]["jaw_open_mm"] / out["source"]["jaw_open_mm"]
    out["blink_ratio"] = out["style"]["blink_closes_mm"] / out["source"]["blink_closes_mm"]
    return out


@torch.no_grad()
def style_score(clip, model, pack, source, prompt: str, count: int = 16, size: int = 224, seed: int = HELD_OUT_SEED) -> dict:
    """CLIP similarity of renders of the pack (and of the source) with the style's prompt."""
    from stylemm.render import MeshRenderer
    from stylemm.stylize.source import SourceSampler

    renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces)
    scores = {}
    for name, networks in (("style", pack), ("source", source)):
        sampler = SourceSampler(model, networks.deformer, networks.texture_generator, size)
        faces = sampler.sample(seed, range(count))
        rgb = renderer(faces.vertices, faces.camera, texture=faces.texture).rgb.clamp(0, 1)
        scores[name] = float(clip.text_similarity(rgb, prompt).mean())
    return scores


def evaluate(pack, source, model, recipe, clip=None, count: int = 32, diversity_count: int = 1000) -> dict:
    """Every measure of a pack, as evaluation.json holds it."""
    unit = float(source.deformer.scale)
    style_div = diversity(pack.deformer, model.shape_dim, len(model.expression_names), diversity_count, unit=unit)
    source_div = diversity(source.deformer, model.shape_dim, len(model.expression_names), diversity_count, unit=unit)
    result = {
        "diversity": {"style": style_div, "source": source_div, "ratio": style_div / source_div, "meshes": diversity_count,
                      "components": 100,
                      "units": "deformer unit frame (template half extent = 1)",
                      "source_cm2": source_div * (100 * unit) ** 2},  # fmt: skip
        "recovery": recovery(model, pack, source, recipe, count),
        "expression_fidelity": expression_fidelity(model, pack, source, count),
        "recipe": recipe.to_dict(),
    }
    result["style_score"] = style_score(clip, model, pack, source, recipe.prompt) if clip is not None else "not run: no --clip folder"
    return result
