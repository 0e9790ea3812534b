"""The pair dataset: the contract between the stylizers and the trainer (DESIGN 6).

Hugging Face ImageFolder layout, so ``datasets.load_dataset("imagefolder", data_dir=DIR)``
reads it (the stylized image is ``file_name``; the rest are metadata columns)::

    DIR/stylized/NNNNNN.png   the stylized image
    DIR/source/NNNNNN.png     the source render, same camera
    DIR/masks/NNNNNN.png      class index per pixel (palette PNG; classes in dataset.json)
    DIR/truth/NNNNNN.npz      the stylized mesh (posed, float32, metres), where the stylizer knows it
    DIR/metadata.jsonl        one line per sample: every parameter, landmarks, flags
    DIR/dataset.json          the run (DatasetConfig's fields: style, recipe, seed, source model, size,
                              count, ...), the format, the vocabularies, and a summary when complete
    DIR/preview.png           source | stylized | landmarks and masks drawn over it
    DIR/chunks/CCCCCC.jsonl   the finished chunks (the metadata lines, written last)

Samples are made in chunks of ``chunk_size`` consecutive indices, each as one batch, so a
sample's bytes do not depend on which process or which run made it. The renderer is not why:
a sample's pixels are the same alone or in any batch (tests/python/test_render_fast.py). D_src
and G_src are (batched matrix products and convolutions round differently with the batch
size, in the last bits), and the stylizer draws a chunk's strength variations from one
generator seeded by the chunk. A chunk's files are
each written atomically and its line file last: a chunk with a line file is complete, so
``resume`` redoes only the chunks without one. Under ``torchrun`` or ``accelerate launch`` process r of W
makes the chunks c with c % W == r; the main process joins the line files in order into
metadata.jsonl once all are there.
"""

from __future__ import annotations

import json
import time
import zipfile
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from stylemm.io.atomic import atomic_path, atomic_write, write_json
from stylemm.stylize.detection import StylizedLandmarks, to_uint8
from stylemm.stylize.faces import SourceFaces, StylizedFaces
from stylemm.stylize.masks import CLASSES, PALETTE, LandmarkMasks, mask_png, masks_from_parts
from stylemm.stylize.source import SourceSampler, camera_from_records, camera_record, short_float

FORMAT, FORMAT_VERSION = "stylemm-pairs", 1
CHUNK_SIZE = 16
PNG_COMPRESSION = 3  # zlib level: 6 (Pillow's default) costs twice the time for 3 % smaller files
PREVIEW_SAMPLES = 8
STEPS = ("sample", "render source", "stylize", "detect", "masks", "write")


@dataclass
class DatasetConfig:
    """What defines a dataset's bytes; a resumed run must ask for the same."""

    style: str | None
    prompt: str | None
    stylizer: str  # "recipe" | "eas"
    recipe: dict  # atom -> strength (recipe stylizer), or the EAS prompts
    seed: int
    count: int
    size: int = 256
    variation: float = 0.3
    source_model: str = "openhead"
    source_pack: str = "realistic"
    chunk_size: int = CHUNK_SIZE

    @property
    def chunks(self) -> int:
        return -(-self.count // self.chunk_size)

    def chunk_indices(self, chunk: int) -> range:
        return range(chunk * self.chunk_size, min((chunk + 1) * self.chunk_size, self.count))


CONFIG_KEYS = tuple(f.name for f in fields(DatasetConfig))


def chunk_seed(seed: int, chunk: int) -> int:
    """The stylizer's seed for one chunk (its per-sample variation), from the run's seed."""
    return int(np.random.SeedSequence([seed, chunk, 1]).generate_state(1, np.uint64)[0] >> 1)


class PairMaker:
    """Makes the samples of one chunk: source faces, stylized, landmarks, masks.

    stylizer: ``stylize(faces: SourceFaces, generator) -> StylizedFaces``. mask_network:
    optional f_mask (``stylemm.stylize.mask_network.MaskNetwork``: ``predict(images (B, 3,
    H, W) in [0, 1]) -> (B, H, W)`` class indices), used for images without rendered
    parts; otherwise the MediaPipe fallback is.
    """

    def __init__(self, config: DatasetConfig, model, sampler: SourceSampler, stylizer, mask_network=None):
        self.config, self.model, self.sampler, self.stylizer = config, model, sampler, stylizer
        self.mask_network = mask_network
        self.landmarks = StylizedLandmarks(model)
        self._fallback = None
        self.seconds = defaultdict(float)  # step -> time spent, for the benchmark and the log

    def make(self, chunk: int) -> list[dict]:
        """The chunk's samples: each a dict of arrays to write and its metadata line."""
        indices = self.config.chunk_indices(chunk)
        with self.timed("sample"):
            parameters = self.sampler.parameters(self.config.seed, indices)
        with self.timed("render source"):
            faces = self.sampler.render(parameters)
        with self.timed("stylize"), torch.no_grad():
            stylized = self.stylizer.stylize(faces, torch.Generator().manual_seed(chunk_seed(self.config.seed, chunk)))
        images = to_uint8(stylized.images)
        with self.timed("detect"):
            truth = stylized.vertices if stylized.vertices is not None else faces.vertices
            found = self.landmarks.detect(images, truth, faces.camera)
        with self.timed("masks"):
            masks, mask_source = self._masks(stylized, images, found.landmarks)
        sources = to_uint8(faces.images)
        return [
            {
                "index": index,
                "stylized": images[b],
                "source": sources[b],
                "mask": masks[b],
                "truth": None if stylized.vertices is None else stylized.vertices[b].numpy().astype(np.float32),
                "record": self._record(index, b, faces, stylized, found, mask_source),
            }
            for b, index in enumerate(indices)
        ]

    def _masks(self, stylized: StylizedFaces, images: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, str]:
        if stylized.parts is not None:
            return masks_from_parts(stylized.parts, self.model.part_names), "render"
        if self.mask_network is not None:
            return self.mask_network.predict(stylized.images).cpu().numpy().astype(np.uint8), "f_mask"
        if self._fallback is None:
            self._fallback = LandmarkMasks(self.model)
        return self._fallback.masks(images, landmarks), "mediapipe"

    def _record(self, index: int, b: int, faces: SourceFaces, stylized: StylizedFaces, found, mask_source: str) -> dict:
        name = f"{index:06d}"
        floats = lambda t: [short_float(x) for x in t.reshape(-1).tolist()]  # noqa: E731
        return {
            "file_name": f"stylized/{name}.png",
            "source_file": f"source/{name}.png",
            "mask_file": f"masks/{name}.png",
            "truth_file": None if stylized.vertices is None else f"truth/{name}.npz",
            "index": index,
            "shape": floats(faces.shape[b]),
            "expression": dict(zip(self.model.expression_names, floats(faces.expression[b]))),
            "pose": {joint: floats(value[b]) for joint, value in faces.pose.items()},
            "camera": camera_record(faces.camera, b),
            "texture_z": floats(faces.texture_z[b]),
            "landmarks": np.round(found.landmarks[b].astype(np.float64), 2).tolist() if found.found[b] else None,
            "landmarks_found": bool(found.found[b]),
            "landmarks_error_px": round(float(found.error_px[b]), 3) if found.found[b] else None,
            "flagged": bool(found.flagged[b]),
            "mask_source": mask_source,
            "strengths": stylized.strengths[b] if stylized.strengths else {},
        }

    @contextmanager
    def timed(self, step: str):
        start = time.perf_counter()
        yield
        self.seconds[step] += time.perf_counter() - start

    def close(self) -> None:
        self.landmarks.close()
        if self._fallback is not None:
            self._fallback.close()


# -- writing ----------------------------------------------------------------------------------
def write_samples(out: Path, chunk: int, samples: list[dict]) -> None:
    """A chunk's files, each atomically, then its line file (the sign that it is complete)."""
    for s in samples:
        name = f"{s['index']:06d}"
        _write_png(out / "stylized" / f"{name}.png", s["stylized"])
        _write_png(out / "source" / f"{name}.png", s["source"])
        _write_png(out / "masks" / f"{name}.png", s["mask"], palette=True)
        if s["truth"] is not None:
            write_npz(out / "truth" / f"{name}.npz", {"vertices": s["truth"]})
    with atomic_write(chunk_file(out, chunk), "w") as f:
        f.writelines(json.dumps(s["record"]) + "\n" for s in samples)


def _write_png(path: Path, array: np.ndarray, palette: bool = False) -> None:
    from PIL import Image

    image = mask_png(array) if palette else Image.fromarray(array)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", compress_level=PNG_COMPRESSION)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A plain .npz (no pickles) whose bytes depend only on the arrays: numpy's own savez
    stamps each member with the current time."""
    with atomic_write(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
        for key, value in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)), "w") as member:
                np.lib.format.write_array(member, np.ascontiguousarray(value), allow_pickle=False)


def chunk_file(out: Path, chunk: int) -> Path:
    return Path(out) / "chunks" / f"{chunk:06d}.jsonl"


def dataset_info(config: DatasetConfig, model) -> dict:
    """dataset.json: the run's definition and the vocabularies the reader needs."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **asdict(config),
        "classes": list(CLASSES),
        "mask_palette": PALETTE.tolist(),
        "expression_names": list(model.expression_names),
        "joint_names": list(model.joint_names),
        "landmarks": "mediapipe-478",
        "complete": False,
    }


def check(out: Path, info: dict, resume: bool) -> None:
    """That ``out`` may receive this dataset: new or empty, or (with resume) the same
    dataset started before. Read-only, so every process can run it before any writes."""
    index = out / "dataset.json"
    if index.is_file():
        old = json.loads(index.read_text())
        if not resume:
            raise FileExistsError(f"{out} already holds a pair dataset; pass --resume to continue it, or choose another --out")
        changed = sorted(k for k in CONFIG_KEYS if old.get(k) != info[k])
        if old.get("format_version") != FORMAT_VERSION or changed:
            raise ValueError(f"{out} was started with other settings ({', '.join(changed) or 'format'} differ); "
                             "resume with the same options, or choose another --out")  # fmt: skip
    elif out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not a pair dataset; choose an empty or new --out")


def start(out: Path, info: dict) -> None:
    """Write dataset.json (not yet complete) unless a resumed run already has it."""
    if not (out / "dataset.json").is_file():
        write_json(out / "dataset.json", info)


def pending_chunks(out: Path, config: DatasetConfig, process: int = 0, processes: int = 1) -> list[int]:
    """This process's chunks that have no line file yet."""
    return [c for c in range(process, config.chunks, processes) if not chunk_file(out, c).is_file()]


def finish(out: Path, config: DatasetConfig) -> dict:
    """Join the chunks' lines into metadata.jsonl, draw preview.png, mark dataset.json complete."""
    missing = [c for c in range(config.chunks) if not chunk_file(out, c).is_file()]
    if missing:
        raise RuntimeError(f"{out}: chunks {missing[:5]}{'...' if len(missing) > 5 else ''} are not written; run again with --resume")
    with atomic_write(out / "metadata.jsonl", "w") as f:
        for c in range(config.chunks):
            f.write(chunk_file(out, c).read_text())
    records = read_metadata(out)
    preview(out, records[:PREVIEW_SAMPLES]).save(out / "preview.png")
    info = json.loads((out / "dataset.json").read_text())
    errors = [r["landmarks_error_px"] for r in records if r["landmarks_found"]]
    info["summary"] = {
        "samples": len(records),
        "landmarks_found": len(errors),
        "flagged": sum(r["flagged"] for r in records),
        "landmarks_error_px_median": float(np.median(errors)) if errors else None,
        "mask_sources": sorted({r["mask_source"] for r in records}),
    }
    info["complete"] = True
    write_json(out / "dataset.json", info)
    return info


def read_metadata(out: Path) -> list[dict]:
    return [json.loads(line) for line in (Path(out) / "metadata.jsonl").read_text().splitlines() if line]


def preview(out: Path, records: list[dict]):
    """Contact sheet: per sample, source | stylized | stylized with its mask blended in and
    its landmarks drawn (green, red when flagged); captioned with the landmark error."""
    from PIL import Image, ImageDraw

    from stylemm.viz.sheets import contact_sheet

    tiles, labels = [], []
    for r in records:
        source = Image.open(out / r["source_file"]).convert("RGB")
        stylized = Image.open(out / r["file_name"]).convert("RGB")
        mask = np.asarray(Image.open(out / r["mask_file"]))
        overlay = np.asarray(stylized).astype(np.float32)
        parts = mask > CLASSES.index("face")  # the face class is the whole head: outline it instead
        overlay[parts] = 0.5 * overlay[parts] + 0.5 * PALETTE[mask[parts]]
        head = mask > 0
        edge = head & ~(np.roll(head, 1, 0) & np.roll(head, -1, 0) & np.roll(head, 1, 1) & np.roll(head, -1, 1))
        overlay[edge] = PALETTE[CLASSES.index("face")]
        drawn = Image.fromarray(overlay.round().astype(np.uint8))
        if r["landmarks"] is not None:
            draw = ImageDraw.Draw(drawn)
            colour = (255, 0, 0) if r["flagged"] else (0, 255, 255)
            for x, y in r["landmarks"]:
                draw.point((x, y), fill=colour)
        error = "no face" if r["landmarks_error_px"] is None else f"{r['landmarks_error_px']:.1f} px"
        tiles += [source, stylized, drawn]
        labels += [f"#{r['index']} source", "stylized", f"{r['mask_source']}, {error}"]
    return contact_sheet(tiles, columns=6, labels=labels)


# -- the run ----------------------------------------------------------------------------------
def build(out, config: DatasetConfig, maker: PairMaker, info: dict, resume: bool = False, process: int = 0,
          processes: int = 1, barrier=None, progress=None) -> dict | None:  # fmt: skip
    """Make (or continue) the dataset in ``out``. Each of ``processes`` makes its share of
    the chunks; ``barrier()`` waits for all of them (Accelerate's wait_for_everyone). The
    main process (0) then joins the chunks and returns dataset.json's content."""
    out = Path(out)
    barrier = barrier or (lambda: None)
    check(out, info, resume)
    barrier()  # everyone has checked before dataset.json appears
    if process == 0:
        start(out, info)
    for chunk in pending_chunks(out, config, process, processes):
        samples = maker.make(chunk)
        with maker.timed("write"):
            write_samples(out, chunk, samples)
        if progress is not None:
            progress(len(samples))
    barrier()
    return finish(out, config) if process == 0 else None


# -- reading ----------------------------------------------------------------------------------
@dataclass
class PairDataset(torch.utils.data.Dataset):
    """The trainer's view of a pair dataset: ``dataset[i]`` is a dict of tensors.

    Keys: stylized, source (3, H, W) in [0, 1]; mask (H, W) int64 class indices;
    landmarks (478, 2) pixels (NaN where none were found); landmarks_found; shape;
    expression (E,) in ``expression_names`` order; pose (J, 3) in ``joint_names`` order;
    texture_z; camera (a dict, see ``collate``); index. Flagged samples (no face found, or
    landmarks that strayed) are left out unless ``include_flagged``. The 3D ground truth is
    not in the items (the trainer must not learn from it): ``truth(i)`` reads it for measuring.
    """

    root: Path
    include_flagged: bool = False
    records: list[dict] = field(init=False)
    info: dict = field(init=False)

    def __post_init__(self):
        self.root = Path(self.root)
        index = self.root / "dataset.json"
        if not index.is_file():
            raise FileNotFoundError(f"{self.root} is not a pair dataset (no dataset.json); make one with stylemm-stylize")
        self.info = json.loads(index.read_text())
        if self.info.get("format") != FORMAT or self.info.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(f"{index}: format {self.info.get('format')} v{self.info.get('format_version')} is not one this stylemm reads "
                             f"({FORMAT} v{FORMAT_VERSION}); upgrade stylemm")  # fmt: skip
        if not self.info.get("complete"):
            raise ValueError(f"{self.root} is not finished; continue it with stylemm-stylize ... --resume")
        records = read_metadata(self.root)
        self.records = [r for r in records if self.include_flagged or not r["flagged"]]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict:
        from PIL import Image

        r = self.records[i]
        image = lambda name: torch.from_numpy(np.array(Image.open(self.root / name).convert("RGB"))).permute(2, 0, 1).float() / 255  # noqa: E731
        landmarks = np.full((478, 2), np.nan, np.float32) if r["landmarks"] is None else np.asarray(r["landmarks"], np.float32)
        return {
            "index": r["index"],
            "stylized": image(r["file_name"]),
            "source": image(r["source_file"]),
            "mask": torch.from_numpy(np.array(Image.open(self.root / r["mask_file"]), np.int64)),
            "landmarks": torch.from_numpy(landmarks),
            "landmarks_found": r["landmarks_found"],
            "shape": torch.tensor(r["shape"]),
            "expression": torch.tensor([r["expression"][n] for n in self.info["expression_names"]]),
            "pose": torch.tensor([r["pose"].get(j, [0.0, 0.0, 0.0]) for j in self.info["joint_names"]]),
            "texture_z": torch.tensor(r["texture_z"]),
            "camera": r["camera"],
        }

    def truth(self, i: int) -> torch.Tensor | None:
        """The stylized mesh (N, 3) of sample i, or None where the stylizer had no 3D."""
        name = self.records[i]["truth_file"]
        if name is None:
            return None
        with np.load(self.root / name, allow_pickle=False) as z:
            return torch.from_numpy(z["vertices"])

    @staticmethod
    def collate(items: list[dict]) -> dict:
        """A DataLoader's collate_fn: tensors stacked, ``camera`` a batched Camera."""
        batch = {key: torch.utils.data.default_collate([item[key] for item in items]) for key in items[0] if key != "camera"}
        batch["camera"] = camera_from_records([item["camera"] for item in items])
        return batch
