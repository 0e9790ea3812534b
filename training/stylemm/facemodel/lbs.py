"""Linear blend skinning in torch: batched, differentiable, model-agnostic.

Same convention as SMPL / FLAME (and as ``stylemm_runtime.skinning``): the local
transform of joint j is [R_j | rest_j - rest_parent(j)], and the skinning matrix is
the posed world transform with the rest position taken out.
"""

from __future__ import annotations

import torch


def rodrigues(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrices, with a gradient at zero."""
    # Adding eps inside the norm keeps the gradient finite at the zero rotation.
    angle = torch.sqrt((axis_angle**2).sum(-1, keepdim=True) + 1e-16)
    axis = axis_angle / angle
    cos = torch.cos(angle)[..., None]
    sin = torch.sin(angle)[..., None]
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    skew = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*axis.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    outer = axis[..., :, None] * axis[..., None, :]
    return cos * eye + sin * skew + (1 - cos) * outer


def joint_transforms(
    rest_joints: torch.Tensor, parents: list[int], rotations: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Posed joint positions (B, J, 3) and skinning matrices (B, J, 4, 4).

    rest_joints: (B, J, 3); rotations: (B, J, 3, 3) local rotations; parents[0] == -1
    and parents[j] < j, so one pass in index order walks the chain.
    """
    batch, n_joints = rest_joints.shape[:2]
    offsets = rest_joints.clone()
    offsets[:, 1:] = rest_joints[:, 1:] - rest_joints[:, parents[1:]]
    bottom = rest_joints.new_tensor([0.0, 0.0, 0.0, 1.0]).expand(batch, n_joints, 1, 4)
    local = torch.cat([torch.cat([rotations, offsets[..., None]], -1), bottom], -2)
    world = [local[:, 0]]
    for j in range(1, n_joints):
        world.append(world[parents[j]] @ local[:, j])
    world = torch.stack(world, 1)
    posed_joints = world[..., :3, 3]
    # Take the rest position out so the matrices act on rest-pose vertices.
    rest_h = torch.cat([rest_joints, torch.zeros_like(rest_joints[..., :1])], -1)
    correction = (world @ rest_h[..., None])[..., 0]
    skinning = world.clone()
    skinning[..., :, 3] = world[..., :, 3] - correction
    return posed_joints, skinning


def skin(vertices: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) rest vertices, (N, J) weights, (B, J, 4, 4) -> (B, N, 3) posed vertices."""
    blended = torch.einsum("nj,bjrc->bnrc", weights, transforms)
    return (blended[..., :3, :3] @ vertices[..., None])[..., 0] + blended[..., :3, 3]
