"""The course's own small paraphrase set: MRPC's shape, none of its text.

Used by ``load_mrpc()`` (lessons 1-6) when there is neither a Hub nor a local
MRPC copy. Pairs are generated from templates the course wrote: each fact has
several wordings (pairs of wordings are ``equivalent``), and a changed detail
(a number, a date, who did what) makes a pair ``not_equivalent``. About two
thirds of pairs are equivalent, as in MRPC. Seeded, so every run is identical.
"""
from __future__ import annotations

import random

SPLIT_SIZES = {"train": 480, "validation": 120, "test": 120}

COMPANIES = ["Norvale Systems", "Brightwater Foods", "Kestrel Motors", "Halden Pharma", "Orrin Media",
             "Tamsin Bank", "Quillon Energy", "Veyra Airlines", "Castor Retail", "Ilmen Software",
             "Pardee Steel", "Soren Telecom"]
PEOPLE = ["Maria Lindqvist", "Daniel Okafor", "Ji-woo Han", "Priya Raman", "Tomas Reyes", "Alice Moreau",
          "Kenji Sato", "Fatima Haddad", "Oliver Brandt", "Sofia Costa"]
CITIES = ["Lisbon", "Osaka", "Denver", "Nairobi", "Krakow", "Busan", "Perth", "Leeds", "Quito", "Tampere"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = ["March", "April", "June", "September", "November"]

# Each family: wordings of one fact, and ways to change the fact.
# Slots: {a}, {b} companies or people, {n} a number, {d} a day, {c} a city, {m} a month.
FAMILIES = [
    {
        "wordings": [
            "{a} bought {b} for {n} million dollars on {d}.",
            "On {d}, {a} agreed to buy {b} for ${n} million.",
            "{b} was acquired by {a} on {d} in a deal worth {n} million dollars.",
            "{a} said on {d} it had purchased {b} for about {n} million dollars.",
        ],
        "changes": ["n", "d", "swap_ab", "{a} sold {b} for {n} million dollars on {d}."],
    },
    {
        "wordings": [
            "{a} said its quarterly profit rose {n} percent.",
            "Quarterly profit at {a} climbed {n} percent, the company said.",
            "{a} reported a {n} percent increase in profit for the quarter.",
        ],
        "changes": ["n", "{a} said its quarterly profit fell {n} percent.", "other_a"],
    },
    {
        "wordings": [
            "{p} will step down as chief executive of {a} in {m}.",
            "{a} said {p} would leave the chief executive job in {m}.",
            "In {m}, {p} is to resign as head of {a}.",
        ],
        "changes": ["m", "other_p", "{p} will become chief executive of {a} in {m}."],
    },
    {
        "wordings": [
            "Police in {c} arrested {n} people on {d}.",
            "On {d}, {n} people were arrested by police in {c}.",
            "{n} people were detained by {c} police on {d}, officials said.",
        ],
        "changes": ["n", "c", "d"],
    },
    {
        "wordings": [
            "{a} will cut {n} jobs at its plant in {c}.",
            "About {n} workers will lose their jobs when {a} downsizes its {c} plant.",
            "{a} plans to eliminate {n} positions at the {c} factory.",
        ],
        "changes": ["n", "c", "{a} will add {n} jobs at its plant in {c}."],
    },
    {
        "wordings": [
            "{p} won the {c} marathon on {d} in just over two hours.",
            "The {c} marathon was won on {d} by {p}, who finished in a little more than two hours.",
            "On {d}, {p} took first place in the {c} marathon.",
        ],
        "changes": ["other_p", "c", "{p} finished second in the {c} marathon on {d}."],
    },
]


def _slots(rng: random.Random) -> dict[str, str]:
    a, b = rng.sample(COMPANIES, 2)
    return {"a": a, "b": b, "p": rng.choice(PEOPLE), "c": rng.choice(CITIES), "d": rng.choice(DAYS),
            "m": rng.choice(MONTHS), "n": str(rng.choice([12, 15, 40, 75, 120, 250, 310, 480, 900]))}


def _changed(family: dict, slots: dict[str, str], rng: random.Random) -> str:
    change = rng.choice(family["changes"])
    new = dict(slots)
    pools = {"n": None, "d": DAYS, "c": CITIES, "m": MONTHS}
    if change == "n":
        new["n"] = str(int(slots["n"]) * rng.choice([2, 3]) + rng.choice([1, 5, 10]))
    elif change in pools:
        new[change] = rng.choice([v for v in pools[change] if v != slots[change]])
    elif change == "swap_ab":
        new["a"], new["b"] = slots["b"], slots["a"]
    elif change == "other_a":
        new["a"] = rng.choice([c for c in COMPANIES if c not in (slots["a"], slots["b"])])
    elif change == "other_p":
        new["p"] = rng.choice([p for p in PEOPLE if p != slots["p"]])
    else:  # a template that states a different fact
        return change.format(**new)
    return rng.choice(family["wordings"]).format(**new)


def paraphrase_pairs(n: int, seed: int) -> dict[str, list]:
    """``n`` sentence pairs with MRPC's columns; deterministic for a seed."""
    rng = random.Random(seed)
    rows = {"sentence1": [], "sentence2": [], "label": [], "idx": []}
    for i in range(n):
        family = rng.choice(FAMILIES)
        slots = _slots(rng)
        first, second = rng.sample(family["wordings"], 2)
        sentence1 = first.format(**slots)
        if rng.random() < 2 / 3:
            sentence2, label = second.format(**slots), 1
        else:
            sentence2, label = _changed(family, slots, rng), 0
        rows["sentence1"].append(sentence1)
        rows["sentence2"].append(sentence2)
        rows["label"].append(label)
        rows["idx"].append(i)
    return rows


def paraphrase_dataset():
    """The built-in set as a DatasetDict (train/validation/test), GLUE MRPC features."""
    from datasets import Dataset, DatasetDict

    from .features import mrpc_features

    return DatasetDict({
        split: Dataset.from_dict(paraphrase_pairs(size, seed=i), features=mrpc_features())
        for i, (split, size) in enumerate(SPLIT_SIZES.items())
    })
