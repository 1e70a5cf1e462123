// The eval module: metrics against hand-computed cases (and Python's difflib for the
// SequenceMatcher values), the RULER generator, the suite readers, the run loop.
#include "eval/eval.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "image/image.h"
#include "read/vlm_reader.h"
#include "support/fake_vlm_server.h"
#include "support/paths.h"
#include "support/run.h"
#include "tokens/tokenizer.h"

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

TEST(longbench_metrics, qa_f1_zh_counts_jieba_words) {
  // jieba: 北京/是/首都 vs 北京: one of three words, all of the truth: 2 * 1/3 * 1 / (4/3).
  EXPECT_NEAR(qa_f1_zh("北京是首都", "北京"), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(qa_f1_zh("北京。", "北京"), 1.0);  // punctuation is dropped
  EXPECT_DOUBLE_EQ(qa_f1_zh("", "北京"), 0.0);
  const std::vector<std::string> tokens = chinese_tokens("iPhone 15发布");
  EXPECT_EQ(tokens, (std::vector<std::string>{"iPhone", " ", "15", "发布"}));
}

TEST(longbench_metrics, chinese_tokens_per_character_is_the_fallback_without_jieba) {
  EXPECT_EQ(chinese_tokens_per_character("iPhone 15发布"),
            (std::vector<std::string>{"iPhone", " ", "15", "发", "布"}));
  EXPECT_EQ(chinese_tokens_per_character("a\r\n北京"),
            (std::vector<std::string>{"a", "\r\n", "北", "京"}));
}

// Our jieba against Python's (Debian's python3-jieba, the same data) on sentences that reach
// every path: dictionary words, the HMM for unknown words, numbers, decimals and percentages,
// Latin words, punctuation, white space and CRLF; and on 3,000 characters of Chinese prose.
TEST(jieba, cuts_as_python_jieba_does) {
  const JiebaSegmenter* jieba = JiebaSegmenter::shared();
  ASSERT_NE(jieba, nullptr) << "python3-jieba is not installed (scripts/setup.sh installs it)";
  std::vector<std::string> sentences = {
      "我来到北京清华大学",
      "他来到了网易杭研大厦",
      "小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
      "据报道，2023年GDP增长5.2%，好于预期。\r\n第二段 text here",
      "工信处女干事每月经过下属科室都要亲口交代24口交换机等技术性器件的安装工作",
      "结婚的和尚未结婚的",
      "C++和c#是编程语言，AT&T是公司。",
      "永和服装饰品有限公司",
      "  空格\t制表符\n换行",
      "李小福是创新办主任也是云计算方面的专家",
      "",
  };
  const std::string prose = read_file(test::source_dir() + "/tests/data/zh_prose.txt");
  const std::u32string prose32 = decode_utf8(prose).text;
  sentences.push_back(encode_utf8(prose32.substr(0, std::min<size_t>(3000, prose32.size()))));
  const std::string dir = test::scratch_dir();
  write_file(dir + "/sentences.json", nlohmann::json(sentences).dump());
  const auto run = test::run_command(
      "/usr/bin/python3 -c 'import json, logging, sys, jieba; jieba.setLogLevel(logging.ERROR); "
      "print(json.dumps([list(jieba.cut(s, cut_all=False)) for s in "
      "json.load(open(sys.argv[1]))]))' " +
      dir + "/sentences.json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto expected = nlohmann::json::parse(run.out);
  ASSERT_EQ(expected.size(), sentences.size());
  for (size_t i = 0; i < sentences.size(); ++i) {
    std::vector<std::string> ours;
    for (const auto& word : jieba->cut(decode_utf8(sentences[i]).text))
      ours.push_back(encode_utf8(word));
    EXPECT_EQ(ours, expected[i].get<std::vector<std::string>>()) << sentences[i].substr(0, 200);
  }
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

TEST(longbench_metrics, rouge_l_zh_compares_jieba_words) {
  // 会议/讨论/预算 vs 会议/讨论/了/预算: 3 of 3 and 3 of 4 words.
  const double p = 1.0, r = 3.0 / 4.0;
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

namespace glyph::eval {
namespace {

size_t count_of(std::string_view text, std::string_view needle) {
  size_t count = 0;
  for (size_t at = 0; (at = text.find(needle, at)) != std::string_view::npos; at += needle.size())
    ++count;
  return count;
}

TEST(ruler_generator, same_seed_same_items_other_seed_other_items) {
  RulerOptions options;
  options.lengths = {1024};
  options.samples = 2;
  const auto first = generate_ruler(options);
  const auto again = generate_ruler(options);
  ASSERT_EQ(first.size(), again.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].id, again[i].id);
    EXPECT_EQ(first[i].context, again[i].context);
    EXPECT_EQ(first[i].answers, again[i].answers);
  }
  options.seed = 7;
  const auto other = generate_ruler(options);
  size_t same = 0;
  for (size_t i = 0; i < first.size(); ++i) same += first[i].context == other[i].context;
  EXPECT_EQ(same, 0u);
}

TEST(ruler_generator, every_task_fills_the_length_and_holds_its_answers) {
  RulerOptions options;
  options.lengths = {2048};
  options.samples = 1;
  const auto items = generate_ruler(options);
  ASSERT_EQ(items.size(), 11u);  // the synthetic tasks; qa needs records
  const Tokenizer& tokenizer = shared_tokenizer();
  for (const auto& item : items) {
    SCOPED_TRACE(item.id);
    const size_t tokens = tokenizer.count(item.text_prompt);
    EXPECT_LE(static_cast<int>(tokens), 2048 - item.max_answer_tokens);
    EXPECT_GT(static_cast<int>(tokens), 2048 - item.max_answer_tokens - 64);
    EXPECT_FALSE(item.answers.empty());
    EXPECT_NE(item.text_prompt.find(item.context), std::string::npos);
    EXPECT_EQ(item.context.find(item.prompt), std::string::npos);
    if (item.task == "fwe" || item.task == "cwe") continue;  // answers are repeated words
    for (const auto& answer : item.answers) EXPECT_NE(item.context.find(answer), std::string::npos);
  }
  auto find = [&](std::string_view task) {
    return *std::find_if(items.begin(), items.end(),
                         [&](const EvalItem& i) { return i.task == task; });
  };
  EXPECT_TRUE(find("niah_single_3").uuid_task);
  EXPECT_TRUE(find("niah_multikey_3").uuid_task);
  EXPECT_FALSE(find("niah_single_1").uuid_task);
  EXPECT_EQ(find("niah_multivalue").answers.size(), 4u);
  EXPECT_EQ(find("niah_multiquery").answers.size(), 4u);
  EXPECT_EQ(find("vt").answers.size(), 5u);
  EXPECT_EQ(find("cwe").answers.size(), 10u);
  EXPECT_EQ(find("fwe").answers.size(), 3u);
  // Common words appear 30 times each in the numbered list.
  // Common words appear 10 times each in the numbered list under 4K tokens (30 from 4K).
  const std::string cwe = find("cwe").context + " ";
  for (const auto& word : find("cwe").answers) EXPECT_EQ(count_of(cwe, ". " + word + " "), 10u);
  EXPECT_EQ(find("niah_single_3").answers.front().size(), 36u);  // a UUID
  EXPECT_EQ(find("niah_single_1").answers.front().size(), 7u);   // a 7-digit number
}

TEST(ruler_generator, qa_mixes_the_gold_documents_with_distractors) {
  RulerOptions options;
  options.tasks = {"qa"};
  options.lengths = {1024};
  options.samples = 2;
  for (int r = 0; r < 40; ++r) {
    options.qa.push_back({{"Passage number " + std::to_string(r) + " says the code word is w" +
                           std::to_string(r) + " and nothing else of note happened there."},
                          "What is the code word of passage " + std::to_string(r) + "?",
                          {"w" + std::to_string(r)}});
  }
  const auto items = generate_ruler(options);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].metric, Metric::string_match_part);
  EXPECT_NE(items[0].context.find("the code word is w0 "), std::string::npos);
  EXPECT_NE(items[0].context.find("Document 2:\n"), std::string::npos);
  EXPECT_NE(items[1].context.find("the code word is w1 "), std::string::npos);
}

TEST(ruler_generator, refuses_unknown_tasks_and_tiny_lengths) {
  RulerOptions options;
  options.tasks = {"niah_single_9"};
  EXPECT_THROW(generate_ruler(options), Error);
  options.tasks = {"qa"};
  EXPECT_THROW(generate_ruler(options), Error);  // no records
  options.tasks = {"vt"};
  options.lengths = {100};
  EXPECT_THROW(generate_ruler(options), Error);
}

}  // namespace
}  // namespace glyph::eval

namespace glyph::eval {
namespace {

std::string write_scratch(const std::string& name, const std::string& text) {
  const std::string path = test::scratch_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(suite_readers, longbench_items_carry_prompts_metric_and_length_bin) {
  const std::string path = write_scratch(
      "lb.jsonl",
      R"({"input": "Who wrote it?", "context": "  The book was written by Ann.  ", "answers": ["Ann"], "length": 5200, "dataset": "hotpotqa", "language": "en", "all_classes": null, "_id": "x1"})"
      "\n\n"
      R"({"input": "What type?", "context": "Q: a? Type: Location", "answers": ["Location"], "length": 100, "dataset": "trec_e", "all_classes": ["Location", "Person"], "_id": "x2"})"
      "\n");
  const auto items = read_longbench(path);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, "hotpotqa/x1");
  EXPECT_EQ(items[0].context, "The book was written by Ann.");
  EXPECT_EQ(items[0].metric, Metric::qa_f1);
  EXPECT_EQ(items[0].length_bin, "4-8k");
  EXPECT_EQ(items[0].max_answer_tokens, 32);
  EXPECT_EQ(items[0].prompt,
            "Answer the question based on the given passages. Only give me the answer and do not "
            "output any other words.\n\nQuestion: Who wrote it?\nAnswer:");
  EXPECT_NE(items[0].text_prompt.find("The following are given passages.\nThe book was written "
                                      "by Ann.\n\n"),
            std::string::npos);
  EXPECT_EQ(items[1].task, "trec");  // LongBench-E's suffix dropped
  EXPECT_TRUE(items[1].first_line_only);
  EXPECT_EQ(items[1].metric, Metric::classification);
  EXPECT_DOUBLE_EQ(score_answer(items[1], "Location\nPerson"), 1.0);
}

TEST(suite_readers, longbench_names_the_line_and_field_at_fault) {
  const std::string path = write_scratch(
      "bad.jsonl", R"({"input": "q", "context": "c", "answers": ["a"], "dataset": "hotpotqa"})"
                   "\n"
                   R"({"input": "q", "answers": ["a"], "dataset": "hotpotqa"})"
                   "\n");
  try {
    read_longbench(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"context\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_longbench(write_scratch("unknown.jsonl", R"({"dataset": "nope"})")), Error);
  EXPECT_THROW(read_longbench(write_scratch("notjson.jsonl", "{oops\n")), Error);
  EXPECT_THROW(read_longbench(test::scratch_dir() + "/missing.jsonl"), Error);
}

TEST(suite_readers, mrcr_reads_the_openai_and_the_glyph_forms) {
  const std::string path = write_scratch(
      "mrcr.jsonl",
      R"({"prompt": "[{\"role\": \"user\", \"content\": \"write a poem about tapirs\"}, {\"role\": \"assistant\", \"content\": \"Tapirs roam.\"}, {\"role\": \"user\", \"content\": \"Prepend aB3 to the 1st poem about tapirs.\"}]", "answer": "aB3Tapirs roam.", "random_string_to_prepend": "aB3", "n_needles": 2})"
      "\n"
      R"({"context": "User: hi\nAssistant: hello", "question": "Prepend zz to the greeting.", "answer": "zzhello", "random_string_to_prepend": "zz", "unique_id": "4needle_0k_8k_17"})"
      "\n");
  const auto items = read_mrcr(path);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].context, "User: write a poem about tapirs\nAssistant: Tapirs roam.");
  EXPECT_EQ(items[0].question, "Prepend aB3 to the 1st poem about tapirs.");
  EXPECT_EQ(items[0].prompt, "\nPrepend aB3 to the 1st poem about tapirs.");
  EXPECT_EQ(items[0].task, "mrcr_2needle");
  EXPECT_DOUBLE_EQ(score_answer(items[0], "aB3Tapirs roam."), 1.0);
  EXPECT_DOUBLE_EQ(score_answer(items[0], "Tapirs roam."), 0.0);
  EXPECT_EQ(items[1].task, "mrcr_4needle");
  EXPECT_EQ(items[1].id, "mrcr_4needle/4needle_0k_8k_17");
  EXPECT_TRUE(items[1].length_bin.empty());  // binned by text tokens when run
}

TEST(suite_readers, limit_keeps_the_first_items_of_each_task_and_length) {
  std::vector<EvalItem> items(6);
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].task = i < 4 ? "a" : "b";
    items[i].length_bin = i < 2 ? "1" : "2";
    items[i].id = std::to_string(i);
  }
  const auto kept = limit_items(items, 1);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].id, "0");
  EXPECT_EQ(kept[1].id, "2");
  EXPECT_EQ(kept[2].id, "4");
  EXPECT_EQ(limit_items(items, 0).size(), 6u);
}

}  // namespace
}  // namespace glyph::eval

namespace glyph::eval {
namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<EvalItem> small_ruler(std::vector<std::string> tasks, int samples = 1) {
  RulerOptions options;
  options.tasks = std::move(tasks);
  options.lengths = {1024};
  options.samples = samples;
  return generate_ruler(options);
}

ReaderFactory vlm_factory(const test::FakeVlmServer& server) {
  return [&server]() -> std::unique_ptr<Reader> {
    VlmReaderOptions options;
    options.base_url = server.url();
    options.max_retries = 1;
    options.backoff_initial_ms = 10;
    return std::make_unique<VlmReader>(options);
  };
}

TEST(eval_run_integration, sends_the_pages_and_the_prompt_and_scores_the_answer) {
  const auto items = small_ruler({"niah_single_1"});
  test::FakeServerOptions server_options;
  server_options.answer.content = "The number is " + items[0].answers[0] + ".";
  test::FakeVlmServer server(server_options);
  RunOptions options;
  options.out_dir = test::scratch_dir() + "/run";
  options.dpis = {72, 96};
  const RunReport report = run_eval(items, vlm_factory(server), vlm_factory(server), options);
  EXPECT_EQ(report.done, 3u);  // two dpi and the text baseline
  EXPECT_EQ(report.errors, 0u);
  const auto results = read_results(report.results_path);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    SCOPED_TRACE(r.key);
    EXPECT_DOUBLE_EQ(r.score, 1.0);
    EXPECT_GT(r.text_tokens, 800);
    if (r.mode == "text") {
      EXPECT_EQ(r.visual_tokens, 0);
    } else {
      EXPECT_GT(r.visual_tokens, 0);
      EXPECT_GT(r.compression, 1.0);
      EXPECT_GE(r.pages, 1);
    }
  }
  // 72 dpi costs fewer visual tokens than 96 dpi.
  auto by_mode = [&](std::string_view mode) {
    return *std::find_if(results.begin(), results.end(),
                         [&](const ItemResult& r) { return r.mode == mode; });
  };
  EXPECT_GT(by_mode("72dpi").compression, by_mode("96dpi").compression);
  int with_images = 0, text_only = 0;
  for (const auto& request : server.requests()) {
    if (request.path != "/v1/chat/completions") continue;
    if (request.images.empty()) {
      ++text_only;
      EXPECT_EQ(request.text, items[0].text_prompt);
    } else {
      ++with_images;
      EXPECT_EQ(request.text, items[0].prompt);
      EXPECT_NE(request.body.find("\"max_tokens\":128"), std::string::npos);
      for (const auto& image : request.images) EXPECT_TRUE(image.valid_png) << image.error;
    }
  }
  EXPECT_EQ(with_images, 2);
  EXPECT_EQ(text_only, 1);
  const std::string markdown = report.summary_markdown;
  EXPECT_NE(markdown.find("| 72dpi | 1 | 0 | 100.00 |"), std::string::npos) << markdown;
  const PageImage plot = decode_png(read_file(report.plot_path));
  EXPECT_EQ(plot.width_px, 960);
}

TEST(eval_run_integration, resume_skips_done_items_and_cuts_a_torn_line) {
  const auto items = small_ruler({"niah_single_1", "niah_single_2"}, 2);  // 4 items
  test::FakeVlmServer server;
  RunOptions options;
  options.out_dir = test::scratch_dir() + "/resume";
  const RunReport first = run_eval({items[0], items[1]}, vlm_factory(server), {}, options);
  EXPECT_EQ(first.done, 2u);
  // Without --resume the folder is not reused.
  EXPECT_THROW(run_eval(items, vlm_factory(server), {}, options), Error);
  // A process killed mid-write leaves a torn last line.
  std::ofstream(first.results_path, std::ios::app) << R"({"key":"niah_single_2/1024/0@72d)";
  options.resume = true;
  const int requests_before = server.chat_requests();
  const RunReport second = run_eval(items, vlm_factory(server), {}, options);
  EXPECT_EQ(second.skipped, 2u);
  EXPECT_EQ(second.done, 2u);
  EXPECT_EQ(server.chat_requests() - requests_before, 2);
  const auto lines = lines_of(first.results_path);
  ASSERT_EQ(lines.size(), 4u);
  std::set<std::string> keys;
  for (const auto& line : lines) keys.insert(nlohmann::json::parse(line)["key"]);
  EXPECT_EQ(keys.size(), 4u);
}

TEST(eval_run_integration, a_failed_item_is_recorded_and_redone_on_resume) {
  const auto items = small_ruler({"niah_single_1"});
  test::FakeVlmServer server;
  test::FakeFault fault;
  fault.status = 400;  // not retried
  fault.message = "bad request for this test";
  server.push_fault(fault);
  RunOptions options;
  options.out_dir = test::scratch_dir() + "/failed";
  const RunReport first = run_eval(items, vlm_factory(server), {}, options);
  EXPECT_EQ(first.errors, 1u);
  EXPECT_NE(read_results(first.results_path)[0].error.find("bad request for this test"),
            std::string::npos);
  options.resume = true;
  const RunReport second = run_eval(items, vlm_factory(server), {}, options);
  EXPECT_EQ(second.skipped, 0u);
  EXPECT_EQ(second.done, 1u);
  EXPECT_EQ(second.errors, 0u);
  EXPECT_TRUE(read_results(first.results_path)[0].error.empty());
}

TEST(eval_summary, mean_over_tasks_keeps_uuid_tasks_apart) {
  std::vector<ItemResult> results;
  auto add = [&](std::string task, double score, bool uuid, std::string error = "") {
    ItemResult r;
    r.key = task + std::to_string(results.size());
    r.suite = "ruler";
    r.task = task;
    r.mode = "72dpi";
    r.dpi = 72;
    r.length_bin = "4096";
    r.score = score;
    r.uuid_task = uuid;
    r.compression = 4;
    r.error = std::move(error);
    results.push_back(r);
  };
  add("a", 1.0, false);
  add("a", 0.0, false);             // task a: 50
  add("b", 1.0, false);             // task b: 100
  add("c", 0.2, true);              // UUID: apart
  add("b", 0.0, false, "timeout");  // errors do not count in the mean
  const Summary summary = summarize(results);
  ASSERT_EQ(summary.modes.size(), 1u);
  EXPECT_DOUBLE_EQ(summary.modes[0].score, 75.0);
  EXPECT_DOUBLE_EQ(summary.modes[0].uuid_score, 20.0);
  EXPECT_EQ(summary.modes[0].errors, 1u);
  EXPECT_EQ(summary.modes[0].items, 5u);
  ASSERT_EQ(summary.rows.size(), 3u);
  EXPECT_NE(summary_json(summary).find("\"uuid_score\": 20.0"), std::string::npos);
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

TEST(eval_e2e, a_ruler_subset_through_the_ocr_reader) {
  const std::string out = test::scratch_dir() + "/ocr";
  const test::CommandRun run = test::run_glyph(
      "eval ruler --reader ocr --no-cache --tasks niah_single_1,niah_single_2 --lengths 1024 "
      "--limit 1 --dpi 72,120 --concurrency 2 --out " +
      quoted(out));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto results = read_results(out + "/results.jsonl");
  ASSERT_EQ(results.size(), 4u);
  double score = 0;
  for (const auto& r : results) {
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_GT(r.visual_tokens, 0);
    EXPECT_NE(r.answer.find("special magic numbers"), std::string::npos) << r.answer;
    score += r.score;
  }
  EXPECT_GE(score, 3.0);  // the OCR reader finds a single needle in a short haystack
  EXPECT_NE(run.out.find("| 72dpi | 2 | 0 |"), std::string::npos) << run.out;
  EXPECT_TRUE(std::filesystem::exists(out + "/summary.json"));
  EXPECT_TRUE(std::filesystem::exists(out + "/plot.png"));
}

TEST(eval_e2e, through_the_fake_server_with_a_text_baseline) {
  const auto items = small_ruler({"niah_single_2"});
  test::FakeServerOptions server_options;
  server_options.answer.content = items[0].answers[0];
  test::FakeVlmServer server(server_options);
  const std::string out = test::scratch_dir() + "/vlm";
  const test::CommandRun run =
      test::run_glyph("eval ruler --url " + server.url() + " --text-baseline " + server.url() +
                      " --tasks niah_single_2 --lengths 1024 --limit 1 --out " + quoted(out));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto results = read_results(out + "/results.jsonl");
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) EXPECT_DOUBLE_EQ(r.score, 1.0) << r.key;
  EXPECT_EQ(server.chat_requests(), 2);
  // Bad input is named.
  const test::CommandRun bad =
      test::run_glyph("eval longbench --url " + server.url() + " --out " + quoted(out + "2"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--data"), std::string::npos) << bad.err;
}

TEST(eval_e2e, resume_after_kill_9_loses_no_item_and_repeats_none) {
  test::FakeServerOptions server_options;
  server_options.answer.content = "no needle here, just a slow answer";
  server_options.answer.chunk_delay_ms = 20;  // ~0.15 s per item
  test::FakeVlmServer server(server_options);
  const std::string out = test::scratch_dir() + "/killed";
  const std::string args = "eval ruler --url " + server.url() +
                           " --tasks niah_single_1,niah_single_2,vt,fwe --lengths 1024 --limit 5 "
                           "--concurrency 2 --out " +
                           quoted(out);
  const std::string results = out + "/results.jsonl";
  // Start, wait for 4 finished items, kill -9.
  const test::CommandRun killed = test::run_command(
      "sh -c '" + test::binary_dir() + "/glyph-full " + args + " 2>/dev/null & pid=$!; " +
      "while [ \"$(cat " + results + " 2>/dev/null | wc -l)\" -lt 4 ]; do sleep 0.02; done; " +
      "kill -9 $pid; wait $pid; exit 0'");
  ASSERT_EQ(killed.exit_code, 0) << killed.err;
  const size_t done_before = read_results(results).size();
  ASSERT_GE(done_before, 4u);
  ASSERT_LT(done_before, 20u) << "the run finished before it was killed";
  const int requests_before = server.chat_requests();
  const test::CommandRun resumed = test::run_glyph(args + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto lines = lines_of(results);
  std::map<std::string, int> seen;
  for (const auto& line : lines) ++seen[nlohmann::json::parse(line)["key"].get<std::string>()];
  EXPECT_EQ(seen.size(), 20u);
  for (const auto& [key, count] : seen) EXPECT_EQ(count, 1) << key;
  // Only the items not finished before the kill were asked again.
  EXPECT_EQ(server.chat_requests() - requests_before, static_cast<int>(20 - done_before));
}

}  // namespace
}  // namespace glyph::eval

namespace glyph::eval {
namespace {

// The 1,000-item measurement (docs/eval.md) runs the fake server without recording: a recording
// server slows down with every request it keeps.
TEST(fake_vlm_server, answers_without_keeping_requests_when_not_recording) {
  test::FakeServerOptions server_options;
  server_options.record_requests = false;
  server_options.answer.content = "kept nothing";
  test::FakeVlmServer server(server_options);
  const ReadResult result = vlm_factory(server)()->read(
      [] {
        ReadRequest request;
        request.prompt = "hello";
        return request;
      }(),
      {});
  EXPECT_EQ(result.content, "kept nothing");
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace glyph::eval

namespace glyph::eval {
namespace {

TEST(eval_run_integration, longbench_and_mrcr_items_through_the_fake_server) {
  const std::string longbench = write_scratch(
      "lb_run.jsonl",
      R"({"input": "Which paragraph?", "context": "Paragraph 1: cats. Paragraph 2: dogs.", "answers": ["Paragraph 2"], "length": 9000, "dataset": "passage_retrieval_en", "_id": "r1"})"
      "\n");
  std::vector<EvalItem> items = read_longbench(longbench);  // scratch_dir() empties the folder
  const std::string mrcr = write_scratch(
      "mrcr_run.jsonl",
      R"({"prompt": [{"role": "user", "content": "write a haiku about rain"}, {"role": "assistant", "content": "Rain taps the window."}, {"role": "user", "content": "Prepend Zq9 to the haiku about rain."}], "answer": "Zq9Rain taps the window.", "random_string_to_prepend": "Zq9", "n_needles": 2})"
      "\n");
  for (auto& item : read_mrcr(mrcr)) items.push_back(std::move(item));
  test::FakeServerOptions server_options;
  server_options.answer.content = "Zq9Rain taps the window. Paragraph 2";
  test::FakeVlmServer server(server_options);
  RunOptions options;
  options.out_dir = test::scratch_dir() + "/suites";
  const RunReport report = run_eval(items, vlm_factory(server), {}, options);
  ASSERT_EQ(report.errors, 0u);
  const auto results = read_results(report.results_path);
  ASSERT_EQ(results.size(), 2u);
  // retrieval: the answer's numbers are 2 and 9 (of "Zq9"): one of two is right.
  EXPECT_EQ(results[0].task, "passage_retrieval_en");
  EXPECT_EQ(results[0].length_bin, "8k+");
  EXPECT_DOUBLE_EQ(results[0].score, 0.5);
  // mrcr: the prefix is there; the rest matches the expected answer's first 19 characters.
  EXPECT_EQ(results[1].task, "mrcr_2needle");
  EXPECT_EQ(results[1].length_bin, "0-8k");
  EXPECT_DOUBLE_EQ(results[1].score, sequence_matcher_ratio("Rain taps the window. Paragraph 2",
                                                            "Rain taps the window."));
  const auto requests = server.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests.back().text, "\nPrepend Zq9 to the haiku about rain.");
}

}  // namespace
}  // namespace glyph::eval

namespace glyph::eval {
namespace {

TEST(ruler_generator, qa_with_too_few_records_takes_them_all_and_stays_short) {
  RulerOptions options;
  options.tasks = {"qa"};
  options.lengths = {4096};
  options.samples = 1;
  options.qa = {{{"Alpha is first."}, "What is first?", {"Alpha"}},
                {{"Beta is second."}, "What is second?", {"Beta"}}};
  const auto items = generate_ruler(options);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_NE(items[0].context.find("Alpha is first."), std::string::npos);
  EXPECT_NE(items[0].context.find("Beta is second."), std::string::npos);
  EXPECT_LT(shared_tokenizer().count(items[0].text_prompt), 200u);
}

}  // namespace
}  // namespace glyph::eval

namespace glyph::eval {
namespace {

TEST(eval_run_integration, the_newline_marker_joins_short_lines_into_fewer_pages) {
  std::string context;
  for (int i = 0; i < 300; ++i) context += "Line " + std::to_string(i) + " is short.\n";
  EvalItem item;
  item.suite = "longbench";
  item.task = "hotpotqa";
  item.id = "hotpotqa/1";
  item.context = context;
  item.prompt = item.question = "Which line?";
  item.answers = {"Line 7"};
  item.metric = Metric::qa_f1;
  item.newline_marker_suggested = true;
  test::FakeVlmServer server;
  RunOptions options;
  options.out_dir = test::scratch_dir() + "/plain";
  const auto plain = read_results(run_eval({item}, vlm_factory(server), {}, options).results_path);
  options.out_dir += "-marked";
  options.newline_marker = RunOptions::NewlineMarker::suggested;
  const auto marked = read_results(run_eval({item}, vlm_factory(server), {}, options).results_path);
  ASSERT_EQ(plain.size(), 1u);
  ASSERT_EQ(marked.size(), 1u);
  EXPECT_GT(plain[0].pages, marked[0].pages);
  EXPECT_GT(marked[0].compression, plain[0].compression);
}

}  // namespace
}  // namespace glyph::eval
