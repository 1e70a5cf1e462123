// Layout speed: prepare + lay out English and Chinese text (no rasterizing).
#include <benchmark/benchmark.h>

#include "config/config.h"
#include "core/file.h"
#include "font/font.h"
#include "layout/layout.h"
#include "text/prepare.h"

namespace {

std::string english_text(size_t bytes) {
  const std::string base =
      glyph::read_file(std::string(GLYPH_SHARED_DIR) + "/data/examples/case2.txt");
  std::string out;
  while (out.size() < bytes) out += base;
  out.resize(bytes);
  return out;
}

void BM_layout_english(benchmark::State& state) {
  const glyph::RenderConfig config = glyph::preset_config("en");
  const glyph::FontSet fonts(config);
  const std::string bytes = english_text(static_cast<size_t>(state.range(0)));
  const glyph::PreparedText prepared = glyph::prepare_text(bytes, config);
  size_t pages = 0;
  for (auto _ : state) {
    const glyph::Layout layout = glyph::lay_out(prepared.text, config, fonts);
    pages = layout.pages.size();
    benchmark::DoNotOptimize(pages);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes.size()));
  state.counters["pages"] = static_cast<double>(pages);
}
BENCHMARK(BM_layout_english)->Arg(1 << 20)->Arg(4 << 20)->Unit(benchmark::kMillisecond);

void BM_prepare_text(benchmark::State& state) {
  const glyph::RenderConfig config = glyph::preset_config("en");
  const std::string bytes = english_text(4 << 20);
  for (auto _ : state) benchmark::DoNotOptimize(glyph::prepare_text(bytes, config).text.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_prepare_text)->Unit(benchmark::kMillisecond);

void BM_layout_chinese(benchmark::State& state) {
  const glyph::RenderConfig config = glyph::preset_config("zh");
  const glyph::FontSet fonts(config);
  std::u32string text;
  for (int i = 0; i < 300000; ++i)
    text += i % 40 == 39 ? U'\n' : static_cast<char32_t>(0x4E00 + (i * 7919) % 0x5000);
  for (auto _ : state) benchmark::DoNotOptimize(glyph::lay_out(text, config, fonts).pages.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_layout_chinese)->Unit(benchmark::kMillisecond);

// The streamed layout's latency: the first page of an example (what glyph render's rasterizing
// threads wait for before they start) beside the whole example. case2 and case3 are each one
// paragraph.
void BM_layout_example(benchmark::State& state, const char* name, bool first_page_only) {
  const glyph::RenderConfig config = glyph::preset_config("en");
  const glyph::FontSet fonts(config);
  const std::string bytes =
      glyph::read_file(std::string(GLYPH_SHARED_DIR) + "/data/examples/" + name);
  const glyph::PreparedText prepared = glyph::prepare_text(bytes, config);
  for (auto _ : state) {
    glyph::PageLayouter layouter(prepared.text, config, fonts);
    glyph::PageLayout page;
    size_t pages = 0;
    while (layouter.next_page(page)) {
      ++pages;
      if (first_page_only) break;
    }
    benchmark::DoNotOptimize(pages);
  }
}
BENCHMARK_CAPTURE(BM_layout_example, case2_first_page, "case2.txt", true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_layout_example, case2_all_pages, "case2.txt", false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_layout_example, case3_first_page, "case3.txt", true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_layout_example, case3_all_pages, "case3.txt", false)
    ->Unit(benchmark::kMillisecond);

void BM_font_set_open(benchmark::State& state) {
  const glyph::RenderConfig config = glyph::preset_config("en");
  for (auto _ : state) {
    glyph::FontSet fonts(config);
    benchmark::DoNotOptimize(fonts.font_count());
  }
}
BENCHMARK(BM_font_set_open)->Unit(benchmark::kMillisecond);

// The fallback fonts of the chain are opened at the first character the fonts before them lack:
// English text pays for the main font only (BM_font_set_open), one Han character adds Noto Sans
// CJK.
void BM_font_set_open_and_reach_the_cjk_fallback(benchmark::State& state) {
  const glyph::RenderConfig config = glyph::preset_config("en");
  for (auto _ : state) {
    glyph::FontSet fonts(config);
    benchmark::DoNotOptimize(fonts.lookup(U'a').glyph_id);
    benchmark::DoNotOptimize(fonts.lookup(U'\u4E2D').glyph_id);
  }
}
BENCHMARK(BM_font_set_open_and_reach_the_cjk_fallback)->Unit(benchmark::kMillisecond);

}  // namespace
