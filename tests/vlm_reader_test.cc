#include "read/vlm_reader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "image/image.h"
#include "support/fake_vlm_server.h"
#include "tokens/visual_tokens.h"

namespace glyph {
namespace {

using nlohmann::json;
using test::FakeFault;
using test::FakeServerMode;
using test::FakeServerOptions;
using test::FakeVlmServer;
using test::FaultKind;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::shared_ptr<const PageImage> page_image(int width, int height, int channels = 1) {
  auto image = std::make_shared<PageImage>(width, height, channels, 255);
  for (int y = 0; y < height; y += 7) {
    for (int x = 0; x < width; x += 3)
      image->row(y)[x * channels] = static_cast<uint8_t>((x * 31 + y) % 200);
  }
  return image;
}

ReadRequest request_with_pages(std::vector<std::pair<int, int>> sizes,
                               std::string prompt = "What is the code?") {
  ReadRequest request;
  request.question = prompt;
  request.prompt = prompt;
  int number = 1;
  for (auto [width, height] : sizes) {
    request.pages.push_back(PageInput{number++, page_image(width, height), std::nullopt, 72});
  }
  return request;
}

// Fast retries so the fault tests stay quick; the fault itself decides what is being tested.
VlmReaderOptions fast_options(const FakeVlmServer& server) {
  VlmReaderOptions options = test::fast_reader_options(server);
  options.api_key = "test-key";
  return options;
}

Error read_error(VlmReader& reader, const ReadRequest& request,
                 const ReadCallbacks& callbacks = {}) {
  try {
    reader.read(request, callbacks);
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "the read succeeded";
  return Error(ErrorCode::internal, "no error");
}

FakeFault fault(FaultKind kind, int status = 500, std::string message = "fake server failure",
                int after_events = 2, bool with_done = false) {
  FakeFault made;
  made.kind = kind;
  made.status = status;
  made.message = std::move(message);
  made.after_events = after_events;
  made.with_done = with_done;
  return made;
}

FakeFault status_fault(int status, std::string retry_after, std::string retry_after_ms,
                       std::string message) {
  FakeFault made = fault(FaultKind::http_status, status, std::move(message));
  made.retry_after = std::move(retry_after);
  made.retry_after_ms = std::move(retry_after_ms);
  return made;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// ---- unit: the pieces that need no server --------------------------------------------------

TEST(vlm_reader, retry_delay_grows_exponentially_with_jitter_and_a_cap) {
  EXPECT_EQ(detail::retry_delay_ms(0, 500, 20'000, -1, 1.0), 500);
  EXPECT_EQ(detail::retry_delay_ms(0, 500, 20'000, -1, 0.0), 250);
  EXPECT_EQ(detail::retry_delay_ms(3, 500, 20'000, -1, 1.0), 4'000);
  EXPECT_EQ(detail::retry_delay_ms(20, 500, 20'000, -1, 1.0), 20'000);
  long jittered = detail::retry_delay_ms(2, 500, 20'000, -1, 0.37);
  EXPECT_GE(jittered, 1'000);
  EXPECT_LE(jittered, 2'000);
  EXPECT_EQ(detail::retry_delay_ms(5, 500, 20'000, 1'234, 0.5), 1'234);  // the server's wish wins
}

TEST(vlm_reader, parses_retry_after_in_seconds_milliseconds_and_dates) {
  EXPECT_EQ(detail::parse_retry_after_ms("2", ""), 2'000);
  EXPECT_EQ(detail::parse_retry_after_ms("0.5", ""), 500);
  EXPECT_EQ(detail::parse_retry_after_ms("9", "120"), 120);  // retry-after-ms is the finer one
  EXPECT_EQ(detail::parse_retry_after_ms("", ""), -1);
  EXPECT_EQ(detail::parse_retry_after_ms("soon", ""), -1);
  EXPECT_EQ(detail::parse_retry_after_ms("-3", ""), -1);
  EXPECT_EQ(detail::parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", ""), 0);  // in the past
  std::time_t later = std::time(nullptr) + 30;
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&later));
  long wait = detail::parse_retry_after_ms(date, "");
  EXPECT_GE(wait, 28'000);
  EXPECT_LE(wait, 31'000);
}

TEST(vlm_reader, recognizes_context_length_errors_of_each_server) {
  EXPECT_TRUE(detail::is_context_length_message(
      "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens"));
  EXPECT_TRUE(detail::is_context_length_message(
      "the request exceeds the available context size, try increasing it"));
  EXPECT_TRUE(detail::is_context_length_message(
      "The input (70000 tokens) is longer than the model's context length"));
  EXPECT_FALSE(
      detail::is_context_length_message("At most 1 image(s) may be provided in one request."));
  EXPECT_FALSE(detail::is_context_length_message("Incorrect API key provided."));
}

TEST(vlm_reader, server_kinds_parse_and_print) {
  EXPECT_EQ(parse_server_kind("llama.cpp"), ServerKind::llamacpp);
  EXPECT_EQ(parse_server_kind("VLLM"), ServerKind::vllm);
  EXPECT_EQ(parse_server_kind("auto"), ServerKind::unknown);
  EXPECT_EQ(to_string(ServerKind::ollama), "ollama");
  EXPECT_THROW(parse_server_kind("tgi"), Error);
}

TEST(vlm_reader, rejects_urls_that_are_not_http) {
  for (std::string url : {"ftp://host/v1", "file:///etc/passwd", "localhost:8000", "http://", ""}) {
    VlmReaderOptions options;
    options.base_url = url;
    EXPECT_THROW(VlmReader{options}, Error) << url;
  }
  VlmReaderOptions options;
  options.base_url = "http://127.0.0.1:8000/v1/";
  EXPECT_EQ(VlmReader(options).base_url(), "http://127.0.0.1:8000");
}

// ---- integration: a real socket, the fake server ------------------------------------------

struct Collected {
  std::string content, reasoning;
  int restarts = 0;
  ReadCallbacks callbacks() {
    ReadCallbacks callbacks;
    callbacks.on_content = [this](std::string_view text) { content += text; };
    callbacks.on_reasoning = [this](std::string_view text) { reasoning += text; };
    callbacks.on_restart = [this] {
      ++restarts;
      content.clear();
      reasoning.clear();
    };
    return callbacks;
  }
};

TEST(vlm_reader_integration, reads_an_answer_from_each_kind_of_server) {
  for (FakeServerMode mode :
       {FakeServerMode::vllm, FakeServerMode::sglang, FakeServerMode::llamacpp,
        FakeServerMode::ollama, FakeServerMode::openai}) {
    FakeServerOptions server_options;
    server_options.mode = mode;
    server_options.answer.content = "The code is 4217 — ✓ 日本";
    server_options.answer.reasoning = "Page 1, line 3 has it.";
    server_options.answer.chunk_bytes = 3;
    FakeVlmServer server(server_options);
    VlmReader reader(fast_options(server));  // no model given: asked from /v1/models
    Collected collected;
    ReadResult result = reader.read(request_with_pages({{300, 400}}), collected.callbacks());
    SCOPED_TRACE(server.model());
    EXPECT_EQ(result.content, "The code is 4217 — ✓ 日本");
    EXPECT_EQ(result.reasoning, "Page 1, line 3 has it.");
    EXPECT_EQ(collected.content, result.content);
    EXPECT_EQ(collected.reasoning, result.reasoning);
    EXPECT_EQ(result.finish_reason, "stop");
    EXPECT_EQ(result.model, server.model());
    EXPECT_EQ(reader.name(), "openai:" + server.model());
    ASSERT_EQ(server.chat_requests(), 1);
    EXPECT_EQ(result.usage.prompt_tokens, server.requests().back().prompt_tokens);
    EXPECT_GT(result.usage.completion_tokens, 0);
    EXPECT_EQ(result.attempts, 1);
    EXPECT_GE(result.total_seconds, result.first_token_seconds);
  }
}

TEST(vlm_reader_integration, sends_pages_as_png_data_urls_before_the_question) {
  FakeVlmServer server;
  VlmReaderOptions options = fast_options(server);
  options.model = server.model();
  VlmReader reader(options);
  ReadRequest request = request_with_pages({{420, 595}, {420, 300}}, "Where is the needle?");
  request.pages[1].image = std::make_shared<PageImage>(200, 100, 3, 128);  // an RGB crop
  request.pages[1].crop_of = PixelBox{10, 20, 210, 120};
  reader.read(request, {});
  ASSERT_EQ(server.requests().size(), 1u);  // the model was given: no /v1/models request
  const test::RecordedRequest sent = server.requests()[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/v1/chat/completions");
  EXPECT_EQ(sent.headers.at("authorization"), "Bearer test-key");
  EXPECT_EQ(sent.headers.at("content-type"), "application/json");
  EXPECT_EQ(sent.part_kinds, (std::vector<std::string>{"image", "image", "text"}));
  ASSERT_EQ(sent.images.size(), 2u);
  EXPECT_TRUE(sent.images[0].valid_png) << sent.images[0].error;
  EXPECT_EQ(sent.images[0].media_type, "image/png");
  EXPECT_EQ(sent.images[0].width_px, 420);
  EXPECT_EQ(sent.images[0].height_px, 595);
  EXPECT_EQ(sent.images[1].width_px, 200);
  EXPECT_EQ(sent.images[1].channels, 3);
  EXPECT_EQ(sent.text, "Where is the needle?");
  json body = json::parse(sent.body);
  EXPECT_EQ(body["model"], server.model());
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  for (const char* field : {"temperature", "top_p", "top_k", "repetition_penalty", "repeat_penalty",
                            "max_tokens", "stop_token_ids", "skip_special_tokens"}) {
    EXPECT_FALSE(body.contains(field)) << field << " sent though not set";
  }
}

TEST(vlm_reader_integration, sends_sampling_fields_only_when_set_with_each_servers_names) {
  for (FakeServerMode mode : {FakeServerMode::vllm, FakeServerMode::llamacpp}) {
    FakeServerOptions server_options;
    server_options.mode = mode;
    FakeVlmServer server(server_options);
    VlmReader reader(fast_options(server));  // kind and model found from /v1/models owned_by
    ReadRequest request = request_with_pages({{100, 100}});
    request.system_prompt = "Answer briefly.";
    request.sampling.temperature = 0.0001;
    request.sampling.top_p = 0.9;
    request.sampling.top_k = 2;
    request.sampling.repetition_penalty = 1.1;
    request.sampling.max_tokens = 8192;
    request.sampling.stop_token_ids = {151329, 151348};
    request.sampling.skip_special_tokens = false;
    reader.read(request, {});
    json body = json::parse(server.requests().back().body);
    EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.0001);
    EXPECT_DOUBLE_EQ(body["top_p"].get<double>(), 0.9);
    EXPECT_EQ(body["top_k"], 2);
    EXPECT_EQ(body["max_tokens"], 8192);
    EXPECT_EQ(body["stop_token_ids"], json::array({151329, 151348}));
    EXPECT_EQ(body["skip_special_tokens"], false);
    EXPECT_EQ(body["messages"][0]["role"], "system");
    EXPECT_EQ(body["messages"][1]["role"], "user");
    const bool llama = mode == FakeServerMode::llamacpp;
    EXPECT_EQ(body.contains("repeat_penalty"), llama);
    EXPECT_EQ(body.contains("repetition_penalty"), !llama);
  }
}

TEST(vlm_reader_integration, takes_the_api_key_from_the_environment_when_not_given) {
  FakeServerOptions server_options;
  server_options.api_key = "from-env";
  FakeVlmServer server(server_options);
  VlmReaderOptions options = fast_options(server);
  options.api_key.clear();
  setenv("GLYPH_API_KEY", "from-env", 1);
  setenv("OPENAI_API_KEY", "the-other", 1);
  ReadResult result = VlmReader(options).read(request_with_pages({{50, 50}}), {});
  EXPECT_EQ(server.requests().back().headers.at("authorization"), "Bearer from-env");
  unsetenv("GLYPH_API_KEY");
  Error error = read_error(*std::make_unique<VlmReader>(options), request_with_pages({{50, 50}}));
  EXPECT_EQ(error.code(), ErrorCode::server);
  EXPECT_TRUE(contains(error.what(), "401")) << error.what();
  EXPECT_TRUE(contains(error.what(), "Incorrect API key")) << error.what();
  EXPECT_TRUE(contains(error.what(), "--api-key")) << error.what();
  unsetenv("OPENAI_API_KEY");
}

TEST(vlm_reader_integration, a_stream_sent_byte_by_byte_reads_the_same) {
  FakeServerOptions server_options;
  server_options.byte_by_byte = true;
  server_options.crlf = true;
  server_options.answer.content = "Ünïcode → 答案 42";
  server_options.answer.reasoning = "think";
  server_options.answer.reasoning_style = test::ReasoningStyle::think_tags;
  FakeVlmServer server(server_options);
  ReadResult result = VlmReader(fast_options(server)).read(request_with_pages({{64, 64}}), {});
  EXPECT_EQ(result.content, "Ünïcode → 答案 42");
  EXPECT_EQ(result.reasoning, "think");
  EXPECT_GT(result.usage.prompt_tokens, 0);
}

// Qwen3 / GLM chat templates open <think> in the prompt: the model writes only "</think>".
TEST(vlm_reader_integration, reasoning_closed_without_an_opening_tag_is_moved_out_of_the_answer) {
  FakeServerOptions server_options;
  server_options.answer.content = "\n\nThe code is 4217.";
  server_options.answer.reasoning = "Page 3 lists codes; the second is 4217.";
  server_options.answer.reasoning_style = test::ReasoningStyle::think_close_only;
  server_options.answer.chunk_bytes = 4;
  FakeVlmServer server(server_options);
  std::string shown_content, shown_reasoning;
  int replaces = 0;
  bool content_before_replace = false;
  ReadCallbacks callbacks;
  callbacks.on_content = [&](std::string_view t) { shown_content += t; };
  callbacks.on_reasoning = [&](std::string_view t) { shown_reasoning += t; };
  callbacks.on_replace = [&](std::string_view c, std::string_view r) {
    ++replaces;
    content_before_replace = !shown_content.empty();
    shown_content = c;
    shown_reasoning = r;
  };
  ReadResult result =
      VlmReader(fast_options(server)).read(request_with_pages({{64, 64}}), callbacks);
  EXPECT_EQ(result.content, "\n\nThe code is 4217.");
  EXPECT_EQ(result.reasoning, "Page 3 lists codes; the second is 4217.");
  // The answer streamed tentatively (not held back to the end), then was replaced once.
  EXPECT_TRUE(content_before_replace);
  EXPECT_EQ(replaces, 1);
  EXPECT_EQ(shown_content, result.content);
  EXPECT_EQ(shown_reasoning, result.reasoning);
}

TEST(vlm_reader_integration, an_unopened_think_part_is_split_in_a_one_piece_answer_too) {
  FakeServerOptions server_options;
  server_options.ignore_stream = true;  // the whole answer in one chat.completion JSON
  server_options.answer.content = "It is 7.";
  server_options.answer.reasoning = "Counting the rows.";
  server_options.answer.reasoning_style = test::ReasoningStyle::think_close_only;
  FakeVlmServer server(server_options);
  int replaces = 0;
  std::string shown_content, shown_reasoning;
  ReadCallbacks callbacks;
  callbacks.on_content = [&](std::string_view t) { shown_content += t; };
  callbacks.on_reasoning = [&](std::string_view t) { shown_reasoning += t; };
  callbacks.on_replace = [&](std::string_view, std::string_view) { ++replaces; };
  ReadResult result =
      VlmReader(fast_options(server)).read(request_with_pages({{64, 64}}), callbacks);
  EXPECT_EQ(result.content, "It is 7.");
  EXPECT_EQ(result.reasoning, "Counting the rows.");
  // Nothing was shown as the answer before the tag, so nothing needs replacing.
  EXPECT_EQ(replaces, 0);
  EXPECT_EQ(shown_content, "It is 7.");
  EXPECT_EQ(shown_reasoning, "Counting the rows.");
}

// A model in a repetition loop: the stream is stopped, asked again once with a penalty under the
// server's name for it, and the answer says so.
TEST(vlm_reader_integration, a_repetition_loop_is_stopped_and_retried_with_a_penalty) {
  const std::pair<FakeServerMode, const char*> cases[] = {
      {FakeServerMode::vllm, "repetition_penalty"},
      {FakeServerMode::llamacpp, "repeat_penalty"},
      {FakeServerMode::openai, "frequency_penalty"}};
  for (auto [mode, field] : cases) {
    FakeServerOptions server_options;
    server_options.mode = mode;
    server_options.answer.content = "Row 3: ";
    server_options.answer.loop = "the same line again, ";
    server_options.answer.chunk_bytes = 8;
    FakeVlmServer server(server_options);
    int restarts = 0;
    std::size_t first_attempt_bytes = 0;
    std::string shown;
    ReadCallbacks callbacks;
    callbacks.on_content = [&](std::string_view t) { shown += t; };
    callbacks.on_restart = [&] {
      ++restarts;
      first_attempt_bytes = shown.size();
      shown.clear();
    };
    VlmReaderOptions options = fast_options(server);
    options.model.clear();  // the kind comes from /v1/models
    ReadResult result = VlmReader(options).read(request_with_pages({{64, 64}}), callbacks);
    EXPECT_EQ(result.content, "Row 3: ") << field;
    EXPECT_EQ(shown, "Row 3: ") << field;
    EXPECT_EQ(result.finish_reason, "stop") << field;
    EXPECT_EQ(restarts, 1) << field;
    EXPECT_EQ(result.attempts, 2) << field;
    const RepetitionLoop& loop = result.repetition;
    EXPECT_TRUE(loop.detected) << field;
    EXPECT_EQ(loop.where, "content");
    EXPECT_EQ(loop.period_bytes, 21);
    EXPECT_GE(loop.repeats, 4);
    EXPECT_EQ(loop.retry_field, field);
    EXPECT_FALSE(loop.retry_looped);
    // The first request went without a penalty and was closed early; the retry carried it.
    const auto requests = server.requests();
    std::vector<json> chats;
    for (const auto& r : requests)
      if (r.path == "/v1/chat/completions") chats.push_back(json::parse(r.body));
    ASSERT_EQ(chats.size(), 2u) << field;
    EXPECT_FALSE(chats[0].contains(field));
    ASSERT_TRUE(chats[1].contains(field));
    EXPECT_DOUBLE_EQ(chats[1][field].get<double>(), loop.retry_value);
    EXPECT_DOUBLE_EQ(loop.retry_value, mode == FakeServerMode::openai ? 0.5 : 1.1);
    // Stopped at the loop: far less than the 300 repeats the fake would have sent.
    EXPECT_GE(first_attempt_bytes, 512u) << field;
    EXPECT_LT(first_attempt_bytes, 100u * 21u) << field;
  }
}

TEST(vlm_reader_integration, a_retry_that_loops_again_ends_at_the_loop_marked_as_such) {
  FakeServerOptions server_options;
  server_options.answer.content = "Row 3: ";
  server_options.answer.loop = "again ";
  server_options.answer.loop_despite_penalty = true;
  server_options.ignore_stream = true;  // one JSON piece: the loop is found in it as well
  FakeVlmServer server(server_options);
  VlmReaderOptions options = fast_options(server);
  ReadRequest request = request_with_pages({{64, 64}});
  request.sampling.repetition_penalty = 1.05;
  ReadResult result = VlmReader(options).read(request, {});
  EXPECT_EQ(result.finish_reason, "repetition");
  EXPECT_TRUE(result.repetition.detected);
  EXPECT_TRUE(result.repetition.retry_looped);
  EXPECT_EQ(result.repetition.unit.size(), 6u);
  EXPECT_DOUBLE_EQ(result.repetition.retry_value, 1.15);  // the request's own + 0.1
  EXPECT_EQ(result.content.rfind("Row 3: again again ", 0), 0u) << result.content;
  EXPECT_EQ(result.attempts, 2);
}

TEST(vlm_reader_integration, reports_usage_as_unknown_when_the_server_sends_none) {
  FakeServerOptions server_options;
  server_options.usage = test::UsagePolicy::never;
  FakeVlmServer server(server_options);
  ReadResult result = VlmReader(fast_options(server)).read(request_with_pages({{64, 64}}), {});
  EXPECT_EQ(result.usage.prompt_tokens, -1);
  EXPECT_EQ(result.usage.completion_tokens, -1);
  EXPECT_EQ(result.content, "The answer is 42.");
}

TEST(vlm_reader_integration, downscales_a_page_over_the_pixel_cap_before_sending) {
  FakeVlmServer server;
  VlmReaderOptions options = fast_options(server);
  options.max_pixels = 200'000;
  VlmReader reader(options);
  ReadResult result = reader.read(request_with_pages({{600, 900}, {300, 400}}), {});
  ASSERT_EQ(result.images.size(), 2u);
  EXPECT_TRUE(result.images[0].downscaled);
  EXPECT_LE(static_cast<long>(result.images[0].width_px) * result.images[0].height_px, 200'000);
  EXPECT_GE(static_cast<long>(result.images[0].width_px) * result.images[0].height_px, 195'000);
  EXPECT_NEAR(static_cast<double>(result.images[0].width_px) / result.images[0].height_px,
              600.0 / 900.0, 0.01);
  EXPECT_FALSE(result.images[1].downscaled);
  const std::vector<test::RecordedImage> sent = server.requests().back().images;
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].width_px, result.images[0].width_px);  // what the server got is what we report
  EXPECT_EQ(sent[0].height_px, result.images[0].height_px);
  EXPECT_EQ(sent[1].width_px, 300);
  EXPECT_EQ(sent[1].height_px, 400);
  // The server counts image tokens from what it received, so the downscaled page costs less.
  EXPECT_EQ(result.usage.prompt_tokens, server.requests().back().prompt_tokens);
}

TEST(vlm_reader_integration, visual_tokens_are_counted_for_the_size_sent_under_the_cap) {
  FakeVlmServer server;
  VlmReaderOptions options = fast_options(server);
  options.max_pixels = 1'000'000;
  ReadResult result = VlmReader(options).read(request_with_pages({{1200, 1600}}), {});
  ASSERT_EQ(result.images.size(), 1u);
  const PixelSize expected = fit_within_pixels(1200, 1600, 1'000'000);
  EXPECT_EQ(result.images[0].width_px, expected.width_px);
  EXPECT_EQ(result.images[0].height_px, expected.height_px);
  EXPECT_EQ(server.requests().back().images[0].width_px, expected.width_px);
  EXPECT_EQ(server.requests().back().images[0].height_px, expected.height_px);
  // What the model family's processor makes of the image actually sent: within the cap's budget
  // (1e6 / 28^2 = 1275 tokens), and well under what the full-size page would have cost.
  const int64_t sent_tokens =
      count_visual_tokens("qwen2.5-vl", result.images[0].width_px, result.images[0].height_px)
          .tokens;
  const int64_t full_size_tokens = count_visual_tokens("qwen2.5-vl", 1200, 1600).tokens;
  EXPECT_LE(sent_tokens, 1'000'000 / (28 * 28));
  EXPECT_LT(sent_tokens, full_size_tokens * 6 / 10);
}

TEST(vlm_reader_integration, retries_429_after_the_servers_retry_after) {
  FakeVlmServer server;
  server.push_fault(status_fault(429, "1", "", "Rate limit reached"));
  server.push_fault(status_fault(503, "", "150", "Service busy"));
  VlmReaderOptions options = fast_options(server);
  options.model = server.model();
  auto start = Clock::now();
  ReadResult result = VlmReader(options).read(request_with_pages({{64, 64}}), {});
  double elapsed = seconds_since(start);
  EXPECT_EQ(result.content, "The answer is 42.");
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(server.chat_requests(), 3);
  EXPECT_GE(elapsed, 1.1);  // 1 s then 150 ms, as the server asked, not the 10 ms backoff
  EXPECT_LT(elapsed, 5.0);
}

TEST(vlm_reader_integration, server_errors_are_retried_a_bounded_number_of_times) {
  FakeVlmServer server;
  for (int i = 0; i < 5; ++i)
    server.push_fault(status_fault(500, "", "", "Engine crashed: worker died"));
  VlmReaderOptions options = fast_options(server);
  options.model = server.model();
  Error error = read_error(*std::make_unique<VlmReader>(options), request_with_pages({{64, 64}}));
  EXPECT_EQ(error.code(), ErrorCode::network);
  EXPECT_TRUE(contains(error.what(), "Engine crashed: worker died")) << error.what();
  EXPECT_TRUE(contains(error.what(), "HTTP 500")) << error.what();
  EXPECT_TRUE(contains(error.what(), "gave up after 3 attempt(s)")) << error.what();
  EXPECT_EQ(server.chat_requests(), 3);
}

TEST(vlm_reader_integration, a_retry_after_beyond_the_total_timeout_gives_up_at_once) {
  FakeVlmServer server;
  server.push_fault(status_fault(503, "3600", "", "Loading model"));
  VlmReaderOptions options = fast_options(server);
  options.model = server.model();
  auto start = Clock::now();
  Error error = read_error(*std::make_unique<VlmReader>(options), request_with_pages({{64, 64}}));
  EXPECT_LT(seconds_since(start), 2.0);
  EXPECT_TRUE(contains(error.what(), "total_timeout_ms")) << error.what();
  EXPECT_TRUE(contains(error.what(), "Loading model")) << error.what();
}

TEST(vlm_reader_integration, client_errors_are_not_retried_and_keep_the_servers_message) {
  for (FakeServerMode mode : {FakeServerMode::vllm, FakeServerMode::sglang}) {
    FakeServerOptions server_options;
    server_options.mode = mode;
    FakeVlmServer server(server_options);
    server.push_fault(status_fault(400, "", "", "mm_processor_kwargs: unknown key 'fps'"));
    VlmReaderOptions options = fast_options(server);
    options.model = server.model();
    Error error = read_error(*std::make_unique<VlmReader>(options), request_with_pages({{64, 64}}));
    EXPECT_EQ(error.code(), ErrorCode::server);
    EXPECT_TRUE(contains(error.what(), "mm_processor_kwargs: unknown key 'fps'")) << error.what();
    EXPECT_EQ(server.chat_requests(), 1);
  }
  FakeVlmServer server;
  VlmReaderOptions options = fast_options(server);
  options.model = "no-such-model";
  Error error = read_error(*std::make_unique<VlmReader>(options), request_with_pages({{64, 64}}));
  EXPECT_TRUE(contains(error.what(), "The model `no-such-model` does not exist.")) << error.what();
}

TEST(vlm_reader_integration, a_context_too_long_is_reported_with_our_token_count) {
  for (FakeServerMode mode : {FakeServerMode::vllm, FakeServerMode::llamacpp}) {
    FakeServerOptions server_options;
    server_options.mode = mode;
    server_options.max_context_tokens = 100;
    FakeVlmServer server(server_options);
    ReadRequest request = request_with_pages({{560, 560}});
    request.estimated_prompt_tokens = 412;
    Error error = read_error(*std::make_unique<VlmReader>(fast_options(server)), request);
    EXPECT_EQ(error.code(), ErrorCode::limit_exceeded);
    EXPECT_TRUE(contains(error.what(), "412 tokens")) << error.what();
    EXPECT_TRUE(contains(error.what(), "1 page image(s)")) << error.what();
    EXPECT_EQ(server.chat_requests(), 1);
  }
}

TEST(vlm_reader_integration, image_count_limits_are_reported_clearly) {
  FakeServerOptions server_options;
  server_options.max_images = 1;
  FakeVlmServer server(server_options);
  Error error = read_error(*std::make_unique<VlmReader>(fast_options(server)),
                           request_with_pages({{64, 64}, {64, 64}}));
  EXPECT_EQ(error.code(), ErrorCode::limit_exceeded);
  EXPECT_TRUE(contains(error.what(), "At most 1 image(s)")) << error.what();
  // A client that knows the limit refuses before sending anything.
  VlmReaderOptions options = fast_options(server);
  options.max_images = 1;
  int before = server.chat_requests();
  error =
      read_error(*std::make_unique<VlmReader>(options), request_with_pages({{64, 64}, {64, 64}}));
  EXPECT_EQ(error.code(), ErrorCode::limit_exceeded);
  EXPECT_TRUE(contains(error.what(), "at most 1 per request")) << error.what();
  EXPECT_EQ(server.chat_requests(), before);
}

TEST(vlm_reader_integration, resets_are_retried_and_a_restart_discards_the_partial_text) {
  FakeVlmServer server;
  server.push_fault(fault(FaultKind::reset_before_answer));
  server.push_fault(fault(FaultKind::reset_mid_stream, 0, "fake server failure", 4));
  Collected collected;
  ReadResult result =
      VlmReader(fast_options(server)).read(request_with_pages({{64, 64}}), collected.callbacks());
  EXPECT_EQ(result.content, "The answer is 42.");
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(collected.restarts, 1);  // text of the second attempt was shown, then withdrawn
  EXPECT_EQ(collected.content, "The answer is 42.");
}

TEST(vlm_reader_integration, broken_streams_fail_clearly_and_store_nothing_partial) {
  struct Case {
    FakeFault fault;
    ErrorCode code;
    std::string says;
  };
  std::vector<Case> cases = {
      {fault(FaultKind::error_event, 500, "CUDA error: out of memory", 3, false),
       ErrorCode::network, "CUDA error: out of memory"},
      {fault(FaultKind::error_event, 500, "scheduler aborted", 3, true), ErrorCode::network,
       "scheduler aborted"},
      {fault(FaultKind::no_done), ErrorCode::network, "no [DONE] and no finish_reason"},
      {fault(FaultKind::non_json_line, 0, "fake server failure", 3), ErrorCode::network,
       "not a JSON object"},
      {fault(FaultKind::stall_mid_stream, 0, "fake server failure", 3), ErrorCode::timeout,
       "stalled"},
      {fault(FaultKind::reset_mid_stream, 0, "fake server failure", 3), ErrorCode::network,
       "failed"},
  };
  for (FakeServerMode mode : {FakeServerMode::vllm, FakeServerMode::llamacpp}) {
    for (const Case& c : cases) {
      FakeServerOptions server_options;
      server_options.mode = mode;
      FakeVlmServer server(server_options);
      server.push_fault(c.fault);
      VlmReaderOptions options = fast_options(server);
      options.model = server.model();
      options.max_retries = 0;
      options.idle_timeout_ms = 300;
      Collected collected;
      VlmReader reader(options);
      Error error = read_error(reader, request_with_pages({{64, 64}}), collected.callbacks());
      SCOPED_TRACE(std::string(error.what()));
      EXPECT_EQ(error.code(), c.code);
      EXPECT_TRUE(contains(error.what(), c.says));
      EXPECT_TRUE(contains(error.what(), "gave up after 1 attempt(s)"));
      // The text shown while it streamed is all there is; read() returned no answer. Where the
      // stream broke early, not even the shown text is the whole answer.
      if (c.fault.kind != FaultKind::no_done) {
        EXPECT_NE(collected.content, "The answer is 42.");
      }
    }
  }
}

TEST(vlm_reader_integration, a_broken_stream_is_retried_into_a_whole_answer) {
  FakeVlmServer server;
  server.push_fault(fault(FaultKind::no_done));
  server.push_fault(fault(FaultKind::stall_mid_stream, 0, "fake server failure", 2));
  VlmReaderOptions options = fast_options(server);
  options.idle_timeout_ms = 300;
  Collected collected;
  ReadResult result =
      VlmReader(options).read(request_with_pages({{64, 64}}), collected.callbacks());
  EXPECT_EQ(result.content, "The answer is 42.");
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(collected.content, "The answer is 42.");
}

TEST(vlm_reader_integration, a_server_that_never_answers_is_bounded_and_sees_us_leave) {
  FakeVlmServer server;
  server.push_fault(fault(FaultKind::never_answer));
  server.push_fault(fault(FaultKind::never_answer));
  VlmReaderOptions options = fast_options(server);
  options.model = server.model();
  options.first_byte_timeout_ms = 300;
  options.max_retries = 1;
  auto start = Clock::now();
  Error error = read_error(*std::make_unique<VlmReader>(options), request_with_pages({{64, 64}}));
  double elapsed = seconds_since(start);
  EXPECT_EQ(error.code(), ErrorCode::timeout);
  EXPECT_TRUE(contains(error.what(), "first-byte timeout of 300 ms")) << error.what();
  EXPECT_TRUE(contains(error.what(), "gave up after 2 attempt(s)")) << error.what();
  EXPECT_GE(elapsed, 0.6);
  EXPECT_LT(elapsed, 3.0);
  EXPECT_TRUE(server.wait_for_disconnects(2, std::chrono::seconds(2)));
}

TEST(vlm_reader_integration, a_long_prefill_after_the_headers_is_judged_by_the_first_byte_timeout) {
  FakeVlmServer server;
  server.push_fault(
      fault(FaultKind::stall_mid_stream, 0, "fake server failure", 0));  // headers, then silence
  VlmReaderOptions options = fast_options(server);
  options.model = server.model();
  options.max_retries = 0;
  options.idle_timeout_ms = 100;
  options.first_byte_timeout_ms = 600;
  auto start = Clock::now();
  Error error = read_error(*std::make_unique<VlmReader>(options), request_with_pages({{64, 64}}));
  EXPECT_EQ(error.code(), ErrorCode::timeout);
  EXPECT_TRUE(contains(error.what(), "first-byte timeout of 600 ms")) << error.what();
  EXPECT_GE(seconds_since(start), 0.55);
}

TEST(vlm_reader_integration, the_total_timeout_bounds_a_read) {
  FakeVlmServer server;
  for (int i = 0; i < 3; ++i) server.push_fault(fault(FaultKind::never_answer));
  VlmReaderOptions options = fast_options(server);
  options.model = server.model();
  options.first_byte_timeout_ms = 60'000;
  options.total_timeout_ms = 500;
  auto start = Clock::now();
  Error error = read_error(*std::make_unique<VlmReader>(options), request_with_pages({{64, 64}}));
  EXPECT_EQ(error.code(), ErrorCode::timeout);
  EXPECT_TRUE(contains(error.what(), "total_timeout_ms = 500")) << error.what();
  EXPECT_LT(seconds_since(start), 1.5);
}

TEST(vlm_reader_integration, cancelling_closes_the_request_on_the_server) {
  FakeServerOptions server_options;
  server_options.answer.content = std::string(400, 'a');
  server_options.answer.chunk_bytes = 4;
  server_options.answer.chunk_delay_ms = 20;  // about two seconds of stream
  FakeVlmServer server(server_options);
  std::atomic<bool> cancel{false};
  ReadCallbacks callbacks;
  std::string shown;
  callbacks.on_content = [&](std::string_view text) {
    shown += text;
    if (shown.size() >= 8) cancel = true;
  };
  callbacks.is_cancelled = [&] { return cancel.load(); };
  auto start = Clock::now();
  Error error = read_error(*std::make_unique<VlmReader>(fast_options(server)),
                           request_with_pages({{64, 64}}), callbacks);
  EXPECT_EQ(error.code(), ErrorCode::cancelled);
  EXPECT_LT(seconds_since(start), 1.0);
  EXPECT_TRUE(server.wait_for_disconnects(1, std::chrono::seconds(2)));
  EXPECT_LT(shown.size(), 400u);
}

TEST(vlm_reader_integration, connection_refused_is_retried_then_reported) {
  int port;
  {
    FakeVlmServer closed;
    port = closed.port();
  }
  VlmReaderOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(port);
  options.model = "m";
  options.max_retries = 2;
  options.backoff_initial_ms = 10;
  Error error = read_error(*std::make_unique<VlmReader>(options), request_with_pages({{64, 64}}));
  EXPECT_EQ(error.code(), ErrorCode::network);
  EXPECT_TRUE(contains(error.what(), "127.0.0.1:" + std::to_string(port))) << error.what();
  EXPECT_TRUE(contains(error.what(), "gave up after 3 attempt(s)")) << error.what();
}

TEST(vlm_reader_integration, checks_health_the_way_each_server_offers_it) {
  {
    FakeVlmServer server;
    VlmReader reader(fast_options(server));
    ServerHealth health = reader.check_health();
    EXPECT_TRUE(health.ok) << health.message;
    EXPECT_EQ(health.endpoint, server.url() + "/health");
    server.set_loading(true);
    health = reader.check_health();
    EXPECT_FALSE(health.ok);
    EXPECT_EQ(health.http_status, 503);
    EXPECT_TRUE(contains(health.message, "Loading model")) << health.message;
  }
  {
    FakeServerOptions server_options;
    server_options.mode = FakeServerMode::ollama;
    FakeVlmServer server(server_options);
    ServerHealth health = VlmReader(fast_options(server)).check_health();
    EXPECT_TRUE(health.ok) << health.message;
    EXPECT_EQ(health.endpoint, server.url() + "/");
  }
  {
    FakeServerOptions server_options;
    server_options.mode = FakeServerMode::openai;
    server_options.api_key = "test-key";
    FakeVlmServer server(server_options);
    ServerHealth health = VlmReader(fast_options(server)).check_health();
    EXPECT_TRUE(health.ok) << health.message;
    EXPECT_EQ(health.endpoint, server.url() + "/v1/models");
  }
  int port;
  {
    FakeVlmServer closed;
    port = closed.port();
  }
  VlmReaderOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(port);
  ServerHealth health = VlmReader(options).check_health();
  EXPECT_FALSE(health.ok);
  EXPECT_EQ(health.http_status, 0);
}

TEST(vlm_reader_integration, lists_models_and_fails_clearly_without_any) {
  FakeVlmServer server;
  VlmReader reader(fast_options(server));
  std::vector<ModelInfo> models = reader.list_models();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].id, server.model());
  EXPECT_EQ(models[0].owned_by, "vllm");
  EXPECT_EQ(reader.resolve_model(), server.model());
}

TEST(vlm_reader_integration, a_page_without_an_image_is_refused_before_sending) {
  FakeVlmServer server;
  ReadRequest request = request_with_pages({{64, 64}});
  request.pages.push_back(PageInput{2, nullptr, std::nullopt, 72});
  Error error = read_error(*std::make_unique<VlmReader>(fast_options(server)), request);
  EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(error.what(), "page 2")) << error.what();
  EXPECT_EQ(server.chat_requests(), 0);
}

}  // namespace
}  // namespace glyph
