"""Differentiable rendering on the CPU (torch): see renderer.MeshRenderer."""

from stylemm.render.camera import Camera, orbit_camera
from stylemm.render.rasterize import Rasterization, barycentrics, interpolate, rasterize
from stylemm.render.renderer import MeshRenderer, Render, project_points, sample_texture, vertex_normals

__all__ = ["Camera", "orbit_camera", "Rasterization", "rasterize", "barycentrics", "interpolate",
           "MeshRenderer", "Render", "project_points", "sample_texture", "vertex_normals"]  # fmt: skip
