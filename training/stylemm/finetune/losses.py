"""The loss terms of the three fine-tuning stages (paper 3.4, eq. 2-8 and 11).

Every term is a plain function of tensors, so each can be checked against a hand-computed
case and by finite differences. Units: vertices in metres (the source model's), keypoints in
image widths (so the paper's weights do not depend on the training resolution), images in
[0, 1]. Means replace the paper's sums over landmarks, pixels, vertices and triangles, so a
term's size does not grow with the mesh or the image (the stage weights are the paper's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stylemm.render.renderer import vertex_normals


# -- geometry warm-up --------------------------------------------------------------------------
def keypoint_loss(projected: torch.Tensor, detected: torch.Tensor, width: float) -> torch.Tensor:
    """Eq. 2: distance between projected embedded landmarks and detected ones.

    projected, detected (B, L, 2) pixels; a sample whose landmarks were not found carries NaN
    and is left out. The mean Euclidean distance over landmarks and samples, in image widths.
    """
    found = torch.isfinite(detected).all(-1)  # (B, L)
    if not found.any():
        return projected.sum() * 0  # keeps the graph, gives zero gradient
    distance = (projected - detected.nan_to_num()).norm(dim=-1) / width
    return distance[found].mean()


# -- joint fine-tuning -------------------------------------------------------------------------
def image_l2(rendered: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The L2 part of eq. 3: mean squared difference of two image batches."""
    return (rendered - target).square().mean()


def soft_class_masks(parts: torch.Tensor, alpha: torch.Tensor, part_class: torch.Tensor, classes: int) -> torch.Tensor:
    """(B, C, H, W) soft class masks of a render. parts (B, P, H, W): the render's soft part
    masks (barycentric blends of the part labels, so their boundaries move with the vertices)
    times coverage, antialiased like the colours (so silhouettes and occlusion edges carry
    gradient); alpha (B, 1, H, W) the antialiased coverage; part_class (P,) each part's class.
    Class 0 (background) is 1 - alpha, class c the sum of its parts."""
    onehot = F.one_hot(part_class.long(), classes).to(parts)  # (P, C)
    per_class = torch.einsum("bphw,pc->bchw", parts, onehot)
    return torch.cat([1 - alpha, per_class[:, 1:]], 1)


def segmentation_loss(rendered: torch.Tensor, target: torch.Tensor, classes) -> torch.Tensor:
    """Eq. 4: sum over the classes ``classes`` (indices) of the mean squared difference between
    the render's soft mask (B, C, H, W) and the target's mask (B, H, W) of class indices."""
    terms = [(rendered[:, c] - (target == c).to(rendered)).square().mean() for c in classes]
    return torch.stack(terms).sum()


# -- deformation stabilisation -----------------------------------------------------------------
def tangent_component(displacement: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """Project (B, N, 3) displacements on each vertex's tangent plane (unit normals (B, N, 3))."""
    return displacement - (displacement * normals).sum(-1, keepdim=True) * normals


def consistent_displacement_loss(vertices: torch.Tensor, vertices_pre: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Eq. 7 (CDL): the variance across the batch's identities of the style displacement
    V - V_pre, projected on the tangent plane of D_src's surface at each vertex.

    vertices, vertices_pre (B, N, 3) unposed meshes of D_style and D_src for the same
    parameters. The per-vertex variance (population, summed over the three coordinates) is
    averaged over the vertices: zero when every identity is displaced alike.
    """
    normals = vertex_normals(vertices_pre, faces).detach()
    tangent = tangent_component(vertices - vertices_pre, normals)
    return tangent.var(0, unbiased=False).sum(-1).mean()


def corner_cosines(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(B, F, 3) cosine of each triangle's internal angle at each of its corners."""
    corners = vertices[:, faces]  # (B, F, 3, 3)
    cosines = []
    for k in range(3):
        a = corners[:, :, (k + 1) % 3] - corners[:, :, k]
        b = corners[:, :, (k + 2) % 3] - corners[:, :, k]
        cosines.append(F.cosine_similarity(a, b, dim=-1, eps=1e-12))
    return torch.stack(cosines, -1)


def regularisation_loss(vertices: torch.Tensor, vertices_pre: torch.Tensor, faces: torch.Tensor,
                        weights: tuple[float, float, float] = (1.0, 50.0, 1000.0)) -> torch.Tensor:  # fmt: skip
    """Eq. 8: lambda_v |V - V_pre|^2 + lambda_n |N - N_pre|^2 + lambda_ang sum over corners of
    (cos a - cos a_pre)^2, each a mean over vertices (triangles for the angles) and the batch."""
    w_v, w_n, w_ang = weights
    positions = (vertices - vertices_pre).square().sum(-1).mean()
    normals = (vertex_normals(vertices, faces) - vertex_normals(vertices_pre, faces)).square().sum(-1).mean()
    angles = (corner_cosines(vertices, faces) - corner_cosines(vertices_pre, faces)).square().sum(-1).mean()
    return w_v * positions + w_n * normals + w_ang * angles


# -- texture refinement ------------------------------------------------------------------------
def generator_gan_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 6 for the generator, in the non-saturating form: -log D(I_r)."""
    return F.softplus(-fake_logits).mean()


def discriminator_gan_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 6 for the discriminator: -log D(I_s) - log(1 - D(I_r))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
