"""EAS (paper 3.3) with tiny random SDXL-shaped models on the CPU: the schedule, a full call
from folders on disk, parity with diffusers' own img2img, and the missing-weights errors."""

import numpy as np
import pytest
import torch
from tiny_sdxl import IMAGE_SIZE, TINY_EAM, sdxl_scheduler, tiny_sdxl

from stylemm.stylize.eam import EAMModel
from stylemm.stylize.eas import (EASStylizer, MissingWeightsError, check_eam_folder, check_sdxl_folder, control_scales,
                                 denoising_timesteps, pick_device, sdxl_time_ids)  # fmt: skip

EXPRESSION_DIM = 7
B = 2


def test_eas_starts_at_timestep_721_and_runs_19_of_25_ddim_steps():
    timesteps = denoising_timesteps(sdxl_scheduler(), 25, 6)
    assert timesteps[0] == 721 and len(timesteps) == 19
    assert torch.equal(timesteps, torch.arange(721, 0, -40))
    unshifted = sdxl_scheduler()
    unshifted.register_to_config(steps_offset=0)
    assert denoising_timesteps(unshifted, 25, 6)[0] == 720
    with pytest.raises(ValueError, match="start_index"):
        denoising_timesteps(sdxl_scheduler(), 25, 25)


def test_control_scale_falls_linearly_from_0_7_towards_0():
    scales = control_scales(19, 0.7)
    assert len(scales) == 19 and scales[0] == pytest.approx(0.7)
    assert np.allclose(np.diff(scales), -0.7 / 19)  # linear
    assert scales[-1] == pytest.approx(0.7 / 19)  # and the next step would be 0


def test_sdxl_time_ids_are_original_crop_and_target_size():
    assert sdxl_time_ids(512, 640, 3).tolist() == [[512, 640, 0, 0, 512, 640]] * 3


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A tiny SDXL and a trained-looking (perturbed) EAM, saved in diffusers layout."""
    root = tmp_path_factory.mktemp("eas")
    pipe = tiny_sdxl()
    pipe.save_pretrained(root / "sdxl")
    eam = EAMModel.from_unet(pipe.unet, expression_dim=EXPRESSION_DIM, **TINY_EAM)
    eam.save_pretrained(root / "fresh_eam")
    torch.manual_seed(1)
    with torch.no_grad():
        for p in eam.parameters():
            p.add_(0.05 * torch.randn_like(p))
    eam.save_pretrained(root / "eam")
    return root


def inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"images": torch.rand(B, 3, IMAGE_SIZE, IMAGE_SIZE, generator=g), "landmarks5": torch.rand(B, 5, 2, generator=g),
            "rotation": 0.3 * torch.randn(B, 3, generator=g), "expression": torch.rand(B, EXPRESSION_DIM, generator=g)}  # fmt: skip


def test_a_full_eas_call_from_folders(folders):
    eas = EASStylizer.from_pretrained(folders / "sdxl", folders / "eam", device="cpu")
    assert type(eas.pipe.scheduler).__name__ == "DDIMScheduler"
    run = lambda seed=0, **kw: eas.stylize(**{**inputs(), **kw}, prompt="a green orc", generator=torch.Generator().manual_seed(seed))  # noqa: E731
    out = run()
    assert out.shape == (B, 3, IMAGE_SIZE, IMAGE_SIZE) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(out, run())  # the same generator, the same images
    assert not torch.equal(out, run(seed=1))
    assert not torch.equal(out, run(expression=inputs(5)["expression"]))  # the EAM is listened to
    assert not torch.equal(out, run(rotation=None))  # a dropped condition changes it too


def test_with_a_fresh_eam_eas_is_diffusers_sdxl_img2img_at_strength_0_76(folders):
    """A fresh EAM adds nothing, so EAS must be exactly the stock img2img pipeline with DDIM,
    25 steps, strength 0.76 (start at timesteps[6]), guidance 5 and the same negative prompt."""
    from diffusers import DDIMScheduler, StableDiffusionXLImg2ImgPipeline

    eas = EASStylizer.from_pretrained(folders / "sdxl", folders / "fresh_eam", device="cpu")
    x = inputs()
    ours = eas.stylize(**x, prompt="a pixar child", negative_prompt="ugly", generator=torch.Generator().manual_seed(3))
    pipe = StableDiffusionXLImg2ImgPipeline.from_pretrained(folders / "sdxl", local_files_only=True)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    stock = pipe(prompt=["a pixar child"] * B, negative_prompt=["ugly"] * B, image=x["images"], strength=0.76, num_inference_steps=25,
                 guidance_scale=5.0, generator=torch.Generator().manual_seed(3), output_type="pt").images  # fmt: skip
    assert torch.allclose(ours, stock, atol=1e-5), (ours - stock).abs().max()


def test_wrong_inputs_are_named(folders):
    eas = EASStylizer.from_pretrained(folders / "sdxl", folders / "eam", device="cpu")
    with pytest.raises(ValueError, match="multiples of"):
        eas.stylize(**{**inputs(), "images": torch.rand(B, 3, 60, 60)}, prompt="x")
    with pytest.raises(ValueError, match=r"expression must have shape \(2, 7\)"):
        eas.stylize(**{**inputs(), "expression": torch.rand(B, 52)}, prompt="x")


def test_missing_weights_name_what_is_missing_and_where(folders, tmp_path):
    import shutil

    with pytest.raises(MissingWeightsError, match=r"model_index.json is missing.*RealVisXL"):
        check_sdxl_folder(tmp_path)
    sdxl = tmp_path / "sdxl"
    shutil.copytree(folders / "sdxl", sdxl)
    assert check_sdxl_folder(sdxl) is None
    shutil.rmtree(sdxl / "tokenizer_2")
    with pytest.raises(MissingWeightsError, match=r"lacks tokenizer_2/"):
        check_sdxl_folder(sdxl)
    shutil.copytree(folders / "sdxl" / "tokenizer_2", sdxl / "tokenizer_2")
    for f in (sdxl / "unet").glob("*.safetensors"):
        f.rename(f.with_name("diffusion_pytorch_model.fp16.safetensors"))
    assert check_sdxl_folder(sdxl) == "fp16"  # only the fp16 variant: loaded as such
    EASStylizer.from_pretrained(sdxl, folders / "eam", device="cpu")
    for f in (sdxl / "unet").glob("*.safetensors"):
        f.unlink()
    with pytest.raises(MissingWeightsError, match=rf"no weights in {sdxl / 'unet'}"):
        EASStylizer.from_pretrained(sdxl, folders / "eam", device="cpu")
    with pytest.raises(MissingWeightsError, match=r"config.json is missing; --eam must be"):
        check_eam_folder(tmp_path / "nowhere")
    with pytest.raises(MissingWeightsError, match="no EAM"):
        EASStylizer.from_pretrained(folders / "sdxl", tmp_path / "nowhere", device="cpu")


def test_no_gpu_is_an_error_unless_the_cpu_is_forced(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"device='cpu'"):
        pick_device(None)
    assert pick_device("cpu") == torch.device("cpu")
