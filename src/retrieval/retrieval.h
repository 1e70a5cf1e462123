// Retrieval over plain text: terms, sentences, BM25 ranking, extractive summaries and key
// information (dates, amounts, quantities, emails, URLs, "Key: value" pairs, named fields).
//
// Text in, byte offsets out: callers keep their own map from offsets to pages and boxes (the OCR
// reader maps them to the words it recognized, the tasks module to the layout map). Everything is
// deterministic and thread-safe (no shared mutable state). Language support: terms for any script
// (Han characters as single characters and bigrams), English stop words and plural stemming,
// sentence ends in Latin and CJK punctuation; the key-information patterns are English (plus
// CJK dates and currencies).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace glyph {

// The index terms of a text: lowercase words and numbers; "numbers" and "number" give the same
// term (plural stemming); English stop words dropped unless keep_stopwords; words joined by
// hyphens also as the whole compound ("fretful-place"); Han characters as unigrams plus bigrams
// of neighbours.
std::vector<std::string> index_terms(std::string_view utf8_text, bool keep_stopwords = false);
bool is_stopword(std::string_view term);

// [begin, end) in bytes of a UTF-8 string.
struct TextSpan {
  size_t begin = 0;
  size_t end = 0;
};

// Sentences: ends at . ! ? (and 。！？) followed by space, closing quotes or brackets, and
// reference marks like "[1][2]"; common abbreviations ("Mr.", "e.g.") do not end one; a newline
// ends one; a sentence longer than max_bytes is cut at a space. Spans exclude surrounding
// whitespace.
std::vector<TextSpan> split_sentences(std::string_view utf8_text, size_t max_bytes = 400);

struct Bm25Options {
  double k1 = 1.2;
  double b = 0.75;
};

struct Bm25Hit {
  size_t document = 0;
  double score = 0;
  // Share of the query's distinct terms present in the document, weighted by idf (0..1): how
  // much of the question a passage covers, comparable across corpora unlike the raw score.
  double coverage = 0;
};

class Bm25Index {
 public:
  explicit Bm25Index(const std::vector<std::string>& documents, Bm25Options options = {});

  // The best `limit` documents with a score > 0, best first (ties: earlier document first).
  std::vector<Bm25Hit> search(std::string_view query, size_t limit) const;
  Bm25Hit score(std::string_view query, size_t document) const;
  size_t size() const { return lengths_.size(); }
  double idf(std::string_view term) const;

 private:
  struct Posting {
    size_t document;
    int count;
  };
  Bm25Options options_;
  std::vector<int> lengths_;
  double average_length_ = 0;
  std::vector<std::pair<std::string, std::vector<Posting>>> postings_;  // sorted by term
  const std::vector<Posting>* find(std::string_view term) const;
};

// Extractive summary: the indices of up to `count` sentences, in document order. Sentences are
// ranked by tf-idf similarity to the whole text, then chosen greedily with a penalty for
// repeating what is already chosen (maximal marginal relevance), so a summary of a repetitive
// text does not repeat itself.
std::vector<size_t> summarize_sentences(const std::vector<std::string>& sentences, size_t count);

enum class KeyKind { date, amount, quantity, email, url, pair, number };
std::string_view to_string(KeyKind kind);  // "date", "amount", ...

struct KeyItem {
  KeyKind kind = KeyKind::number;
  std::string text;   // as it appears in the text
  std::string key;    // pairs: the key
  std::string value;  // pairs: the value; else the same as text
  TextSpan span;      // of the whole item in the text
};

// Every key item in the text, in text order; an item inside a longer one (the number of an
// amount) is not repeated.
std::vector<KeyItem> find_key_items(std::string_view utf8_text);

struct FieldMatch {
  std::string field;
  bool found = false;
  std::string value;
  std::string how;  // "pair" (a "Key: value" whose key matches), "kind" (a field named after a
                    // kind: date, amount, email...), "passage" (the best matching sentence)
  TextSpan span;    // of the value in the text
};

// Values for named fields: a "Key: value" pair whose key matches the field (case and punctuation
// ignored), else the first item of the kind the field names ("date", "email", "price" → amount),
// else the sentence that best matches the field name (BM25), with the text after a colon in it
// when there is one. Pairs are looked for line by line; for sentences, line breaks count as
// spaces (in recognized text a line ends where the page ran out of width).
std::vector<FieldMatch> find_fields(std::string_view utf8_text,
                                    const std::vector<std::string>& fields);

}  // namespace glyph
