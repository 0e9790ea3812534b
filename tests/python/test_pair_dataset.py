"""The pair dataset: layout, bytes, resume, the readers (ours and Hugging Face's), landmarks and masks."""

import json

import numpy as np
import pytest
from folders import tree_bytes
import torch
from PIL import Image

import stylemm
from stylemm.facemodel import load
from stylemm.stylize import dataset as pairs
from stylemm.stylize.detection import StylizedLandmarks, to_uint8
from stylemm.stylize.masks import CLASSES, LandmarkMasks, iou_per_class, masks_from_parts, part_classes
from stylemm.stylize.recipe_stylizer import RecipeStylizer
from stylemm.stylize.recipes import get_recipe, list_styles
from stylemm.stylize.source import SourceSampler

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model():
    return load("openhead")


@pytest.fixture(scope="module")
def pack():
    return stylemm.load_pack("realistic")


def config(style="statue", count=4, size=64, seed=0, chunk_size=2):
    recipe = get_recipe(style)
    return pairs.DatasetConfig(style=style, prompt=recipe.prompt, stylizer="recipe", recipe=recipe.to_dict(), seed=seed,
                               count=count, size=size, chunk_size=chunk_size)  # fmt: skip


def build(out, cfg, model, pack, **options):
    sampler = SourceSampler(model, pack.deformer, pack.texture_generator, cfg.size)
    maker = pairs.PairMaker(cfg, model, sampler, RecipeStylizer(model, get_recipe(cfg.style), cfg.variation))
    try:
        return pairs.build(out, cfg, maker, pairs.dataset_info(cfg, model), **options)
    finally:
        maker.close()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory, model, pack):
    out = tmp_path_factory.mktemp("pairs") / "statue"
    build(out, config(size=128), model, pack)
    return out


def test_layout_is_the_issues(dataset_dir, model):
    names = sorted(p.name for p in dataset_dir.iterdir())
    assert names == ["chunks", "dataset.json", "masks", "metadata.jsonl", "preview.png", "source", "stylized", "truth"]
    records = pairs.read_metadata(dataset_dir)
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    keys = {"file_name", "source_file", "mask_file", "truth_file", "shape", "expression", "pose", "camera", "texture_z",
            "landmarks", "landmarks_found", "mask_source"}  # fmt: skip
    for r in records:
        assert keys <= set(r)
        assert r["file_name"] == f"stylized/{r['index']:06d}.png" and r["truth_file"] == f"truth/{r['index']:06d}.npz"
        assert set(r["expression"]) == set(model.expression_names) and len(r["shape"]) == model.shape_dim
        assert r["mask_source"] == "render"
        assert (r["landmarks"] is None) == (not r["landmarks_found"])
        assert r["landmarks"] is None or np.asarray(r["landmarks"]).shape == (478, 2)
        mask = np.asarray(Image.open(dataset_dir / r["mask_file"]))
        assert mask.shape == (128, 128) and mask.max() < len(CLASSES) and {0, 1} <= set(np.unique(mask).tolist())
        with np.load(dataset_dir / r["truth_file"], allow_pickle=False) as z:
            assert z["vertices"].dtype == np.float32 and z["vertices"].shape == (model.num_vertices, 3)
    info = json.loads((dataset_dir / "dataset.json").read_text())
    assert info["complete"] and info["style"] == "statue" and info["count"] == 4 and info["size"] == 128
    assert info["recipe"]["strengths"] == get_recipe("statue").strengths and info["source_model"] == "openhead"
    assert info["classes"] == list(CLASSES)


def test_the_same_seed_gives_the_same_bytes(tmp_path, model, pack):
    build(tmp_path / "a", config(), model, pack)
    build(tmp_path / "b", config(), model, pack)
    a, b = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert a.keys() == b.keys() and a == b
    build(tmp_path / "c", config(seed=1), model, pack)
    assert tree_bytes(tmp_path / "c")["stylized/000000.png"] != a["stylized/000000.png"]


def test_shards_and_resume_give_the_same_bytes(tmp_path, model, pack):
    cfg = config(count=5)
    build(tmp_path / "whole", cfg, model, pack)
    # Two processes, each its own chunks (run one after the other: no real barrier here);
    # then a run that lost a chunk and is resumed.
    with pytest.raises(RuntimeError, match="--resume"):  # the main process cannot join before the other has written
        build(tmp_path / "shards", cfg, model, pack, process=0, processes=2)
    build(tmp_path / "shards", cfg, model, pack, process=1, processes=2, resume=True)
    pairs.finish(tmp_path / "shards", cfg)
    assert tree_bytes(tmp_path / "shards") == tree_bytes(tmp_path / "whole")
    (tmp_path / "shards" / "chunks" / "000001.jsonl").unlink()
    (tmp_path / "shards" / "stylized" / "000003.png").write_bytes(b"half a png")
    with pytest.raises(FileExistsError, match="--resume"):
        build(tmp_path / "shards", cfg, model, pack)
    build(tmp_path / "shards", cfg, model, pack, resume=True)
    assert tree_bytes(tmp_path / "shards") == tree_bytes(tmp_path / "whole")
    with pytest.raises(ValueError, match="seed"):
        build(tmp_path / "shards", config(count=5, seed=3), model, pack, resume=True)


def test_hugging_face_imagefolder_reads_it(dataset_dir, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")  # in the dev extra
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = datasets.load_dataset("imagefolder", data_dir=str(dataset_dir), split="train")
    assert len(data) == 4  # the source and mask PNGs are columns, not rows
    row = data[2]
    assert row["image"].size == (128, 128) and row["source_file"] == "source/000002.png"
    assert row["index"] == 2 and len(row["texture_z"]) == 256


def test_pair_dataset_reader(dataset_dir, model):
    data = pairs.PairDataset(dataset_dir, include_flagged=True)
    assert len(data) == 4
    item = data[1]
    assert item["stylized"].shape == (3, 128, 128) and item["source"].shape == (3, 128, 128)
    assert item["mask"].dtype == torch.int64 and item["landmarks"].shape == (478, 2)
    assert item["pose"].shape == (len(model.joint_names), 3) and item["expression"].shape == (model.expression_dim,)
    record = pairs.read_metadata(dataset_dir)[1]
    assert float(item["expression"][model.expression_names.index("jawOpen")]) == pytest.approx(record["expression"]["jawOpen"])
    batch = pairs.PairDataset.collate([data[0], data[1]])
    assert batch["stylized"].shape == (2, 3, 128, 128) and batch["camera"].eye.shape == (2, 3)
    assert data.truth(1).shape == (model.num_vertices, 3)
    unflagged = pairs.PairDataset(dataset_dir)
    assert len(unflagged) == sum(not r["flagged"] for r in pairs.read_metadata(dataset_dir))


def test_an_unfinished_dataset_is_refused(tmp_path, dataset_dir):
    with pytest.raises(FileNotFoundError, match="stylemm-stylize"):
        pairs.PairDataset(tmp_path)
    info = json.loads((dataset_dir / "dataset.json").read_text())
    (tmp_path / "dataset.json").write_text(json.dumps({**info, "complete": False}))
    with pytest.raises(ValueError, match="--resume"):
        pairs.PairDataset(tmp_path)


def test_every_part_has_a_class(model):
    classes = part_classes(model.part_names)
    named = {p: CLASSES[c] for p, c in zip(model.part_names, classes)}
    assert named["left_eyeball"] == "eye" and named["teeth"] == "mouth" and named["ears"] == "ear" and named["scalp"] == "face"
    parts = torch.tensor([[-1, model.part_names.index("nose")]])
    assert masks_from_parts(parts, model.part_names).tolist() == [[0, CLASSES.index("nose")]]
    with pytest.raises(ValueError, match="CLASS_OF_PART"):
        part_classes(["horn"])


@pytest.mark.parametrize("style", ["statue", "disney", "orc"])
def test_landmarks_on_stylized_images_lie_on_the_true_mesh(style, model, pack):
    """MediaPipe on the stylized images finds the embedded landmarks of the stylized mesh,
    projected with the same camera, within a few pixels at 256 px (inter-ocular ~50 px)."""
    sampler = SourceSampler(model, pack.deformer, pack.texture_generator, 256)
    maker = pairs.PairMaker(config(style, size=256), model, sampler, RecipeStylizer(model, get_recipe(style), 0.3))
    faces = sampler.sample(5, range(8))
    stylized = maker.stylizer.stylize(faces, torch.Generator().manual_seed(0))
    found = maker.landmarks.detect(to_uint8(stylized.images), stylized.vertices, faces.camera)
    # Measured on 16 faces: found on 16, 16 and 13; median errors 3.2, 3.9 and 7.3 px. The orc's
    # heavy jaw, brow and muzzle pull MediaPipe's points off the embedded ones, and hide some faces from it.
    minimum, limit = {"statue": (7, 4.0), "disney": (7, 5.0), "orc": (4, 9.0)}[style]
    assert found.found.sum() >= minimum, found.found
    assert float(np.median(found.error_px[found.found])) < limit, found.error_px


def test_fallback_masks_approximate_the_exact_ones(model, pack):
    """Images without 3D get masks from the selfie segmentation and landmark hulls; on recipe
    pairs, where the exact masks are known, they overlap them."""
    sampler = SourceSampler(model, pack.deformer, pack.texture_generator, 256)
    faces = sampler.sample(2, range(4))
    stylized = RecipeStylizer(model, get_recipe("statue"), 0.3).stylize(faces, torch.Generator().manual_seed(0))
    images = to_uint8(stylized.images)
    found = StylizedLandmarks(model).detect(images, stylized.vertices, faces.camera)
    assert found.found.all()
    exact = masks_from_parts(stylized.parts, model.part_names)
    fallback = LandmarkMasks(model).masks(images, found.landmarks)
    ious = [iou_per_class(e, f) for e, f in zip(exact, fallback)]
    mean = {name: np.mean([i[name] for i in ious if name in i]) for name in ("background", "face", "eye", "nose", "mouth")}
    assert mean["background"] > 0.9 and min(mean.values()) > 0.5, mean  # measured: 0.96, 0.76, 0.76, 0.70, 0.70


def test_named_styles_are_all_known():
    assert {"disney", "pixar-child", "orc", "baby", "statue", "neanderthal"} <= set(list_styles())


def test_images_without_3d_take_their_masks_from_f_mask_when_given(tmp_path, model, pack):
    """EAS images (no 3D truth) with --mask-network: the masks are f_mask's predictions and the
    metadata says so; without one they would be the MediaPipe fallback's."""
    from stylemm.stylize.faces import StylizedFaces

    class WithoutTruth:  # an EAS-like stylizer: images only
        def __init__(self):
            self.recipe = RecipeStylizer(model, get_recipe("statue"), 0.3)

        def stylize(self, faces, generator):
            return StylizedFaces(images=self.recipe.stylize(faces, generator).images)

    class Stripes:  # an f_mask: predict(images (B, 3, H, W)) -> (B, H, W) class indices
        def predict(self, images):
            columns = torch.arange(images.shape[-1]) % len(CLASSES)
            return columns.expand(len(images), images.shape[-2], -1)

    cfg = config(count=2, size=64)
    sampler = SourceSampler(model, pack.deformer, pack.texture_generator, cfg.size)
    maker = pairs.PairMaker(cfg, model, sampler, WithoutTruth(), mask_network=Stripes())
    try:
        pairs.build(tmp_path / "eas", cfg, maker, pairs.dataset_info(cfg, model))
    finally:
        maker.close()
    records = pairs.read_metadata(tmp_path / "eas")
    assert [r["mask_source"] for r in records] == ["f_mask", "f_mask"] and all(r["truth_file"] is None for r in records)
    mask = np.asarray(Image.open(tmp_path / "eas" / records[0]["mask_file"]))
    assert np.array_equal(mask, np.broadcast_to(np.arange(64) % len(CLASSES), (64, 64)))
