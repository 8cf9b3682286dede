"""One flow-tool run per Linux_for_Tegra tree: the tree lock every worker and session shares."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from pytest_jetson.flash.treelock import hold_tree, tree_lock_name
from pytest_jetson.host.lock import LockTimeout


def test_the_lock_is_named_after_the_trees_real_path(tmp_path: Path) -> None:
    lft = tmp_path / "Linux_for_Tegra"
    lft.mkdir()
    (tmp_path / "link").symlink_to(lft)
    assert tree_lock_name(tmp_path / "link") == tree_lock_name(lft)
    assert tree_lock_name(lft) != tree_lock_name(tmp_path)


def test_a_second_flash_waits_for_the_tree_and_says_who_holds_it(tmp_path: Path) -> None:
    lft, locks = tmp_path / "Linux_for_Tegra", tmp_path / "locks"
    lft.mkdir()
    first, free = hold_tree(lft, locks, timeout=1)
    assert free.waited_s < 1 and free.held_by is None
    lines: list[str] = []
    with pytest.raises(LockTimeout):
        hold_tree(lft, locks, timeout=0.2, on_wait=lines.append)
    assert len(lines) == 1 and lines[0].startswith(f"the tree {lft} is being flashed by ")
    assert "waiting up to 0.2s" in lines[0]

    waited = threading.Event()
    got: list[object] = []

    def second() -> None:
        lock, wait = hold_tree(lft, locks, timeout=30, on_wait=lambda _: waited.set())
        got.append(wait)
        lock.release()

    thread = threading.Thread(target=second)
    thread.start()
    assert waited.wait(30), "the second flash did not start waiting"
    first.release()
    thread.join(30)
    (wait,) = got
    assert wait.held_by is not None and f"pid {os.getpid()}" in wait.held_by
    assert wait.waited_s > 0


def test_flash_only_runs_share_the_tree_a_build_waits_for_them(tmp_path: Path) -> None:
    from pytest_jetson.flash.treelock import (
        BuildRecord,
        TreeUse,
        read_build,
        saved_fingerprint,
        write_build,
    )
    from pytest_jetson.host.lock import LockTimeout

    lft, locks = tmp_path / "Linux_for_Tegra", tmp_path / "locks"
    one, two, builder = TreeUse(lft, locks), TreeUse(lft, locks), TreeUse(lft, locks)
    one.take(exclusive=False, timeout=1, what="t")
    two.take(exclusive=False, timeout=1, what="t")  # two flash-only runs at once
    with pytest.raises(LockTimeout, match="still being flashed from the images"):
        builder.take(exclusive=True, timeout=0.2, what="t")
    one.release()
    two.release()
    builder.take(exclusive=True, timeout=1, what="t")
    builder.share()
    one.take(exclusive=False, timeout=1, what="t")  # a downgraded build lets flashes in
    builder.release()
    one.release()
    assert read_build(lft, locks) is None
    saved = lft / "tools" / "kernel_flash" / "initrdflashparam.txt"
    saved.parent.mkdir(parents=True)
    saved.write_text("--network usb0 jetson-agx-thor-devkit external\n")
    record = BuildRecord("k1", "t1", saved_fingerprint(lft))
    write_build(lft, locks, record)
    assert read_build(lft, locks) == record
    write_build(lft, locks, None)
    assert read_build(lft, locks) is None


def test_a_build_record_holds_only_while_the_tree_holds_that_build(tmp_path: Path) -> None:
    """A tree unpacked again (or cleaned, or built by hand) no longer holds the recorded
    build: ``--flash-only`` would fail or flash other images, so it is built again."""
    from pytest_jetson.flash.treelock import (
        BuildRecord,
        read_build,
        saved_fingerprint,
        write_build,
    )

    lft, locks = tmp_path / "Linux_for_Tegra", tmp_path / "locks"
    locks.mkdir()
    saved = lft / "tools" / "kernel_flash" / "initrdflashparam.txt"
    saved.parent.mkdir(parents=True)
    saved.write_text("--network usb0 jetson-agx-thor-devkit external\n")
    write_build(lft, locks, BuildRecord("k1", "t1", saved_fingerprint(lft)))
    assert read_build(lft, locks) is not None
    saved.unlink()
    assert read_build(lft, locks) is None  # the tree lost its saved build
    saved.write_text("--network usb0 jetson-agx-thor-devkit external\n")
    os.utime(saved, ns=(10**18, 10**18))  # written by a later build
    assert read_build(lft, locks) is None  # another build than the recorded one
    write_build(lft, locks, BuildRecord("k1", "t1"))  # a record without the fingerprint
    assert read_build(lft, locks) is None
