// The routes of the service (docs/api.md): request JSON and multipart are parsed here into native
// types, the library does the work, and the results become JSON here. Nothing below this file
// sees JSON from a client.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "ingest/ingest.h"
#include "read/endpoint_pool.h"
#include "reflow/reflow.h"
#include "serve/answer.h"
#include "serve/documents.h"
#include "serve/redis_documents.h"
#include "serve/serve.h"
#include "serve/web_assets.h"
#include "serve/worker_pool.h"
#include "text/prepare.h"

namespace glyph::serve {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---- requests, as native types -------------------------------------------------------------

struct ServiceRequest {
  std::string text;
  bool has_text = false;
  std::string upload;       // bytes of an uploaded document
  std::string upload_name;  // sanitized, only a hint of the format; never a path
  bool has_upload = false;
  std::string document_id;
  std::string file_name;    // a label the client gives the document (jobs keep it); not a path
  std::string mode = "qa";  // qa | summary | extract | render (jobs only)
  std::string question;
  std::vector<std::string> fields;
  json config = json::object();  // overrides: Glyph config keys, plus "preset"
  bool stream = false;
  AskBudget budget;                // "budget", "selector"
  std::vector<std::string> given;  // the fields the client sent, by name

  bool has(std::string_view name) const {
    return std::find(given.begin(), given.end(), name) != given.end();
  }
};

// Nesting deeper than this in a JSON body is refused before anything recursive reads it.
constexpr int kMaxJsonDepth = 32;

// Keeps [A-Za-z0-9._-], drops leading dots, at most 100 bytes: what remains only tells the
// ingester the extension. Uploads are stored by generated id, never by this name.
std::string sanitize_filename(std::string_view name) {
  auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name = name.substr(slash + 1);
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (ok) out += c;
    if (out.size() >= 100) break;
  }
  while (!out.empty() && out.front() == '.') out.erase(0, 1);
  return out.empty() ? "upload" : out;
}

[[noreturn]] void bad_request(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, message);
}

std::string checked_file_name(std::string name) {
  if (name.size() > 255) bad_request("\"file_name\" is longer than 255 bytes");
  if (!is_valid_utf8(name)) bad_request("\"file_name\" is not valid UTF-8");
  return name;
}

std::vector<std::string> parse_fields(const json& value, const char* where) {
  std::vector<std::string> out;
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    std::size_t start = 0;
    while (start <= s.size()) {
      auto comma = s.find(',', start);
      auto item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      while (!item.empty() && item.front() == ' ') item.erase(0, 1);
      while (!item.empty() && item.back() == ' ') item.pop_back();
      if (!item.empty()) out.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else if (value.is_array()) {
    for (const auto& f : value) {
      if (!f.is_string()) bad_request(std::string(where) + ": \"fields\" must hold strings");
      out.push_back(f.get<std::string>());
    }
  } else if (!value.is_null()) {
    bad_request(std::string(where) + ": \"fields\" must be an array of strings");
  }
  if (out.size() > 100) bad_request("\"fields\": at most 100 fields");
  return out;
}

void read_json_fields(const json& body, ServiceRequest& r) {
  if (!body.is_object()) bad_request("the request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    r.given.push_back(key);
    if (key == "text") {
      if (!value.is_string()) bad_request("\"text\" must be a string");
      r.text = value.get<std::string>();
      r.has_text = true;
    } else if (key == "document_id") {
      if (!value.is_string()) bad_request("\"document_id\" must be a string");
      r.document_id = value.get<std::string>();
    } else if (key == "file_name") {
      if (!value.is_string()) bad_request("\"file_name\" must be a string");
      r.file_name = checked_file_name(value.get<std::string>());
    } else if (key == "mode") {
      if (!value.is_string()) bad_request("\"mode\" must be a string");
      r.mode = value.get<std::string>();
    } else if (key == "question") {
      if (!value.is_string()) bad_request("\"question\" must be a string");
      r.question = value.get<std::string>();
    } else if (key == "fields") {
      r.fields = parse_fields(value, "body");
    } else if (key == "config") {
      if (!value.is_object()) bad_request("\"config\" must be an object of config keys");
      r.config = value;
    } else if (key == "stream") {
      if (!value.is_boolean()) bad_request("\"stream\" must be true or false");
      r.stream = value.get<bool>();
    } else if (key == "budget") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1)
        bad_request("\"budget\" must be a positive whole number of visual tokens");
      r.budget.budget = value.get<int64_t>();
    } else if (key == "selector") {
      if (!value.is_string() || (value != "retrieval" && value != "model"))
        bad_request("\"selector\" must be \"retrieval\" or \"model\"");
      r.budget.selector = value.get<std::string>();
    } else {
      bad_request("unknown field \"" + key +
                  "\" (expected text, document_id, file_name, mode, question, fields, config, "
                  "stream, budget, selector)");
    }
  }
}

// Refuses JSON nested deeper than kMaxJsonDepth, scanning the text without recursion (the parser
// and the value's destructor recurse once per level: 100,000 '[' overflowed the stack).
void check_json_depth(std::string_view text, const std::string& what) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        bad_request(what + " is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

// A multipart text field must be UTF-8: it reaches JSON (stored jobs, answers) as it is.
const std::string& utf8_field(const UploadPart& part) {
  if (!is_valid_utf8(part.content)) {
    auto bad = decode_utf8(part.content).first_bad_offset;
    bad_request("multipart field \"" + part.name +
                "\" is not valid UTF-8 (first ill-formed byte at " + std::to_string(bad) +
                "); send text as UTF-8, or upload it as a \"file\"");
  }
  return part.content;
}

json parse_json_text(std::string_view text, const std::string& what) {
  check_json_depth(text, what);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // a syntax error, a number too large for a double, ...
    bad_request(what + " is not valid JSON: " + e.what());
  }
}

ServiceRequest parse_request(const HttpRequest& http) {
  ServiceRequest r;
  if (!http.parts.empty() || http.content_type.find("multipart/form-data") == 0) {
    for (const auto& part : http.parts) {
      r.given.push_back(part.name);
      if (part.name != "file") utf8_field(part);
      if (part.name == "file") {
        if (r.has_upload) bad_request("multipart: more than one \"file\" part");
        r.upload = part.content;
        r.upload_name = sanitize_filename(part.filename);
        r.has_upload = true;
        if (r.file_name.empty()) {
          // The label: the client's name without its folders, when it is short UTF-8.
          std::string_view label = part.filename;
          if (auto slash = label.find_last_of("/\\"); slash != std::string_view::npos)
            label = label.substr(slash + 1);
          r.file_name =
              label.size() <= 255 && is_valid_utf8(label) ? std::string(label) : r.upload_name;
        }
      } else if (part.name == "text") {
        r.text = part.content;
        r.has_text = true;
      } else if (part.name == "document_id") {
        r.document_id = part.content;
      } else if (part.name == "file_name") {
        r.file_name = checked_file_name(part.content);
      } else if (part.name == "mode") {
        r.mode = part.content;
      } else if (part.name == "question") {
        r.question = part.content;
      } else if (part.name == "fields") {
        r.fields = parse_fields(part.content.find('[') == 0
                                    ? parse_json_text(part.content, "multipart field \"fields\"")
                                    : json(part.content),
                                "multipart");
      } else if (part.name == "config") {
        if (!part.content.empty()) {
          r.config = parse_json_text(part.content, "multipart field \"config\"");
          if (!r.config.is_object()) bad_request("\"config\" must be an object of config keys");
        }
      } else if (part.name == "stream") {
        r.stream = part.content == "true" || part.content == "1";
      } else if (part.name == "budget") {
        try {
          size_t used = 0;
          const long long value = std::stoll(part.content, &used);
          if (used != part.content.size() || value < 1) throw std::invalid_argument("budget");
          r.budget.budget = value;
        } catch (const std::exception&) {
          bad_request("\"budget\" must be a positive whole number of visual tokens");
        }
      } else if (part.name == "selector") {
        if (part.content != "retrieval" && part.content != "model")
          bad_request("\"selector\" must be \"retrieval\" or \"model\"");
        r.budget.selector = part.content;
      } else {
        bad_request(
            "multipart: unknown part \"" + part.name +
            "\" (expected file, text, document_id, file_name, mode, question, fields, config, "
            "stream)");
      }
    }
  } else {
    if (http.body.empty()) bad_request("empty request body: send JSON or multipart/form-data");
    read_json_fields(parse_json_text(http.body, "the request body"), r);
  }
  int sources = (r.has_text ? 1 : 0) + (r.has_upload ? 1 : 0) + (r.document_id.empty() ? 0 : 1);
  if (sources == 0)
    bad_request("give the document: \"text\", an uploaded \"file\", or \"document_id\"");
  if (sources > 1) bad_request("give only one of \"text\", \"file\" and \"document_id\"");
  if (!r.document_id.empty() && !r.config.empty())
    bad_request("\"config\" applies when rendering; a \"document_id\" is already rendered");
  return r;
}

void validate_task(const ServiceRequest& r, bool allow_render) {
  if (r.mode == "render") {
    if (!allow_render) bad_request("\"mode\": \"render\" is for jobs; use POST /v1/render");
    return;
  }
  AskMode mode = parse_ask_mode(r.mode);
  if (mode == AskMode::qa && r.question.empty()) bad_request("mode qa needs a \"question\"");
  if (r.question.size() > 100000) bad_request("\"question\" is longer than 100000 bytes");
}

// ---- config ---------------------------------------------------------------------------------

bool font_allowed(const std::string& spec) {
  std::error_code ec;
  auto path = fs::weakly_canonical(parse_font_ref(spec).path, ec);
  if (ec) return false;
  auto s = path.string();
  for (const char* root : {"/usr/share/fonts/", "/usr/local/share/fonts/"})
    if (s.rfind(root, 0) == 0) return true;
  return false;
}

RenderConfig resolve_config(const json& overrides, std::string_view utf8_text,
                            std::vector<std::string>& warnings) {
  std::string preset = "auto";
  if (overrides.contains("preset")) {
    if (!overrides["preset"].is_string()) bad_request("config \"preset\" must be a string");
    preset = overrides["preset"].get<std::string>();
  }
  RenderConfig base =
      preset == "auto" ? config_for_text(decode_utf8(utf8_text).text) : preset_config(preset);
  json merged = json::parse(config_to_json(base));
  for (const auto& [key, value] : overrides.items()) {
    if (key == "preset") continue;
    if (key == "font-path" || key == "fallback-fonts") {
      // Only fonts installed on the system: a client must not make the server open any file.
      std::vector<std::string> specs;
      if (value.is_string())
        specs.push_back(value.get<std::string>());
      else if (value.is_array())
        for (const auto& v : value)
          if (v.is_string()) specs.push_back(v.get<std::string>());
      for (const auto& s : specs)
        if (!font_allowed(s))
          throw Error(ErrorCode::invalid_config,
                      "config \"" + key + "\": only fonts under /usr/share/fonts may be used");
    }
    merged[key] = value;
  }
  RenderConfig config = parse_config_json(merged.dump(), "/", &warnings, "config");
  if (config.dpi > 300)
    throw Error(ErrorCode::limit_exceeded, "config \"dpi\": at most 300 in the service");
  return config;
}

// `?layout=`: whether a document's answer carries the full layout (every line's box and
// characters). Absent: the route's default.
bool want_layout(const HttpRequest& http, bool by_default) {
  std::string v = http.query_value("layout");
  if (v.empty()) return by_default;
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  bad_request("\"layout\" must be 1, true, 0 or false");
}

// The fonts installed on the system (the only ones a client may name), as font-path values.
json installed_fonts() {
  json fonts = json::array();
  std::vector<std::string> paths;
  for (const char* root : {"/usr/share/fonts", "/usr/local/share/fonts"}) {
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto ext = it->path().extension().string();
      for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (ext == ".ttf" || ext == ".otf" || ext == ".ttc") paths.push_back(it->path().string());
      if (paths.size() >= 5000) break;
    }
  }
  std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    return fs::path(a).filename() < fs::path(b).filename();
  });
  for (const auto& p : paths)
    if (is_valid_utf8(p)) fonts.push_back({{"path", p}, {"name", fs::path(p).stem().string()}});
  return fonts;
}

// ---- responses ------------------------------------------------------------------------------

// Invalid UTF-8 can only come from a bug here (the edges validate); never a 500 for it.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse json_response(const json& body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = dump(body);
  return r;
}

std::size_t count_code_points(std::string_view utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

std::string page_url(const std::string& id, int number) {
  return "/v1/documents/" + id + "/pages/" + std::to_string(number) + ".png";
}

json document_json(const RenderedDocument& d, bool with_layout) {
  json pages = json::array();
  for (const auto& p : d.pages)
    pages.push_back({{"number", p.number},
                     {"url", page_url(d.id, p.number)},
                     {"width_px", p.width_px},
                     {"height_px", p.height_px},
                     {"char_start", p.char_start},
                     {"char_end", p.char_end},
                     {"visual_tokens", p.visual_tokens}});
  json out = {{"document_id", d.id},
              {"cached", d.cached},
              {"pages", pages},
              {"stats",
               {{"characters", d.stats.characters},
                {"pages", d.pages.size()},
                {"text_tokens", d.stats.text_tokens},
                {"visual_tokens", d.stats.visual_tokens},
                {"compression_ratio", d.stats.compression_ratio},
                {"tokenizer", d.stats.tokenizer},
                {"visual_token_model", d.stats.visual_token_model},
                {"render_ms", d.render_ms},
                {"cached", d.cached}}},
              {"config", json::parse(d.config_json)},
              {"warnings", d.warnings}};
  if (with_layout) out["layout"] = json::parse(d.layout_json);
  return out;
}

json answer_json(const RenderedDocument& d, AskMode mode, const AskResult& a) {
  json citations = json::array();
  for (const auto& c : a.citations)
    citations.push_back({{"page", c.page},
                         {"url", page_url(d.id, c.page)},
                         {"box_px", {c.x0_px, c.y0_px, c.x1_px, c.y1_px}},
                         {"char_start", c.char_start},
                         {"char_end", c.char_end},
                         {"quote", c.quote}});
  json out = {{"document_id", d.id},
              {"mode", to_string(mode)},
              {"answer", a.answer},
              {"reasoning", a.reasoning},
              {"citations", citations},
              {"model", a.model},
              {"finish_reason", a.finish_reason},
              {"usage",
               {{"prompt_tokens", a.prompt_tokens},
                {"completion_tokens", a.completion_tokens},
                {"text_tokens", d.stats.text_tokens},
                {"visual_tokens", d.stats.visual_tokens}}},
              {"seconds", a.seconds}};
  if (a.repetition.detected) out["repetition"] = a.repetition;
  if (a.plan) out["plan"] = *a.plan;
  if (mode == AskMode::extract) {
    json fields = json::object();
    for (const auto& [k, v] : a.fields) fields[k] = v;
    out["fields"] = fields;
  }
  return out;
}

std::string sse_event(std::string_view event, const json& data) {
  return "event: " + std::string(event) + "\ndata: " + dump(data) + "\n\n";
}

// One progress over a whole job that never goes back, with its stage named: rendering the
// pages, rasterizing them for the reader, reading them. Each stage has its share of 0..1; a
// stage that runs again (the OCR reader reads the likely regions, then whole pages) holds the
// progress where it is until it passes it. 1 is left to the finished job.
class JobStages {
 public:
  JobStages(JobProgress& progress, bool render_only)
      : progress_(progress), render_only_(render_only) {}

  void report(std::string_view stage, std::size_t done, std::size_t total) {
    double from = 0.5, to = 0.99;
    std::string note;
    std::string count = std::to_string(done) + " of " + std::to_string(total);
    if (stage == "rendering") {
      from = 0, to = render_only_ ? 0.99 : 0.3;
      note = "rendering page " + count;
    } else if (stage == "rasterizing") {
      from = 0.3, to = 0.5;
      note = done < total ? "preparing page images, " + count : "reading";
    } else {
      note = total ? "reading, image " + count : "reading";
    }
    double f = from + (to - from) * (total ? double(done) / double(total) : 0.0);
    std::lock_guard lock(mutex_);
    best_ = std::max(best_, f);
    progress_.report(best_, note);
  }

 private:
  JobProgress& progress_;
  bool render_only_;
  std::mutex mutex_;
  double best_ = 0;
};

json job_json(const JobRecord& r, bool with_result) {
  json out = {{"id", r.id},
              {"state", to_string(r.state)},
              {"progress", r.progress},
              {"progress_note", r.progress_note},
              {"attempts", r.attempts},
              {"max_attempts", r.max_attempts},
              {"created_ms", r.created_ms},
              {"updated_ms", r.updated_ms},
              {"url", "/v1/jobs/" + r.id}};
  if (r.finished_ms) out["finished_ms"] = r.finished_ms;
  // What the job was asked, so that a list of jobs can say which document and which question.
  try {
    json request = json::parse(r.request);
    out["mode"] = request.value("mode", "qa");
    for (const char* key : {"question", "fields", "document_id", "file_name"})
      if (request.contains(key)) out[key] = request[key];
  } catch (const json::exception&) {
  }
  if (with_result) {
    out["result"] = r.result ? json::parse(*r.result) : json(nullptr);
    if (!out.contains("document_id") && out["result"].is_object() &&
        out["result"].contains("document_id"))
      out["document_id"] = out["result"]["document_id"];
  }
  if (!r.error_code.empty() && r.state != JobState::done)
    out["error"] = {{"code", r.error_code}, {"message", r.error_message}};
  else
    out["error"] = nullptr;
  return out;
}

}  // namespace

// ---- the service ----------------------------------------------------------------------------

struct Service::Impl {
  ServeOptions options;
  std::unique_ptr<JobQueue> queue;
  std::unique_ptr<DocumentStore> store;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<HttpServer> http;

  // The answer to a repeated render, ready to send (document id + layout flag → body), at most
  // kCachedBodiesBytes in all.
  static constexpr std::size_t kCachedBodiesBytes = 64u << 20;
  std::mutex cached_bodies_mutex;
  std::unordered_map<std::string, std::string> cached_bodies;
  std::size_t cached_bodies_bytes = 0;

  // Slots: at most options.max_renders renders and options.max_asks reads at once, so that
  // memory stays within the formula of docs/serve.md.
  struct Slots {
    std::mutex mutex;
    std::condition_variable freed;
    int running = 0;
  };
  Slots render_slots, ask_slots;

  class Slot {
   public:
    // Waits for one of `limit` slots up to wait_ms (<0: as long as it takes), polling
    // `cancelled`; past the wait, 503 with Retry-After.
    Slot(Slots& slots, int limit, const char* doing, int wait_ms,
         const std::function<bool()>& cancelled)
        : slots_(slots) {
      std::unique_lock lock(slots_.mutex);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
      while (slots_.running >= limit) {
        if (cancelled && cancelled())
          throw Error(ErrorCode::cancelled, std::string("cancelled while waiting: ") + doing);
        if (wait_ms >= 0 && std::chrono::steady_clock::now() >= deadline)
          throw HttpStatusError(503, ErrorCode::limit_exceeded,
                                "the server is " + std::string(doing) + " " +
                                    std::to_string(limit) + " documents already; try again shortly",
                                5);
        slots_.freed.wait_for(lock, std::chrono::milliseconds(100));
      }
      ++slots_.running;
    }
    ~Slot() {
      {
        std::lock_guard lock(slots_.mutex);
        --slots_.running;
      }
      slots_.freed.notify_one();
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    Slots& slots_;
  };

  // An ask holds every page image of its document in memory: bounded per document, and by slots.
  std::shared_ptr<Slot> ask_slot(const RenderedDocument& doc, int wait_ms,
                                 const std::function<bool()>& cancelled) {
    double pixels = 0;
    for (const auto& p : doc.pages) pixels += double(p.width_px) * double(p.height_px);
    if (pixels > double(options.max_ask_pixels))
      throw Error(ErrorCode::limit_exceeded,
                  "the document's " + std::to_string(doc.pages.size()) + " pages hold " +
                      std::to_string(static_cast<long long>(pixels)) +
                      " pixels; a question reads at most " +
                      std::to_string(options.max_ask_pixels) +
                      " (the server's --max-ask-pixels): lower \"dpi\" or ask about a part");
    return std::make_shared<Slot>(ask_slots, options.max_asks, "reading", wait_ms, cancelled);
  }

  std::string document_body(const RenderedDocument& doc, bool with_layout) {
    if (!doc.cached) return dump(document_json(doc, with_layout));
    std::string key = doc.id + (with_layout ? "+layout" : "");
    {
      std::lock_guard lock(cached_bodies_mutex);
      if (auto it = cached_bodies.find(key); it != cached_bodies.end()) return it->second;
    }
    std::string body = dump(document_json(doc, with_layout));
    std::lock_guard lock(cached_bodies_mutex);
    if (body.size() > kCachedBodiesBytes / 4) return body;
    if (cached_bodies_bytes + body.size() > kCachedBodiesBytes) {
      cached_bodies.clear();
      cached_bodies_bytes = 0;
    }
    if (cached_bodies.emplace(key, body).second) cached_bodies_bytes += body.size();
    return body;
  }

  IngestOptions ingest_options() const {
    // A document may not inflate past what its text limit needs: a zip bomb stops at this many
    // bytes of XML, not after it filled the memory.
    IngestOptions o;
    o.limits.max_input_bytes = options.limits.max_body_bytes;
    std::size_t xml = std::max<std::size_t>(std::size_t{16} << 20, 4 * options.max_text_chars);
    o.limits.max_entry_bytes = std::min(o.limits.max_entry_bytes, xml);
    o.limits.max_uncompressed_bytes = std::min(o.limits.max_uncompressed_bytes, 2 * xml);
    return o;
  }

  void check_text_size(std::string_view text) const {
    std::size_t chars = count_code_points(text);
    if (chars > options.max_text_chars)
      throw Error(ErrorCode::limit_exceeded,
                  "the document has " + std::to_string(chars) +
                      " characters; this server renders " + std::to_string(options.max_text_chars) +
                      " at most (the server's --max-text-chars): split it");
  }

  void check_page_size(const RenderConfig& config) const {
    double w = std::ceil(config.page_width_pt * config.dpi / 72.0);
    double h = std::ceil(config.page_height_pt * config.dpi / 72.0);
    if (w * h > static_cast<double>(options.max_page_pixels))
      throw Error(
          ErrorCode::limit_exceeded,
          "a page of " + std::to_string(static_cast<long>(w)) + "x" +
              std::to_string(static_cast<long>(h)) + " pixels is over this server's " +
              std::to_string(options.max_page_pixels) +
              " pixels per page (the server's --max-page-pixels): lower \"dpi\" or \"page-size\"");
  }

  // Text → rendered document (or the cached one); `progress` gets (pages written, pages);
  // `cancelled` stops it between two pages. `wait_ms` bounds the wait for a render slot (<0: no
  // bound).
  std::shared_ptr<const RenderedDocument> render(
      const ServiceRequest& r, const std::function<void(std::size_t, std::size_t)>& progress,
      const std::function<bool()>& cancelled, int wait_ms) {
    if (!r.document_id.empty()) return store->open(r.document_id);
    std::vector<std::string> warnings;
    Document doc;
    if (r.has_upload) {
      doc = ingest_bytes(r.upload, r.upload_name, ingest_options());
      warnings = std::move(doc.warnings);
    } else {
      doc.text = r.text;
      doc.format = "txt";
    }
    const std::string& text = doc.text;
    if (text.empty()) bad_request("the document has no text to render");
    check_text_size(text);
    RenderConfig config = resolve_config(r.config, text, warnings);
    check_page_size(config);
    // The config's "reflow" (auto for the presets): docs/reflow.md.
    PreparedDocument prepared_document = prepare_document(doc, config);
    const PreparedText& prepared = prepared_document.prepare;
    if (prepared.invalid_utf8)
      warnings.push_back(std::to_string(prepared.invalid_utf8) +
                         " ill-formed UTF-8 sequences replaced by U+FFFD (first at byte " +
                         std::to_string(prepared.first_invalid_offset) + ")");
    if (prepared.controls_dropped)
      warnings.push_back(std::to_string(prepared.controls_dropped) + " control characters dropped");
    if (prepared.made_visible)
      warnings.push_back(std::to_string(prepared.made_visible) +
                         " invisible formatting characters written as <U+XXXX>");
    std::string utf8 = encode_utf8(prepared_document.text);
    Slot slot(render_slots, options.max_renders, "rendering", wait_ms, cancelled);
    try {
      return store->render(
          utf8, config, std::move(warnings), [&](std::size_t done, std::size_t total) {
            if (cancelled && cancelled())
              throw Error(ErrorCode::cancelled, "the render was cancelled (the client went away)");
            if (progress && total) progress(done, total);
          });
    } catch (const Error& e) {
      // A font (or face index) that the config names and the system lacks or cannot read is a
      // bad config value.
      if (e.code() == ErrorCode::not_found || e.code() == ErrorCode::unsupported)
        throw Error(ErrorCode::invalid_config, e.what());
      throw;
    }
  }

  // Runs a job from its stored request: the worker pool's runner.
  std::string run_job(const JobClaim& claim, JobProgress& progress) {
    ServiceRequest r;
    read_json_fields(parse_json_text(claim.request, "job " + claim.id + " request"), r);
    bool render_only = r.mode == "render";
    JobStages stages(progress, render_only);
    // The renderer calls back between pages on its writing thread; what that throws stops the
    // render (workers joined, nothing stored), so a cancelled job stops at the next page.
    auto doc = render(
        r,
        [&](std::size_t done, std::size_t total) {
          stages.report("rendering", done, total);
          progress.check();
        },
        [&] { return progress.cancelled(); }, -1);
    progress.check();
    if (render_only) return dump(document_json(*doc, false));
    stages.report("rasterizing", 0, doc->pages.size());
    AskMode mode = parse_ask_mode(r.mode);
    auto slot = ask_slot(*doc, -1, [&] { return progress.cancelled(); });
    AskCallbacks callbacks;
    callbacks.is_cancelled = [&] { return progress.cancelled(); };
    callbacks.on_progress = [&](std::string_view stage, std::size_t done, std::size_t total) {
      stages.report(stage, done, total);
    };
    AskResult a =
        run_ask(*doc, *store, mode, r.question, r.fields, options.reader, callbacks, r.budget);
    progress.check();
    return dump(answer_json(*doc, mode, a));
  }

  json stored_request(const ServiceRequest& r, std::string text) {
    json j = {{"mode", r.mode}};
    if (!r.document_id.empty())
      j["document_id"] = r.document_id;
    else
      j["text"] = std::move(text);
    if (!r.file_name.empty()) j["file_name"] = r.file_name;
    if (!r.question.empty()) j["question"] = r.question;
    if (!r.fields.empty()) j["fields"] = r.fields;
    if (!r.config.empty()) j["config"] = r.config;
    // The reading's budget travels with the job: a worker reads it as /v1/ask would.
    if (r.budget.budget) j["budget"] = *r.budget.budget;
    if (r.has("selector")) j["selector"] = r.budget.selector;
    return j;
  }

  void add_routes() {
    auto& h = *http;
    for (const auto& asset : web_assets()) {
      std::string path = asset.path == "/index.html" ? "/" : std::string(asset.path);
      h.route("GET", path, [&asset](const HttpRequest&) {
        HttpResponse r;
        r.content_type = std::string(asset.content_type);
        r.body = std::string(asset.bytes);
        r.headers.emplace_back("Cache-Control", "no-cache");
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'self'; img-src 'self' blob: data:; "
                               "style-src 'self'; script-src 'self'; connect-src 'self'");
        return r;
      });
    }

    h.route("GET", "/health", [this](const HttpRequest&) {
      json body = {
          {"status", "ok"},
          {"version", GLYPH_VERSION},
          {"workers", options.workers},
          {"reader",
           options.reader.url.empty() && options.reader.backend != "openai" ? "ocr" : "openai"},
          {"queue", options.queue_url.empty() ? "sqlite" : "redis"}};
      if (options.reader.endpoints) {
        // How many VLM servers answer their checks (not where they are: /health is open).
        int up = 0;
        auto servers = options.reader.endpoints->status();
        for (const auto& e : servers) up += e.up;
        body["vlm_servers"] = {{"up", up}, {"total", servers.size()}};
      }
      // A load balancer takes a host whose queue is out of reach out of rotation.
      try {
        queue->pending();
      } catch (const Error& e) {
        // Where the queue lives is not for unauthenticated callers: the log has it.
        std::fprintf(stderr, "serve: health: %s\n", e.what());
        body["status"] = "unavailable";
        body["error"] = {{"code", to_string(e.code())},
                         {"message", "the job queue is unreachable"}};
        return json_response(body, 503);
      }
      return json_response(body);
    });

    h.route("GET", "/v1/presets", [](const HttpRequest&) {
      json presets = json::array();
      for (std::string_view name : preset_names())
        presets.push_back(
            {{"name", name}, {"config", json::parse(config_to_json(preset_config(name)))}});
      return json_response(
          {{"presets", presets},
           {"default", "auto"},
           {"note", "\"auto\" picks by script: zh with CJK ideographs, else en (docs/config.md)"}});
    });

    h.route("GET", "/v1/fonts", [](const HttpRequest&) {
      return json_response({{"fonts", installed_fonts()}});
    });

    h.route("POST", "/v1/render", [this](const HttpRequest& http) {
      bool with_layout = want_layout(http, false);
      ServiceRequest r = parse_request(http);
      for (const char* field : {"mode", "question", "fields", "stream", "budget", "selector"})
        if (r.has(field))
          bad_request(std::string("\"") + field +
                      "\" does not apply to /v1/render (use /v1/ask or /v1/jobs)");
      auto doc = render(
          r, {}, [&http] { return http.client_gone(); }, options.render_wait_ms);
      HttpResponse response;
      response.body = document_body(*doc, with_layout);
      return response;
    });

    h.route("GET", "/v1/documents/([0-9a-f]{32})", [this](const HttpRequest& http) {
      bool with_layout = want_layout(http, false);
      auto doc = store->open(http.captures[0]);
      HttpResponse response;
      response.body = document_body(*doc, with_layout);
      return response;
    });

    h.route("GET", R"(/v1/documents/([0-9a-f]{32})/pages/([0-9]{1,6})\.png)",
            [this](const HttpRequest& http) {
              auto doc = store->open(http.captures[0]);
              int n = std::stoi(http.captures[1]);
              if (n < 1 || n > static_cast<int>(doc->pages.size()))
                throw Error(ErrorCode::not_found, "document " + doc->id + " has pages 1.." +
                                                      std::to_string(doc->pages.size()) + ", not " +
                                                      std::to_string(n));
              HttpResponse r;
              r.content_type = "image/png";
              r.body = read_file(doc->page_path(n));
              r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
              return r;
            });

    h.route("POST", "/v1/ask", [this](const HttpRequest& http) {
      ServiceRequest r = parse_request(http);
      validate_task(r, false);
      AskMode mode = parse_ask_mode(r.mode);
      auto gone = http.cancelled;
      auto client_gone = [gone] { return gone && gone->load(); };
      auto doc = render(r, {}, client_gone, options.render_wait_ms);
      auto slot = ask_slot(*doc, options.render_wait_ms, client_gone);
      if (!r.stream) {
        AskCallbacks callbacks;
        callbacks.is_cancelled = client_gone;
        AskResult a =
            run_ask(*doc, *store, mode, r.question, r.fields, options.reader, callbacks, r.budget);
        return json_response(answer_json(*doc, mode, a));
      }
      HttpResponse response;
      response.content_type = "text/event-stream";
      response.headers.emplace_back("Cache-Control", "no-cache");
      response.headers.emplace_back("X-Accel-Buffering", "no");
      ReaderSettings reader = options.reader;
      DocumentStore* documents = store.get();
      ServiceRequest request = r;
      response.stream = [doc, mode, request, reader, documents, client_gone,
                         slot](const StreamWriter& write) {
        std::atomic<bool> failed{false};
        std::mutex writing;  // progress may come from a reader's thread
        auto send = [&](std::string_view event, const json& data) {
          std::lock_guard lock(writing);
          if (!failed && !write(sse_event(event, data))) failed = true;
        };
        send("document", document_json(*doc, false));
        AskCallbacks callbacks;
        callbacks.on_content = [&](std::string_view t) { send("content", {{"text", t}}); };
        callbacks.on_reasoning = [&](std::string_view t) { send("reasoning", {{"text", t}}); };
        callbacks.on_restart = [&] { send("restart", json::object()); };
        callbacks.on_replace = [&](std::string_view content, std::string_view reasoning) {
          send("replace", {{"content", content}, {"reasoning", reasoning}});
        };
        // The loop watching the socket raises client_gone as soon as the client hangs up, even
        // while the reader has nothing to write.
        callbacks.is_cancelled = [&] { return failed.load() || client_gone(); };
        callbacks.on_progress = [&](std::string_view stage, std::size_t done, std::size_t total) {
          send("progress", {{"stage", stage}, {"done", done}, {"total", total}});
        };
        try {
          AskResult a = run_ask(*doc, *documents, mode, request.question, request.fields, reader,
                                callbacks, request.budget);
          json full = answer_json(*doc, mode, a);
          send("usage", full["usage"]);
          send("done", full);
        } catch (const Error& e) {
          send("error", {{"error", {{"code", to_string(e.code())}, {"message", e.what()}}}});
        } catch (const std::exception& e) {
          send("error", {{"error", {{"code", "internal"}, {"message", e.what()}}}});
        }
      };
      return response;
    });

    h.route("POST", "/v1/jobs", [this](const HttpRequest& http) {
      ServiceRequest r = parse_request(http);
      validate_task(r, true);
      if (r.stream) bad_request("\"stream\" does not apply to jobs; poll GET /v1/jobs/{id}");
      if (queue->pending() >= options.max_queued_jobs)
        throw HttpStatusError(
            429, ErrorCode::limit_exceeded,
            "the queue holds " + std::to_string(options.max_queued_jobs) +
                " jobs waiting or running (the server's --max-queued-jobs); try again later",
            10);
      std::string text = r.text;
      if (r.has_upload) {
        // Read the upload now so a bad file is refused at once; the job stores its text.
        text = ingest_bytes(r.upload, r.upload_name, ingest_options()).text;
      }
      if (!text.empty()) check_text_size(text);
      if (!is_valid_utf8(text)) text = encode_utf8(decode_utf8(text).text);
      if (!r.document_id.empty()) store->open(r.document_id);  // not_found now, not later
      std::string id = queue->enqueue(r.mode, dump(stored_request(r, std::move(text))));
      pool->notify();
      auto record = queue->get(id);
      return json_response(job_json(*record, true), 202);
    });

    h.route("GET", "/v1/jobs/([0-9a-f]{1,64})", [this](const HttpRequest& http) {
      auto record = queue->get(http.captures[0]);
      if (!record) throw Error(ErrorCode::not_found, "no job with id '" + http.captures[0] + "'");
      return json_response(job_json(*record, true));
    });

    h.route("GET", "/v1/jobs", [this](const HttpRequest& http) {
      std::optional<JobState> state;
      if (auto s = http.query_value("state"); !s.empty()) {
        state = parse_job_state(s);
        if (!state) bad_request("\"state\" must be queued, running, done, failed or cancelled");
      }
      std::size_t limit = 50;
      if (http.query.end() != std::find_if(http.query.begin(), http.query.end(),
                                           [](const auto& kv) { return kv.first == "limit"; })) {
        auto l = http.query_value("limit");
        bool digits = !l.empty() && l.size() <= 4 &&
                      std::all_of(l.begin(), l.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits || std::stoul(l) < 1 || std::stoul(l) > 1000)
          bad_request("\"limit\" must be a number from 1 to 1000, not \"" + l + "\"");
        limit = std::stoul(l);
      }
      json jobs = json::array();
      for (const auto& r : queue->list(limit, state)) jobs.push_back(job_json(r, false));
      return json_response({{"jobs", jobs}});
    });

    h.route("DELETE", "/v1/jobs/([0-9a-f]{1,64})", [this](const HttpRequest& http) {
      bool cancelled = queue->cancel(http.captures[0]);
      auto record = queue->get(http.captures[0]);
      json out = job_json(*record, false);
      out["cancelled"] = cancelled;
      return json_response(out);
    });
  }
};

Service::Service(ServeOptions options) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  s.options = std::move(options);
  std::error_code ec;
  fs::create_directories(s.options.data_dir, ec);
  if (ec)
    throw Error(ErrorCode::io,
                "cannot create the data folder " + s.options.data_dir + ": " + ec.message());
  if (s.options.reader.urls.size() > 1 && !s.options.reader.endpoints)
    s.options.reader.endpoints = std::make_shared<EndpointPool>(
        EndpointPoolOptions{.urls = s.options.reader.urls,
                            .api_key = s.options.reader.api_key,
                            .max_in_flight = s.options.reader.max_per_url,
                            .health_interval_ms = s.options.reader.health_interval_ms});
  if (s.options.reader.cache_dir.empty())
    s.options.reader.cache_dir = s.options.data_dir + "/ocr-cache";
  s.queue = open_job_queue(
      s.options.queue_url.empty() ? s.options.data_dir + "/queue.db" : s.options.queue_url,
      s.options.queue);
  s.store =
      std::make_unique<DocumentStore>(s.options.data_dir + "/documents", s.options.cache_max_bytes);
  // Hosts sharing a Redis queue share the documents too: any host serves any page.
  if (!s.options.queue_url.empty())
    s.store->set_index(std::make_shared<RedisDocumentIndex>(s.options.queue_url));
  s.http = std::make_unique<HttpServer>(s.options.limits, s.options.http_threads);
  if (!s.options.api_key.empty()) s.http->require_api_key(s.options.api_key, {"/health"});
  s.add_routes();
  Impl* impl = impl_.get();
  s.pool = std::make_unique<WorkerPool>(
      *s.queue, [impl](const JobClaim& c, JobProgress& p) { return impl->run_job(c, p); },
      WorkerPoolOptions{.workers = s.options.workers,
                        // Every minute, or twice per keep time when that is shorter (>= 1 s).
                        .purge_ms = static_cast<int>(std::clamp<std::int64_t>(
                            s.options.queue.keep_finished_ms / 2, 1000, 60000))});
}

Service::~Service() {
  stop();
  if (impl_->pool) impl_->pool->stop();
}

int Service::bind() {
  return impl_->http->bind(impl_->options.host, impl_->options.port);
}

void Service::run() {
  impl_->http->listen();
  impl_->pool->stop();
}

void Service::stop() {
  impl_->http->stop();
}

}  // namespace glyph::serve
