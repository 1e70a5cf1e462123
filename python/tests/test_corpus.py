"""python -m glyph.corpus: 200 texts on a LocalCluster, killed after its first shard and run
again, give every shard exactly once, each page the renderer's own PNG."""
import json
import os
import signal
import subprocess
import sys
import tarfile
import time

import glyph
from conftest import ENGLISH
from glyph.style import StyleSampler

SHARD_SIZE = 10
TEXTS = 200


def corpus_command(source, outdir, workers, *extra):
    return [sys.executable, "-m", "glyph.corpus", str(source), "-o", str(outdir), "--shard-size",
            str(SHARD_SIZE), "--workers", str(workers), "--json", *extra]


def test_killed_and_resumed_run_writes_every_shard_once(tmp_path):
    source = tmp_path / "texts.jsonl"
    with open(source, "w", encoding="utf-8") as f:
        for i in range(TEXTS):
            f.write(json.dumps({"text": f"Text {i}.\n" + ENGLISH[: 2000 + 37 * i]}) + "\n")
    outdir = tmp_path / "shards"
    shards = TEXTS // SHARD_SIZE

    # One worker, so shards finish one after another; killed (the whole process group, the
    # cluster's processes with it) as soon as the first is complete.
    first = subprocess.Popen(corpus_command(source, outdir, 1, "-q"), start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    done = []
    while time.monotonic() < deadline and first.poll() is None:
        done = sorted(n for n in os.listdir(outdir) if n.endswith(".tar")) if outdir.exists() else []
        if done:
            break
        time.sleep(0.02)
    assert first.poll() is None, first.communicate()
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    time.sleep(0.5)  # the group's last processes exit
    done = sorted(n for n in os.listdir(outdir) if n.endswith(".tar"))
    assert 1 <= len(done) < shards
    before = {n: os.stat(outdir / n).st_mtime_ns for n in done}

    second = subprocess.run(corpus_command(source, outdir, 2, "-q"), capture_output=True,
                            text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["shards"] == shards
    assert summary["skipped"] == len(done) and summary["rendered"] == shards - len(done)
    # The shards of the first run were left alone; nothing temporary remains.
    assert {n: os.stat(outdir / n).st_mtime_ns for n in done} == before
    names = sorted(os.listdir(outdir))
    assert names == [f"shard-{k:06d}.tar" for k in range(shards)]

    documents = {}
    renderer = glyph.Renderer("en")
    for k, name in enumerate(names):
        with tarfile.open(outdir / name) as tar:
            members = tar.getnames()
            assert len(members) == len(set(members))
            for member in members:
                key, extension = member.split(".", 1)
                number, page = (int(v) for v in key.split("_"))
                assert k * SHARD_SIZE <= number < (k + 1) * SHARD_SIZE
                documents.setdefault(number, set()).add((page, extension))
                if number == k * SHARD_SIZE + 3 and extension == "json":
                    record = json.loads(tar.extractfile(member).read())
                    text = f"Text {number}.\n" + ENGLISH[: 2000 + 37 * number]
                    pages, layout = renderer.render_with_layout(text)
                    assert record["text"] == layout.text[record["char_start"]:record["char_end"]]
                    assert record["pages"] == len(pages)
                    png = tar.extractfile(key + ".png").read()
                    assert png == glyph.png(pages[page - 1])
    assert sorted(documents) == list(range(TEXTS))
    for number, files in documents.items():
        pages = {p for p, _ in files}
        assert pages == set(range(1, len(pages) + 1))
        assert files == {(p, e) for p in pages for e in ("png", "json")}

    # Everything done: a third run renders nothing, without starting a cluster.
    third = subprocess.run(corpus_command(source, outdir, 2, "-q"), capture_output=True, text=True,
                           timeout=120)
    assert json.loads(third.stdout)["rendered"] == 0


def test_bad_input_is_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"txt": 1}\n')
    run = subprocess.run(corpus_command(bad, tmp_path / "out", 1, "-q"), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip() == f"error: {bad}:2: no string \"text\""
    run = subprocess.run(corpus_command(tmp_path / "nope", tmp_path / "out", 1, "-q", "-c",
                                        tmp_path / "missing.json"),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "missing.json" in run.stderr
    run = subprocess.run(corpus_command(bad, tmp_path / "out", 1, "-q", "--style",
                                        '{"dpix": [[72, 72, 1]]}'),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and run.stderr.startswith("error: style spec: unknown key \"dpix\"")


def test_folder_of_texts_on_a_running_scheduler(tmp_path):
    from dask.distributed import LocalCluster
    source = tmp_path / "texts"
    source.mkdir()
    for i in range(5):
        (source / f"{i:02d}.txt").write_text(f"Document {i}.\n" + ENGLISH[: 500 * (i + 1)],
                                             encoding="utf-8")
    (source / "notes.md").write_text("not a .txt file: skipped")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        run = subprocess.run([sys.executable, "-m", "glyph.corpus", str(source), "-o",
                              str(tmp_path / "out"), "--shard-size", "2", "--scheduler",
                              cluster.scheduler_address, "--json", "-q", "--style",
                              '{"dpi": [[50, 60, 1]]}', "--seed", "4"],
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["rendered"] == 3
    with tarfile.open(tmp_path / "out" / "shard-000002.tar") as tar:
        record = json.loads(tar.extractfile("000000004_0001.json").read())
    assert record["source"] == "04.txt" and record["text"].startswith("Document 4.")
    # Document 4 in the style the sampler gives index 4, wherever it was rendered.
    assert record["config"] == StyleSampler({"dpi": [[50, 60, 1]]}, seed=4).sample(4)
