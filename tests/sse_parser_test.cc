#include "read/sse_parser.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "support/paths.h"

namespace glyph::detail {
namespace {

using nlohmann::json;

std::vector<SseEvent> parse_in_pieces(std::string_view bytes,
                                      const std::vector<std::size_t>& cuts) {
  SseParser parser;
  std::vector<SseEvent> events;
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    parser.feed(bytes.substr(start, cut - start),
                [&](const SseEvent& event) { events.push_back(event); });
    start = cut;
  }
  parser.feed(bytes.substr(start), [&](const SseEvent& event) { events.push_back(event); });
  return events;
}

std::string chunk(const json& delta, const json& finish_reason = nullptr) {
  json value = {
      {"id", "c1"},
      {"object", "chat.completion.chunk"},
      {"model", "zai-org/Glyph"},
      {"choices",
       json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}})}};
  return "data: " + value.dump() + "\n\n";
}

// A vLLM-style stream: a role chunk, reasoning, content with multi-byte characters, the finish
// chunk, the usage chunk and [DONE].
std::string sample_stream(const char* reasoning_field = "reasoning") {
  std::string stream = ": keep-alive\n\n";
  stream += chunk({{"role", "assistant"}, {"content", ""}});
  stream += chunk({{reasoning_field, "Page 3 says "}});
  stream += chunk({{reasoning_field, "the code is 4217."}});
  stream += chunk({{"content", "The code is "}});
  stream += chunk({{"content", "4217 — 日本語 ✓"}});
  stream += chunk(json::object(), "stop");
  stream += "data: " +
            json{{"choices", json::array()},
                 {"usage", {{"prompt_tokens", 1290}, {"completion_tokens", 17}}}}
                .dump() +
            "\n\n";
  stream += "data: [DONE]\n\n";
  return stream;
}

struct Decoded {
  std::string content, reasoning, streamed_content, streamed_reasoning, finish_reason;
  ReadUsage usage;
};

Decoded decode_in_pieces(std::string_view bytes, const std::vector<std::size_t>& cuts) {
  Decoded out;
  ReadCallbacks callbacks;
  callbacks.on_content = [&](std::string_view text) { out.streamed_content += text; };
  callbacks.on_reasoning = [&](std::string_view text) { out.streamed_reasoning += text; };
  ChatStreamDecoder decoder(callbacks);
  SseParser parser;
  std::size_t start = 0;
  auto take = [&](const SseEvent& event) { decoder.take(event); };
  for (std::size_t cut : cuts) {
    parser.feed(bytes.substr(start, cut - start), take);
    start = cut;
  }
  parser.feed(bytes.substr(start), take);
  decoder.finish();
  out.content = decoder.content();
  out.reasoning = decoder.reasoning();
  out.finish_reason = decoder.finish_reason();
  out.usage = decoder.usage();
  return out;
}

TEST(sse_parser, joins_data_lines_and_skips_comments_and_unknown_fields) {
  auto events = parse_in_pieces(
      ": ping\nid: 7\nretry: 10\ndata: one\ndata:two\n\nevent: note\ndata: three\n\n", {});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "one\ntwo");
  EXPECT_EQ(events[0].type, "");
  EXPECT_EQ(events[1].data, "three");
  EXPECT_EQ(events[1].type, "note");
}

TEST(sse_parser, accepts_crlf_and_cr_line_ends_even_when_split_between_cr_and_lf) {
  std::string bytes = "data: a\r\n\r\ndata: b\r\rdata: c\n\n";
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    auto events = parse_in_pieces(bytes, {cut});
    ASSERT_EQ(events.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(events[0].data, "a");
    EXPECT_EQ(events[1].data, "b");
    EXPECT_EQ(events[2].data, "c");
  }
}

TEST(sse_parser, drops_a_leading_byte_order_mark_only) {
  auto events = parse_in_pieces(
      "\xEF\xBB\xBF"
      "data: x\n\n",
      {1, 2});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
  // Bytes that merely start like a BOM are kept.
  events = parse_in_pieces(
      "\xEF\xBB"
      "data: y\n\n",
      {1});
  EXPECT_TRUE(events.empty());  // the field name is then "\xEF\xBB" "data", which is unknown
}

TEST(sse_parser, turns_llama_cpp_error_lines_into_error_events) {
  auto events = parse_in_pieces("error: {\"error\":{\"code\":500,\"message\":\"boom\"}}\n\n", {});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "error");
  EXPECT_NE(events[0].data.find("boom"), std::string::npos);
}

TEST(sse_parser, an_unfinished_event_is_pending_not_dispatched) {
  SseParser parser;
  int count = 0;
  parser.feed("data: {\"partial\": tr", [&](const SseEvent&) { ++count; });
  EXPECT_EQ(count, 0);
  EXPECT_TRUE(parser.has_pending());
}

TEST(sse_parser, bounds_the_size_of_one_event) {
  SseParser parser(1024);
  std::string huge = "data: " + std::string(2000, 'x');
  try {
    parser.feed(huge, [](const SseEvent&) {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::limit_exceeded);
    EXPECT_NE(std::string(error.what()).find("1024"), std::string::npos);
  }
}

TEST(sse_parser, think_tags_split_anywhere_give_the_same_parts) {
  const std::string text = "<think>look at page 2</think>It is 7 — ok. a < b";
  for (std::size_t cut1 = 0; cut1 <= text.size(); ++cut1) {
    for (std::size_t cut2 = cut1; cut2 <= text.size(); cut2 += 3) {
      ThinkSplitter splitter;
      std::string content, reasoning;
      auto on_content = [&](std::string_view t) { content += t; };
      auto on_reasoning = [&](std::string_view t) { reasoning += t; };
      splitter.feed(std::string_view(text).substr(0, cut1), on_content, on_reasoning);
      splitter.feed(std::string_view(text).substr(cut1, cut2 - cut1), on_content, on_reasoning);
      splitter.feed(std::string_view(text).substr(cut2), on_content, on_reasoning);
      splitter.finish(on_content, on_reasoning);
      ASSERT_EQ(reasoning, "look at page 2") << cut1 << "," << cut2;
      ASSERT_EQ(content, "It is 7 — ok. a < b") << cut1 << "," << cut2;
    }
  }
}

TEST(sse_parser, answer_wrappers_are_dropped_wherever_they_are_split) {
  const std::string text = "<think>page 4</think><answer>It is 7.</answer>";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    ThinkSplitter splitter;
    std::string content, reasoning;
    auto on_content = [&](std::string_view t) { content += t; };
    auto on_reasoning = [&](std::string_view t) { reasoning += t; };
    splitter.feed(std::string_view(text).substr(0, cut), on_content, on_reasoning);
    splitter.feed(std::string_view(text).substr(cut), on_content, on_reasoning);
    splitter.finish(on_content, on_reasoning);
    ASSERT_EQ(reasoning, "page 4") << cut;
    ASSERT_EQ(content, "It is 7.") << cut;
  }
  // Inside reasoning an <answer> tag is text like any other.
  ThinkSplitter splitter;
  std::string content, reasoning;
  splitter.feed(
      "<think>write <answer> later</think>x", [&](std::string_view t) { content += t; },
      [&](std::string_view t) { reasoning += t; });
  EXPECT_EQ(reasoning, "write <answer> later");
  EXPECT_EQ(content, "x");
}

TEST(sse_parser, a_close_tag_without_an_opening_one_reclassifies_wherever_it_is_split) {
  const std::string text = "page 2 says 7\n</think>\n\nIt is 7. </think> stays";
  for (std::size_t cut1 = 0; cut1 <= text.size(); ++cut1) {
    for (std::size_t cut2 = cut1; cut2 <= text.size(); cut2 += 2) {
      ThinkSplitter splitter;
      std::string content, reasoning, tail;
      int orphans = 0;
      auto on_content = [&](std::string_view t) { content += t; };
      auto on_reasoning = [&](std::string_view t) { reasoning += t; };
      auto on_orphan = [&](std::string_view t) {
        ++orphans;
        // The caller moves what it took as content into the reasoning.
        reasoning += content;
        reasoning += t;
        content.clear();
      };
      for (auto [from, to] : {std::pair{std::size_t{0}, cut1}, {cut1, cut2}, {cut2, text.size()}})
        splitter.feed(std::string_view(text).substr(from, to - from), on_content, on_reasoning,
                      on_orphan);
      splitter.finish(on_content, on_reasoning);
      ASSERT_EQ(orphans, 1) << cut1 << "," << cut2;
      ASSERT_EQ(reasoning, "page 2 says 7\n") << cut1 << "," << cut2;
      // Only the first orphan tag counts; a later one is text.
      ASSERT_EQ(content, "\n\nIt is 7. </think> stays") << cut1 << "," << cut2;
    }
  }
  // After a <think>...</think> part, a stray "</think>" is text, not a reclassification.
  ThinkSplitter splitter;
  std::string content, reasoning;
  int orphans = 0;
  splitter.feed(
      "<think>a</think>b</think>c", [&](std::string_view t) { content += t; },
      [&](std::string_view t) { reasoning += t; }, [&](std::string_view) { ++orphans; });
  splitter.finish([&](std::string_view t) { content += t; },
                  [&](std::string_view t) { reasoning += t; });
  EXPECT_EQ(orphans, 0);
  EXPECT_EQ(reasoning, "a");
  EXPECT_EQ(content, "b</think>c");
}

TEST(sse_parser, the_decoder_sends_replace_once_when_streamed_content_was_reasoning) {
  std::string stream;
  for (std::string_view piece : {"Looking at ", "page 3.", "</th", "ink>The code", " is 4217."}) {
    stream += chunk({{"content", piece}});
  }
  stream += chunk(json::object(), "stop") + "data: [DONE]\n\n";
  std::string shown_content, shown_reasoning;
  std::vector<std::pair<std::string, std::string>> replaces;
  ReadCallbacks callbacks;
  callbacks.on_content = [&](std::string_view t) { shown_content += t; };
  callbacks.on_reasoning = [&](std::string_view t) { shown_reasoning += t; };
  callbacks.on_replace = [&](std::string_view c, std::string_view r) {
    replaces.emplace_back(c, r);
    shown_content = c;
    shown_reasoning = r;
  };
  ChatStreamDecoder decoder(callbacks);
  SseParser parser;
  parser.feed(stream, [&](const SseEvent& e) { decoder.take(e); });
  decoder.finish();
  ASSERT_EQ(replaces.size(), 1u);
  EXPECT_EQ(replaces[0].first, "");
  EXPECT_EQ(replaces[0].second, "Looking at page 3.");
  EXPECT_TRUE(decoder.reasoning_reclassified());
  EXPECT_EQ(decoder.content(), "The code is 4217.");
  EXPECT_EQ(decoder.reasoning(), "Looking at page 3.");
  // What the callbacks built is what the decoder kept.
  EXPECT_EQ(shown_content, decoder.content());
  EXPECT_EQ(shown_reasoning, decoder.reasoning());
}

TEST(sse_parser, repetition_detector_finds_a_looping_tail_and_only_that) {
  // A sentence over and over: found once the tail holds 4 repeats (4 x 26 < 256: the span rules).
  RepetitionDetector detector(256, 4, 512);
  const std::string unit = "The total is 4217 euros. ";
  ASSERT_EQ(unit.size(), 25u);
  EXPECT_FALSE(detector.feed("Page 2 lists the invoice. "));
  int fed = 0;
  while (!detector.feed(unit)) ASSERT_LT(++fed, 20);
  EXPECT_EQ(detector.period(), 25u);
  EXPECT_GE(detector.repeats(), 10);  // 256 bytes of a 25-byte unit
  EXPECT_EQ(detector.unit().size(), 25u);
  EXPECT_NE((detector.unit() + detector.unit()).find(unit), std::string::npos) << detector.unit();

  // Prose that never repeats, a dot leader and a markdown rule are not loops.
  RepetitionDetector prose(256, 4, 512);
  for (int i = 0; i < 200; ++i) {
    EXPECT_FALSE(prose.feed("Line " + std::to_string(i) + ": the keeper counted " +
                            std::to_string(i * 7 % 13) + " ships. "))
        << i;
  }
  EXPECT_FALSE(prose.feed("Chapter 1 " + std::string(80, '.') + " 5\n"));
  EXPECT_FALSE(prose.feed("|" + std::string(60, '-') + "|" + std::string(60, '-') + "|\n"));

  // A long unit needs min_repeats repeats; CJK units are reported on character boundaries.
  RepetitionDetector cjk(256, 4, 512);
  const std::string han = "第三页的代码是四二一七。";  // 36 bytes
  int repeats = 0;
  while (!cjk.feed(han.substr(0, 7)) && !cjk.feed(han.substr(7))) ASSERT_LT(++repeats, 20);
  EXPECT_EQ(cjk.period(), han.size());
  EXPECT_EQ(cjk.unit().size(), han.size());
  EXPECT_NE((cjk.unit() + cjk.unit()).find(han), std::string::npos);
  EXPECT_NE(static_cast<unsigned char>(cjk.unit()[0]) & 0xC0, 0x80);
}

TEST(sse_parser, a_stream_split_at_every_byte_offset_decodes_the_same) {
  for (const char* field : {"reasoning", "reasoning_content"}) {
    const std::string stream = sample_stream(field);
    const Decoded whole = decode_in_pieces(stream, {});
    EXPECT_EQ(whole.content, "The code is 4217 — 日本語 ✓");
    EXPECT_EQ(whole.reasoning, "Page 3 says the code is 4217.");
    EXPECT_EQ(whole.finish_reason, "stop");
    EXPECT_EQ(whole.usage.prompt_tokens, 1290);
    EXPECT_EQ(whole.usage.completion_tokens, 17);
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
      Decoded split = decode_in_pieces(stream, {cut});
      ASSERT_EQ(split.content, whole.content) << "cut at byte " << cut;
      ASSERT_EQ(split.streamed_content, whole.content) << "cut at byte " << cut;
      ASSERT_EQ(split.reasoning, whole.reasoning) << "cut at byte " << cut;
      ASSERT_EQ(split.usage.prompt_tokens, 1290) << "cut at byte " << cut;
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
    Decoded bytewise = decode_in_pieces(stream, every_byte);
    EXPECT_EQ(bytewise.content, whole.content);
    EXPECT_EQ(bytewise.reasoning, whole.reasoning);
  }
}

TEST(sse_parser, think_tags_inside_content_split_at_every_byte_decode_the_same) {
  std::string stream = chunk({{"content", "<thi"}}) + chunk({{"content", "nk>reason é"}}) +
                       chunk({{"content", "nds</th"}}) + chunk({{"content", "ink>answer ✓"}}) +
                       chunk(json::object(), "stop") + "data: [DONE]\n\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    Decoded decoded = decode_in_pieces(stream, {cut});
    ASSERT_EQ(decoded.reasoning, "reason énds") << cut;
    ASSERT_EQ(decoded.content, "answer ✓") << cut;
    ASSERT_EQ(decoded.streamed_reasoning, "reason énds") << cut;
  }
}

TEST(sse_parser, error_events_fail_with_the_servers_message) {
  ReadCallbacks callbacks;
  {
    ChatStreamDecoder decoder(callbacks);
    decoder.take(
        {"", chunk({{"content", "par"}}).substr(6, chunk({{"content", "par"}}).size() - 8)});
    try {
      decoder.take(
          {"",
           R"({"error": {"message": "CUDA out of memory", "type": "InternalServerError", "code": 500}})"});
      FAIL() << "no error";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::network);  // a 5xx mid-stream is worth a retry
      EXPECT_NE(std::string(error.what()).find("CUDA out of memory"), std::string::npos);
    }
  }
  {
    ChatStreamDecoder decoder(callbacks);
    try {
      decoder.take(
          {"", R"({"object": "error", "message": "prompt too long for this model", "code": 400})"});
      FAIL() << "no error";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::server);  // a client error is not retried
      EXPECT_NE(std::string(error.what()).find("prompt too long"), std::string::npos);
    }
  }
  {
    ChatStreamDecoder decoder(callbacks);
    EXPECT_THROW(decoder.take({"error", R"({"error":{"code":500,"message":"slot failed"}})"}),
                 Error);
  }
}

TEST(sse_parser, a_data_line_that_is_not_json_is_a_retryable_failure) {
  ReadCallbacks callbacks;
  ChatStreamDecoder decoder(callbacks);
  try {
    decoder.take({"", "{\"choices\": [ not json"});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::network);
    EXPECT_NE(std::string(error.what()).find("not a JSON object"), std::string::npos);
  }
}

TEST(sse_parser, a_stream_without_done_or_finish_reason_is_incomplete) {
  ReadCallbacks callbacks;
  ChatStreamDecoder decoder(callbacks);
  SseParser parser;
  std::string stream = chunk({{"content", "The answer is"}});
  parser.feed(stream, [&](const SseEvent& event) { decoder.take(event); });
  EXPECT_EQ(decoder.content(), "The answer is");
  try {
    decoder.finish();
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::network);
    EXPECT_NE(std::string(error.what()).find("[DONE]"), std::string::npos);
  }
  // A finish_reason without [DONE] is a complete answer (some servers end that way).
  ChatStreamDecoder finished(callbacks);
  parser.feed(chunk({{"content", "x"}}, "length"),
              [&](const SseEvent& event) { finished.take(event); });
  EXPECT_NO_THROW(finished.finish());
  EXPECT_EQ(finished.finish_reason(), "length");
}

TEST(sse_parser, bounds_the_answer_kept_in_memory) {
  ReadCallbacks callbacks;
  ChatStreamDecoder decoder(callbacks, 100);
  SseParser parser;
  auto take = [&](const SseEvent& event) { decoder.take(event); };
  for (int i = 0; i < 10; ++i) parser.feed(chunk({{"content", "0123456789"}}), take);
  try {
    parser.feed(chunk({{"reasoning", "x"}}), take);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::limit_exceeded);
    EXPECT_NE(std::string(error.what()).find("100 bytes"), std::string::npos);
  }
}

// The fuzz target's seeds (and any crasher added to fuzz/corpus/sse_stream) replayed in every
// build, with the target's own checks: no crash, and every byte kept was also streamed out.
TEST(sse_parser, seed_corpus_replays_cleanly) {
  int replayed = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(test::source_dir() + "/fuzz/corpus/sse_stream")) {
    const std::string input = read_file(entry.path().string());
    if (input.empty()) continue;
    const std::size_t piece = 1 + static_cast<unsigned char>(input[0]) % 64;
    std::string_view bytes = std::string_view(input).substr(1);
    std::size_t shown = 0;
    ReadCallbacks callbacks;
    callbacks.on_content = [&](std::string_view text) { shown += text.size(); };
    callbacks.on_reasoning = [&](std::string_view text) { shown += text.size(); };
    // A "</think>" after answer text: what was shown is replaced by the whole text so far.
    callbacks.on_replace = [&](std::string_view content, std::string_view reasoning) {
      shown = content.size() + reasoning.size();
    };
    ChatStreamDecoder decoder(callbacks);
    SseParser parser(1 << 16);
    try {
      for (std::size_t at = 0; at < bytes.size(); at += piece) {
        parser.feed(bytes.substr(at, piece), [&](const SseEvent& event) { decoder.take(event); });
      }
      decoder.finish();
    } catch (const Error&) {
    }
    EXPECT_EQ(decoder.content().size() + decoder.reasoning().size(), shown) << entry.path();
    ++replayed;
  }
  EXPECT_GE(replayed, 3);
}

TEST(sse_parser, reads_error_messages_in_every_servers_shape) {
  int code = 0;
  EXPECT_EQ(
      server_error_message(
          R"({"error":{"message":"bad key","type":"invalid_request_error","code":401}})", &code),
      "bad key");
  EXPECT_EQ(code, 401);
  code = 0;
  EXPECT_EQ(server_error_message(
                R"({"object":"error","message":"flat sglang","type":"BadRequestError","code":400})",
                &code),
            "flat sglang");
  EXPECT_EQ(code, 400);
  EXPECT_EQ(server_error_message(R"({"error":"model not found"})"), "model not found");
  EXPECT_EQ(server_error_message(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(server_error_message("upstream connect error\n"), "upstream connect error");
}

}  // namespace
}  // namespace glyph::detail
