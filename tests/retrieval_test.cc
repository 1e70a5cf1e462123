#include "retrieval/retrieval.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"

namespace glyph {
namespace {

std::vector<std::string> sentences_of(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& span : split_sentences(text))
    out.emplace_back(text.substr(span.begin, span.end - span.begin));
  return out;
}

TEST(index_terms, lowercases_stems_plurals_and_drops_stopwords) {
  EXPECT_EQ(index_terms("What is the special magic number?"),
            (std::vector<std::string>{"special", "magic", "number"}));
  EXPECT_EQ(index_terms("One of the special magic numbers for fretful-place is: 8971465."),
            (std::vector<std::string>{"one", "special", "magic", "number", "fretful", "place",
                                      "fretful-place", "8971465"}));
  EXPECT_EQ(index_terms("Stories, classes and cities"),
            (std::vector<std::string>{"story", "class", "city"}));
  EXPECT_EQ(index_terms("3.14 and 8,971,465."), (std::vector<std::string>{"3.14", "8,971,465"}));
}

TEST(index_terms, hyphenated_words_also_give_the_whole_compound) {
  EXPECT_EQ(index_terms("council-lamps, state-of-the-art; 2023-10-05."),
            (std::vector<std::string>{"council", "lamp", "council-lamp", "state", "art",
                                      "state-of-the-art", "2023", "10", "05", "2023-10-05"}));
  // A hyphen that joins nothing: no compound.
  EXPECT_EQ(index_terms("well- known -5 a--b"),
            (std::vector<std::string>{"well", "known", "5", "b"}));
}

TEST(bm25, the_exact_hyphenated_key_outranks_windows_that_share_its_words) {
  // The key's words are common filler; only the exact compound tells the needles apart.
  std::vector<std::string> docs = {
      "The special magic number for lamp-council is: 111.",
      "The council lamp road stone. The special magic number for road-stone is: 222.",
      "The special magic number for council-lamp is: 333.",
      "The council lamp harbour field lamp council."};
  Bm25Index index(docs);
  auto hits = index.search("What is the special magic number for council-lamp?", 4);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].document, 2u);
}

TEST(index_terms, splits_han_text_into_characters_and_bigrams) {
  EXPECT_EQ(index_terms("\u9879\u94FE"),
            (std::vector<std::string>{"\u9879", "\u94FE", "\u9879\u94FE"}));
}

TEST(split_sentences, ends_at_punctuation_quotes_and_reference_marks) {
  auto s = sentences_of(
      "She was one of those girls.[1][2] She had no dowry.[{4] Ah. \"Ah, a good stew!\" he said. "
      "Mr. Loisel "
      "came home. Is it 3.5 km? Yes\u3002\u597D");
  ASSERT_EQ(s.size(), 9u) << ::testing::PrintToString(s);
  EXPECT_EQ(s[0], "She was one of those girls.[1][2]");
  EXPECT_EQ(s[1], "She had no dowry.[{4]");
  s.erase(s.begin() + 2);
  EXPECT_EQ(s[2], "\"Ah, a good stew!\"");
  EXPECT_EQ(s[3], "he said.");
  EXPECT_EQ(s[4], "Mr. Loisel came home.");
  EXPECT_EQ(s[5], "Is it 3.5 km?");
  EXPECT_EQ(s[6], "Yes\u3002");
  EXPECT_EQ(s[7], "\u597D");
}

TEST(split_sentences, cuts_overlong_sentences_at_spaces_and_never_inside_a_character) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "word ";
  const auto spans = split_sentences(text, 48);
  ASSERT_GT(spans.size(), 9u);
  for (const auto& span : spans) EXPECT_LE(span.end - span.begin, 48u);
  std::string cjk;
  for (int i = 0; i < 100; ++i) cjk += "\u4E2D";  // 3 bytes each, no spaces
  for (const auto& span : split_sentences(cjk, 50)) {
    EXPECT_EQ((span.end - span.begin) % 3, 0u);
  }
}

TEST(bm25, finds_the_needle_among_repeated_filler) {
  std::vector<std::string> docs;
  for (int i = 0; i < 500; ++i)
    docs.push_back("The grass is green. The sky is blue. The sun is yellow.");
  docs[317] = "One of the special magic numbers for fretful-place is: 8971465.";
  docs[100] = "A magic trick is not a number.";
  const Bm25Index index(docs);
  const auto hits = index.search(
      "What is the special magic number for fretful-place mentioned in the provided text?", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].document, 317u);
  EXPECT_NEAR(hits[0].coverage, 1.0, 1e-9);
  ASSERT_GE(hits.size(), 2u);
  EXPECT_EQ(hits[1].document, 100u);
  EXPECT_LT(hits[1].coverage, 0.5);
  EXPECT_GT(hits[0].score, hits[1].score);
}

TEST(bm25, prefers_short_documents_at_equal_term_frequency_and_ignores_unknown_terms) {
  const Bm25Index index(
      {"necklace diamond lost at the ball and a very long tail of many other words here",
       "the necklace was lost"});
  const auto hits = index.search("necklace lost zebra", 5);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].document, 1u);
  EXPECT_TRUE(index.search("zebra", 5).empty());
  EXPECT_TRUE(Bm25Index({}).search("anything", 5).empty());
}

TEST(summarize_sentences, picks_central_sentences_in_order_without_repeats) {
  const std::vector<std::string> sentences = {
      "The necklace was borrowed from Madame Forestier for the ball.",
      "It rained.",
      "The necklace was borrowed from Madame Forestier for the ball.",
      "After the ball the necklace was lost and the Loisels bought a diamond necklace to replace "
      "it.",
      "The cat slept.",
      "They spent ten years paying the debt for the diamond necklace.",
  };
  const auto chosen = summarize_sentences(sentences, 3);
  ASSERT_EQ(chosen.size(), 3u);
  EXPECT_TRUE(std::is_sorted(chosen.begin(), chosen.end()));
  // Never both copies of the repeated sentence; never the unrelated fragments.
  EXPECT_FALSE(std::find(chosen.begin(), chosen.end(), 0u) != chosen.end() &&
               std::find(chosen.begin(), chosen.end(), 2u) != chosen.end());
  EXPECT_EQ(std::count(chosen.begin(), chosen.end(), 1u), 0);
  EXPECT_EQ(std::count(chosen.begin(), chosen.end(), 4u), 0);
  EXPECT_TRUE(summarize_sentences({}, 3).empty());
}

std::vector<std::string> texts_of(const std::vector<KeyItem>& items, KeyKind kind) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    if (item.kind == kind) out.push_back(item.text);
  }
  return out;
}

TEST(find_key_items, finds_dates_amounts_quantities_emails_urls_pairs_and_numbers) {
  const std::string text =
      "Invoice: 2024-117\n"
      "Due date: March 3, 2025\n"
      "They borrowed thirty-six thousand francs on Monday, January 18th and paid $1,250.50 later.\n"
      "Write to billing@example.com or see https://example.com/pay?id=7). It took ten years,\n"
      "5 km and 12.5% more; reference [12] is not a number, 8971465 is. Some ones, at the end of "
      "March.";
  const auto items = find_key_items(text);
  EXPECT_EQ(texts_of(items, KeyKind::date),
            (std::vector<std::string>{"March 3, 2025", "Monday, January 18th", "end of March"}));
  EXPECT_EQ(texts_of(items, KeyKind::amount),
            (std::vector<std::string>{"thirty-six thousand francs", "$1,250.50"}));
  EXPECT_EQ(texts_of(items, KeyKind::quantity),
            (std::vector<std::string>{"ten years", "5 km", "12.5%"}));
  EXPECT_EQ(texts_of(items, KeyKind::email), (std::vector<std::string>{"billing@example.com"}));
  EXPECT_EQ(texts_of(items, KeyKind::url),
            (std::vector<std::string>{"https://example.com/pay?id=7"}));
  EXPECT_EQ(texts_of(items, KeyKind::number), (std::vector<std::string>{"2024", "117", "8971465"}));
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& item : items) {
    if (item.kind == KeyKind::pair) pairs.emplace_back(item.key, item.value);
  }
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0], std::make_pair(std::string("Invoice"), std::string("2024-117")));
  EXPECT_EQ(pairs[1], std::make_pair(std::string("Due date"), std::string("March 3, 2025")));
  for (const auto& item : items) {
    if (item.kind != KeyKind::pair) {
      EXPECT_EQ(text.substr(item.span.begin, item.span.end - item.span.begin), item.text);
    }
  }
}

TEST(find_key_items, joins_an_item_broken_over_two_lines_and_refuses_invalid_utf8) {
  const auto items = find_key_items("they paid thirty-four thousand\nfrancs at once");
  ASSERT_EQ(texts_of(items, KeyKind::amount).size(), 1u);
  EXPECT_EQ(texts_of(items, KeyKind::amount)[0], "thirty-four thousand francs");
  EXPECT_THROW(find_key_items("bad \xC0\xAF byte"), Error);
}

TEST(find_fields, uses_pairs_then_kinds_then_the_best_passage) {
  const std::string text =
      "Customer Name: Ada Lovelace\nTotal: 42 dollars\n"
      "The grass is green. One of the special magic numbers for fretful-place is: 8971465. The sky "
      "is blue.";
  const auto fields = find_fields(text, {"customer name", "amount", "fretful-place", "zebra"});
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_TRUE(fields[0].found);
  EXPECT_EQ(fields[0].value, "Ada Lovelace");
  EXPECT_EQ(fields[0].how, "pair");
  EXPECT_EQ(fields[1].value, "42 dollars");
  EXPECT_EQ(fields[1].how, "kind");
  EXPECT_EQ(fields[2].value, "8971465");
  EXPECT_EQ(fields[2].how, "passage");
  EXPECT_EQ(text.substr(fields[2].span.begin, fields[2].span.end - fields[2].span.begin),
            "8971465");
  EXPECT_FALSE(fields[3].found);
}

}  // namespace
}  // namespace glyph
