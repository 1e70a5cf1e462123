#!/usr/bin/python3
"""Throughput of the Python module (docs/python.md), four measurements:

  render     pages per second into numpy arrays from Python: one process (one rendering thread),
             one process with 2 Python threads (the GIL is released while rendering), and 2
             worker processes; against the reference pipeline (ReportLab -> PDF -> pdftoppm ->
             PNG files, ../shared/reference/reportlab_render.py, its own reported seconds, as
             bench/compare_reference.py runs it) on the same texts and config.
  dataset    samples per second of glyph.data.GlyphDataset (OCR task, sampled styles) through a
             DataLoader with 2 workers (and 0, in the main process, for comparison), with sampled
             styles and with one fixed config.
  corpus     python -m glyph.corpus on a LocalCluster of 2 workers against 1 (seconds, pages/s;
             the cluster's start-up included).

  PYTHONPATH=build/python python3 bench/python_throughput.py [--only render,dataset,corpus]
        [--config configs/en.json] [--repeat 3] [--no-reference] [--json OUT.json] [FILE.txt ...]

Default texts: ../shared/data/examples/*.txt. Best of --repeat runs for ours; the reference runs
once per text (it takes about a second a page). On a shared machine read the figures as a
lower bound of the ratio: the reference's seconds exclude its Python start-up and ours include
everything from the str to the arrays. CPU seconds (ours: this process; the reference: its
process and pdftoppm, start-up included) give a ratio that the machine's load moves less.
"""
import argparse
import glob
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
REFERENCE = os.path.join(SHARED, "reference", "reportlab_render.py")
sys.path.insert(0, os.path.join(ROOT, "build", "python"))

import glyph  # noqa: E402

_worker_renderer = None


def _init_worker(config):
    global _worker_renderer
    _worker_renderer = glyph.Renderer(config, threads=1)


def _render_pages(text):
    return len(_worker_renderer.render(text))


def cpu_seconds(function):
    t = time.process_time()
    function()
    return time.process_time() - t


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def best(repeat, function):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - t)
    return min(times), result


def bench_render(texts, config, repeat, reference):
    renderer = glyph.Renderer(config, threads=1)
    for text in texts.values():  # warm the glyph cache, as a training job is after its first pages
        renderer.render(text)
    out = {"texts": {}}
    total_pages = 0
    for name, text in texts.items():
        seconds, pages = best(repeat, lambda: len(renderer.render(text)))
        out["texts"][name] = {"pages": pages, "seconds": round(seconds, 4),
                              "pages_per_second": round(pages / seconds, 1)}
        total_pages += pages
    single, _ = best(repeat, lambda: [renderer.render(t) for t in texts.values()])
    # CPU seconds of this process for the same work: steadier than the wall clock on a loaded
    # machine (the reference's are its process's and pdftoppm's, from getrusage).
    single_cpu = min(cpu_seconds(lambda: [renderer.render(t) for t in texts.values()])
                     for _ in range(repeat))

    def two_threads():
        items = list(texts.values())
        threads = [threading.Thread(target=lambda part: [renderer.render(t) for t in part],
                                    args=(items[i::2],)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    threaded, _ = best(repeat, two_threads)

    # 2 processes, each rendering whole texts (longest first, so that the two halves balance).
    order = sorted(texts.values(), key=len, reverse=True)
    with multiprocessing.get_context("fork").Pool(2, _init_worker, (config,)) as pool:
        pool.map(_render_pages, order)  # warm both
        processes, _ = best(repeat, lambda: pool.map(_render_pages, order, chunksize=1))
    out.update({"pages": total_pages,
                "single_process": {"seconds": round(single, 4),
                                   "pages_per_second": round(total_pages / single, 1),
                                   "cpu_seconds": round(single_cpu, 4)},
                "two_threads": {"seconds": round(threaded, 4),
                                "pages_per_second": round(total_pages / threaded, 1)},
                "two_processes": {"seconds": round(processes, 4),
                                  "pages_per_second": round(total_pages / processes, 1)}})
    if reference:
        ref_seconds = ref_pages = 0
        ref_cpu = children_cpu()
        with tempfile.TemporaryDirectory() as tmp:
            for name, path in reference.items():
                run = subprocess.run(["/usr/bin/python3", REFERENCE, config, path,
                                      os.path.join(tmp, name)], check=True, capture_output=True,
                                     text=True)
                result = json.loads(run.stdout.strip().splitlines()[-1])
                out["texts"][name]["reference_pages"] = result["pages"]
                out["texts"][name]["reference_seconds"] = result["seconds"]
                ref_seconds += result["seconds"]
                ref_pages += result["pages"]
        ref_cpu = children_cpu() - ref_cpu
        rate = ref_pages / ref_seconds
        out["reference"] = {"pages": ref_pages, "seconds": round(ref_seconds, 3),
                            "pages_per_second": round(rate, 3), "cpu_seconds": round(ref_cpu, 2)}
        out["single_process"]["cpu_vs_reference"] = round(ref_cpu / single_cpu, 1)
        for key in ("single_process", "two_threads", "two_processes"):
            out[key]["vs_reference"] = round(out[key]["pages_per_second"] / rate, 1)
    return out


def bench_dataset(texts, samples):
    import torch
    from torch.utils.data import DataLoader
    from glyph.data import GlyphDataset
    from glyph.style import StyleSampler
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        shard = os.path.join(tmp, "texts.jsonl")
        with open(shard, "w", encoding="utf-8") as f:
            for text in texts.values():
                f.write(json.dumps({"text": text}) + "\n")
        # Sampled styles (a new font size and dpi nearly every sample: the glyph cache starts
        # cold each time, and a few pages are 300 dpi) and one fixed config ("en").
        for style in ("sampled", "en"):
            for workers in (0, 2):
                dataset = GlyphDataset(shard, task="ocr", seed=1, chars=(1000, 4000),
                                       length=samples, config="en",
                                       style=StyleSampler(seed=1) if style == "sampled" else None)
                loader = DataLoader(dataset, batch_size=None, num_workers=workers)
                t = time.perf_counter()
                pages = sum(len(s.pixels) for s in loader)
                seconds = time.perf_counter() - t
                out[f"{style}_workers_{workers}"] = {
                    "samples": samples, "pages": pages, "seconds": round(seconds, 3),
                    "samples_per_second": round(samples / seconds, 1)}
    return out


def bench_corpus(texts, documents):
    out = {}
    items = list(texts.values())
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "texts.jsonl")
        with open(source, "w", encoding="utf-8") as f:
            for i in range(documents):  # stretches of the example texts, about 2 pages each
                text = items[i % len(items)]
                start = (i * 7919) % max(1, len(text) - 8000)
                f.write(json.dumps({"text": text[start:start + 8000]}) + "\n")
        for workers in (1, 2):
            outdir = os.path.join(tmp, f"out{workers}")
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "python"))
            run = subprocess.run([sys.executable, "-m", "glyph.corpus", source, "-o", outdir,
                                  "--workers", str(workers), "--shard-size", "25", "--json",
                                  "-q"], check=True, capture_output=True, text=True, env=env)
            summary = json.loads(run.stdout)
            out[f"workers_{workers}"] = {"documents": documents, "pages": summary["pages"],
                                         "seconds": summary["seconds"],
                                         "startup_seconds": summary["startup_seconds"],
                                         "pages_per_second": round(summary["pages"] /
                                                                   summary["seconds"], 1)}
    out["scaling"] = round(out["workers_1"]["seconds"] / out["workers_2"]["seconds"], 2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--only", default="render,dataset,corpus")
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "en.json"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--samples", type=int, default=200, help="dataset samples")
    ap.add_argument("--documents", type=int, default=400, help="corpus documents")
    ap.add_argument("--json", help="write the results to this file too")
    args = ap.parse_args()
    files = args.files or sorted(glob.glob(os.path.join(SHARED, "data", "examples", "*.txt")))
    texts = {}
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            texts[os.path.basename(path)] = f.read()
    only = set(args.only.split(","))
    results = {"config": os.path.relpath(args.config, ROOT), "cpus": os.cpu_count(),
               "load_average": os.getloadavg()[0]}
    if "render" in only:
        reference = None if args.no_reference else {os.path.basename(p): p for p in files}
        results["render"] = bench_render(texts, args.config, args.repeat, reference)
        print(json.dumps({"render": results["render"]}, indent=1), flush=True)
    print(json.dumps({"load_average": os.getloadavg()}), flush=True)
    if "dataset" in only:
        results["dataset"] = bench_dataset(texts, args.samples)
        print(json.dumps({"dataset": results["dataset"]}, indent=1), flush=True)
    if "corpus" in only:
        results["corpus"] = bench_corpus(texts, args.documents)
        print(json.dumps({"corpus": results["corpus"]}, indent=1), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
