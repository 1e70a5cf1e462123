"""Renders a corpus of texts into WebDataset-style tar shards on a Dask cluster.

    python -m glyph.corpus INPUT -o OUTDIR [--config en | --style SPEC.json] [--seed S]
                           [--shard-size 100] [--workers 2] [--scheduler tcp://host:8786]

INPUT is a folder of .txt files (one document each, sorted by name) or a JSONL file (one
{"text": ...} per line; --text-key). Documents are numbered in that order; shard k holds
documents [k * shard_size, (k + 1) * shard_size) and is written as OUTDIR/shard-00000k.tar, one
sample per page: "<document>_<page>.png" (the page image) and "<document>_<page>.json" (the
document number, the page, its text, its lines with their boxes in pixels, and the config).

The work runs on a Dask distributed cluster: a LocalCluster of --workers processes by default, or
the scheduler at --scheduler. Resumable by shard: a shard is written under a temporary name and
renamed when complete, so a run that is stopped leaves complete shards only; running the same
command again renders only the shards that are missing. With --style, document d is drawn in the
style StyleSampler(seed).sample(d): the same look on every run and in any worker. A progress bar
goes to stderr (tqdm when installed).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

_RENDERERS: Dict[str, Any] = {}  # per worker process, by config


def _renderer(config: Any):
    import glyph
    key = json.dumps(config, sort_keys=True)
    renderer = _RENDERERS.get(key)
    if renderer is None:
        if len(_RENDERERS) >= 8:
            _RENDERERS.pop(next(iter(_RENDERERS)))
        renderer = _RENDERERS[key] = glyph.Renderer(config, threads=1)
    return renderer


def shard_name(shard: int) -> str:
    return f"shard-{shard:06d}.tar"


def list_documents(source: str, text_key: str = "text") -> List[Tuple[str, Any]]:
    """("file", path) per .txt file of a folder, or ("text", str) per JSONL record."""
    if os.path.isdir(source):
        names = sorted(n for n in os.listdir(source) if n.endswith(".txt"))
        if not names:
            raise ValueError(f"{source}: no .txt files")
        return [("file", os.path.join(source, n)) for n in names]
    if not os.path.exists(source):
        raise FileNotFoundError(f"{source}: no such file or folder")
    documents = []
    with open(source, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{source}:{number}: invalid JSON: {e}") from None
            if not isinstance(record, dict) or not isinstance(record.get(text_key), str):
                raise ValueError(f"{source}:{number}: no string \"{text_key}\"")
            documents.append(("text", record[text_key]))
    if not documents:
        raise ValueError(f"{source}: no documents")
    return documents


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0  # the same bytes on every run
    tar.addfile(info, io.BytesIO(data))


def render_shard(outdir: str, shard: int, first: int, documents: Sequence[Tuple[str, Any]],
                 config: Any, style: Optional[Dict[str, Any]], seed: int) -> Dict[str, int]:
    """Renders documents first, first + 1, ... into OUTDIR/shard-k.tar (via a temporary file).
    Runs on a Dask worker; returns the shard's counts."""
    import glyph
    from glyph.style import StyleSampler
    sampler = StyleSampler(style, seed) if style is not None else None
    final = os.path.join(outdir, shard_name(shard))
    temporary = f"{final}.{os.getpid()}.tmp"
    pages = chars = 0
    with tarfile.open(temporary, "w") as tar:
        for offset, (kind, value) in enumerate(documents):
            number = first + offset
            if kind == "file":
                with open(value, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            else:
                text = value
            document_config = sampler.sample(number) if sampler is not None else config
            images, layout = _renderer(document_config).render_with_layout(text)
            described = layout.to_json()
            for p, image in enumerate(images):
                key = f"{number:09d}_{p + 1:04d}"
                page = described["pages"][p]
                start, end = page["char_start"], page["char_end"]
                record = {"document": number, "page": p + 1, "pages": len(images),
                          "text": layout.text[start:end], "width": page["width"],
                          "height": page["height"], "char_start": start, "char_end": end,
                          "lines": page["lines"], "config": document_config}
                if kind == "file":
                    record["source"] = os.path.basename(value)
                _add(tar, key + ".png", glyph.png(image))
                _add(tar, key + ".json", json.dumps(record, ensure_ascii=False).encode("utf-8"))
            pages += len(images)
            chars += len(layout.text)
    os.replace(temporary, final)
    return {"shard": shard, "documents": len(documents), "pages": pages, "chars": chars}


class _Progress:
    """tqdm when installed, else a line on stderr per finished shard."""

    def __init__(self, total: int, done: int, quiet: bool):
        self.quiet, self.total, self.done = quiet, total, done
        self.bar = None
        if not quiet:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, initial=done, unit="shard", file=sys.stderr)
            except ImportError:
                pass

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif not self.quiet:
            print(f"\rcorpus: {self.done}/{self.total} shards", end="", file=sys.stderr,
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif not self.quiet:
            print(file=sys.stderr)


def render_corpus(source: str, outdir: str, config: Any = "en",
                  style: Optional[Dict[str, Any]] = None, seed: int = 0, shard_size: int = 100,
                  workers: int = 2, scheduler: Optional[str] = None, text_key: str = "text",
                  quiet: bool = False) -> Dict[str, Any]:
    """Renders every shard of `source` not yet in `outdir`; returns what was done."""
    from dask.distributed import Client, LocalCluster, as_completed

    if shard_size < 1:
        raise ValueError("--shard-size: must be at least 1")
    if style is None:
        _renderer(config)  # a bad config fails here, before a cluster starts
    documents = list_documents(source, text_key)
    os.makedirs(outdir, exist_ok=True)
    for name in os.listdir(outdir):  # temporaries of a run that was stopped
        if name.endswith(".tmp"):
            os.remove(os.path.join(outdir, name))
    shards = (len(documents) + shard_size - 1) // shard_size
    missing = [k for k in range(shards) if not os.path.exists(os.path.join(outdir, shard_name(k)))]
    started = time.perf_counter()
    summary = {"shards": shards, "skipped": shards - len(missing), "rendered": 0, "pages": 0,
               "documents": 0, "chars": 0}
    if missing:
        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        summary["startup_seconds"] = round(time.perf_counter() - started, 3)
        progress = _Progress(shards, shards - len(missing), quiet)
        try:
            futures = [client.submit(render_shard, os.path.abspath(outdir), k, k * shard_size,
                                     documents[k * shard_size:(k + 1) * shard_size], config, style,
                                     seed, key=f"glyph-shard-{k}-{os.getpid()}", pure=False)
                       for k in missing]
            for future in as_completed(futures):
                result = future.result()
                summary["rendered"] += 1
                for key in ("pages", "documents", "chars"):
                    summary[key] += result[key]
                progress.update()
        finally:
            progress.close()
            client.close()
            if cluster is not None:
                cluster.close()
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m glyph.corpus",
                                     description="Render texts into WebDataset tar shards on Dask")
    parser.add_argument("input", help="a folder of .txt files or a JSONL file")
    parser.add_argument("-o", "--outdir", required=True, help="folder of the shards")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-c", "--config", default="en",
                       help="preset (en, zh) or Glyph JSON config (default: en)")
    group.add_argument("--style", help="style spec JSON (glyph.style): a sampled style per document")
    parser.add_argument("--seed", type=int, default=0, help="seed of the style sampler")
    parser.add_argument("--shard-size", type=int, default=100, help="documents per shard")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler to use instead")
    parser.add_argument("--text-key", default="text", help="JSONL key of the text")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args(argv)
    try:
        style = None
        if args.style:
            from glyph.style import StyleSampler
            style = StyleSampler.from_json(args.style, args.seed).spec  # validated here
        summary = render_corpus(args.input, args.outdir, args.config, style, args.seed,
                                args.shard_size, args.workers, args.scheduler, args.text_key,
                                args.quiet)
    except Exception as e:  # bad input, glyph.Error, the cluster's errors: their message
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['rendered']} shards rendered ({summary['pages']} pages), "
              f"{summary['skipped']} already done, of {summary['shards']}, in "
              f"{summary['seconds']} s")
    return 0


if __name__ == "__main__":
    # Through the imported module, so that the tasks the workers run are glyph.corpus functions
    # (pickled by name) and not copies of this __main__'s.
    from glyph.corpus import main as corpus_main
    sys.exit(corpus_main())
