"""Face landmarks: MediaPipe's 478 points embedded on a face model's surface."""

from stylemm.landmarks.embedding import SUBSETS, LandmarkEmbedding, load_embedding

__all__ = ["LandmarkEmbedding", "SUBSETS", "load_embedding"]
