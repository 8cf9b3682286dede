"""The xdist scheduler hands a worker its DUTs in the global lock order."""

from __future__ import annotations

from collections import OrderedDict

from pytest_jetson.plugin.xdist import DutScheduling, dut_of


def _queue_after_sort(scopes: list[str]) -> list[str]:
    scheduling = object.__new__(DutScheduling)  # only its work queue is used here
    scheduling.workqueue = OrderedDict((scope, {f"{scope}::x": False}) for scope in scopes)
    scheduling._sort_dut_scopes()
    assert all(list(unit) == [f"{scope}::x"] for scope, unit in scheduling.workqueue.items())
    return list(scheduling.workqueue)


def test_dut_scopes_are_queued_in_lock_order_other_scopes_stay_put() -> None:
    queued = ["jetson-dut:orin-02", "test_a.py", "jetson-dut:orin-01", "jetson-dut:thor-01"]
    assert _queue_after_sort(queued) == [
        "jetson-dut:orin-01",
        "test_a.py",
        "jetson-dut:orin-02",
        "jetson-dut:thor-01",
    ]
    assert _queue_after_sort(["test_b.py"]) == ["test_b.py"]


def test_a_node_id_belongs_to_the_longest_dut_it_names() -> None:
    duts = ("orin", "orin-02")
    assert dut_of("jetson-flash[orin-02]::07-flash", duts) == "orin-02"
    assert dut_of("test_x.py::test_y[orin]", duts) == "orin"
    assert dut_of("test_x.py::test_y", duts) is None
