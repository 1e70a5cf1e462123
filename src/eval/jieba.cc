// jieba's accurate mode (jieba.cut(text, cut_all=False, HMM=True), version 0.42), which LongBench
// uses for its Chinese metrics, re-implemented over jieba's own data as Debian's python3-jieba
// installs it: the prefix dictionary (dict.txt: word, frequency, tag) and the HMM for words the
// dictionary lacks (finalseg/prob_start.py, prob_trans.py, prob_emit.py: Python dict literals).
//
// The algorithm, as jieba/__init__.py and jieba/finalseg/__init__.py do it:
//   - the text is split into runs of [U+4E00-U+9FD5 a-z A-Z 0-9 + # & . _ % -] and the rest; the
//     rest yields "\r\n" and single white-space characters as they are and every other
//     character alone;
//   - a run gets its DAG (at each position, the ends of the dictionary words starting there) and
//     the route of highest log probability (log(freq or 1) - log(total), summed; ties to the
//     longer word);
//   - single characters of the route are buffered: a buffer of one is yielded, a buffer that is
//     a dictionary word is yielded character by character, any other buffer goes to the HMM
//     (Viterbi over B/M/E/S; inside it, runs of [a-zA-Z0-9]+(\.\d+)?%? stay whole).
// Same floating-point operations in the same order as Python, so ties break the same way.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unordered_map>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "eval/eval.h"

namespace glyph::eval {
namespace {

constexpr double kMinFloat = -3.14e100;
constexpr const char* kDebianJiebaDir = "/usr/lib/python3/dist-packages/jieba";

bool is_han_word_char(char32_t c) {  // re_han_default
  return (c >= 0x4E00 && c <= 0x9FD5) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') ||
         std::u32string_view(U"+#&._%-").find(c) != std::u32string_view::npos;
}

bool is_python_space(char32_t c) {  // \s of Python's re for str patterns
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool is_ascii_alnum(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_unicode_digit(char32_t c) {  // \d (the HMM's re_skip); ASCII covers jieba's inputs here
  return c >= '0' && c <= '9';
}

// Parses a Python dict literal of the finalseg tables: {'B': {'\u4e00': -3.65, ...}, ...} or
// {'B': -0.26, ...}. Keys are quoted strings with \uXXXX escapes; values numbers or dicts.
class PyLiteral {
 public:
  explicit PyLiteral(std::string text) : text_(std::move(text)) {
    const size_t start = text_.find("P=");
    if (start == std::string::npos) fail("no P = {...}");
    pos_ = start + 2;
  }
  // One level: state → number.
  std::unordered_map<std::u32string, double> flat() {
    std::unordered_map<std::u32string, double> out;
    expect('{');
    while (peek() != '}') {
      std::u32string key = string();
      expect(':');
      out[key] = number();
      if (peek() == ',') ++pos_;
    }
    expect('}');
    return out;
  }
  // Two levels: state → (key → number).
  std::unordered_map<std::u32string, std::unordered_map<std::u32string, double>> nested() {
    std::unordered_map<std::u32string, std::unordered_map<std::u32string, double>> out;
    expect('{');
    while (peek() != '}') {
      std::u32string key = string();
      expect(':');
      out[key] = flat();
      if (peek() == ',') ++pos_;
    }
    expect('}');
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::invalid_input,
                "jieba HMM table: " + what + " at byte " + std::to_string(pos_));
  }
  char peek() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ >= text_.size()) fail("unexpected end");
    return text_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::u32string string() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a string");
    ++pos_;
    std::string raw;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
        const char e = text_[pos_ + 1];
        if (e == 'u' && pos_ + 6 <= text_.size()) {
          const char32_t c =
              static_cast<char32_t>(std::strtoul(text_.substr(pos_ + 2, 4).c_str(), nullptr, 16));
          raw += encode_utf8(std::u32string(1, c));
          pos_ += 6;
          continue;
        }
        raw += e;
        pos_ += 2;
        continue;
      }
      raw += text_[pos_++];
    }
    if (pos_ >= text_.size()) fail("unterminated string");
    ++pos_;
    return decode_utf8(raw).text;
  }
  double number() {
    peek();
    char* end = nullptr;
    const double value = std::strtod(text_.c_str() + pos_, &end);
    if (end == text_.c_str() + pos_) fail("expected a number");
    pos_ = static_cast<size_t>(end - text_.c_str());
    return value;
  }

  std::string text_;
  size_t pos_ = 0;
};

}  // namespace

struct JiebaSegmenter::Tables {
  std::unordered_map<std::u32string, int64_t> freq;  // words, and their prefixes at 0
  double log_total = 0;
  double start[4] = {};     // B M E S
  double trans[4][4] = {};  // from → to; kMinFloat when absent
  std::unordered_map<char32_t, double> emit[4];
};

namespace {

constexpr const char* kStates = "BMES";
int state_index(char32_t c) {
  switch (c) {
    case 'B': return 0;
    case 'M': return 1;
    case 'E': return 2;
    default: return 3;
  }
}

}  // namespace

JiebaSegmenter::JiebaSegmenter(const std::string& dir) : tables_(std::make_unique<Tables>()) {
  Tables& t = *tables_;
  std::ifstream in(dir + "/dict.txt", std::ios::binary);
  if (!in)
    throw Error(ErrorCode::not_found, "jieba: cannot read " + dir +
                                          "/dict.txt (install "
                                          "python3-jieba, or set GLYPH_JIEBA_DIR)");
  std::string line;
  int64_t total = 0;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos)
      throw Error(ErrorCode::invalid_input, "jieba: " + dir + "/dict.txt line " +
                                                std::to_string(line_number) + ": no frequency");
    const std::u32string word = decode_utf8(line.substr(0, space)).text;
    const int64_t count = std::strtoll(line.c_str() + space + 1, nullptr, 10);
    t.freq[word] = count;
    total += count;
    for (size_t k = 1; k < word.size(); ++k) t.freq.emplace(word.substr(0, k), 0);
  }
  if (total <= 0) throw Error(ErrorCode::invalid_input, "jieba: " + dir + "/dict.txt is empty");
  t.log_total = std::log(static_cast<double>(total));

  const std::string hmm = dir + "/finalseg/";
  auto start = PyLiteral(read_file(hmm + "prob_start.py")).flat();
  auto trans = PyLiteral(read_file(hmm + "prob_trans.py")).nested();
  auto emit = PyLiteral(read_file(hmm + "prob_emit.py")).nested();
  for (int s = 0; s < 4; ++s) {
    const std::u32string name(1, static_cast<char32_t>(kStates[s]));
    t.start[s] = start.count(name) ? start[name] : kMinFloat;
    for (int to = 0; to < 4; ++to) {
      const std::u32string other(1, static_cast<char32_t>(kStates[to]));
      t.trans[s][to] = trans[name].count(other) ? trans[name][other] : kMinFloat;
    }
    for (const auto& [key, value] : emit[name])
      if (key.size() == 1) t.emit[s][key[0]] = value;
  }
}

JiebaSegmenter::~JiebaSegmenter() = default;

const JiebaSegmenter* JiebaSegmenter::shared() {
  static std::once_flag once;
  static std::unique_ptr<JiebaSegmenter> instance;
  std::call_once(once, [] {
    const char* env = std::getenv("GLYPH_JIEBA_DIR");
    const std::string dir = env && *env ? env : kDebianJiebaDir;
    std::error_code error;
    if (!std::filesystem::exists(dir + "/dict.txt", error)) return;
    instance = std::make_unique<JiebaSegmenter>(dir);
  });
  return instance.get();
}

void JiebaSegmenter::cut_hmm(std::u32string_view text, std::vector<std::u32string>& out) const {
  // finalseg.cut: Han runs through Viterbi; between them, [a-zA-Z0-9]+(\.\d+)?%? whole, the
  // rest as it comes (re.split keeps the pieces between matches whole).
  const Tables& t = *tables_;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] >= 0x4E00 && text[i] <= 0x9FD5) {
      size_t end = i;
      while (end < text.size() && text[end] >= 0x4E00 && text[end] <= 0x9FD5) ++end;
      const std::u32string_view obs = text.substr(i, end - i);
      const size_t n = obs.size();
      std::vector<std::array<double, 4>> v(n);
      std::vector<std::array<int, 4>> back(n);
      auto emit = [&](int s, char32_t c) {
        auto it = t.emit[s].find(c);
        return it == t.emit[s].end() ? kMinFloat : it->second;
      };
      for (int s = 0; s < 4; ++s) v[0][static_cast<size_t>(s)] = t.start[s] + emit(s, obs[0]);
      static const int kPrev[4][2] = {{2, 3}, {1, 0}, {0, 1}, {3, 2}};  // B:ES M:MB E:BM S:SE
      for (size_t k = 1; k < n; ++k) {
        for (int s = 0; s < 4; ++s) {
          const double em = emit(s, obs[k]);
          double best = 0;
          int best_state = -1;
          for (int p : kPrev[s]) {
            const double prob = v[k - 1][static_cast<size_t>(p)] + t.trans[p][s] + em;
            // max over (prob, state) tuples: ties go to the greater state letter.
            if (best_state < 0 || prob > best ||
                (prob == best && kStates[p] > kStates[best_state])) {
              best = prob;
              best_state = p;
            }
          }
          v[k][static_cast<size_t>(s)] = best;
          back[k][static_cast<size_t>(s)] = best_state;
        }
      }
      // The last state: E or S, ties to S.
      int state = v[n - 1][2] > v[n - 1][3] ? 2 : 3;
      std::vector<int> path(n);
      for (size_t k = n; k-- > 0;) {
        path[k] = state;
        if (k > 0) state = back[k][static_cast<size_t>(state)];
      }
      size_t begin = 0, next = 0;
      for (size_t k = 0; k < n; ++k) {
        if (path[k] == 0) {
          begin = k;
        } else if (path[k] == 2) {
          out.emplace_back(obs.substr(begin, k + 1 - begin));
          next = k + 1;
        } else if (path[k] == 3) {
          out.emplace_back(obs.substr(k, 1));
          next = k + 1;
        }
      }
      if (next < n) out.emplace_back(obs.substr(next));
      i = end;
      continue;
    }
    // A non-Han block: split by [a-zA-Z0-9]+(?:\.\d+)?%?, keeping every non-empty piece.
    size_t end = i;
    while (end < text.size() && !(text[end] >= 0x4E00 && text[end] <= 0x9FD5)) ++end;
    const std::u32string_view block = text.substr(i, end - i);
    size_t k = 0, piece = 0;
    while (k < block.size()) {
      if (!is_ascii_alnum(block[k])) {
        ++k;
        continue;
      }
      size_t m = k;
      while (m < block.size() && is_ascii_alnum(block[m])) ++m;
      if (m + 1 < block.size() && block[m] == '.' && is_unicode_digit(block[m + 1])) {
        ++m;
        while (m < block.size() && is_unicode_digit(block[m])) ++m;
      }
      if (m < block.size() && block[m] == '%') ++m;
      if (k > piece) out.emplace_back(block.substr(piece, k - piece));
      out.emplace_back(block.substr(k, m - k));
      piece = k = m;
    }
    if (piece < block.size()) out.emplace_back(block.substr(piece));
    i = end;
  }
}

void JiebaSegmenter::cut_block(std::u32string_view s, std::vector<std::u32string>& out) const {
  const Tables& t = *tables_;
  const size_t n = s.size();
  // DAG and route (calc): route[i] = max over ends x of (log(freq(s[i..x]) or 1) - log_total +
  // route[x + 1], x).
  std::vector<double> route_prob(n + 1, 0.0);
  std::vector<size_t> route_end(n + 1, 0);
  std::vector<std::vector<size_t>> dag(n);
  std::u32string fragment;
  for (size_t k = 0; k < n; ++k) {
    size_t i = k;
    fragment.assign(1, s[k]);
    for (auto it = t.freq.find(fragment); i < n && it != t.freq.end();) {
      if (it->second > 0) dag[k].push_back(i);
      ++i;
      if (i >= n) break;
      fragment.push_back(s[i]);
      it = t.freq.find(fragment);
    }
    if (dag[k].empty()) dag[k].push_back(k);
  }
  for (size_t idx = n; idx-- > 0;) {
    bool first = true;
    for (size_t x : dag[idx]) {
      auto it = t.freq.find(std::u32string(s.substr(idx, x + 1 - idx)));
      const double f = it != t.freq.end() && it->second > 0 ? static_cast<double>(it->second) : 1;
      const double prob = std::log(f) - t.log_total + route_prob[x + 1];
      if (first || prob > route_prob[idx] || (prob == route_prob[idx] && x > route_end[idx])) {
        route_prob[idx] = prob;
        route_end[idx] = x;
        first = false;
      }
    }
  }
  // __cut_DAG: single characters are buffered; see the header comment.
  std::u32string buffer;
  auto flush = [&] {
    if (buffer.empty()) return;
    if (buffer.size() == 1) {
      out.push_back(buffer);
    } else {
      auto it = t.freq.find(buffer);
      if (it == t.freq.end() || it->second == 0) {
        cut_hmm(buffer, out);
      } else {
        for (char32_t c : buffer) out.emplace_back(1, c);
      }
    }
    buffer.clear();
  };
  size_t x = 0;
  while (x < n) {
    const size_t y = route_end[x] + 1;
    if (y - x == 1) {
      buffer.push_back(s[x]);
    } else {
      flush();
      out.emplace_back(s.substr(x, y - x));
    }
    x = y;
  }
  flush();
}

std::vector<std::u32string> JiebaSegmenter::cut(std::u32string_view text) const {
  std::vector<std::u32string> out;
  size_t i = 0;
  while (i < text.size()) {
    if (is_han_word_char(text[i])) {
      size_t end = i;
      while (end < text.size() && is_han_word_char(text[end])) ++end;
      cut_block(text.substr(i, end - i), out);
      i = end;
    } else if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      out.emplace_back(U"\r\n");
      i += 2;
    } else {
      out.emplace_back(1, text[i]);  // white space as it is; anything else one by one
      ++i;
    }
  }
  return out;
}

}  // namespace glyph::eval
