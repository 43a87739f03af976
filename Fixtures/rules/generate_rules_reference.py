"""Reference class association rules for Tests/AssociationRulesTests, from efficient-apriori.

    python -m venv /tmp/rules && /tmp/rules/bin/pip install efficient-apriori==2.0.6
    /tmp/rules/bin/python Fixtures/rules/generate_rules_reference.py > Fixtures/rules/rules_reference.json

Seeded transactions with planted structure (an order follows items a1 and a3 together, a4
lowers it), the class joined as the item `order` or `no_order`, mined by efficient-apriori;
the rules kept are those whose right-hand side is one class item and whose left-hand side
holds none, the class association rules that ClassAssociationRules mines.
"""
import json
import random

from efficient_apriori import apriori

CLASSES = ("order", "no_order")


def transactions(seed, n, items):
    rng = random.Random(seed)
    rows, labels = [], []
    for _ in range(n):
        row = sorted({f"a{i}" for i in range(items) if rng.random() < 0.15 + 0.05 * (i % 4)})
        p = 0.15 + (0.55 if {"a1", "a3"} <= set(row) else 0) - (0.1 if "a4" in row else 0)
        rows.append(row)
        labels.append(rng.random() < p)
    return rows, labels


def case(seed, n, items, min_support, max_antecedent):
    rows, labels = transactions(seed, n, items)
    with_class = [tuple(row + [CLASSES[0] if ordered else CLASSES[1]]) for row, ordered in zip(rows, labels)]
    _, rules = apriori(with_class, min_support=min_support, min_confidence=0.0, max_length=max_antecedent + 1)
    kept = []
    for rule in rules:
        if len(rule.rhs) != 1 or rule.rhs[0] not in CLASSES or any(item in CLASSES for item in rule.lhs):
            continue
        kept.append({
            "lhs": sorted(rule.lhs), "rhs": rule.rhs[0], "count": rule.count_full, "count_lhs": rule.count_lhs,
            "support": rule.support, "confidence": rule.confidence, "lift": rule.lift,
        })
    kept.sort(key=lambda r: (r["rhs"], r["lhs"]))
    return {"seed": seed, "min_support": min_support, "max_antecedent": max_antecedent,
            "transactions": rows, "labels": labels, "rules": kept}


print(json.dumps({
    "generator": "Fixtures/rules/generate_rules_reference.py",
    "library": "efficient-apriori 2.0.6",
    "cases": [case(7, 600, 12, 0.05, 3), case(11, 400, 9, 0.02, 2), case(13, 300, 8, 0.1, 1)],
}, indent=1))
