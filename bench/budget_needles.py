#!/usr/bin/env python3
"""Needle-in-a-haystack sweep under a budget of visual tokens (docs/budget.md).

Generates documents of N pages (varied filler sentences; needles "One of the special magic
numbers for KEY is: NUMBER." at chosen depths), starts the fake server in --mode ocr (it answers
only from what Tesseract reads off the images it is sent), and asks through the real CLI:

  budget    glyph ask --budget B (global pass + focus, selector retrieval or model)
  ocr       glyph ask --backend ocr (the OCR reader's own focus; no budget)
  all       every page at the document's dpi: the plan's all_pages_tokens against B (sending them
            is refused by a server whose context is B, shown once per size)

Two modes:
  single    (default, --needles-per-doc 1) one haystack per depth, one needle in it.
  multi     (--needles-per-doc K) one haystack holds K needles (distinct keys and numbers) at
            K depths, and one question is asked per needle. The other needles are distractors:
            they share every word of the question but the key ("special magic number"), so
            retrieval ranks their windows high and spends crops on them, and the answer must
            take the number after the right key among several numbers that were read. This is
            harder than one needle alone, not easier. What it buys is time: the global pass of
            a haystack is the same pixels for every question, so the fake server reads it once
            (the OCR reader's cache by a hash of the image) and each further question costs only
            the reading of its crops.
Paraphrased questions (--paraphrase): the needle is as above, with a key of words that have a
synonym in SYNONYMS, and the question shares no word with it: "What secret code belongs to
port-assembly?" for "One of the special magic numbers for harbour-council is: N." A reader that
matches words (BM25 retrieval, and the fake server, which reads with Tesseract and matches
words) has nothing to go on; a model that knows harbour = port could. Each row also says whether
the needle's page was among the pages focused on (`selected`), which does not depend on how the
fake server phrases its answer.
Depths: --depths 0.1,0.5 or --positions N (N depths evenly over 0.02..0.98). In multi mode the
depths are dealt round-robin into ceil(N / K) haystacks, so each haystack spans the range.
At most --jobs queries run at once (default 2); the first question of each haystack runs alone
(it reads the global pass for the others).

  bench/budget_needles.py [--build build] [--pages 100,300,1000] [--depths 0.1,0.5,0.9 |
                          --positions 20] [--needles-per-doc K] [--budget 16000]
                          [--selectors retrieval,model] [--ocr-reader] [--ocr-every M]
                          [--all-pages] [--jobs 2] [--out rows.jsonl] [--paraphrase]
                          [--budget-per-page T]
Prints one line (JSON) per run and a table (markdown) per size at the end.
"""
import argparse
import concurrent.futures
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

WORDS = ("harbour council winter ledger river bridge market salt cloth school teacher pupil road "
         "valley rain spring summer autumn merchant coast village mill grain tower bell lamp "
         "garden orchard letter record meeting account vote harvest fisher boat north south "
         "east west chapel square stone timber wagon horse field fence gate well").split()


# Synonyms of the filler words that paraphrased questions use for a needle's key.
SYNONYMS = {"harbour": "port", "council": "assembly", "river": "stream", "bridge": "crossing",
            "market": "bazaar", "school": "academy", "teacher": "instructor", "road": "street",
            "valley": "dale", "merchant": "trader", "coast": "shore", "village": "hamlet",
            "tower": "spire", "lamp": "lantern", "garden": "yard", "letter": "message",
            "harvest": "crop", "boat": "vessel", "chapel": "church", "stone": "rock",
            "timber": "lumber", "wagon": "cart", "horse": "steed", "field": "meadow"}


def question_of(key, paraphrase):
    if not paraphrase:
        return f"What is the special magic number for {key} mentioned in the provided text?"
    other = "-".join(SYNONYMS[w] for w in key.split("-"))
    return f"What secret code belongs to {other}?"


def needle_page(build, path, number):
    """The 1-based page of the document (as glyph lays it out) that holds `number`."""
    text = subprocess.run([os.path.join(build, "glyph"), "text", path], capture_output=True,
                          text=True).stdout
    layout = json.loads(subprocess.run([os.path.join(build, "glyph"), "text", "--json", path],
                                       capture_output=True, text=True).stdout)
    at = text.find(number)
    for page in layout["pages"]:
        if page["char_start"] <= at < page["char_end"]:
            return page["page"]
    return None


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return "The " + " ".join(words) + "."


def make_document(pages, needles, seed):
    """`needles`: (depth, key, number) triples; returns the text."""
    rng = random.Random(seed)
    chars_per_page = 9800  # the en preset's pages hold about this many characters
    sentences = []
    total = 0
    while total < pages * chars_per_page:
        s = sentence(rng)
        sentences.append(s)
        total += len(s) + 1
    count = len(sentences)
    # Inserted deepest first, so the positions of the shallower ones do not move.
    for depth, key, number in sorted(needles, reverse=True):
        sentences.insert(int(count * depth),
                         f"One of the special magic numbers for {key} is: {number}.")
    paragraphs, line = [], []
    for i, s in enumerate(sentences):
        line.append(s)
        if i % 6 == 5:
            paragraphs.append(" ".join(line))
            line = []
    paragraphs.append(" ".join(line))
    return "\n".join(paragraphs)


def needle_of(pages, depth, used, paraphrase=False):
    """The key and number of the needle at `depth` (seeded by size and depth; distinct keys)."""
    rng = random.Random(pages * 1000 + round(depth * 1000))
    words = sorted(SYNONYMS) if paraphrase else WORDS
    while True:
        key = rng.choice(words) + "-" + rng.choice(words)
        number = str(rng.randint(1000000, 9999999))
        if key not in used and number not in used:
            used.update((key, number))
            return key, number


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


def depths_of(args):
    if args.positions:
        n = args.positions
        return [round(0.02 + 0.96 * i / max(1, n - 1), 4) for i in range(n)]
    return [float(d) for d in args.depths.split(",")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--pages", default="100,300,1000")
    parser.add_argument("--depths", default="0.1,0.5,0.9")
    parser.add_argument("--positions", type=int, default=0,
                        help="N depths evenly over 0.02..0.98 (instead of --depths)")
    parser.add_argument("--needles-per-doc", type=int, default=1,
                        help="needles in one haystack (1: one haystack per depth)")
    parser.add_argument("--budget", type=int, default=16000)
    parser.add_argument("--selectors", default="retrieval",
                        help="selectors of the budget route, comma-separated ('' for none: with "
                             "--ocr-reader, the OCR reader alone)")
    parser.add_argument("--ocr-reader", action="store_true",
                        help="also ask the OCR reader (its own focus, no budget)")
    parser.add_argument("--ocr-every", type=int, default=1,
                        help="the OCR reader on every M-th position only")
    parser.add_argument("--all-pages", action="store_true",
                        help="also send every page to a server whose context is the budget")
    parser.add_argument("--jobs", type=int, default=2, help="queries at once")
    parser.add_argument("--out", help="also append the rows (JSON lines) to this file")
    parser.add_argument("--paraphrase", action="store_true",
                        help="questions that share no word with their needle (see above)")
    parser.add_argument("--budget-per-page", type=int, default=0,
                        help="a budget of T visual tokens per page of each size (instead of --budget)")
    args = parser.parse_args()
    server, url = start_server(args.build)
    rows = []
    out_file = open(args.out, "a") if args.out else None

    def run_one(task):
        pages, depth, path, key, number, name, flags = task
        question = question_of(key, args.paraphrase)
        out, seconds = ask(args.build, path, question, flags)
        plan = out.get("plan", {})
        row = {"pages": out.get("pages", pages), "depth": depth, "key": key, "run": name,
               "found": number in out.get("answer", "").split("\n")[0], "tokens": plan.get("tokens"),
               "budget": plan.get("budget"), "all_pages_tokens": plan.get("all_pages_tokens"),
               "global_dpi": plan.get("global_dpi"), "global_layout": plan.get("global_layout"),
               "focus_pages": plan.get("focus_pages"), "images": out.get("images_read"),
               "needle_page": task_pages.get((path, number)), "selector": plan.get("selector"),
               "selected": task_pages.get((path, number)) in (plan.get("focus_pages") or []),
               "paraphrase": args.paraphrase, "requests": plan.get("requests"),
               "seconds": round(seconds, 1), "text_tokens": out.get("text_tokens"),
               "needles_in_doc": task_needles[path], "answer": out.get("answer", "")[:160],
               "error": out.get("error")}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if out_file:
            out_file.write(json.dumps(row) + "\n")
            out_file.flush()
        return row

    task_needles = {}
    task_pages = {}
    try:
        with tempfile.TemporaryDirectory() as folder, \
                concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for pages in [int(p) for p in args.pages.split(",")]:
                depths = depths_of(args)
                per_doc = max(1, args.needles_per_doc)
                docs = math.ceil(len(depths) / per_doc)
                last = None
                for d in range(docs):
                    mine = depths[d::docs]
                    used = set()
                    needles = [(depth, *needle_of(pages, depth, used, args.paraphrase))
                               for depth in mine]
                    path = os.path.join(folder, f"doc{pages}_{d}_{len(mine)}.txt")
                    with open(path, "w") as f:
                        f.write(make_document(pages, needles, pages * 100 + d + len(mine)))
                    task_needles[path] = len(mine)
                    for _, _, number in needles:
                        task_pages[(path, number)] = needle_page(args.build, path, number)
                    budget = args.budget_per_page * pages if args.budget_per_page else args.budget
                    tasks = []
                    for i, (depth, key, number) in enumerate(needles):
                        for s in [s for s in args.selectors.split(",") if s]:
                            tasks.append((pages, depth, path, key, number, s,
                                          ["--url", url, "--budget", str(budget),
                                           "--selector", s]))
                        if args.ocr_reader and i % max(1, args.ocr_every) == 0:
                            tasks.append((pages, depth, path, key, number, "ocr reader",
                                          ["--backend", "ocr"]))
                    # The first question reads the global pass alone; the rest share its cache.
                    run_one(tasks[0])
                    list(pool.map(run_one, tasks[1:]))
                    last = (path, needles[-1])
                if args.all_pages and last:
                    path, (depth, key, number) = last
                    limited, limited_url = start_server(
                        args.build, ["--max-context-tokens", str(args.budget)])
                    try:
                        question = f"What is the special magic number for {key} mentioned in the provided text?"
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
        if out_file:
            out_file.close()
    print_table(rows)
    return 0


def print_table(rows):
    print("\n| pages (text tokens) | run | needles found | visual tokens sent (max / mean) | "
          "all pages at the document's dpi | global pass | wall s/query (mean / max) | "
          "needle's page focused |")
    print("|---|---|---|---|---|---|---|---|")
    groups = {}
    for r in rows:
        groups.setdefault((r["pages"], r["run"]), []).append(r)
    for (pages, run), rs in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1])):
        found = sum(r["found"] for r in rs)
        tokens = [r["tokens"] for r in rs if r["tokens"]]
        spent = f"{max(tokens):,} / {round(sum(tokens) / len(tokens)):,}" if tokens else "(no model)"
        dpis = [r["global_dpi"] for r in rs if r["global_dpi"]]
        dpi = f"{dpis[0]:.1f} dpi, {rs[0]['global_layout']}" if dpis else ""
        all_pages = next((r["all_pages_tokens"] for r in rs if r["all_pages_tokens"]), None)
        text = next((r["text_tokens"] for r in rs if r["text_tokens"]), None)
        seconds = [r["seconds"] for r in rs]
        focused = f"{sum(bool(r.get('selected')) for r in rs)}/{len(rs)}"
        print(f"| {pages} ({text:,}) | {run} | {found}/{len(rs)} ({100 * found / len(rs):.0f}%) | "
              f"{spent} | {f'{all_pages:,}' if all_pages else ''} | {dpi} | "
              f"{sum(seconds) / len(seconds):.1f} / {max(seconds):.1f} | {focused} |"
              if text else
              f"| {pages} | {run} | {found}/{len(rs)} ({100 * found / len(rs):.0f}%) | {spent} | "
              f"{f'{all_pages:,}' if all_pages else ''} | {dpi} | "
              f"{sum(seconds) / len(seconds):.1f} / {max(seconds):.1f} | {focused} |")


if __name__ == "__main__":
    sys.exit(main())
