// Internals of the tokens module: the loaded tables of a byte-level BPE tokenizer and the
// PCRE2 wrapper. Not part of the public API (see tokenizer.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace glyph::detail {

// A compiled PCRE2 pattern (UTF + UCP, JIT when available). Thread-safe to use concurrently.
class Regex {
 public:
  Regex(const std::string& pattern, bool literal, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // Calls on_match(start, end) for each non-empty, non-overlapping match, left to right.
  // `text` must be valid UTF-8.
  void find_all(std::string_view text,
                const std::function<void(std::size_t, std::size_t)>& on_match) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8
  bool jit_ = false;
  std::string where_;
};

enum class NormalizerKind { nfc, nfd, nfkc, nfkd, lowercase, replace };

struct NormalizerStep {
  NormalizerKind kind;
  std::string pattern;  // replace: the literal string to find
  std::string content;  // replace: what to put instead
};

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

struct PreTokenizerStep {
  enum class Kind { split, byte_level } kind;
  std::shared_ptr<const Regex> regex;  // split: the pattern; byte_level: GPT-2's when use_regex
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;
  bool add_prefix_space = false;
};

struct AddedToken {
  std::string content;
  std::uint32_t id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

// Open-addressing map from a pair of token ids to (merge rank, merged id).
class PairRanks {
 public:
  void reserve(std::size_t count);
  void insert(std::uint32_t left, std::uint32_t right, std::uint32_t rank, std::uint32_t merged);
  // Returns false when the pair has no merge.
  bool find(std::uint32_t left, std::uint32_t right, std::uint32_t* rank,
            std::uint32_t* merged) const {
    if (slots_.empty()) return false;
    const std::uint64_t key = (std::uint64_t(left) << 32) | right;
    const std::size_t h = hash(key);
    // Most adjacent pairs have no merge: a bit per hash in a cache-sized filter answers those
    // without touching the table.
    if (!(filter_[(h >> 40) & kFilterMask >> 6] >> ((h >> 34) & 63) & 1)) return false;
    std::size_t i = h & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.key == key) {
        *rank = s.rank;
        *merged = s.merged;
        return true;
      }
      if (s.key == kEmpty) return false;
      i = (i + 1) & mask_;
    }
  }
  // Starts loading the pair's slot into the cache: the table is megabytes, so a word's lookups
  // are issued together to overlap their memory latency.
  void prefetch(std::uint32_t left, std::uint32_t right) const {
    if (!slots_.empty())
      __builtin_prefetch(&slots_[hash((std::uint64_t(left) << 32) | right) & mask_]);
  }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t(0);
  struct Slot {
    std::uint64_t key = kEmpty;
    std::uint32_t rank = 0;
    std::uint32_t merged = 0;
  };
  static std::size_t hash(std::uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<std::size_t>(key);
  }
  void grow();
  static constexpr std::size_t kFilterBits = std::size_t(1) << 21;
  static constexpr std::size_t kFilterMask = kFilterBits - 1;
  std::vector<std::uint64_t> filter_ = std::vector<std::uint64_t>(kFilterBits / 64, 0);
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

struct TokenizerModel {
  std::string source;          // the file, for messages
  std::uint64_t instance = 0;  // unique per load, keys the per-thread word cache

  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  std::vector<AddedToken> added_tokens;  // longest content first

  // Model vocabulary: the raw bytes each token stands for (byte-level characters mapped back).
  std::unordered_map<std::string, std::uint32_t> vocab;  // bytes → id
  std::vector<std::string> id_bytes;                     // id → bytes ("" for holes)
  std::vector<std::string> id_text;                      // id → token as written in the file
  std::vector<std::int8_t> id_is_special;                // 1 for added tokens flagged special
  std::vector<std::int32_t> id_added;                    // id → index in added_tokens or -1
  std::int32_t byte_id[256];                             // single-byte tokens, -1 if missing
  PairRanks merges;
  bool ignore_merges = false;
  bool first_byte_of_added[256] = {};  // raw-text added tokens start with
  bool first_byte_of_normalized_added[256] = {};
  // The post-processor's template for a single sequence: ids before and after the text
  // (TemplateProcessing, BertProcessing, RobertaProcessing, or a Sequence of them; ByteLevel
  // adds none). Applied only when asked (Tokenizer::encode's add_special_tokens).
  std::vector<std::uint32_t> post_prefix, post_suffix;
};

// Builds the model from tokenizer.json text (tokenizer_loader.cc).
std::shared_ptr<TokenizerModel> load_tokenizer_model(std::string_view json,
                                                     const std::string& source);

// GPT-2's byte ↔ printable character table used by byte-level BPE.
char32_t byte_to_char(std::uint8_t b);
int char_to_byte(char32_t c);  // -1 when c is not one of the 256

}  // namespace glyph::detail
