#!/usr/bin/env python3
"""Compression on real documents: the corpus benchmark.

For every document of bench/corpus/docs (PDF manuals, HTML docs, Markdown READMEs, hard-wrapped
text; where each comes from: SOURCES.md), with the defaults (no -c: the preset chosen by content):

  - text tokens: the document's text as a language model would get it, i.e. the text ingest makes
    with no reflow (`glyph text DOC --reflow off`), counted by `glyph tokenize` (Qwen3). The same
    count is the numerator before and after, so markers that the renderer draws never inflate it;
  - before: visual tokens of today's render as the Glyph release does it (the preset with reflow
    and crop off: a config file written here), and the ratio;
  - after: visual tokens with the defaults, and the ratio;
  - CER: `glyph verify DOC --json` with the defaults (Tesseract reading the rendered pages back);
  - word recall: the share of the source's words (maximal runs of letters and digits) found, in
    order, in `glyph text DOC` (what is rendered): a lost or reordered word lowers it.

Prints a Markdown table and a summary (median and minimum ratio, worst CER and recall); --json
writes every figure. Usage:
  python3 bench/corpus/run.py [--build build] [--no-cer] [--only NAME] [--json out.json]
"""

import argparse
import difflib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORD = re.compile(r"\w+", re.UNICODE)
CJK = re.compile("[\u4e00-\u9fff]")

# Today's render: the built-in English preset with the new behaviour switched off. Unknown keys
# are warnings only, so this file also works on a build that predates them.
BEFORE_OVERRIDES = {"reflow": "off", "auto-crop-height": False}


def run(args, check=True):
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and result.returncode != 0:
        sys.exit("bench: %s failed (%d): %s" % (" ".join(args), result.returncode,
                                                 result.stderr.decode(errors="replace").strip()))
    return result.stdout.decode("utf-8", errors="replace")


def kind_of(name):
    ext = name.rsplit(".", 1)[-1].lower()
    return {"pdf": "PDF", "html": "HTML", "md": "Markdown", "txt": "text"}.get(ext, ext)


def word_recall(source, rendered):
    """Share of the source's words matched in order in the rendered text (difflib's matching
    blocks over word lists: insertions such as markers do not count against it)."""
    a = WORD.findall(source)
    b = WORD.findall(rendered)
    if not a:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return matched / len(a)


def preset_for(text):
    """The preset that the choice by content takes: zh when the text has a CJK ideograph."""
    return "zh" if CJK.search(text) else "en"


def measure(glyph, doc, before_configs, with_cer, supports_reflow):
    name = os.path.basename(doc)
    off = ["--reflow", "off"] if supports_reflow else []
    source = run([glyph, "text", doc] + off)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(source)
        source_path = f.name
    try:
        tokenized = run([glyph, "tokenize", source_path])
    finally:
        os.unlink(source_path)
    text_tokens = int(re.search(r"\d+", tokenized).group(0))
    before_config = before_configs[preset_for(source)]
    before = json.loads(run([glyph, "stats", doc, "-c", before_config, "--json"]))
    after = json.loads(run([glyph, "stats", doc, "--json"]))
    rendered = run([glyph, "text", doc])
    row = {
        "document": name,
        "kind": kind_of(name),
        "text_tokens": text_tokens,
        "pages_before": len(before["pages"]),
        "pages_after": len(after["pages"]),
        "visual_before": before["visual_tokens"],
        "visual_after": after["visual_tokens"],
        "ratio_before": text_tokens / before["visual_tokens"],
        "ratio_after": text_tokens / after["visual_tokens"],
        "word_recall": word_recall(source, rendered),
    }
    if with_cer:
        started = time.time()
        verify = json.loads(run([glyph, "verify", doc, "--json", "--no-cache"]))
        row["cer"] = verify["cer"]
        row["verify_seconds"] = time.time() - started
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"), help="build folder")
    parser.add_argument("--docs", default=os.path.join(HERE, "docs"), help="corpus folder")
    parser.add_argument("--no-cer", action="store_true", help="skip the OCR round trip (fast)")
    parser.add_argument("--only", action="append", help="only documents whose name has this")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()

    glyph = os.path.join(args.build, "glyph")
    if not os.access(glyph, os.X_OK):
        sys.exit("bench: %s not found: build first (cmake --build build)" % glyph)
    supports_reflow = "--reflow" in run([glyph, "text", "--help"])
    before_configs = {}
    for name in ("en", "zh"):
        with open(os.path.join(ROOT, "configs", name + ".json"), encoding="utf-8") as f:
            preset = json.load(f)
        preset.update(BEFORE_OVERRIDES)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(preset, f)
            before_configs[name] = f.name

    docs = sorted(os.path.join(args.docs, n) for n in os.listdir(args.docs)
                  if not n.startswith(".") and n != "SOURCES.md")
    if args.only:
        docs = [d for d in docs if any(o in os.path.basename(d) for o in args.only)]
    rows = []
    try:
        for doc in docs:
            print("bench: %s" % os.path.basename(doc), file=sys.stderr, flush=True)
            rows.append(measure(glyph, doc, before_configs, not args.no_cer, supports_reflow))
    finally:
        for path in before_configs.values():
            os.unlink(path)

    with_cer = not args.no_cer
    print("| document | kind | text tokens | pages before → after | ratio before | ratio after |"
          + (" CER |" if with_cer else "") + " word recall |")
    print("| --- | --- | ---: | ---: | ---: | ---: |" + (" ---: |" if with_cer else "") + " ---: |")
    for r in rows:
        print("| %s | %s | %d | %d → %d | %.2fx | %.2fx |%s %.2f%% |" % (
            r["document"], r["kind"], r["text_tokens"], r["pages_before"], r["pages_after"],
            r["ratio_before"], r["ratio_after"],
            (" %.2f%% |" % (100 * r["cer"])) if with_cer else "", 100 * r["word_recall"]))
    before = [r["ratio_before"] for r in rows]
    after = [r["ratio_after"] for r in rows]
    summary = {
        "documents": len(rows),
        "median_ratio_before": statistics.median(before),
        "median_ratio_after": statistics.median(after),
        "min_ratio_after": min(after),
        "min_word_recall": min(r["word_recall"] for r in rows),
    }
    if with_cer:
        summary["max_cer"] = max(r["cer"] for r in rows)
        summary["median_cer"] = statistics.median(r["cer"] for r in rows)
    print()
    print("median ratio %.2fx → %.2fx; lowest after %.2fx; lowest word recall %.2f%%%s" % (
        summary["median_ratio_before"], summary["median_ratio_after"], summary["min_ratio_after"],
        100 * summary["min_word_recall"],
        ("; CER median %.2f%%, worst %.2f%%" % (100 * summary["median_cer"],
                                                100 * summary["max_cer"])) if with_cer else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "documents": rows}, f, indent=2)


if __name__ == "__main__":
    main()
