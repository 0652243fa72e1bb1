"""Distractor analysis: per question, the share of the class that picked each choice (by choice id).

Letters differ between learners (shuffled choices, exam variants), so the
table counts choice identities. Pure functions over plain data (no torch,
no widgets); ``make report`` writes them as CSV and a plot.
"""
from __future__ import annotations

from .numeric import parse_number, show_number

NO_ANSWER = "(no answer)"
# A number no float can hold (a 400-digit int from a student's kernel), NaN or infinity: counted as given,
# under this name, never converted (float() of such an int raises OverflowError and stopped the whole report).
UNUSABLE = "(not a usable number)"


def choice_shares(records: list[dict], bank=None) -> dict[str, dict[str, float]]:
    """{question id: {choice id: share of the class}} from per-student answers {qid: [choice ids] | number}.

    The denominator is the number of records (students), so a several-answer question's shares may
    add up to more than 1, and ``"(no answer)"`` is the share that left the question open. With a
    ``bank``, every choice of every question it holds appears (0.0 when nobody picked it); a number
    question counts each distinct number given ("1,377": 0.5). Answers that name no choice of the
    bank's question are ignored; a number that is not finite or beyond a float's range counts under
    ``UNUSABLE``.
    """
    n = len(records)
    counts: dict[str, dict[str, int]] = {}
    questions = bank.questions if bank is not None else {}
    for qid, q in questions.items():
        counts[qid] = {} if q.numeric else {c.id: 0 for c in q.choices}
    for record in records:
        for qid, given in (record or {}).items():
            if bank is not None and qid not in questions:
                continue
            table = counts.setdefault(qid, {})
            if isinstance(given, (int, float)) and not isinstance(given, bool):
                value = parse_number(given)
                key = UNUSABLE if value is None else show_number(value)
                table[key] = table.get(key, 0) + 1
            elif isinstance(given, (list, tuple)):
                valid = questions[qid].choice_ids if qid in questions else None
                for cid in set(x for x in given if isinstance(x, str)):
                    if valid is None or cid in valid:
                        table[cid] = table.get(cid, 0) + 1
    out = {}
    for qid, table in counts.items():
        answered = sum(1 for r in records if (r or {}).get(qid) not in (None, []))
        shares = {cid: (c / n if n else 0.0) for cid, c in table.items()}
        shares[NO_ANSWER] = (n - answered) / n if n else 0.0
        out[qid] = shares
    return out


def share_rows(shares: dict, bank=None, lang: str = "en") -> list[dict]:
    """Rows for a CSV: question, choice id, choice text, correct (True/False/''), share."""
    rows = []
    for qid, table in shares.items():
        q = bank.questions.get(qid) if bank is not None else None
        texts = {c.id: c.text[lang] for c in q.choices} if q is not None and not q.numeric else {}
        correct = set(q.correct_ids) if q is not None and not q.numeric and not q.keyless else set()
        for cid, share in table.items():
            rows.append({"question": qid, "choice": cid, "text": texts.get(cid, ""),
                         "correct": (cid in correct) if correct and cid in texts else "",
                         "share": round(share, 4)})
    return rows
