"""`stylemm-fit`: one photo -> the person as a stylized 3D face (paper 5.2).

  stylemm-fit photo.jpg --style orc --out me_orc          face.glb, params.json, preview.png, texture.png
  stylemm-fit photo.jpg --out me --neutral                the realistic fit, neutral expression
  stylemm-fit photo.jpg --style orc --out me --sdxl-turbo DIR   + SDXL-Turbo texture refinement (GPU)

DIR is written whole or not at all; an existing DIR is kept unless --force. A photo the fit
cannot use (not an image, too small, no face, a profile) is named, with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    import torch

    from stylemm.fit import FitError, SeveralFacesWarning, fit_photo
    from stylemm_export.fit_output import save_fit

    torch.set_num_threads(args.threads)
    if args.out.exists() and not args.force:
        print(f"stylemm-fit: error: {args.out} exists; pass --force to replace it", file=sys.stderr)
        return 2
    turbo = None
    if args.sdxl_turbo:
        turbo = {"steps": args.turbo_steps, "strength": args.turbo_strength, "iterations": args.turbo_iterations,
                 "device": args.device}  # fmt: skip
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SeveralFacesWarning)
            result = fit_photo(args.photo, style=args.style, neutral=args.neutral, fov=args.fov, detail=args.detail,
                               sdxl_turbo=args.sdxl_turbo, turbo_options=turbo, progress=not args.quiet)  # fmt: skip
        for w in caught:
            if issubclass(w.category, SeveralFacesWarning):
                print(f"stylemm-fit: warning: {w.message}", file=sys.stderr)
        save_fit(result, args.out, force=args.force)
    except (FitError, FileNotFoundError, FileExistsError) as e:
        print(f"stylemm-fit: error: {e}", file=sys.stderr)
        return 2
    times = ", ".join(f"{k} {v:.1f} s" for k, v in result.times.items())
    print(f"wrote {args.out}/face.glb, params.json, preview.png, texture.png ({result.style}); landmarks within "
          f"{100 * result.landmark_error:.1f} % of the eye distance (median); {times}")  # fmt: skip
    return 0


def _parser() -> argparse.ArgumentParser:
    from pathlib import Path

    p = argparse.ArgumentParser(prog="stylemm-fit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("photo", help="a photo (JPEG, PNG, ...) with one face turned less than about 45 degrees")
    p.add_argument("--style", default="realistic", help="a shipped style (realistic, orc) or a style pack folder")
    p.add_argument("--out", type=Path, required=True, help="the folder to write")
    p.add_argument("--neutral", action="store_true", help="give the fitted identity a neutral expression")
    p.add_argument("--fov", type=float, default=30.0, help="the camera's vertical field of view in degrees (default 30, stylemm.fit.api.DEFAULT_FOV)")
    p.add_argument("--detail", type=float, help="how much of the photo's skin detail the style keeps, 0..1 "
                                                "(default: 1 for realistic, 0.5 for other styles)")  # fmt: skip
    p.add_argument("--sdxl-turbo", help="a local SDXL-Turbo folder (diffusers layout): refine the stylized texture")
    p.add_argument("--turbo-steps", type=int, default=4)
    p.add_argument("--turbo-strength", type=float, default=0.25, help="the noise share of img2img (paper: 25 %%)")
    p.add_argument("--turbo-iterations", type=int, default=400, help="texture optimisation steps (paper: 400)")
    p.add_argument("--device", default="auto", help="for SDXL-Turbo: cuda, cpu or auto")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=int, default=2)
    return p


if __name__ == "__main__":
    sys.exit(main())
