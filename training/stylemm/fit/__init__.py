"""Photo -> stylized 3D face (paper 5.2): ``fit_photo(photo, style="orc")``, ``stylemm-fit``."""

from stylemm.fit.api import FitResult, fit_photo
from stylemm.fit.errors import FitError, ImageTooSmallError, NoFaceError, NotAnImageError, ProfileViewError, SeveralFacesWarning

__all__ = ["fit_photo", "FitResult", "FitError", "NotAnImageError", "ImageTooSmallError", "NoFaceError", "ProfileViewError",
           "SeveralFacesWarning"]  # fmt: skip
