// Terms and sentences.
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "core/utf8.h"
#include "retrieval/retrieval.h"

namespace glyph {
namespace {

// Function words of English questions and prose; dropping them keeps "What is the ..." from
// matching every sentence that has "the".
constexpr std::string_view kStopwords[] = {
    "a",         "about",   "above",  "after",     "again",    "against", "all",    "am",
    "an",        "and",     "any",    "are",       "as",       "at",      "be",     "because",
    "been",      "before",  "being",  "below",     "between",  "both",    "but",    "by",
    "can",       "could",   "did",    "do",        "does",     "doing",   "down",   "during",
    "each",      "few",     "for",    "from",      "further",  "had",     "has",    "have",
    "having",    "he",      "her",    "here",      "hers",     "herself", "him",    "himself",
    "his",       "how",     "i",      "if",        "in",       "into",    "is",     "it",
    "its",       "itself",  "just",   "me",        "more",     "most",    "my",     "myself",
    "no",        "nor",     "not",    "now",       "of",       "off",     "on",     "once",
    "only",      "or",      "other",  "our",       "ours",     "out",     "over",   "own",
    "same",      "she",     "should", "so",        "some",     "such",    "than",   "that",
    "the",       "their",   "them",   "then",      "there",    "these",   "they",   "this",
    "those",     "through", "to",     "too",       "under",    "until",   "up",     "very",
    "was",       "we",      "were",   "what",      "when",     "where",   "which",  "while",
    "who",       "whom",    "why",    "will",      "with",     "would",   "you",    "your",
    "yours",     "also",    "whose",  "mentioned", "provided", "text",    "please", "tell",
    "according", "given",   "s",      "t"};

bool is_han(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0xF900 && c <= 0xFAFF);
}

bool is_word_char(char32_t c) {
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  switch (category) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: return true;
    default: return false;
  }
}

// Plural stemming after Harman's S-stemmer (1991), with "-sses", "-xes", "-ches", "-shes",
// "-zes" losing "-es" so that "classes" meets "class": "-ies" → "-y"; "-es" → "-e" (except
// "-aes", "-ees", "-oes"); "-s" → "" (except "-us", "-ss").
std::string stem(std::string word) {
  const size_t n = word.size();
  if (n < 4 || !std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
    return word;
  if (word.ends_with("ies") && !word.ends_with("eies") && !word.ends_with("aies")) {
    return word.substr(0, n - 3) + "y";
  }
  for (std::string_view ending : {"sses", "xes", "ches", "shes", "zes"}) {
    if (word.ends_with(ending)) return word.substr(0, n - 2);
  }
  if (word.ends_with("es") &&
      (word.ends_with("aes") || word.ends_with("ees") || word.ends_with("oes")))
    return word;
  if (word.ends_with("s") && !word.ends_with("us") && !word.ends_with("ss"))
    return word.substr(0, n - 1);
  return word;
}

}  // namespace

bool is_stopword(std::string_view term) {
  return std::find(std::begin(kStopwords), std::end(kStopwords), term) != std::end(kStopwords);
}

std::vector<std::string> index_terms(std::string_view utf8_text, bool keep_stopwords) {
  const std::u32string text = decode_utf8(utf8_text).text;
  std::vector<std::string> terms;
  std::string word;
  // Words joined by hyphens ("fretful-place", "2023-10-05") also give the whole compound as a
  // term: rarer than its parts, it finds the passage that names exactly that thing.
  std::string compound;
  int compound_parts = 0;
  // Ends the current word; `joined` when a hyphen follows it and a word may continue the compound.
  // A word is stemmed once, and only when it is kept or is part of a compound.
  auto end_word = [&](bool joined) {
    while (!word.empty() && (word.back() == '.' || word.back() == ',')) word.pop_back();
    if (!word.empty()) {
      const bool kept = keep_stopwords || !is_stopword(word);
      const bool in_compound = joined || compound_parts > 0;
      if (kept || in_compound) {
        std::string term = stem(word);
        if (in_compound) {
          if (compound_parts > 0) compound += '-';
          compound += term;
          ++compound_parts;
        }
        if (kept) terms.push_back(std::move(term));
      }
      word.clear();
    }
    if (joined) return;
    if (compound_parts >= 2) terms.push_back(std::move(compound));
    compound.clear();
    compound_parts = 0;
  };
  char32_t previous_han = 0;
  for (char32_t c : text) {
    if (is_han(c)) {
      end_word(false);
      std::string unigram;
      append_utf8(unigram, c);
      terms.push_back(unigram);
      if (previous_han) {
        std::string bigram;
        append_utf8(bigram, previous_han);
        bigram += unigram;
        terms.push_back(std::move(bigram));
      }
      previous_han = c;
      continue;
    }
    previous_han = 0;
    if (is_word_char(c)) {
      append_utf8(word, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    } else if ((c == '.' || c == ',') && !word.empty() && word.back() >= '0' &&
               word.back() <= '9') {
      // keep "3.14" and "8,971,465" whole; a trailing "." is dropped where the word ends
      word += static_cast<char>(c);
    } else if (c == '-' && !word.empty()) {
      end_word(true);
    } else {
      end_word(false);
    }
  }
  end_word(false);
  return terms;
}

namespace {

constexpr std::string_view kAbbreviations[] = {
    "mr",  "mrs",  "ms", "dr",  "prof", "st", "jr",  "sr",  "vs", "etc",  "e.g",    "i.e",
    "mme", "mlle", "no", "fig", "vol",  "pp", "inc", "ltd", "co", "corp", "approx", "cf"};

bool is_space_byte(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

// The word before position `dot` (ASCII letters and dots), lowercased.
std::string word_before(std::string_view text, size_t dot) {
  size_t start = dot;
  while (start > 0 &&
         (std::isalpha(static_cast<unsigned char>(text[start - 1])) || text[start - 1] == '.'))
    --start;
  std::string word(text.substr(start, dot - start));
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return word;
}

bool starts_with_any(std::string_view text, size_t at,
                     std::initializer_list<std::string_view> marks, size_t* length) {
  for (auto mark : marks) {
    if (text.substr(at, mark.size()) == mark) {
      *length = mark.size();
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<TextSpan> split_sentences(std::string_view text, size_t max_bytes) {
  std::vector<TextSpan> spans;
  auto emit = [&](size_t begin, size_t end) {
    while (begin < end && is_space_byte(text[begin])) ++begin;
    while (end > begin && is_space_byte(text[end - 1])) --end;
    if (begin >= end) return;
    // Cut an overlong sentence at spaces (never inside a UTF-8 sequence).
    while (end - begin > max_bytes) {
      size_t cut = begin + max_bytes;
      while (cut > begin && text[cut] != ' ') --cut;
      if (cut == begin) {
        cut = begin + max_bytes;
        while (cut < end && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) ++cut;
      }
      spans.push_back({begin, cut});
      begin = cut;
      while (begin < end && is_space_byte(text[begin])) ++begin;
    }
    if (begin < end) spans.push_back({begin, end});
  };

  size_t start = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      emit(start, i);
      start = ++i;
      continue;
    }
    size_t mark_length = 0;
    const bool cjk_end = starts_with_any(text, i, {"\u3002", "\uFF01", "\uFF1F"}, &mark_length);
    if (!cjk_end && c != '.' && c != '!' && c != '?') {
      ++i;
      continue;
    }
    size_t end = i + (cjk_end ? mark_length : 1);
    // Runs of marks ("?!", "..."), closing quotes and brackets, reference marks "[12]".
    for (bool more = true; more && end < text.size();) {
      more = false;
      size_t length = 0;
      if (text[end] == '.' || text[end] == '!' || text[end] == '?' || text[end] == '"' ||
          text[end] == '\'' || text[end] == ')') {
        ++end;
        more = true;
      } else if (starts_with_any(text, end,
                                 {"\u201D", "\u2019", "\u300D", "\u300F", "\uFF09", "\u2026"},
                                 &length)) {
        end += length;
        more = true;
      } else if (text[end] == '[' || text[end] == '{') {
        // A reference mark "[12]", also as OCR misreads it ("[{4]", "[1}", "[S]").
        size_t close = end + 1;
        while (close < text.size() && close - end < 6 &&
               (std::isdigit(static_cast<unsigned char>(text[close])) || text[close] == '{' ||
                text[close] == 'S' || text[close] == 'I' || text[close] == 'l'))
          ++close;
        if (close > end + 1 && close < text.size() && (text[close] == ']' || text[close] == '}')) {
          end = close + 1;
          more = true;
        }
      }
    }
    const bool at_boundary = cjk_end || end >= text.size() || is_space_byte(text[end]);
    bool abbreviation = false;
    if (!cjk_end && c == '.' && end == i + 1) {
      const std::string word = word_before(text, i);
      abbreviation = std::find(std::begin(kAbbreviations), std::end(kAbbreviations), word) !=
                         std::end(kAbbreviations) ||
                     (word.size() == 1 && std::isupper(static_cast<unsigned char>(text[i - 1])));
      // A decimal point or a dot inside a token ("3.14", "example.com") is not an end either.
    }
    if (at_boundary && !abbreviation) {
      emit(start, end);
      start = end;
    }
    i = end;
  }
  emit(start, text.size());
  return spans;
}

}  // namespace glyph
