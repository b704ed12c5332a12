"""Round three, item 8: the app's disk budget counts what files take on disk (blocks) and how many
there are, not their lengths: many one-byte uploads cannot fill the disk or its inodes unseen."""

from __future__ import annotations

from appkit.disk import DiskBudget


def test_tiny_files_count_their_blocks_and_their_number(tmp_path):
    for index in range(300):
        folder = tmp_path / f"{index:04d}"
        folder.mkdir()
        (folder / "upload.png").write_bytes(b"x")
    budget = DiskBudget(tmp_path, max_bytes=1 << 30, max_age=3600, max_files=100)
    swept = budget.sweep()
    assert swept.kept_files == 100 and swept.deleted_files == 200
    assert swept.kept_bytes >= 100 * 512  # blocks, not 100 bytes

    by_bytes = DiskBudget(tmp_path, max_bytes=50 * 4096, max_age=3600)
    assert by_bytes.sweep().kept_bytes <= 50 * 4096
    assert len(list(tmp_path.rglob("upload.png"))) <= 50
