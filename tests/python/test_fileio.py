"""Atomic writes: a failed write leaves neither a partial file nor a temp file."""

import pytest

from stylemm.io.atomic import atomic_folder, atomic_write


def test_a_failed_write_leaves_the_old_file_untouched(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write(b"half of the new")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_a_successful_write_replaces_the_file(tmp_path):
    path = tmp_path / "sub" / "mesh.obj"
    with atomic_write(path, "w") as f:
        f.write("v 0 0 0\n")
    assert path.read_text() == "v 0 0 0\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["mesh.obj"]


def test_a_failed_folder_write_leaves_the_old_folder_and_no_staging(tmp_path):
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(folder) as staging:
            (staging / "b.txt").write_text("half")
            raise RuntimeError("killed mid-write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]
    assert [p.name for p in folder.iterdir()] == ["a.txt"]


def test_a_successful_folder_write_replaces_the_whole_folder(tmp_path):
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "a.txt").write_text("old")
    with atomic_folder(folder) as staging:
        assert not (staging / "a.txt").exists()  # a fresh folder, not a copy of the old one
        (staging / "b.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]
    assert [p.name for p in folder.iterdir()] == ["b.txt"]
