#!/usr/bin/env python3
"""Score crashwatch against the blind evaluation set.

For every scenario directory NN-name/ (snapshot.json or snapshot.yaml, optional logs/,
expected.json) run

    crashwatch diagnose -f <snapshot> [--logs-dir <dir>/logs] -o json

and compare the findings with expected.json:

* matching: by (namespace, pod, container).  If an expected pod-level finding has no exact
  key match, a produced finding for the same (namespace, pod) is accepted when it is the only
  unmatched one for that pod (e.g. container null vs the single container of a FailedMount).
* reason recall    = expected findings matched with the same reason / expected findings
* reason precision = produced findings matched with the same reason / produced findings
  (a produced finding whose key is not expected, or whose reason differs, is a false
  positive; findings listed under "optional_findings" with the same key and reason are
  ignored: neither counted nor penalised)
* evidence recall  = evidence_contains strings found (case-insensitive) in the joined
  evidence + summary of the matched finding / strings of matched findings; "all" also
  counts the strings of unmatched expected findings as missing
* owner            = matched findings whose owner {kind,name} equals the expected one

Always exits 0.  Usage: score.py [--crashwatch PATH] [-v] [SCENARIO_SUBSTRING ...]
"""
from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.normpath(os.path.join(HERE, "..", "..", ".venv", "bin", "crashwatch"))


def key(f):
    return (f.get("namespace"), f.get("pod"), f.get("container"))


def fmt_key(k):
    ns, pod, c = k
    return f"{ns}/{pod or '-'}/{c or '-'}"


def run(binary, d):
    snap = None
    for name in ("snapshot.json", "snapshot.yaml", "snapshot.yml"):
        if os.path.exists(os.path.join(d, name)):
            snap = os.path.join(d, name)
            break
    if snap is None:
        return None, "no snapshot"
    cmd = [binary, "diagnose", "-f", snap]
    if os.path.isdir(os.path.join(d, "logs")):
        cmd += ["--logs-dir", os.path.join(d, "logs")]
    cmd += ["-o", "json"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except Exception as e:  # noqa: BLE001
        return None, f"run failed: {e}"
    if p.returncode != 0:
        return None, f"exit {p.returncode}: {p.stderr.strip()[:200]}"
    try:
        out = json.loads(p.stdout)
        return out.get("findings", []), None
    except Exception as e:  # noqa: BLE001
        return None, f"bad json: {e}: {p.stdout[:200]}"


def score_one(expected, optional, produced):
    exp_left = list(range(len(expected)))
    prod_left = list(range(len(produced)))
    pairs = []  # (ei, pi, loose)
    for ei in list(exp_left):
        for pi in prod_left:
            if key(produced[pi]) == key(expected[ei]):
                pairs.append((ei, pi, False))
                exp_left.remove(ei)
                prod_left.remove(pi)
                break
    for ei in list(exp_left):
        e = expected[ei]
        if e.get("pod") is None:
            continue
        cands = [pi for pi in prod_left
                 if (produced[pi].get("namespace"), produced[pi].get("pod")) == (e["namespace"], e["pod"])]
        others = [x for x in exp_left if x != ei and
                  (expected[x]["namespace"], expected[x]["pod"]) == (e["namespace"], e["pod"])]
        if len(cands) == 1 and not others:
            pairs.append((ei, cands[0], True))
            exp_left.remove(ei)
            prod_left.remove(cands[0])
    ignored = []
    for pi in list(prod_left):
        for o in optional:
            if key(o) == key(produced[pi]) and o.get("reason") == produced[pi].get("reason"):
                ignored.append(pi)
                prod_left.remove(pi)
                break
    tp = 0
    ev_found = ev_total = 0
    own_ok = own_total = 0
    notes = []
    per_reason = collections.defaultdict(lambda: [0, 0])
    for ei, pi, loose in pairs:
        e, p = expected[ei], produced[pi]
        ok = e["reason"] == p.get("reason")
        per_reason[e["reason"]][1] += 1
        if ok:
            tp += 1
            per_reason[e["reason"]][0] += 1
        else:
            notes.append(f"{fmt_key(key(e))}: expected {e['reason']}, got {p.get('reason')}")
        if loose:
            notes.append(f"{fmt_key(key(e))}: matched loosely to {fmt_key(key(p))}")
        text = ("\n".join(str(x) for x in (p.get("evidence") or [])) + "\n" + str(p.get("summary") or "")).lower()
        for sneedle in e.get("evidence_contains", []):
            ev_total += 1
            if sneedle.lower() in text:
                ev_found += 1
            else:
                notes.append(f"{fmt_key(key(e))}: evidence lacks {sneedle!r}")
        if e.get("owner") is not None or "owner" in e:
            own_total += 1
            po = p.get("owner") or None
            eo = e.get("owner")
            if (po or None) == (eo or None) or (po and eo and po.get("kind") == eo.get("kind")
                                                and po.get("name") == eo.get("name")):
                own_ok += 1
            else:
                notes.append(f"{fmt_key(key(e))}: owner expected {eo}, got {po}")
    missing_ev = 0
    for ei in exp_left:
        e = expected[ei]
        per_reason[e["reason"]][1] += 1
        missing_ev += len(e.get("evidence_contains", []))
        notes.append(f"{fmt_key(key(e))}: MISSING {e['reason']}")
    for pi in prod_left:
        p = produced[pi]
        notes.append(f"{fmt_key(key(p))}: UNEXPECTED {p.get('reason')}")
    fp = len(produced) - len(ignored) - tp
    return {"exp": len(expected), "got": len(produced) - len(ignored), "tp": tp, "fp": fp,
            "fn": len(expected) - tp, "ev_found": ev_found, "ev_total": ev_total,
            "ev_missing_unmatched": missing_ev, "own_ok": own_ok, "own_total": own_total,
            "notes": notes, "per_reason": per_reason, "ignored": len(ignored)}


def pct(a, b):
    return "  n/a" if b == 0 else f"{100.0 * a / b:5.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crashwatch", default=DEFAULT_BIN)
    ap.add_argument("-v", "--verbose", action="store_true", help="print produced findings")
    ap.add_argument("only", nargs="*")
    a = ap.parse_args()
    dirs = sorted(d for d in glob.glob(os.path.join(HERE, "[0-9][0-9]-*")) if os.path.isdir(d))
    if a.only:
        dirs = [d for d in dirs if any(o in os.path.basename(d) for o in a.only)]
    tot = collections.Counter()
    per_reason = collections.defaultdict(lambda: [0, 0])
    rows = []
    all_notes = []
    for d in dirs:
        name = os.path.basename(d)
        with open(os.path.join(d, "expected.json")) as f:
            exp = json.load(f)
        produced, err = run(a.crashwatch, d)
        if produced is None:
            produced = []
        r = score_one(exp.get("findings", []), exp.get("optional_findings", []), produced)
        if err:
            r["notes"].insert(0, f"ERROR {err}")
        for k in ("exp", "got", "tp", "fp", "fn", "ev_found", "ev_total", "ev_missing_unmatched",
                  "own_ok", "own_total"):
            tot[k] += r[k]
        for rk, (ok, n) in r["per_reason"].items():
            per_reason[rk][0] += ok
            per_reason[rk][1] += n
        status = "ok" if r["fp"] == 0 and r["fn"] == 0 and r["ev_found"] == r["ev_total"] else "DIFF"
        if err:
            status = "ERROR"
        rows.append((name, r, status))
        if r["notes"]:
            all_notes.append((name, r["notes"]))
        if a.verbose:
            print(f"## {name}")
            for p in produced:
                print(f"   {fmt_key(key(p))} {p.get('reason')} | {p.get('summary')}")
                for e in p.get("evidence") or []:
                    print(f"      - {e}")
    w = max(len(n) for n, _, _ in rows) if rows else 10
    print(f"{'scenario':<{w}}  exp  got   TP   FP   FN  recall  prec  evid   owner  status")
    print("-" * (w + 66))
    for name, r, status in rows:
        print(f"{name:<{w}}  {r['exp']:>3}  {r['got']:>3}  {r['tp']:>3}  {r['fp']:>3}  {r['fn']:>3}  "
              f"{pct(r['tp'], r['exp']):>6}  {pct(r['tp'], r['tp'] + r['fp']):>5}  "
              f"{r['ev_found']:>2}/{r['ev_total']:<2}  {r['own_ok']:>2}/{r['own_total']:<2}  {status}")
    print("-" * (w + 66))
    print(f"{'TOTAL':<{w}}  {tot['exp']:>3}  {tot['got']:>3}  {tot['tp']:>3}  {tot['fp']:>3}  {tot['fn']:>3}  "
          f"{pct(tot['tp'], tot['exp']):>6}  {pct(tot['tp'], tot['tp'] + tot['fp']):>5}  "
          f"{tot['ev_found']:>2}/{tot['ev_total']:<2}  {tot['own_ok']:>2}/{tot['own_total']:<2}")
    print()
    print(f"reason recall    : {pct(tot['tp'], tot['exp']).strip()}%  ({tot['tp']}/{tot['exp']})")
    print(f"reason precision : {pct(tot['tp'], tot['tp'] + tot['fp']).strip()}%  ({tot['tp']}/{tot['tp'] + tot['fp']})")
    print(f"evidence recall  : {pct(tot['ev_found'], tot['ev_total']).strip()}% of strings of matched findings "
          f"({tot['ev_found']}/{tot['ev_total']}); "
          f"{pct(tot['ev_found'], tot['ev_total'] + tot['ev_missing_unmatched']).strip()}% of all expected strings")
    print(f"owner accuracy   : {pct(tot['own_ok'], tot['own_total']).strip()}%  ({tot['own_ok']}/{tot['own_total']})")
    neg = [n for n, r, _ in rows if r["exp"] == 0]
    neg_clean = [n for n, r, _ in rows if r["exp"] == 0 and r["fp"] == 0]
    print(f"negative scenarios clean: {len(neg_clean)}/{len(neg)}")
    print()
    print("per reason (expected findings found with the right reason):")
    for rk in sorted(per_reason):
        ok, n = per_reason[rk]
        print(f"  {rk:<32} {ok}/{n}")
    if all_notes:
        print()
        print("differences:")
        for name, notes in all_notes:
            print(f"  {name}")
            for n in notes:
                print(f"    - {n}")
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        print(f"score.py failed: {e}", file=sys.stderr)
    sys.exit(0)
