// Key information: patterns (PCRE2, UTF mode) for dates, amounts, quantities, emails, URLs,
// "Key: value" pairs and numbers, and the named-field lookup on top of them.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "core/error.h"
#include "core/utf8.h"
#include "retrieval/retrieval.h"

namespace glyph {
namespace {

constexpr const char* kNumberWord =
    "(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    "ninety|hundred|thousand|million|billion|dozen)";

std::string number_pattern() {
  const std::string word = kNumberWord;
  // 1,234.5 | 3.5 | "forty thousand" | "thirty-six" | "a thousand"
  return "(?:\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?|(?:(?:a|an)\\s+(?:hundred|thousand|"
         "million|billion|dozen)|" +
         word + ")(?:(?:\\s+|-)(?:and\\s+)?" + word + ")*)";
}

constexpr const char* kMonth =
    "(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    "(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\\.?)";
constexpr const char* kWeekday = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";

struct Pattern {
  KeyKind kind;
  std::string source;
  bool caseless;
};

std::vector<Pattern> patterns() {
  const std::string number = number_pattern();
  const std::string digits = "(?:\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?)";
  const std::string month = kMonth;
  const std::string weekday = kWeekday;
  const std::string currency_word =
      "(?:dollars?|euros?|pounds?(?:\\s+sterling)?|francs?|yen|yuan|renminbi|rupees?|cents?|"
      "USD|EUR|GBP|CNY|RMB|JPY|CHF|\\x{5143}|\\x{7F8E}\\x{5143}|\\x{5757})";
  const std::string unit =
      "(?:%|percent|per\\s+cent|kg|kilograms?|g|grams?|mg|km|kilometers?|kilometres?|m|meters?|"
      "metres?|cm|mm|mi|miles?|ft|feet|foot|inch(?:es)?|in|lbs?|ounces?|oz|tons?|tonnes?|"
      "hours?|hrs?|h|minutes?|mins?|seconds?|secs?|s|ms|days?|weeks?|months?|years?|decades?|"
      "centur(?:y|ies)|GB|MB|KB|TB|kB|GHz|MHz|kHz|Hz|\\x{00B0}[CF]|degrees?|W|kW|MW|V|mAh|Ah|"
      "L|l|ml|mL|liters?|litres?|gallons?|dpi|px|pt|points?|tokens?|pages?|words?|characters?|"
      "people|persons?|times|acres?|hectares?|square\\s+(?:meters?|metres?|feet|miles?|km))";
  return {
      {KeyKind::email, "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}",
       false},
      {KeyKind::url, "\\b(?:https?://|www\\.)[^\\s<>\"'\\x{201C}\\x{201D}]+", true},
      {KeyKind::date,
       "\\b(?:\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2})?)?"
       "|\\d{1,2}[/.]\\d{1,2}[/.](?:\\d{4}|\\d{2})"
       "|(?:" +
           weekday + ",?\\s+)?" + month +
           "\\s+\\d{1,2}(?:st|nd|rd|th)?(?:,?\\s+\\d{4})?"
           "|(?:" +
           weekday + ",?\\s+)?(?:the\\s+)?\\d{1,2}(?:st|nd|rd|th)?\\s+(?:of\\s+)?" + month +
           "(?:,?\\s+\\d{4})?"
           "|" +
           month +
           "\\s+\\d{4}"
           "|(?:end|beginning|middle)\\s+of\\s+" +
           month +
           ")(?![\\w])"
           "|\\d{4}\\x{5E74}\\d{1,2}\\x{6708}(?:\\d{1,2}\\x{65E5})?",
       false},
      {KeyKind::amount,
       "(?:[$\\x{20AC}\\x{00A3}\\x{00A5}]\\s?\\d[\\d,]*(?:\\.\\d+)?(?:\\s?(?:million|billion|"
       "thousand|k|m|bn)\\b)?"
       "|\\b(?:USD|EUR|GBP|CNY|RMB|JPY|CHF)\\s?\\d[\\d,]*(?:\\.\\d+)?"
       "|\\b" +
           number + "\\s*" + currency_word + "(?![\\w]))",
       true},
      {KeyKind::quantity, "\\b(?:" + digits + "\\s*|" + number + "\\s+)" + unit + "(?![\\w])",
       true},
      {KeyKind::pair,
       "(?m)^[ \\t]*(?:[-*\\x{2022}][ \\t]+)?([\\p{L}][\\p{L}\\p{N} ._/()-]{0,38}?)[ "
       "\\t]*[:\\x{FF1A}][ \\t]+(\\S[^\\n]{0,118})",
       false},
      {KeyKind::number,
       "(?<![\\w.,\\[])\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?(?![\\w\\]])|(?<![\\w.,\\[])\\d{2,}(?:\\."
       "\\d+)?(?![\\w\\]])",
       false},
  };
}

struct CompiledPattern {
  KeyKind kind;
  pcre2_code* code = nullptr;
};

// Owns the compiled patterns: freed at exit, so leak checkers see no unreachable allocation.
struct CompiledPatterns : std::vector<CompiledPattern> {
  ~CompiledPatterns() {
    for (auto& pattern : *this) pcre2_code_free(pattern.code);
  }
};

const std::vector<CompiledPattern>& compiled_patterns() {
  static const CompiledPatterns compiled = [] {
    CompiledPatterns out;
    for (const auto& pattern : patterns()) {
      int error = 0;
      PCRE2_SIZE offset = 0;
      uint32_t flags = PCRE2_UTF | PCRE2_UCP;
      if (pattern.caseless) flags |= PCRE2_CASELESS;
      pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.source.data()),
                                       pattern.source.size(), flags, &error, &offset, nullptr);
      if (!code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        throw Error(ErrorCode::internal, "key information pattern " +
                                             std::string(to_string(pattern.kind)) + " at offset " +
                                             std::to_string(offset) + ": " +
                                             reinterpret_cast<const char*>(message));
      }
      pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
      out.push_back({pattern.kind, code});
    }
    return out;
  }();
  return compiled;
}

std::string trim_url(std::string url) {
  while (!url.empty() &&
         std::string_view(".,;:!?)]}'\"").find(url.back()) != std::string_view::npos)
    url.pop_back();
  return url;
}

// An item broken over two lines reads as one: runs of white space become one space.
std::string collapse_spaces(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string trim(std::string_view text) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

// "Due date" → "duedate": keys compare without case, spaces or punctuation.
std::string key_form(std::string_view key) {
  std::string out;
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || std::isalnum(u)) out += static_cast<char>(std::tolower(u));
  }
  return out;
}

}  // namespace

std::string_view to_string(KeyKind kind) {
  switch (kind) {
    case KeyKind::date: return "date";
    case KeyKind::amount: return "amount";
    case KeyKind::quantity: return "quantity";
    case KeyKind::email: return "email";
    case KeyKind::url: return "url";
    case KeyKind::pair: return "pair";
    case KeyKind::number: return "number";
  }
  return "number";
}

std::vector<KeyItem> find_key_items(std::string_view text) {
  std::vector<KeyItem> items;
  if (text.empty()) return items;
  if (!is_valid_utf8(text)) {
    throw Error(ErrorCode::invalid_input, "key information: the text is not valid UTF-8 (byte " +
                                              std::to_string(decode_utf8(text).first_bad_offset) +
                                              ")");
  }
  const auto& compiled = compiled_patterns();
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create(8, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  for (const auto& pattern : compiled) {
    PCRE2_SIZE offset = 0;
    while (offset < text.size()) {
      const int rc = pcre2_match(pattern.code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                                 match.get(), nullptr);
      if (rc < 0) break;  // no further match (or a match limit hit: no more items of this kind)
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
      size_t begin = ovector[0], end = ovector[1];
      if (end == begin) {
        offset = end + 1;
        while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80)
          ++offset;
        continue;
      }
      KeyItem item;
      item.kind = pattern.kind;
      if (pattern.kind == KeyKind::pair) {
        item.key = trim(text.substr(ovector[2], ovector[3] - ovector[2]));
        item.value = trim(text.substr(ovector[4], ovector[5] - ovector[4]));
        begin = ovector[2];
      } else {
        std::string matched(text.substr(begin, end - begin));
        if (pattern.kind == KeyKind::url) matched = trim_url(matched);
        end = begin + matched.size();
        item.value = matched;
      }
      item.text = collapse_spaces(text.substr(begin, end - begin));
      if (pattern.kind != KeyKind::pair) item.value = item.text;
      item.span = {begin, end};
      // An item inside one already found (the number of an amount, the date in a URL) is skipped.
      const bool inside = std::any_of(items.begin(), items.end(), [&](const KeyItem& other) {
        return other.kind != KeyKind::pair && other.span.begin <= begin && end <= other.span.end;
      });
      if (!inside) items.push_back(std::move(item));
      offset = ovector[1];
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const KeyItem& a, const KeyItem& b) { return a.span.begin < b.span.begin; });
  return items;
}

std::vector<FieldMatch> find_fields(std::string_view text, const std::vector<std::string>& fields) {
  std::vector<FieldMatch> out;
  if (fields.empty()) return out;
  const auto items = find_key_items(text);
  // Line breaks are read as spaces for sentences (offsets unchanged): in recognized text a line
  // break is where the page ran out of width, not the end of a sentence.
  std::string flowing(text);
  std::replace(flowing.begin(), flowing.end(), '\n', ' ');
  const auto sentence_spans = split_sentences(flowing);
  std::vector<std::string> sentences;
  for (const auto& span : sentence_spans)
    sentences.emplace_back(flowing.substr(span.begin, span.end - span.begin));
  const Bm25Index index(sentences);

  for (const auto& field : fields) {
    FieldMatch match;
    match.field = field;
    const std::string wanted = key_form(field);
    // 1. A "Key: value" pair with this key (exact, else one containing the other).
    for (int pass = 0; pass < 2 && !match.found; ++pass) {
      for (const auto& item : items) {
        if (item.kind != KeyKind::pair) continue;
        const std::string key = key_form(item.key);
        const bool hit = pass == 0 ? key == wanted
                                   : !wanted.empty() && !key.empty() &&
                                         (key.find(wanted) != std::string::npos ||
                                          wanted.find(key) != std::string::npos);
        if (!hit) continue;
        match.found = true;
        match.value = item.value;
        match.how = "pair";
        const size_t at = text.find(item.value, item.span.begin);
        match.span =
            at == std::string_view::npos ? item.span : TextSpan{at, at + item.value.size()};
        break;
      }
    }
    // 2. A field named after a kind.
    if (!match.found) {
      std::optional<KeyKind> kind;
      for (const auto& [names, k] : std::vector<std::pair<std::vector<std::string>, KeyKind>>{
               {{"date", "dates", "day", "when", "deadline", "duedate"}, KeyKind::date},
               {{"amount", "amounts", "price", "cost", "total", "sum", "fee", "money"},
                KeyKind::amount},
               {{"email", "emails", "mail", "emailaddress"}, KeyKind::email},
               {{"url", "urls", "link", "website", "web"}, KeyKind::url},
               {{"quantity", "quantities", "measure", "duration"}, KeyKind::quantity},
               {{"number", "numbers"}, KeyKind::number}}) {
        if (std::find(names.begin(), names.end(), wanted) != names.end()) kind = k;
      }
      if (kind) {
        for (const auto& item : items) {
          if (item.kind != *kind) continue;
          match.found = true;
          match.value = item.value;
          match.how = "kind";
          match.span = item.span;
          break;
        }
      }
    }
    // 3. The sentence that best matches the field's name.
    if (!match.found && !sentences.empty()) {
      const auto hits = index.search(field, 1);
      if (!hits.empty()) {
        const auto& span = sentence_spans[hits[0].document];
        const std::string_view sentence =
            std::string_view(flowing).substr(span.begin, span.end - span.begin);
        match.found = true;
        match.how = "passage";
        const size_t colon = sentence.find(": ");
        if (colon != std::string_view::npos && colon + 2 < sentence.size()) {
          std::string value = trim(sentence.substr(colon + 2));
          while (!value.empty() && (value.back() == '.' || value.back() == ';')) value.pop_back();
          match.value = value;
          match.span = {span.begin + colon + 2, span.begin + colon + 2 + value.size()};
        } else {
          match.value = std::string(sentence);
          match.span = span;
        }
      }
    }
    out.push_back(std::move(match));
  }
  return out;
}

}  // namespace glyph
