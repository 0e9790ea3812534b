"""OpenHead's five-joint skeleton (FLAME's layout), taken from the MakeHuman rig.

Joints sit at the centres of the rig's joint cubes. The cubes are not part of the
head mesh, so each joint gets a regressor over nearby mesh vertices, fitted on random
identities so that joints follow identity the way the MakeHuman rig does.
"""

from __future__ import annotations

import numpy as np

from stylemm.facemodel.openhead.assets import MakeHumanData

JOINT_NAMES = ["global", "neck", "jaw", "left_eye", "right_eye"]
PARENTS = [-1, 0, 1, 1, 1]
# Joint cube of the MakeHuman rig that marks each joint.
JOINT_CUBES = ["joint-neck", "joint-head", "joint-mouth", "joint-l-eye", "joint-r-eye"]
# Bones whose subtree drives each of our joints; the rest of the body drives "global".
# neck02 sits halfway down the neck, so it is shared to keep the neck bending smoothly.
SUBTREE_JOINT = {"jaw": "jaw", "head": "neck", "neck03": "neck"}
SHARED_BONES = {"neck02": {"global": 0.5, "neck": 0.5}}
EYEBALL_JOINT = {"left_eyeball": "left_eye", "right_eyeball": "right_eye"}
REGRESSOR_SUPPORT = 512  # nearest mesh vertices used for each joint (32 gave 1 cm errors)


def skin_weights(data: MakeHumanData, vertices: np.ndarray, vertex_submesh: np.ndarray) -> np.ndarray:
    """(n, 5) weights: the rig's bone weights summed into our joints, rows normalised.

    Eyeballs follow their eye joint rigidly; the rig's eye bones also pull the
    eyelids, which would look wrong on a rigid eye rotation, so those go to the head.
    """
    local = {int(v): i for i, v in enumerate(vertices)}
    weights = np.zeros((len(vertices), len(JOINT_NAMES)))
    for bone, pairs in data.skin_weights.items():
        shares = SHARED_BONES.get(bone) or {_joint_of(bone, data.rig): 1.0}
        for v, w in pairs:
            i = local.get(int(v))
            if i is None:
                continue
            for joint, share in shares.items():
                weights[i, JOINT_NAMES.index(joint)] += w * share
    for submesh, joint in EYEBALL_JOINT.items():
        weights[vertex_submesh == submesh] = np.eye(len(JOINT_NAMES))[JOINT_NAMES.index(joint)]
    eye_columns = [JOINT_NAMES.index(j) for j in EYEBALL_JOINT.values()]
    not_eyeball = ~np.isin(vertex_submesh, list(EYEBALL_JOINT))
    weights[np.ix_(not_eyeball, [JOINT_NAMES.index("neck")])] += weights[np.ix_(not_eyeball, eye_columns)].sum(1, keepdims=True)
    weights[np.ix_(not_eyeball, eye_columns)] = 0
    total = weights.sum(1, keepdims=True)
    if (total <= 0).any():
        raise ValueError(f"{int((total <= 0).sum())} OpenHead vertices have no skin weight in the rig")
    return weights / total


def head_fraction(data: MakeHumanData, vertices: np.ndarray) -> np.ndarray:
    """(n,) share of each vertex's rig weight that comes from the head's subtree."""
    local = {int(v): i for i, v in enumerate(vertices)}
    head, total = np.zeros(len(vertices)), np.zeros(len(vertices))
    for bone, pairs in data.skin_weights.items():
        in_head = _joint_of(bone, data.rig, {"head": "head"}) == "head"
        for v, w in pairs:
            i = local.get(int(v))
            if i is not None:
                total[i] += w
                head[i] += w * in_head
    return head / np.maximum(total, 1e-12)


def _joint_of(bone: str, rig: dict, subtrees: dict = SUBTREE_JOINT) -> str:
    while bone in rig:
        if bone in subtrees:
            return subtrees[bone]
        bone = rig[bone]["parent"]
    return "global"


def fit_regressor(samples: np.ndarray, joint_samples: np.ndarray, rest: np.ndarray, rest_joints: np.ndarray) -> np.ndarray:
    """(5, n) joint regressor with rows summing to one (so joints translate with the mesh).

    samples: (S, n, 3) mesh vertices of random identities; joint_samples: (S, 5, 3)
    their joint-cube centres; rest/rest_joints: the base mesh and its joints, which
    pick each joint's support (its nearest vertices).
    """
    regressor = np.zeros((len(rest_joints), rest.shape[0]))
    for j, joint in enumerate(rest_joints):
        support = np.argsort(np.linalg.norm(rest - joint, axis=1))[:REGRESSOR_SUPPORT]
        a = samples[:, support].transpose(0, 2, 1).reshape(-1, len(support))  # (3S, k)
        b = joint_samples[:, j].reshape(-1)
        # Weighted row enforcing sum(r) == 1; small ridge keeps the weights spread out.
        k = len(support)
        lhs = np.vstack([a, 1e3 * np.ones((1, k)), 1e-3 * np.eye(k)])
        rhs = np.concatenate([b, [1e3], np.full(k, 1e-3 / k)])
        regressor[j, support] = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    return regressor
