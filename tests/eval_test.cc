// The eval module: metrics against hand-computed cases (and Python's difflib for the
// SequenceMatcher values), the RULER generator, the suite readers, the run loop.
#include "eval/eval.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "support/paths.h"

namespace glyph::eval {
namespace {

TEST(ruler_metrics, string_match_all_counts_the_share_of_references_found) {
  EXPECT_DOUBLE_EQ(string_match_all("The numbers are 123 and 456.", {"123", "456", "789"}),
                   2.0 / 3.0);
  EXPECT_DOUBLE_EQ(string_match_all("ABC-def", {"abc-DEF"}), 1.0);  // case-insensitive
  EXPECT_DOUBLE_EQ(string_match_all("", {"1"}), 0.0);
  EXPECT_DOUBLE_EQ(string_match_all("anything", {}), 0.0);
}

TEST(ruler_metrics, string_match_part_is_one_when_any_reference_is_found) {
  EXPECT_DOUBLE_EQ(string_match_part("It is Paris.", {"London", "paris"}), 1.0);
  EXPECT_DOUBLE_EQ(string_match_part("It is Rome.", {"London", "paris"}), 0.0);
  EXPECT_DOUBLE_EQ(string_match_part("", {"x"}), 0.0);
}

TEST(ruler_metrics, postprocess_strips_and_turns_control_characters_into_newlines) {
  EXPECT_EQ(ruler_postprocess("  a\x01"
                              "b\t \n"),
            "a\nb");
  EXPECT_EQ(ruler_postprocess("\x02\x03"), "");
}

TEST(ruler_metrics, score_drops_a_trailing_user_token) {
  EvalItem item;
  item.metric = Metric::string_match_all;
  item.answers = {"42", "43"};
  EXPECT_DOUBLE_EQ(score_answer(item, " 42 and 43<|user|>"), 1.0);
  EXPECT_DOUBLE_EQ(score_answer(item, "42"), 0.5);
}

TEST(longbench_metrics, normalize_answer_drops_case_punctuation_articles_and_spaces) {
  EXPECT_EQ(normalize_answer("The Cat's  hat, an apple."), "cats hat apple");
  EXPECT_EQ(normalize_answer("Anatomy of a thesis"), "anatomy of thesis");
  EXPECT_EQ(normalize_answer(""), "");
}

TEST(longbench_metrics, qa_f1_is_token_overlap_f1) {
  EXPECT_DOUBLE_EQ(qa_f1("The capital is Paris", "Paris"), 0.5);
  EXPECT_DOUBLE_EQ(qa_f1("paris paris", "Paris"), 2.0 / 3.0);  // counts clip at the truth's
  EXPECT_DOUBLE_EQ(qa_f1("Paris.", "paris"), 1.0);
  EXPECT_DOUBLE_EQ(qa_f1("", "Paris"), 0.0);
  EXPECT_DOUBLE_EQ(qa_f1("Paris", ""), 0.0);
}

TEST(longbench_metrics, qa_f1_zh_counts_han_characters_one_by_one) {
  // 北京是首都 vs 北京: two of five characters, all of the truth: 2 * 0.4 * 1 / 1.4.
  EXPECT_NEAR(qa_f1_zh("北京是首都", "北京"), 4.0 / 7.0, 1e-12);
  EXPECT_DOUBLE_EQ(qa_f1_zh("北京。", "北京"), 1.0);  // punctuation is dropped
  EXPECT_DOUBLE_EQ(qa_f1_zh("", "北京"), 0.0);
  const std::vector<std::string> tokens = chinese_tokens("iPhone 15发布");
  EXPECT_EQ(tokens, (std::vector<std::string>{"iPhone", " ", "15", "发", "布"}));
}

TEST(longbench_metrics, rouge_l_matches_the_rouge_package) {
  // One sentence each; the LCS "the cat on the mat" has 4 distinct words of 5 on each side.
  EXPECT_NEAR(rouge_l("the cat sat on the mat", "the cat lay on the mat"), 0.8, 1e-7);
  // Union LCS over sentences: every word of each reference sentence is found.
  EXPECT_NEAR(rouge_l("a b. c d", "a c. b d"), 1.0, 1e-7);
  // A word already in the union counts once across reference sentences.
  EXPECT_NEAR(rouge_l("a a", "a. a"), 1.0, 1e-7);
  // "a. " splits into "a" and "": the empty word counts as a word of the prediction.
  EXPECT_NEAR(rouge_l("a. ", "a"), 2.0 / 3.0, 1e-7);
  EXPECT_NEAR(rouge_l("a b", "b a"), 0.5, 1e-7);
  // No sentence on one side: the package raises and LongBench scores 0.
  EXPECT_DOUBLE_EQ(rouge_l("", "abc"), 0.0);
  EXPECT_DOUBLE_EQ(rouge_l("...", "abc"), 0.0);
  EXPECT_DOUBLE_EQ(rouge_l("abc", ""), 0.0);
}

TEST(longbench_metrics, rouge_l_zh_compares_characters) {
  // 会议讨论预算 vs 会议讨论了预算: 6 of 6 and 6 of 7 distinct characters.
  const double p = 1.0, r = 6.0 / 7.0;
  EXPECT_NEAR(rouge_l_zh("会议讨论预算", "会议讨论了预算"), 2 * p * r / (p + r + 1e-8), 1e-7);
}

TEST(longbench_metrics, classification_keeps_longbench_removal_while_iterating) {
  const std::vector<std::string> classes{"location", "other location", "person"};
  EXPECT_DOUBLE_EQ(classification_score("other location", "other location", classes), 1.0);
  EXPECT_DOUBLE_EQ(classification_score("person", "other location", classes), 0.0);
  // "a" is removed (part of the truth "ab"), which skips "b": two matches remain, 1/2.
  EXPECT_DOUBLE_EQ(classification_score("ab", "ab", {"a", "b", "ab"}), 0.5);
  EXPECT_DOUBLE_EQ(classification_score("", "ab", {"a", "b", "ab"}), 0.0);
}

TEST(longbench_metrics, retrieval_and_count_score_the_share_of_numbers) {
  EXPECT_DOUBLE_EQ(retrieval_score("Paragraph 12", "Paragraph 12"), 1.0);
  EXPECT_DOUBLE_EQ(retrieval_score("Paragraph 3 or Paragraph 12", "Paragraph 12"), 0.5);
  EXPECT_DOUBLE_EQ(retrieval_score("I do not know", "Paragraph 12"), 0.0);
  EXPECT_DOUBLE_EQ(retrieval_zh_score("段落5", "段落5"), 1.0);
  EXPECT_DOUBLE_EQ(retrieval_zh_score("答案是段落15", "段落5"), 0.0);
  EXPECT_THROW(retrieval_score("1", "the first one"), Error);
  EXPECT_DOUBLE_EQ(count_score("There are 21 unique paragraphs out of 30", "21"), 0.5);
  EXPECT_DOUBLE_EQ(count_score("", "21"), 0.0);
}

TEST(longbench_metrics, code_sim_takes_the_first_code_line_and_fuzz_ratio) {
  EXPECT_DOUBLE_EQ(code_sim_score("```python\n    return x + 1\n```", "    return x + 1"), 1.0);
  // difflib: "foo(" and ")" match, 10 / 12 = 0.833 → fuzz.ratio 83.
  EXPECT_DOUBLE_EQ(code_sim_score("# comment\nfoo(a)", "foo(b)"), 0.83);
  EXPECT_DOUBLE_EQ(code_sim_score("# only a comment", "abc"), 0.0);
  EXPECT_DOUBLE_EQ(code_sim_score("// only a comment", ""), 1.0);  // "" == "": fuzz says 100
}

TEST(longbench_metrics, first_line_datasets_score_only_the_first_line) {
  EXPECT_EQ(first_line("\n\nfirst\nsecond"), "first");
  EXPECT_EQ(first_line(""), "");
  EvalItem item;
  item.metric = Metric::qa_f1;
  item.first_line_only = true;
  item.answers = {"Paris"};
  EXPECT_DOUBLE_EQ(score_answer(item, "\nParis\nLondon London London"), 1.0);
  item.first_line_only = false;
  EXPECT_LT(score_answer(item, "\nParis\nLondon London London"), 1.0);
  // The best over several answers.
  item.answers = {"London", "Paris"};
  EXPECT_DOUBLE_EQ(score_answer(item, "Paris"), 1.0);
}

TEST(sequence_matcher, ratio_is_python_difflib_ratio) {
  EXPECT_DOUBLE_EQ(sequence_matcher_ratio("abcd", "bcde"), 0.75);
  EXPECT_DOUBLE_EQ(sequence_matcher_ratio("", ""), 1.0);
  EXPECT_DOUBLE_EQ(sequence_matcher_ratio("abc", ""), 0.0);
  EXPECT_DOUBLE_EQ(sequence_matcher_ratio("foo(a)", "foo(b)"), 10.0 / 12.0);
  // Code points, not bytes.
  EXPECT_DOUBLE_EQ(sequence_matcher_ratio("北京欢迎你", "北京欢迎您"), 0.8);
}

TEST(sequence_matcher, autojunk_drops_popular_elements_of_long_sequences) {
  // b has 201 elements: "x" (200 times > 201 / 100 + 1) never starts a match, so only "y"
  // matches. Python: 0.009433962264150943 (without autojunk it would be 0.0943...).
  std::string a = "y" + std::string(10, 'x');
  std::string b = std::string(200, 'x') + "y";
  EXPECT_DOUBLE_EQ(sequence_matcher_ratio(a, b), 2.0 / 212.0);
  // Values from Python 3's difflib.
  std::string hello_world, hello_there;
  for (int i = 0; i < 30; ++i) hello_world += "hello world ", hello_there += "hello there ";
  EXPECT_DOUBLE_EQ(sequence_matcher_ratio(hello_world + "UNIQUE tail", hello_there + "UNIQUE!"),
                   0.03523035230352303);
  std::string fox, cat;
  for (int i = 0; i < 6; ++i) {
    fox += "The quick brown fox jumps over the lazy dog. ";
    cat += "The quick brown cat jumps over the lazy dog! ";
  }
  EXPECT_DOUBLE_EQ(sequence_matcher_ratio(fox, cat), 0.05925925925925926);
  // Under 200 elements nothing is junk: the fox sentence once.
  EXPECT_DOUBLE_EQ(sequence_matcher_ratio("The quick brown fox jumps over the lazy dog. ",
                                          "The quick brown cat jumps over the lazy dog! "),
                   0.9111111111111111);
}

TEST(mrcr_metric, zero_unless_the_answer_starts_with_the_prefix) {
  EXPECT_DOUBLE_EQ(mrcr_score("abc123Hello world", "abc123Hello world", "abc123"), 1.0);
  EXPECT_DOUBLE_EQ(mrcr_score("Hello world", "abc123Hello world", "abc123"), 0.0);
  EXPECT_DOUBLE_EQ(mrcr_score(" abc123Hello world", "abc123Hello world", "abc123"), 0.0);
  // "<|user|>" is removed from the response, as the Glyph release does.
  EXPECT_DOUBLE_EQ(mrcr_score("abc123Hel<|user|>lo world", "abc123Hello world", "abc123"), 1.0);
  // The ratio without the prefix on both sides: "abcd" against "bcde".
  EXPECT_DOUBLE_EQ(mrcr_score("PREabcd", "PREbcde", "PRE"), 0.75);
  // An answer without the prefix is compared as it is; an empty prefix always matches.
  EXPECT_DOUBLE_EQ(mrcr_score("PREabcd", "bcde", "PRE"), 0.75);
  EXPECT_DOUBLE_EQ(mrcr_score("", "", ""), 1.0);
}

}  // namespace
}  // namespace glyph::eval
