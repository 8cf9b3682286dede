"""Session-scoped simulated trees shared by the tree, lft and workspace tests.

The trees are read-only for the tests that use them: a test that modifies a tree builds
its own with :func:`pytest_jetson.sim.tree.make_tree`.
"""

from __future__ import annotations

import pytest

from pytest_jetson.sim.boards import BOARDS
from pytest_jetson.sim.tree import SimTree, make_tree

TREE_VARIANTS: tuple[tuple[str, str], ...] = tuple(
    (key, release) for key, board in BOARDS.items() for release in board.releases
)
"""Every (board, release) pair the simulator can build."""


@pytest.fixture(scope="session")
def sim_trees(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], SimTree]:
    """One default-size tree per (board, release), built once per session."""
    trees = {}
    for key, release in TREE_VARIANTS:
        dest = tmp_path_factory.mktemp(f"tree-{key}-{release}")
        trees[(key, release)] = make_tree(dest, key, release=release)
    return trees


@pytest.fixture(scope="session")
def default_trees(sim_trees: dict[tuple[str, str], SimTree]) -> dict[str, SimTree]:
    """The tree of each board at its default release."""
    return {key: sim_trees[(key, board.default_release)] for key, board in BOARDS.items()}
