// Ingest speed: a 300-page PDF to text (target < 3 s) and a 10 MB DOCX (target < 2 s), with
// poppler's own pdftotext on the same PDF side by side (the ratio says what our per-page work
// around poppler costs). Inputs come from bench/make_ingest_bench_docs.py, written once to
// $TMPDIR/glyph-ingest-bench.
//   build/glyph_bench --benchmark_filter=ingest
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "core/file.h"
#include "ingest/ingest.h"

namespace {

const std::string& bench_dir() {
  static const std::string dir = [] {
    const std::string d = (std::filesystem::temp_directory_path() / "glyph-ingest-bench").string();
    if (!std::filesystem::exists(d + "/10mb.docx")) {
      const std::string command = std::string("/usr/bin/python3 ") + GLYPH_SOURCE_DIR +
                                  "/bench/make_ingest_bench_docs.py " + d + " >/dev/null";
      if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
    }
    return d;
  }();
  return dir;
}

void ingest_pdf_300_pages(benchmark::State& state) {
  const std::string path = bench_dir() + "/300_pages.pdf";
  size_t chars = 0;
  for (auto _ : state) {
    const glyph::Document doc = glyph::ingest_file(path, {});
    chars = doc.text.size();
    benchmark::DoNotOptimize(doc.text.data());
  }
  state.counters["pages_per_s"] = benchmark::Counter(
      300.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["text_bytes"] = static_cast<double>(chars);
}
BENCHMARK(ingest_pdf_300_pages)->Unit(benchmark::kMillisecond)->Iterations(3);

void ingest_pdf_300_pages_pdftotext(benchmark::State& state) {
  const std::string command = "pdftotext '" + bench_dir() + "/300_pages.pdf' /dev/null";
  for (auto _ : state) {
    if (std::system(command.c_str()) != 0) state.SkipWithError("pdftotext failed");
  }
}
BENCHMARK(ingest_pdf_300_pages_pdftotext)->Unit(benchmark::kMillisecond)->Iterations(3);

void ingest_docx_10mb(benchmark::State& state) {
  const std::string path = bench_dir() + "/10mb.docx";
  const auto file_bytes = std::filesystem::file_size(path);
  size_t chars = 0;
  for (auto _ : state) {
    const glyph::Document doc = glyph::ingest_file(path, {});
    chars = doc.text.size();
    benchmark::DoNotOptimize(doc.text.data());
  }
  state.counters["file_MB"] = static_cast<double>(file_bytes) / 1e6;
  state.counters["text_MB"] = static_cast<double>(chars) / 1e6;
}
BENCHMARK(ingest_docx_10mb)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
