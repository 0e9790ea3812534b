"""The fine-tuning objective at the recipe's 3D truth, at a style pack and at D_src (a
measurement: it reads the 3D truth, which the trainer must not). Each joint / warm-up term is
evaluated on held-out recipe samples with the TRUE stylized texture, so the image terms
measure geometry alone; benchmarks/objective_at_truth.py prints the weighted totals.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F


def held_out_batch(model, source, recipe, samples: int, size: int) -> dict:
    """Held-out faces at 256 px, stylized by the recipe, brought to ``size`` as training does."""
    from stylemm.metrics.stylization import held_out
    from stylemm.stylize.detection import StylizedLandmarks, to_uint8
    from stylemm.stylize.masks import part_classes

    faces, truth = held_out(model, source, recipe, samples, 256)
    detector = StylizedLandmarks(model)
    detected = torch.from_numpy(detector.detect(to_uint8(truth.images), truth.vertices, faces.camera).landmarks).float()
    detector.close()
    classes = torch.from_numpy(part_classes(model.part_names).astype("int64"))
    mask = torch.where(truth.parts >= 0, classes[truth.parts.clamp(min=0)], torch.zeros_like(truth.parts))
    camera = copy.copy(faces.camera)
    camera.width = camera.height = size
    return {
        "faces": faces, "truth": truth, "camera": camera,
        "stylized": F.interpolate(truth.images, size=(size, size), mode="area"),
        "mask": F.interpolate(mask[:, None].float(), size=(size, size), mode="nearest")[:, 0].long(),
        "landmarks": detected * size / 256,
        "shape": faces.shape, "expression": faces.expression,
        "pose": torch.stack([faces.pose.get(j, torch.zeros(samples, 3)) for j in model.joint_names], 1),
    }  # fmt: skip


def truth_geometry(model, source, recipe, batch):
    """The truth as a Geometry: the stylized posed mesh, and D_src's unposed mesh plus what the
    recipe changes in the model's unposed mesh (the recipe stylizer's construction, unposed)."""
    from stylemm.finetune.stages import Geometry
    from stylemm.stylize.recipe_stylizer import RecipeStylizer

    stylizer = RecipeStylizer(model, recipe, variation=0.0)
    shape, expression = batch["shape"], batch["expression"]
    rest = {j: torch.zeros(len(shape), 3) for j in model.joint_names}
    change = stylizer.posed(stylizer.neutral(shape), expression, rest) - stylizer.posed(model.neutral(shape), expression, rest)
    return Geometry(source.deformer(shape, expression) + change, batch["truth"].vertices)


def terms(losses_, geometry, batch) -> dict[str, float]:
    """Every warm-up and joint term for one geometry (image terms with the true texture),
    as ``losses_`` balances them (its ``balance``: mask classes and eq. 8's weights)."""
    from stylemm.finetune import losses
    from stylemm.stylize.masks import CLASSES

    camera = batch["camera"]
    projected = camera.project(losses_.embedding.points(geometry.posed, losses_.faces))
    truth_points = camera.project(losses_.embedding.points(batch["truth"].vertices, losses_.faces))
    out = losses_.render(geometry.posed, batch["truth"].texture, camera)
    masks = losses_.class_masks(out, geometry.posed, camera)
    stabilisers = losses_.stabilisers(geometry, batch)
    return {
        "kp": float(losses.keypoint_loss(projected, batch["landmarks"], camera.width)),
        "kp_truth_landmarks": float(losses.keypoint_loss(projected, truth_points, camera.width)),
        "recon": float(losses.image_l2(out.rgb, batch["stylized"])),
        "seg": float(losses.segmentation_loss(masks, batch["mask"], [CLASSES.index(c) for c in losses_.balance.seg_classes])),
        **{k: float(v) for k, v in stabilisers.items()},
    }


def weighted(stage, values: dict[str, float]) -> tuple[dict[str, float], float]:
    """A stage's weighted terms and their total (the objective the stage minimises)."""
    parts = {k: w * values[k] for k, w in stage.weights.items()}
    return parts, sum(parts.values())
