"""Real-time face tracking for bundles: landmarks -> head pose + ARKit weights (numpy only).

``FaceTracker(model).track(image_rgb, timestamp) -> TrackResult``; MediaPipe's face mesh is
the landmark source (``pip install "stylemm[tracking]"``); ``stylemm-track`` is the command.
"""

from stylemm_runtime.tracking.bounded import bounded_least_squares, solve_box_qp
from stylemm_runtime.tracking.landmark_model import Embedding, LandmarkModel
from stylemm_runtime.tracking.one_euro import OneEuroFilter
from stylemm_runtime.tracking.solver import FaceSolver, Fit, PinholeCamera, SolverSettings
from stylemm_runtime.tracking.tracker import FaceTracker, TrackerSettings, TrackResult

__all__ = ["FaceTracker", "TrackResult", "TrackerSettings", "FaceSolver", "SolverSettings", "Fit", "PinholeCamera",
           "LandmarkModel", "Embedding", "OneEuroFilter", "bounded_least_squares", "solve_box_qp"]  # fmt: skip
