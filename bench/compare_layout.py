#!/usr/bin/python3
"""Layout agreement between glyph and the reference renderer (ReportLab -> PDF, lines read back
with pdftotext), on the same text and config.

  bench/compare_layout.py BUILD/glyph CONFIG.json INPUT.txt [--font FONT] [--keep DIR]

Prints one JSON line: pages (ours, reference), lines compared, % identical line texts, max
line-box deviation in pixels (x0, x1, baseline), and the first differences on stderr.
"""
import json, os, subprocess, sys, tempfile

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "reference",
                         "reportlab_render.py")


def words(text):
    return " ".join(text.replace("\xa0", " ").split())


def merge_same_baseline(lines):
    """pdftotext splits a line at a wide gap (justified text, runs of spaces): join the pieces
    that share a baseline back into one line."""
    out = []
    for line in lines:
        if out and abs(out[-1]["bbox"][3] - line["bbox"][3]) < 0.5 and abs(out[-1]["bbox"][1] - line["bbox"][1]) < 0.5:
            prev = out[-1]
            prev["text"] += " " + line["text"]
            prev["bbox"] = [min(prev["bbox"][0], line["bbox"][0]), prev["bbox"][1],
                            max(prev["bbox"][2], line["bbox"][2]), prev["bbox"][3]]
        else:
            out.append(dict(line))
    return out


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    font = argv[argv.index("--font") + 1] if "--font" in argv else None
    if font:
        args.remove(font)
    glyph, config_path, input_path = args[:3]
    reference = os.environ.get("GLYPH_REFERENCE", REFERENCE)
    cfg = json.load(open(config_path, encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        if font:
            cfg["font-path"] = font
            config_path = os.path.join(tmp, "config.json")
            json.dump(cfg, open(config_path, "w"))
        lines_path = os.path.join(tmp, "lines.json")
        subprocess.run(["/usr/bin/python3", reference, config_path, input_path, os.path.join(tmp, "ref"),
                        "--lines", lines_path], check=True, capture_output=True)
        ref = json.load(open(lines_path, encoding="utf-8"))
        ours = json.loads(subprocess.run([glyph, "text", input_path, "-c", config_path, "--json"], check=True,
                                         capture_output=True).stdout)
    scale = ref["dpi"] / 72.0
    total = same = 0
    max_dx = max_dy = 0.0
    shown = 0
    for n in range(max(len(ref["pages"]), len(ours["pages"]))):
        rl = merge_same_baseline(ref["pages"][n]["lines"]) if n < len(ref["pages"]) else []
        ol = [l for l in ours["pages"][n]["lines"] if words(l["text"])] if n < len(ours["pages"]) else []
        for i in range(max(len(rl), len(ol))):
            total += 1
            r = rl[i] if i < len(rl) else None
            o = ol[i] if i < len(ol) else None
            if r and o and words(r["text"]) == words(o["text"]):
                same += 1
                ob = [v * scale for v in o["bbox_pt"]]
                # pdftotext's box spans baseline - 0.76 em to baseline + 0.24 em (a fixed ratio)
                rb = r["bbox"]
                dx = max(abs(rb[0] - ob[0]), abs(rb[2] - ob[2]))
                dy = max(abs(rb[1] - ob[1]), abs(rb[3] - ob[3]))
                max_dx = max(max_dx, dx)
                max_dy = max(max_dy, dy)
                if max(dx, dy) > 1 and shown < 10:
                    shown += 1
                    print(f"page {n+1} line {i+1}: box {rb} vs {[round(v, 2) for v in ob]}", file=sys.stderr)
            elif shown < 10:
                shown += 1
                print(f"page {n+1} line {i+1}:\n  ref: {r and r['text']!r}\n  our: {o and o['text']!r}", file=sys.stderr)
    print(json.dumps({"input": os.path.basename(input_path), "pages": len(ours["pages"]),
                      "reference_pages": len(ref["pages"]), "lines": total,
                      "identical_pct": round(100.0 * same / max(total, 1), 3),
                      "max_x_dev_px": round(max_dx, 3), "max_y_dev_px": round(max_dy, 3)}))


if __name__ == "__main__":
    main(sys.argv[1:])
