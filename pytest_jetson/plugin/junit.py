"""JUnit: an infrastructure failure is an ``<error>``, as it is on the terminal.

pytest's JUnit writer makes every failure of a test's call phase a ``<failure>``, whatever the
terminal shows. A bench failure during a flash step or a test body (``failure_class=infra``)
must read as an error in CI's test view too, so that only product failures look like
failures: after pytest has written the file, such testcases' ``<failure>`` becomes ``<error>``
and the suite's counts follow. Nothing else in the file changes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

INFRA_PROPERTY = ("failure_class", "infra")


def reclassify_infra_failures(path: Path) -> int:
    """Turn ``<failure>`` into ``<error>`` in ``path``'s testcases marked infra; return how
    many were changed (the file is rewritten only when there are some)."""
    tree = ET.parse(path)
    changed = 0
    for suite in tree.getroot().iter("testsuite"):
        moved = 0
        for case in suite.iter("testcase"):
            if not _is_infra(case):
                continue
            for child in case:
                if child.tag == "failure":
                    child.tag = "error"
                    moved += 1
        if moved:
            suite.set("failures", str(max(int(suite.get("failures", "0")) - moved, 0)))
            suite.set("errors", str(int(suite.get("errors", "0")) + moved))
            changed += moved
    if changed:
        tree.write(path, encoding="utf-8", xml_declaration=True)
    return changed


def _is_infra(case: ET.Element) -> bool:
    name, value = INFRA_PROPERTY
    return any(p.get("name") == name and p.get("value") == value for p in case.iter("property"))
