"""What can be wrong with a photo, by name, each saying what to do about it."""

from __future__ import annotations


class FitError(ValueError):
    """A photo the fit cannot use; nothing was written."""


class NotAnImageError(FitError):
    """The file is missing or is not an image Pillow can read."""


class ImageTooSmallError(FitError):
    """The image, or the face in it, has too few pixels for the landmarks to mean anything."""


class NoFaceError(FitError):
    """MediaPipe's face mesh found no face."""


class ProfileViewError(FitError):
    """The head is turned further than the landmark fit handles (the far side is hidden)."""


class SeveralFacesWarning(UserWarning):
    """More than one face: the largest was fitted."""
