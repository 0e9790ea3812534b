"""stylemm-stylize: its errors, the prompt report, and a killed run resumed to the same bytes."""

import os
import signal
import subprocess
import sys
import time

import pytest
from folders import tree_bytes

from stylemm.cli.stylize import main
from stylemm.stylize.recipes import list_styles

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def test_an_unknown_style_lists_the_known_ones(tmp_path, capsys):
    assert main(["--style", "klingon", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown style 'klingon'" in err and all(name in err for name in list_styles())
    assert not (tmp_path / "x").exists()


def test_list_styles_prints_names_prompts_and_atoms(capsys):
    assert main(["--list-styles"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in list_styles()) and "green-skin" in out and "a green orc" in out


def test_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--style", "orc"])  # no --out
    assert e.value.code == 2 and "--out" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["--style", "orc", "--prompt", "an orc", "--out", str(tmp_path)])
    assert e.value.code == 2


def test_a_prompt_that_matches_nothing_exits_non_zero(tmp_path, capsys):
    assert main(["--prompt", "qwerty zxcv", "--out", str(tmp_path / "x")]) == 2
    assert "nothing in the prompt" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_eam_train_mounts_its_parser(capsys):
    with pytest.raises(SystemExit) as e:
        main(["eam-train", "--help"])
    assert e.value.code == 0 and "--sdxl" in capsys.readouterr().out


def test_a_killed_run_resumes_to_the_same_dataset(tmp_path, capsys):
    args = ["--prompt", "a green orc", "--count", "8", "--size", "64", "--chunk-size", "2", "--threads", "1"]
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    out, err = capsys.readouterr()
    assert "green-skin" in out and "wrote 8 pairs" in out  # the prompt's report, then the summary
    assert "pair/s" in err  # tqdm's progress bar

    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "stylemm.cli.stylize", *args, "--out", str(killed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)  # fmt: skip
    first = killed / "chunks" / "000000.jsonl"
    deadline = time.time() + 240
    while not first.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert first.exists() and not (killed / "chunks" / "000003.jsonl").exists(), "the run was not stopped half way"

    assert main([*args, "--out", str(killed)]) == 2  # never silently over an existing dataset
    assert "--resume" in capsys.readouterr().err
    assert main([*args, "--out", str(killed), "--resume"]) == 0
    assert tree_bytes(killed) == tree_bytes(tmp_path / "whole")
    assert main([*args, "--seed", "5", "--out", str(killed), "--resume"]) == 2
    assert "seed" in capsys.readouterr().err


def test_two_processes_under_torchrun_split_the_samples_and_write_the_same_dataset(tmp_path):
    """Each process makes its own chunks (not all of them: Accelerate needs cpu=True to see the
    process group without a GPU), and the result is the single process's bytes."""
    args = ["--style", "statue", "--count", "4", "--size", "64", "--chunk-size", "1"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "stylemm.cli.stylize"]
    run = subprocess.run([*torchrun, *args, "--out", str(tmp_path / "two")], capture_output=True, text=True, env=ENV,
                         timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    # Each process's bar counts its own share (2 of 4); had each made every sample, they would count to 4.
    assert "/2 [" in run.stderr and "/4 [" not in run.stderr
    assert tree_bytes(tmp_path / "two") == tree_bytes(tmp_path / "one")


def test_eas_pairs_condition_eas_as_the_eam_was_trained(openhead):
    """--stylizer eas passes EAS the conditions of stylemm.stylize.eam.eam_conditions (eye
    corners, not iris points), so inference sees what training saw."""
    import torch

    from stylemm import load_pack
    from stylemm.cli.stylize import EASPairs
    from stylemm.stylize.eam import eam_conditions
    from stylemm.stylize.source import sample_source_faces

    class Recording:
        def stylize(self, images, landmarks5, rotation, expression, prompt, generator=None):
            self.seen = {"landmarks5": landmarks5, "rotation": rotation, "expression": expression, "prompt": prompt}
            return images.flip(-1)

    pack = load_pack("realistic")
    faces = sample_source_faces(openhead, pack.deformer, pack.texture_generator, seed=3, indices=[0, 1], size=64)
    eas = Recording()
    out = EASPairs(eas, openhead, "a green orc").stylize(faces, torch.Generator().manual_seed(0))
    expected = eam_conditions(openhead, faces)
    for name, value in expected.items():
        assert torch.equal(eas.seen[name], value), name
    assert eas.seen["prompt"] == "a green orc"
    assert torch.equal(out.images, faces.images.flip(-1)) and out.vertices is None
