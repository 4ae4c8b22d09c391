"""Allure's view of modemcert's error taxonomy: each Category's status and its Allure category.

`failed` only for the module's faults (limit exceeded, protocol deviation); `broken` for the
rig, the harness, a usage error and an interrupted test. fixtures/allure_out.py labels every
failed or broken result with its category and starts its message with the category's name;
these categories match on that, in Allure 2 (categories.json, Java regexes matching the whole
message) and in Allure 3 (allurerc.mjs, label or JavaScript message matchers).
"""

from __future__ import annotations

from harness.errors import Category

#: The label that carries a result's category (Allure 3 matches on it).
CATEGORY_LABEL = "category"
FAILED, BROKEN = "failed", "broken"

#: Allure status of each category (a module fault fails; anything else breaks).
STATUS = {
    Category.LIMIT_EXCEEDED: FAILED,
    Category.PROTOCOL_DEVIATION: FAILED,
    Category.RIG_FAULT: BROKEN,
    Category.USAGE_ERROR: BROKEN,
    Category.INTERRUPTED: BROKEN,
    Category.HARNESS_ERROR: BROKEN,
}
#: Allure categories, module faults first; each is a Category's name.
ORDER = (
    Category.LIMIT_EXCEEDED,
    Category.PROTOCOL_DEVIATION,
    Category.INTERRUPTED,
    Category.RIG_FAULT,
    Category.USAGE_ERROR,
    Category.HARNESS_ERROR,
)


def _statuses(category: Category) -> list[str]:
    return [STATUS[category]]


def allure2_categories() -> list[dict]:
    """categories.json (Allure 2: Java regexes matching the whole message)."""
    return [
        {
            "name": str(c),
            "matchedStatuses": _statuses(c),
            "messageRegex": f"(?s){c}: .*|{c}",
        }
        for c in ORDER
    ]


def allure3_categories() -> list[dict]:
    """Allure 3 categories (allurerc.mjs reads them): the category label, else the message."""
    return [
        {
            "id": str(c).replace(" ", "-"),
            "name": str(c),
            "matchers": [
                {"statuses": _statuses(c), "labels": {CATEGORY_LABEL: f"^{c}$"}},
                {"statuses": _statuses(c), "message": f"^{c}(: |$)"},
            ],
            "expand": c.is_module,
        }
        for c in ORDER
    ]
