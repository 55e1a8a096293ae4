#!/usr/bin/env python3
"""Score crashwatch against the real-world corpus (eval/realworld/build/<id>/).

The matching and the figures are eval/blind/score.py's (imported, not copied): reason
recall and precision, evidence recall and owner accuracy, per case and in total; this
wrapper adds the same figures per ecosystem and per reason.

    python3 eval/realworld/score.py [--crashwatch PATH] [--build DIR] [-v] [-q] [CASE ...]

-v prints the findings produced; -q leaves out the per-case differences. Always exits 0.
"""
from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
_spec = importlib.util.spec_from_file_location(
    "blind_score", os.path.join(HERE, "..", "blind", "score.py"))
assert _spec is not None and _spec.loader is not None
blind = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blind)

FIELDS = ("exp", "got", "tp", "fp", "fn", "ev_found", "ev_total", "ev_missing_unmatched",
          "own_ok", "own_total")


def cases(only: list[str] | None = None, build: str = BUILD) -> list[str]:
    dirs = sorted(os.path.join(build, d) for d in os.listdir(build)
                  if os.path.isfile(os.path.join(build, d, "expected.json")))
    return [d for d in dirs if not only or any(o in os.path.basename(d) for o in only)]


def score_case(binary: str, d: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """(expected.json, blind.score_one's result, the findings produced) for one case."""
    with open(os.path.join(d, "expected.json")) as f:
        exp = json.load(f)
    produced, err = blind.run(binary, d)
    r = blind.score_one(exp.get("findings", []), exp.get("optional_findings", []), produced or [])
    if err:
        r["notes"].insert(0, f"ERROR {err}")
        r["error"] = err
    return exp, r, produced or []


def row(label: str, t: collections.Counter[str] | dict[str, Any], w: int) -> str:
    pct = blind.pct
    return (f"{label:<{w}}  {t['exp']:>4}  {t['got']:>4}  {t['tp']:>4}  {t['fp']:>4}  "
            f"{t['fn']:>4}  {pct(t['tp'], t['exp']):>6}  {pct(t['tp'], t['tp'] + t['fp']):>5}  "
            f"{t['ev_found']:>3}/{t['ev_total']:<3}  {t['own_ok']:>3}/{t['own_total']:<3}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--crashwatch", default=blind.DEFAULT_BIN)
    ap.add_argument("--build", default=BUILD, help="a build directory (default: build/)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print produced findings")
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-case differences")
    ap.add_argument("only", nargs="*")
    a = ap.parse_args()
    total: collections.Counter[str] = collections.Counter()
    by_eco: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    per_reason: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    rows, notes = [], []
    neg = neg_clean = 0
    for d in cases(a.only, a.build):
        exp, r, produced = score_case(a.crashwatch, d)
        name = os.path.basename(d)
        for k in FIELDS:
            total[k] += r[k]
            by_eco[exp.get("ecosystem", "?")][k] += r[k]
        by_eco[exp.get("ecosystem", "?")]["cases"] += 1
        for rk, (ok, n) in r["per_reason"].items():
            per_reason[rk][0] += ok
            per_reason[rk][1] += n
        exact = r["fp"] == 0 and r["fn"] == 0 and r["ev_found"] == r["ev_total"] \
            and r["own_ok"] == r["own_total"] and not r.get("error")
        total["cases"] += 1
        total["exact"] += exact
        if r["exp"] == 0:
            neg += 1
            neg_clean += r["fp"] == 0
        rows.append((name, r, "ERROR" if r.get("error") else "ok" if exact else "DIFF"))
        if r["notes"]:
            notes.append((name, r["notes"]))
        if a.verbose:
            print(f"## {name}")
            for p in produced:
                print(f"   {blind.fmt_key(blind.key(p))} {p.get('reason')} | {p.get('summary')}")
                for e in p.get("evidence") or []:
                    print(f"      - {e}")
    if not rows:
        print("no cases")
        return 0
    w = max(len(n) for n, _, _ in rows)
    cols = "   exp   got    TP    FP    FN  recall  prec  evidence  owner"
    head = f"{'case':<{w}}{cols}"
    print(head)
    for name, r, status in rows:
        print(row(name, r, w) + f"  {status}")
    print("-" * len(head))
    print(row("TOTAL", total, w))
    pct = blind.pct
    print()
    print(f"cases diagnosed exactly: {total['exact']}/{total['cases']}")
    print(f"reason recall    : {pct(total['tp'], total['exp']).strip()}%  "
          f"({total['tp']}/{total['exp']})")
    print(f"reason precision : {pct(total['tp'], total['tp'] + total['fp']).strip()}%  "
          f"({total['tp']}/{total['tp'] + total['fp']})")
    print(f"evidence recall  : {pct(total['ev_found'], total['ev_total']).strip()}% of strings "
          f"of matched findings ({total['ev_found']}/{total['ev_total']}); "
          f"{pct(total['ev_found'], total['ev_total'] + total['ev_missing_unmatched']).strip()}%"
          " of all expected strings")
    print(f"owner accuracy   : {pct(total['own_ok'], total['own_total']).strip()}%  "
          f"({total['own_ok']}/{total['own_total']})")
    print(f"healthy negatives clean: {neg_clean}/{neg}")
    print()
    ew = max(len(e) for e in by_eco)
    print(f"{'ecosystem':<{ew}}  cases{cols}")
    for eco in sorted(by_eco):
        t = by_eco[eco]
        print(row(f"{eco:<{ew}}  {t['cases']:>5}", t, ew + 7))
    print()
    print("per reason (expected findings named with that reason / expected):")
    for rk in sorted(per_reason):
        ok, n = per_reason[rk]
        print(f"  {rk:<34} {ok:>3}/{n:<3}")
    if notes and not a.quiet:
        print()
        print("differences:")
        for name, ns in notes:
            print(f"  {name}")
            for n in ns:
                print(f"    - {n}")
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print(f"score.py failed: {e}", file=sys.stderr)
    sys.exit(0)
