#!/usr/bin/python3
"""Renders text files with glyph and with the reference renderer (ReportLab -> PDF -> pdftoppm,
../shared/reference/reportlab_render.py) on the same config, and prints per file:

  pages (ours/ref), seconds (ours/ref), speed ratio, CPU seconds (user + sys, ours/ref) and their
  ratio (steadier than wall clock on a loaded machine), layout agreement (% of lines with identical
  text, max line-box deviation in px), mean absolute pixel difference per page (grey levels).

Our seconds are the wall clock of the whole `glyph render` process (start-up, layout, raster, PNG
files written); the reference's are the seconds it reports itself (PDF build, pdftoppm, crops,
PNG files written; Python start-up and --lines extraction excluded), so the ratio is conservative.

  bench/compare_reference.py [--glyph build/glyph] [--config configs/en.json] [--threads N]
                             [--repeat R] [--json OUT.json] [--mixed] [FILE.txt ...]

Default files: ../shared/data/examples/*.txt. --mixed: Chinese mixed with Latin (commands, URLs,
numbers, English words) on WenQuanYi Micro Hei (fonts-wqy-microhei, a TrueType CJK font with
Latin glyphs that ReportLab reads): config bench/data/zh_wqy.json, files tests/data/zh_mixed.txt,
zh_edge.txt, zh_prose.txt and the examples. Needs python3-pil and python3-numpy (Debian).
Line texts are compared after collapsing whitespace (pdftotext joins words with one space and
drops empty lines); lines are aligned with difflib when their counts differ.
"""
import argparse, difflib, glob, json, os, re, resource, shutil, subprocess, sys, tempfile, time

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
REFERENCE = os.path.join(SHARED, "reference", "reportlab_render.py")
WS = re.compile(r"[\s\u00a0]+")


def norm(text):
    return WS.sub(" ", text).strip()


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_ours(glyph, config, path, outdir, threads, repeat):
    """Best wall-clock seconds and CPU seconds (user + sys) of R runs."""
    best, best_cpu = None, None
    for _ in range(repeat):
        # A fresh folder each time, as the reference gets (replacing files costs ext4 time).
        shutil.rmtree(outdir, ignore_errors=True)
        cmd = [glyph, "render", path, "-c", config, "-o", outdir, "--json", "-q"]
        if threads:
            cmd += ["--threads", str(threads)]
        cpu, t = children_cpu(), time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        s, c = time.perf_counter() - t, children_cpu() - cpu
        best = s if best is None else min(best, s)
        best_cpu = c if best_cpu is None else min(best_cpu, c)
    return best, best_cpu


def run_reference(config, path, outdir, lines_path):
    """The seconds the reference reports, and the CPU seconds of it and its children (pdftoppm;
    pdftotext for --lines is included, a small share)."""
    cpu = children_cpu()
    out = subprocess.run(["/usr/bin/python3", REFERENCE, config, path, outdir, "--lines", lines_path],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["seconds"], children_cpu() - cpu


def compare_lines(ours, ref):
    """(identical, total, max bbox deviation) over all pages."""
    identical = total = 0
    max_dev = 0.0
    for page_ours, page_ref in zip(ours["pages"], ref["pages"]):
        a = [(norm(l["text"]), l["bbox"]) for l in page_ours["lines"] if norm(l["text"])]
        b = [(norm(l["text"]), l["bbox"]) for l in page_ref["lines"] if norm(l["text"])]
        total += max(len(a), len(b))
        matcher = difflib.SequenceMatcher(None, [t for t, _ in a], [t for t, _ in b], autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                identical += 1
                box_a, box_b = a[block.a + k][1], b[block.b + k][1]
                max_dev = max(max_dev, max(abs(x - y) for x, y in zip(box_a, box_b)))
    for extra in ours["pages"][len(ref["pages"]):] + ref["pages"][len(ours["pages"]):]:
        total += len([l for l in extra["lines"] if norm(l["text"])])
    return identical, total, max_dev


def pixel_diffs(ours_dir, ref_dir):
    diffs = []
    names = sorted(f for f in os.listdir(ref_dir) if f.endswith(".png"))
    for name in names:
        p = os.path.join(ours_dir, name)
        if not os.path.exists(p):
            diffs.append(None)
            continue
        a = np.asarray(Image.open(p).convert("L"), dtype=np.int16)
        b = np.asarray(Image.open(os.path.join(ref_dir, name)).convert("L"), dtype=np.int16)
        h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
        # Pad the smaller with white so a size mismatch counts as a difference.
        pa = np.full((h, w), 255, np.int16); pa[:a.shape[0], :a.shape[1]] = a
        pb = np.full((h, w), 255, np.int16); pb[:b.shape[0], :b.shape[1]] = b
        diffs.append(float(np.abs(pa - pb).mean()))
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glyph", default=os.path.join(ROOT, "build", "glyph"))
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "en.json"))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="best of R runs of ours")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--mixed", action="store_true",
                    help="Chinese mixed with Latin on WenQuanYi Micro Hei (see above)")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    examples = sorted(glob.glob(os.path.join(SHARED, "data", "examples", "*.txt")))
    if args.mixed:
        args.config = os.path.join(ROOT, "bench", "data", "zh_wqy.json")
        examples = [os.path.join(ROOT, "tests", "data", name)
                    for name in ("zh_mixed.txt", "zh_edge.txt", "zh_prose.txt")] + examples
    files = args.files or examples
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            name = os.path.splitext(os.path.basename(path))[0]
            ours_dir, ref_dir = os.path.join(tmp, "ours", name), os.path.join(tmp, "ref", name)
            lines_path = os.path.join(tmp, name + ".lines.json")
            ours_s, ours_cpu = run_ours(args.glyph, args.config, path, ours_dir, args.threads, args.repeat)
            ref_s, ref_cpu = run_reference(args.config, path, ref_dir, lines_path)
            ours = json.load(open(os.path.join(ours_dir, "layout.json"), encoding="utf-8"))
            ref = json.load(open(lines_path, encoding="utf-8"))
            identical, total, dev = compare_lines(ours, ref)
            diffs = pixel_diffs(ours_dir, ref_dir)
            rows.append({"file": name, "pages_ours": len(ours["pages"]), "pages_ref": len(ref["pages"]),
                         "seconds_ours": round(ours_s, 4), "seconds_ref": ref_s,
                         "speedup": round(ref_s / ours_s, 1), "cpu_seconds_ours": round(ours_cpu, 4),
                         "cpu_seconds_ref": round(ref_cpu, 3), "cpu_speedup": round(ref_cpu / max(ours_cpu, 1e-6), 1), "lines_identical_pct": round(100.0 * identical / max(total, 1), 2),
                         "lines": total, "max_bbox_dev_px": round(dev, 2),
                         "pixel_mad_per_page": [None if d is None else round(d, 3) for d in diffs]})
            r = rows[-1]
            print("%-8s pages %3d/%-3d  seconds %7.3f/%-7.3f  speed %6.1fx  cpu %6.3f/%-7.3f %6.1fx  "
                  "lines identical %6.2f%% of %d  max bbox dev %.2f px  pixel MAD/page max %.3f mean %.3f" % (
                      name, r["pages_ours"], r["pages_ref"], ours_s, ref_s, r["speedup"], ours_cpu, ref_cpu,
                      r["cpu_speedup"], r["lines_identical_pct"],
                      total, dev, max(d for d in diffs if d is not None) if any(d is not None for d in diffs) else -1,
                      np.mean([d for d in diffs if d is not None]) if any(d is not None for d in diffs) else -1))
            sys.stdout.flush()
    if args.json:
        json.dump(rows, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
