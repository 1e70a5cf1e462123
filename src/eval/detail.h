// Internal to the eval module: word lists, the deterministic random generator, JSONL helpers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace glyph::eval::detail {

// Plain English words for keys, haystack sentences and word lists (embedded: nothing to
// download). Lowercase, ASCII, no duplicates across or within the lists.
std::span<const std::string_view> adjectives();
std::span<const std::string_view> nouns();
std::span<const std::string_view> verbs();        // base form ("carry"); see third_person()
std::string third_person(std::string_view verb);  // "carries", "watches", "runs"

// SplitMix64: the same numbers on every machine and standard library (std::uniform_*_distribution
// is not), which keeps generated suites identical everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform in [low, high].
  int64_t between(int64_t low, int64_t high) {
    return low + static_cast<int64_t>(below(static_cast<uint64_t>(high - low + 1)));
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

 private:
  uint64_t state_;
};

// A seed for one item from the run's seed and the item's coordinates (FNV-1a over the text).
uint64_t item_seed(uint64_t seed, std::string_view task, int length, int index);

}  // namespace glyph::eval::detail
