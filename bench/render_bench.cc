// Renderer benchmarks, per page: layout, rasterization, PNG encoding (with the filter and level
// choices side by side), and the whole render of an example to a folder.
//
//   build/glyph_bench --benchmark_filter='render|encode|layout|raster'
//
// Inputs: ../shared/data/examples/case3.txt (English, 25 pages) with the English preset.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "config/config.h"
#include "core/file.h"
#include "image/image.h"
#include "raster/renderer.h"
#include "text/prepare.h"

namespace glyph {
namespace {

struct Fixture {
  RenderConfig config = preset_config("en");
  std::u32string text;
  std::unique_ptr<Renderer> renderer;
  Layout layout;
  PageImage page;  // a full page of case3, as rendered

  Fixture() {
    text =
        prepare_text(read_file(std::string(GLYPH_SHARED_DIR) + "/data/examples/case3.txt"), config)
            .text;
    renderer = std::make_unique<Renderer>(config);
    layout = renderer->lay_out(text);
    page = renderer->rasterize(layout, 1);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_layout_per_page(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(f.renderer->lay_out(f.text));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.layout.pages.size()));
  state.counters["pages"] = static_cast<double>(f.layout.pages.size());
}
BENCHMARK(BM_layout_per_page)->Unit(benchmark::kMillisecond);

void BM_raster_page(benchmark::State& state) {
  Fixture& f = fixture();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.renderer->rasterize(f.layout, i));
    i = (i + 1) % (f.layout.pages.size() - 1);  // full pages only
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_raster_page)->Unit(benchmark::kMicrosecond);

// range(0): filter; range(1): deflate (0 libdeflate, 1 isal); range(2): level.
void BM_encode_page(benchmark::State& state) {
  Fixture& f = fixture();
  const PngOptions options{static_cast<PngDeflate>(state.range(1)),
                           static_cast<int>(state.range(2)),
                           static_cast<PngFilter>(state.range(0))};
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string png = encode_png(f.page, options);
    bytes = png.size();
    benchmark::DoNotOptimize(png.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["png_KB"] = bytes / 1024.0;
  static const char* names[] = {"none", "sub", "up", "paeth", "adaptive"};
  state.SetLabel(std::string("filter=") + names[state.range(0)] +
                 (state.range(1) == 0 ? " libdeflate" : " isal") +
                 " level=" + std::to_string(state.range(2)));
}
// Every filter with the default deflate; the deflates side by side with the default filter.
BENCHMARK(BM_encode_page)->ArgsProduct({{0, 1, 2, 3, 4}, {0}, {1}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_encode_page)
    ->Args({0, 0, 6})
    ->Args({0, 0, 9})
    ->Args({0, 1, 1})
    ->Args({0, 1, 2})
    ->Args({0, 1, 3})
    ->Unit(benchmark::kMicrosecond);

// What a render thread does per page, minus the file write: rasterize (page image, glyphs, crop)
// and encode with the default PNG options.
void BM_raster_and_encode_page(benchmark::State& state) {
  Fixture& f = fixture();
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string png = encode_png(f.renderer->rasterize(f.layout, i));
    bytes += png.size();
    benchmark::DoNotOptimize(png.data());
    i = (i + 1) % (f.layout.pages.size() - 1);  // full pages only
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["png_KB"] = bytes / 1024.0 / std::max<int64_t>(state.iterations(), 1);
}
BENCHMARK(BM_raster_and_encode_page)->Unit(benchmark::kMicrosecond);

void BM_render_case3_to_directory(benchmark::State& state) {
  Fixture& f = fixture();
  const std::string outdir =
      (std::filesystem::temp_directory_path() / "glyph-bench-render").string();
  RenderOptions options;
  options.threads = static_cast<int>(state.range(0));
  for (auto _ : state)
    benchmark::DoNotOptimize(f.renderer->render_to_directory(f.text, outdir, options));
  std::filesystem::remove_all(outdir);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.layout.pages.size()));
}
BENCHMARK(BM_render_case3_to_directory)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace glyph
