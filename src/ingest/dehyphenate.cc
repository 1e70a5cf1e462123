// dehyphenate_keeps_hyphen (ingest.h): the rule for a hyphen at a line end, shared by the reflow
// stage and the PDF reader.
#include <string>
#include <string_view>

#include "ingest/ingest.h"

namespace glyph {
namespace {

bool is_digit(char32_t c) {
  return c >= U'0' && c <= U'9';
}
bool is_lower(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7);
}
bool is_letter(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') ||
         (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7);
}

}  // namespace

bool dehyphenate_keeps_hyphen(std::u32string_view first, std::u32string_view second,
                              std::u32string_view document) {
  if (first.empty() || second.empty()) return true;
  if (!is_lower(second[0]) || is_digit(first[0])) return true;
  // Words that begin compounds far more often than they end a split syllable.
  static constexpr std::u32string_view kCompoundFirst[] = {
      U"well", U"self",  U"ill",  U"non",   U"cross", U"half", U"all",  U"ex",
      U"so",   U"built", U"user", U"third", U"end",   U"run",  U"read", U"write",
      U"long", U"short", U"high", U"low",   U"full",  U"case", U"open", U"pre-built"};
  std::u32string lower(first);
  for (char32_t& c : lower)
    if (c >= U'A' && c <= U'Z') c += 32;
  // The document's own spelling decides when it has exactly one of the two forms.
  std::u32string joined = lower + std::u32string(second);
  std::u32string hyphenated = lower + U"-" + std::u32string(second);
  auto contains_word = [&](const std::u32string& word) {
    for (std::size_t at = document.find(word); at != std::u32string_view::npos;
         at = document.find(word, at + 1)) {
      const bool starts = at == 0 || !is_letter(document[at - 1]);
      const std::size_t end = at + word.size();
      const bool ends = end >= document.size() || !is_letter(document[end]);
      if (starts && ends) return true;
    }
    return false;
  };
  if (first == std::u32string_view(lower)) {
    const bool has_joined = contains_word(joined);
    const bool has_hyphenated = contains_word(hyphenated);
    if (has_joined != has_hyphenated) return has_hyphenated;
  }
  for (std::u32string_view word : kCompoundFirst)
    if (lower == word) return true;
  return false;
}

}  // namespace glyph
