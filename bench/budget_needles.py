#!/usr/bin/env python3
"""Needle-in-a-haystack sweep under a budget of visual tokens (docs/budget.md).

Generates documents of N pages (varied filler sentences, one needle "One of the special magic
numbers for KEY is: NUMBER." at a chosen depth), starts the fake server in --mode ocr (it answers
only from what Tesseract reads off the images it is sent), and asks through the real CLI:

  budget    glyph ask --budget B (global pass + focus, selector retrieval or model)
  ocr       glyph ask --backend ocr (the OCR reader's own focus; no budget)
  all       every page at the document's dpi: the plan's all_pages_tokens against B (sending them
            is refused by a server whose context is B, shown once per size)

  bench/budget_needles.py [--build build] [--pages 100,300,1000] [--depths 0.1,0.5,0.9]
                          [--budget 16000] [--selectors retrieval,model] [--ocr-reader]
Prints one line per run and a table (markdown) at the end.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

WORDS = ("harbour council winter ledger river bridge market salt cloth school teacher pupil road "
         "valley rain spring summer autumn merchant coast village mill grain tower bell lamp "
         "garden orchard letter record meeting account vote harvest fisher boat north south "
         "east west chapel square stone timber wagon horse field fence gate well").split()


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return "The " + " ".join(words) + "."


def make_document(pages, depth, key, number, seed):
    rng = random.Random(seed)
    chars_per_page = 9800  # the en preset's pages hold about this many characters
    sentences = []
    total = 0
    while total < pages * chars_per_page:
        s = sentence(rng)
        sentences.append(s)
        total += len(s) + 1
    at = int(len(sentences) * depth)
    sentences.insert(at, f"One of the special magic numbers for {key} is: {number}.")
    paragraphs, line = [], []
    for i, s in enumerate(sentences):
        line.append(s)
        if i % 6 == 5:
            paragraphs.append(" ".join(line))
            line = []
    paragraphs.append(" ".join(line))
    return "\n".join(paragraphs)


def start_server(build, extra=()):
    proc = subprocess.Popen([os.path.join(build, "fake_vlm_server"), "--mode", "ocr", "--port", "0",
                             "--no-record", *extra], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    url = line.strip().split()[-1]
    return proc, url


def ask(build, path, question, args):
    start = time.time()
    run = subprocess.run([os.path.join(build, "glyph"), "ask", path, "-q", question, "--json",
                          *args], capture_output=True, text=True)
    seconds = time.time() - start
    try:
        out = json.loads(run.stdout)
    except json.JSONDecodeError:
        out = {"error": (run.stderr or run.stdout).strip().splitlines()[-1:]}
    return out, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--pages", default="100,300,1000")
    parser.add_argument("--depths", default="0.1,0.5,0.9")
    parser.add_argument("--budget", type=int, default=16000)
    parser.add_argument("--selectors", default="retrieval")
    parser.add_argument("--ocr-reader", action="store_true")
    parser.add_argument("--all-pages", action="store_true",
                        help="also send every page to a server whose context is the budget")
    args = parser.parse_args()
    server, url = start_server(args.build)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for pages in [int(p) for p in args.pages.split(",")]:
                for depth in [float(d) for d in args.depths.split(",")]:
                    rng = random.Random(pages * 1000 + int(depth * 100))
                    key = rng.choice(WORDS) + "-" + rng.choice(WORDS)
                    number = str(rng.randint(1000000, 9999999))
                    path = os.path.join(folder, f"doc{pages}_{depth}.txt")
                    with open(path, "w") as f:
                        f.write(make_document(pages, depth, key, number, pages + depth))
                    question = f"What is the special magic number for {key} mentioned in the provided text?"
                    runs = [(s, ["--url", url, "--budget", str(args.budget), "--selector", s])
                            for s in args.selectors.split(",")]
                    if args.ocr_reader:
                        runs.append(("ocr reader", ["--backend", "ocr"]))
                    for name, flags in runs:
                        out, seconds = ask(args.build, path, question, flags)
                        plan = out.get("plan", {})
                        found = number in out.get("answer", "")
                        row = {"pages": out.get("pages", pages), "depth": depth, "run": name,
                               "found": found, "tokens": plan.get("tokens"),
                               "all_pages_tokens": plan.get("all_pages_tokens"),
                               "global_dpi": plan.get("global_dpi"),
                               "global_layout": plan.get("global_layout"),
                               "images": out.get("images_read"), "seconds": round(seconds, 1),
                               "text_tokens": out.get("text_tokens"),
                               "error": out.get("error")}
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                if args.all_pages:
                    limited, limited_url = start_server(
                        args.build, ["--max-context-tokens", str(args.budget)])
                    try:
                        out, seconds = ask(args.build, path, question,
                                           ["--url", limited_url, "--budget", "100000000"])
                        print(json.dumps({"pages": pages, "run": "all pages",
                                          "seconds": round(seconds, 1),
                                          "result": out.get("error") or out.get("answer")}),
                              flush=True)
                    finally:
                        limited.terminate()
                        limited.wait()
    finally:
        server.terminate()
        server.wait()
    print("\n| pages | run | found | visual tokens sent (mean) | all pages | global dpi | s/query |")
    print("|---|---|---|---|---|---|---|")
    groups = {}
    for r in rows:
        groups.setdefault((r["pages"], r["run"]), []).append(r)
    for (pages, run), rs in groups.items():
        found = sum(r["found"] for r in rs)
        tokens = [r["tokens"] for r in rs if r["tokens"]]
        mean_tokens = round(sum(tokens) / len(tokens)) if tokens else "-"
        dpis = [r["global_dpi"] for r in rs if r["global_dpi"]]
        dpi = f"{dpis[0]:.1f} ({rs[0]['global_layout']})" if dpis else "-"
        print(f"| {pages} | {run} | {found}/{len(rs)} | {mean_tokens} | "
              f"{rs[0]['all_pages_tokens'] or '-'} | {dpi} | "
              f"{sum(r['seconds'] for r in rs) / len(rs):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
