// The benchmarks' metrics, re-implemented from their definitions (RULER's eval/synthetic
// constants, LongBench's metrics.py, the `rouge` package, Python's difflib and str methods) so
// that the same answer scores the same here as there. Python's string functions are Unicode-aware:
// lower() and split() are applied per code point (simple case mapping: a character whose
// lowercase is longer, as U+0130, differs from Python).
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/utf8.h"
#include "eval/eval.h"

namespace glyph::eval {
namespace {

std::u32string u32(std::string_view utf8) {
  return decode_utf8(utf8).text;
}

// Python's str.isspace().
bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

char32_t lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
}

std::u32string lower(std::u32string_view text) {
  std::u32string out(text);
  for (char32_t& c : out) c = lower(c);
  return out;
}

// Python's str.split() without arguments.
std::vector<std::u32string> py_split(std::u32string_view text) {
  std::vector<std::u32string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_py_space(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_py_space(text[i])) ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

// Python's str.strip() without arguments.
std::u32string_view py_strip(std::u32string_view text) {
  size_t start = 0, end = text.size();
  while (start < end && is_py_space(text[start])) ++start;
  while (end > start && is_py_space(text[end - 1])) --end;
  return text.substr(start, end - start);
}

bool is_ascii_punctuation(char32_t c) {
  return c < 0x80 &&
         std::string_view("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").find(static_cast<char>(c)) !=
             std::string_view::npos;
}

bool is_cjk_punctuation(char32_t c) {
  static const std::u32string kPunctuation =
      U"！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】"
      U"〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏.";
  return kPunctuation.find(c) != std::u32string::npos;
}

// Python's \w in a str pattern: alphanumeric (Unicode letters and numbers) or "_".
bool is_word_char(char32_t c) {
  if (c < 0x80) return std::isalnum(static_cast<int>(c)) || c == '_';
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return true;
    default: return false;
  }
}

// Python's \d in a str pattern: a decimal digit (category Nd).
bool is_digit(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND;
}

// re.findall(r"\d+", text)
std::vector<std::u32string> numbers_in(std::u32string_view text) {
  std::vector<std::u32string> numbers;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    numbers.emplace_back(text.substr(start, i - start));
  }
  return numbers;
}

bool is_jieba_word_char(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::u32string_view(U"+#&._%-").find(c) != std::u32string_view::npos;
}

double share_of_numbers_equal(std::u32string_view prediction, std::u32string_view target) {
  const auto numbers = numbers_in(prediction);
  if (numbers.empty()) return 0.0;
  size_t right = 0;
  for (const auto& number : numbers) right += number == target;
  return static_cast<double>(right) / static_cast<double>(numbers.size());
}

double retrieval_with_marker(std::string_view prediction, std::string_view truth,
                             std::u32string_view marker, std::string_view what) {
  const std::u32string t = u32(truth);
  size_t at = 0;
  while ((at = t.find(marker, at)) != std::u32string::npos) {
    size_t i = at + marker.size();
    size_t start = i;
    while (i < t.size() && is_digit(t[i])) ++i;
    if (i > start) return share_of_numbers_equal(u32(prediction), t.substr(start, i - start));
    at += 1;
  }
  throw Error(ErrorCode::invalid_input, std::string(what) + ": the expected answer \"" +
                                            std::string(truth) + "\" names no paragraph number");
}

// --- ROUGE-L as the `rouge` package computes it -----------------------------------------------

// Sentences: split at ".", pieces of length 0 dropped, each piece's white space collapsed.
std::vector<std::u32string> rouge_sentences(std::u32string_view text) {
  std::vector<std::u32string> sentences;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == U'.') {
      if (i > start) {
        std::u32string joined;
        for (const auto& word : py_split(text.substr(start, i - start))) {
          if (!joined.empty()) joined += U' ';
          joined += word;
        }
        sentences.push_back(std::move(joined));
      }
      start = i + 1;
    }
  }
  return sentences;
}

// str.split(" ")
std::vector<std::u32string> split_on_space(std::u32string_view text) {
  std::vector<std::u32string> words;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == U' ') {
      words.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return words;
}

// The words of one LCS of x and y, reconstructed as _recon_lcs does (ties go left, towards j-1).
std::vector<std::u32string> lcs_words(const std::vector<std::u32string>& x,
                                      const std::vector<std::u32string>& y) {
  const size_t n = x.size(), m = y.size();
  std::vector<std::vector<uint32_t>> table(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j)
      table[i][j] = x[i - 1] == y[j - 1] ? table[i - 1][j - 1] + 1
                                         : std::max(table[i - 1][j], table[i][j - 1]);
  std::vector<std::u32string> words;
  size_t i = n, j = m;
  while (i > 0 && j > 0) {
    if (x[i - 1] == y[j - 1]) {
      words.push_back(x[i - 1]);
      --i;
      --j;
    } else if (table[i - 1][j] > table[i][j - 1]) {
      --i;
    } else {
      --j;
    }
  }
  return words;
}

double rouge_l_of(std::u32string_view prediction, std::u32string_view truth) {
  const auto hypothesis = rouge_sentences(prediction);
  const auto reference = rouge_sentences(truth);
  // The package raises for an empty side (rouge-1 first); LongBench turns that into 0.
  if (hypothesis.empty() || reference.empty()) return 0.0;
  std::set<std::u32string> reference_words, hypothesis_words;
  std::vector<std::vector<std::u32string>> hypothesis_split;
  for (const auto& s : reference)
    for (auto& w : split_on_space(s)) reference_words.insert(std::move(w));
  for (const auto& s : hypothesis) {
    hypothesis_split.push_back(split_on_space(s));
    for (const auto& w : hypothesis_split.back()) hypothesis_words.insert(w);
  }
  std::set<std::u32string> lcs_union;
  for (const auto& s : reference) {
    const auto reference_split = split_on_space(s);
    for (const auto& h : hypothesis_split)
      for (auto& w : lcs_words(reference_split, h)) lcs_union.insert(std::move(w));
  }
  const double llcs = static_cast<double>(lcs_union.size());
  const double recall = llcs / static_cast<double>(reference_words.size());
  const double precision = llcs / static_cast<double>(hypothesis_words.size());
  return 2.0 * ((precision * recall) / (precision + recall + 1e-8));
}

// --- difflib.SequenceMatcher --------------------------------------------------------------

class SequenceMatcher {
 public:
  SequenceMatcher(std::u32string_view a, std::u32string_view b) : a_(a), b_(b) {
    for (size_t j = 0; j < b_.size(); ++j) b2j_[b_[j]].push_back(static_cast<int>(j));
    const size_t n = b_.size();
    if (n >= 200) {  // autojunk: popular elements never start a match
      const size_t ntest = n / 100 + 1;
      for (auto it = b2j_.begin(); it != b2j_.end();) {
        if (it->second.size() > ntest)
          it = b2j_.erase(it);
        else
          ++it;
      }
    }
    j2len_.assign(n + 1, 0);
    new_j2len_.assign(n + 1, 0);
  }

  size_t matched_elements() {
    size_t matches = 0;
    std::vector<std::array<int, 4>> queue{
        {0, static_cast<int>(a_.size()), 0, static_cast<int>(b_.size())}};
    while (!queue.empty()) {
      const auto [alo, ahi, blo, bhi] = queue.back();
      queue.pop_back();
      const auto [i, j, k] = find_longest_match(alo, ahi, blo, bhi);
      if (k > 0) {
        matches += static_cast<size_t>(k);
        if (alo < i && blo < j) queue.push_back({alo, i, blo, j});
        if (i + k < ahi && j + k < bhi) queue.push_back({i + k, ahi, j + k, bhi});
      }
    }
    return matches;
  }

 private:
  struct Match {
    int i, j, k;
  };

  // j2len holds, for the previous i, the length of the match ending at a[i-1], b[j]; stored at
  // index j + 1 so that j - 1 = -1 needs no test. Only the entries set are cleared.
  Match find_longest_match(int alo, int ahi, int blo, int bhi) {
    int besti = alo, bestj = blo, bestsize = 0;
    std::vector<int> touched, new_touched;
    for (int i = alo; i < ahi; ++i) {
      new_touched.clear();
      auto it = b2j_.find(a_[static_cast<size_t>(i)]);
      if (it != b2j_.end()) {
        for (int j : it->second) {
          if (j < blo) continue;
          if (j >= bhi) break;
          const int k = j2len_[static_cast<size_t>(j)] + 1;  // j2len[j - 1] + 1
          new_j2len_[static_cast<size_t>(j) + 1] = k;
          new_touched.push_back(j + 1);
          if (k > bestsize) {
            besti = i - k + 1;
            bestj = j - k + 1;
            bestsize = k;
          }
        }
      }
      for (int t : touched) j2len_[static_cast<size_t>(t)] = 0;
      for (int t : new_touched) {
        j2len_[static_cast<size_t>(t)] = new_j2len_[static_cast<size_t>(t)];
        new_j2len_[static_cast<size_t>(t)] = 0;
      }
      touched.swap(new_touched);
    }
    for (int t : touched) j2len_[static_cast<size_t>(t)] = 0;
    // Extend with equal elements on both sides (no junk without isjunk: popular elements extend).
    while (besti > alo && bestj > blo &&
           a_[static_cast<size_t>(besti - 1)] == b_[static_cast<size_t>(bestj - 1)]) {
      --besti;
      --bestj;
      ++bestsize;
    }
    while (besti + bestsize < ahi && bestj + bestsize < bhi &&
           a_[static_cast<size_t>(besti + bestsize)] == b_[static_cast<size_t>(bestj + bestsize)])
      ++bestsize;
    return {besti, bestj, bestsize};
  }

  std::u32string_view a_, b_;
  std::unordered_map<char32_t, std::vector<int>> b2j_;
  std::vector<int> j2len_, new_j2len_;
};

// Python's round() to an integer: halves go to the even neighbour.
double round_half_even(double value) {
  return std::nearbyint(value);  // the default rounding mode is to nearest, ties to even
}

}  // namespace

std::string ruler_postprocess(std::string_view prediction) {
  std::u32string text(py_strip(u32(prediction)));
  for (char32_t& c : text)
    if (c <= 0x1F) c = U'\n';
  return encode_utf8(py_strip(text));
}

double string_match_all(std::string_view prediction, const std::vector<std::string>& references) {
  if (references.empty()) return 0.0;
  const std::u32string p = lower(u32(prediction));
  double found = 0;
  for (const auto& r : references) found += p.find(lower(u32(r))) != std::u32string::npos;
  return found / static_cast<double>(references.size());
}

double string_match_part(std::string_view prediction, const std::vector<std::string>& references) {
  const std::u32string p = lower(u32(prediction));
  for (const auto& r : references)
    if (p.find(lower(u32(r))) != std::u32string::npos) return 1.0;
  return 0.0;
}

std::string normalize_answer(std::string_view text) {
  std::u32string s = lower(u32(text));
  std::u32string no_punctuation;
  for (char32_t c : s)
    if (!is_ascii_punctuation(c)) no_punctuation += c;
  // re.sub(r"\b(a|an|the)\b", " ", text)
  std::u32string no_articles;
  const auto& t = no_punctuation;
  size_t i = 0;
  while (i < t.size()) {
    const bool at_boundary = i == 0 || !is_word_char(t[i - 1]);
    bool replaced = false;
    if (at_boundary) {
      for (std::u32string_view article :
           {std::u32string_view(U"an"), std::u32string_view(U"a"), std::u32string_view(U"the")}) {
        if (t.compare(i, article.size(), article) == 0 &&
            (i + article.size() == t.size() || !is_word_char(t[i + article.size()]))) {
          no_articles += U' ';
          i += article.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) no_articles += t[i++];
  }
  std::u32string joined;
  for (const auto& word : py_split(no_articles)) {
    if (!joined.empty()) joined += U' ';
    joined += word;
  }
  return encode_utf8(joined);
}

std::string normalize_zh_answer(std::string_view text) {
  std::u32string out;
  for (char32_t c : lower(u32(text)))
    if (!is_ascii_punctuation(c) && !is_cjk_punctuation(c) && !is_py_space(c)) out += c;
  return encode_utf8(out);
}

std::vector<std::string> chinese_tokens(std::string_view text) {
  const JiebaSegmenter* jieba = JiebaSegmenter::shared();
  if (!jieba) return chinese_tokens_per_character(text);
  std::vector<std::string> tokens;
  for (const auto& word : jieba->cut(u32(text))) tokens.push_back(encode_utf8(word));
  return tokens;
}

std::vector<std::string> chinese_tokens_per_character(std::string_view text) {
  const std::u32string t = u32(text);
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < t.size()) {
    if (is_jieba_word_char(t[i])) {
      size_t start = i;
      while (i < t.size() && is_jieba_word_char(t[i])) ++i;
      tokens.push_back(encode_utf8(t.substr(start, i - start)));
    } else if (t[i] == U'\r' && i + 1 < t.size() && t[i + 1] == U'\n') {
      tokens.push_back("\r\n");
      i += 2;
    } else {
      tokens.push_back(encode_utf8(t.substr(i, 1)));
      ++i;
    }
  }
  return tokens;
}

double token_f1(const std::vector<std::string>& prediction, const std::vector<std::string>& truth) {
  std::map<std::string, int> counts;
  for (const auto& t : truth) ++counts[t];
  int same = 0;
  for (const auto& p : prediction) {
    auto it = counts.find(p);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++same;
    }
  }
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(prediction.size());
  const double recall = static_cast<double>(same) / static_cast<double>(truth.size());
  return 2 * precision * recall / (precision + recall);
}

double qa_f1(std::string_view prediction, std::string_view truth) {
  auto words = [](std::string_view text) {
    std::vector<std::string> out;
    for (const auto& w : py_split(u32(normalize_answer(text)))) out.push_back(encode_utf8(w));
    return out;
  };
  return token_f1(words(prediction), words(truth));
}

double qa_f1_zh(std::string_view prediction, std::string_view truth) {
  auto tokens = [](std::string_view text) {
    std::vector<std::string> out;
    for (const auto& token : chinese_tokens(text)) {
      std::string normalized = normalize_zh_answer(token);
      if (!normalized.empty()) out.push_back(std::move(normalized));
    }
    return out;
  };
  return token_f1(tokens(prediction), tokens(truth));
}

double rouge_l(std::string_view prediction, std::string_view truth) {
  return rouge_l_of(u32(prediction), u32(truth));
}

double rouge_l_zh(std::string_view prediction, std::string_view truth) {
  auto joined = [](std::string_view text) {
    std::string out;
    const auto tokens = chinese_tokens(text);
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out += ' ';
      out += tokens[i];
    }
    return out;
  };
  return rouge_l(joined(prediction), joined(truth));
}

double classification_score(std::string_view prediction, std::string_view truth,
                            const std::vector<std::string>& all_classes) {
  std::vector<std::string> matches;
  for (const auto& name : all_classes)
    if (prediction.find(name) != std::string_view::npos) matches.push_back(name);
  // LongBench removes from the list while iterating over it: after a removal the next element
  // is skipped. Kept as is, since it decides scores.
  for (size_t i = 0; i < matches.size(); ++i) {
    const std::string term = matches[i];
    if (truth.find(term) != std::string_view::npos && term != truth)
      matches.erase(std::find(matches.begin(), matches.end(), term));
  }
  if (std::find(matches.begin(), matches.end(), truth) == matches.end()) return 0.0;
  return 1.0 / static_cast<double>(matches.size());
}

double retrieval_score(std::string_view prediction, std::string_view truth) {
  return retrieval_with_marker(prediction, truth, U"Paragraph ", "retrieval");
}

double retrieval_zh_score(std::string_view prediction, std::string_view truth) {
  return retrieval_with_marker(prediction, truth, U"段落", "retrieval_zh");
}

double count_score(std::string_view prediction, std::string_view truth) {
  return share_of_numbers_equal(u32(prediction), u32(truth));
}

std::string first_line(std::string_view prediction) {
  const size_t start = prediction.find_first_not_of('\n');
  if (start == std::string_view::npos) return "";
  const std::string_view rest = prediction.substr(start);
  return std::string(rest.substr(0, rest.find('\n')));
}

double code_sim_score(std::string_view prediction, std::string_view truth) {
  const size_t start = prediction.find_first_not_of('\n');
  std::string_view rest = start == std::string_view::npos ? "" : prediction.substr(start);
  std::string line;
  while (true) {
    const size_t end = rest.find('\n');
    const std::string_view candidate = rest.substr(0, end);
    if (candidate.find('`') == std::string_view::npos &&
        candidate.find('#') == std::string_view::npos &&
        candidate.find("//") == std::string_view::npos) {
      line = candidate;
      break;
    }
    if (end == std::string_view::npos) break;
    rest = rest.substr(end + 1);
  }
  // fuzz.ratio: equal strings 100 (both empty included), an empty one 0.
  if (line == truth) return 1.0;
  if (line.empty() || truth.empty()) return 0.0;
  return round_half_even(100.0 * sequence_matcher_ratio(line, truth)) / 100.0;
}

double sequence_matcher_ratio(std::u32string_view a, std::u32string_view b) {
  const size_t length = a.size() + b.size();
  if (length == 0) return 1.0;
  SequenceMatcher matcher(a, b);
  return 2.0 * static_cast<double>(matcher.matched_elements()) / static_cast<double>(length);
}

double sequence_matcher_ratio(std::string_view a, std::string_view b) {
  return sequence_matcher_ratio(u32(a), u32(b));
}

double mrcr_score(std::string_view response, std::string_view answer, std::string_view prefix) {
  if (!response.starts_with(prefix)) return 0.0;
  std::string cleaned(response.substr(prefix.size()));
  static constexpr std::string_view kUserToken = "<|user|>";
  for (size_t at; (at = cleaned.find(kUserToken)) != std::string::npos;)
    cleaned.erase(at, kUserToken.size());
  if (answer.starts_with(prefix)) answer.remove_prefix(prefix.size());
  return sequence_matcher_ratio(cleaned, answer);
}

std::string_view to_string(Metric metric) {
  switch (metric) {
    case Metric::string_match_all: return "string_match_all";
    case Metric::string_match_part: return "string_match_part";
    case Metric::qa_f1: return "qa_f1";
    case Metric::qa_f1_zh: return "qa_f1_zh";
    case Metric::rouge: return "rouge";
    case Metric::rouge_zh: return "rouge_zh";
    case Metric::classification: return "classification";
    case Metric::retrieval: return "retrieval";
    case Metric::retrieval_zh: return "retrieval_zh";
    case Metric::count: return "count";
    case Metric::code_sim: return "code_sim";
    case Metric::mrcr: return "mrcr";
  }
  return "?";
}

double score_answer(const EvalItem& item, std::string_view answer) {
  std::string prediction(answer);
  if (item.metric == Metric::string_match_all || item.metric == Metric::string_match_part) {
    prediction = ruler_postprocess(prediction);
    if (prediction.ends_with("<|user|>"))
      prediction.resize(prediction.size() - std::string_view("<|user|>").size());
    return item.metric == Metric::string_match_all ? string_match_all(prediction, item.answers)
                                                   : string_match_part(prediction, item.answers);
  }
  if (item.metric == Metric::mrcr) {
    const std::string& expected = item.answers.empty() ? std::string() : item.answers.front();
    return mrcr_score(prediction, expected, item.prefix);
  }
  if (item.first_line_only) prediction = first_line(prediction);
  double best = 0;
  for (const auto& truth : item.answers) {
    double score = 0;
    switch (item.metric) {
      case Metric::qa_f1: score = qa_f1(prediction, truth); break;
      case Metric::qa_f1_zh: score = qa_f1_zh(prediction, truth); break;
      case Metric::rouge: score = rouge_l(prediction, truth); break;
      case Metric::rouge_zh: score = rouge_l_zh(prediction, truth); break;
      case Metric::classification:
        score = classification_score(prediction, truth, item.all_classes);
        break;
      case Metric::retrieval: score = retrieval_score(prediction, truth); break;
      case Metric::retrieval_zh: score = retrieval_zh_score(prediction, truth); break;
      case Metric::count: score = count_score(prediction, truth); break;
      case Metric::code_sim: score = code_sim_score(prediction, truth); break;
      default: break;
    }
    best = std::max(best, score);
  }
  return best;
}

}  // namespace glyph::eval
