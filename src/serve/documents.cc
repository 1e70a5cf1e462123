#include "serve/documents.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "core/file.h"
#include "core/sha256.h"
#include "core/utf8.h"
#include "raster/renderer.h"
#include "tokens/page_tokens.h"
#include "tokens/tokenizer.h"
#include "tokens/visual_tokens.h"

namespace glyph::serve {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Whose visual tokens the stats count: Glyph's own model (GLM-4.1V's image processor).
constexpr const char* kVisualTokenModel = "glyph";

std::string page_file_name(int number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "page_%03d.png", number);
  return buf;
}

std::string random_suffix() {
  std::random_device device;
  return std::to_string(device()) + std::to_string(device());
}

// ".tmp-<id>-<pid>-<random>": stale when that process is gone; other names when over an hour old.
bool stale_temporary(const std::string& name, const fs::path& path) {
  auto first = name.find('-', 5);
  auto second = first == std::string::npos ? first : name.find('-', first + 1);
  if (second != std::string::npos) {
    long pid = std::strtol(name.c_str() + first + 1, nullptr, 10);
    if (pid > 0) return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
  }
  std::error_code ec;
  auto age = fs::file_time_type::clock::now() - fs::last_write_time(path, ec);
  return !ec && age > std::chrono::hours(1);
}

json meta_to_json(const RenderedDocument& d) {
  json pages = json::array();
  for (const auto& p : d.pages)
    pages.push_back({{"number", p.number},
                     {"width_px", p.width_px},
                     {"height_px", p.height_px},
                     {"char_start", p.char_start},
                     {"char_end", p.char_end},
                     {"visual_tokens", p.visual_tokens}});
  return {{"id", d.id},
          {"render_ms", d.render_ms},
          {"pages", pages},
          {"warnings", d.warnings},
          {"stats",
           {{"characters", d.stats.characters},
            {"text_tokens", d.stats.text_tokens},
            {"visual_tokens", d.stats.visual_tokens},
            {"compression_ratio", d.stats.compression_ratio},
            {"tokenizer", d.stats.tokenizer},
            {"visual_token_model", d.stats.visual_token_model}}}};
}

void meta_from_json(const json& j, RenderedDocument& d) {
  d.render_ms = j.value("render_ms", 0.0);
  for (const auto& p : j.at("pages"))
    d.pages.push_back({p.at("number").get<int>(), p.at("width_px").get<int>(),
                       p.at("height_px").get<int>(), p.at("char_start").get<std::size_t>(),
                       p.at("char_end").get<std::size_t>(), p.at("visual_tokens").get<int>()});
  d.warnings = j.value("warnings", std::vector<std::string>{});
  const auto& s = j.at("stats");
  d.stats.characters = s.at("characters").get<std::int64_t>();
  d.stats.text_tokens = s.at("text_tokens").get<std::int64_t>();
  d.stats.visual_tokens = s.at("visual_tokens").get<std::int64_t>();
  d.stats.compression_ratio = s.at("compression_ratio").get<double>();
  d.stats.tokenizer = s.value("tokenizer", "");
  d.stats.visual_token_model = s.value("visual_token_model", "");
}

}  // namespace

std::string RenderedDocument::page_path(int number) const {
  return dir + "/" + page_file_name(number);
}

DocumentStore::DocumentStore(std::string root_dir, std::size_t max_bytes)
    : root_(std::move(root_dir)), max_bytes_(max_bytes) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw Error(ErrorCode::io, "cannot create " + root_ + ": " + ec.message());
  // What an earlier run left: temporary folders of dead processes go; documents are counted,
  // the most recently written counting as the most recently used.
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0) {
      if (stale_temporary(name, entry.path())) fs::remove_all(entry.path(), ec);
      continue;
    }
    if (!is_valid_id(name) || !fs::exists(entry.path() / "meta.json", ec)) continue;
    std::size_t bytes = 0;
    for (const auto& f : fs::directory_iterator(entry.path(), ec))
      if (f.is_regular_file(ec)) bytes += f.file_size(ec);
    found.emplace_back(fs::last_write_time(entry.path() / "meta.json", ec), name);
    disk_[name].bytes = bytes;
    disk_bytes_ += bytes;
  }
  std::sort(found.begin(), found.end());
  for (const auto& [time, name] : found) disk_[name].last_used = ++clock_;
  std::lock_guard lock(mutex_);
  evict();
}

std::size_t DocumentStore::disk_bytes() {
  std::lock_guard lock(mutex_);
  return disk_bytes_;
}

void DocumentStore::touch(const std::string& id) {
  if (auto it = disk_.find(id); it != disk_.end()) it->second.last_used = ++clock_;
}

void DocumentStore::evict() {
  while (disk_bytes_ > max_bytes_) {
    auto victim = disk_.end();
    for (auto it = disk_.begin(); it != disk_.end(); ++it) {
      auto held = recent_.find(it->first);
      if (held != recent_.end() && held->second.use_count() > 1) continue;  // a request has it
      if (victim == disk_.end() || it->second.last_used < victim->second.last_used) victim = it;
    }
    if (victim == disk_.end()) return;
    std::error_code ec;
    fs::remove_all(root_ + "/" + victim->first, ec);
    if (auto held = recent_.find(victim->first); held != recent_.end()) {
      recent_bytes_ -=
          std::min(recent_bytes_, held->second->text.size() + held->second->layout_json.size());
      recent_.erase(held);
    }
    disk_bytes_ -= std::min(disk_bytes_, victim->second.bytes);
    disk_.erase(victim);
  }
}

void DocumentStore::remember(const std::shared_ptr<const RenderedDocument>& d) {
  std::size_t bytes = d->text.size() + d->layout_json.size();
  if (recent_bytes_ + bytes > kMemoryBytes || recent_.size() >= 64) {
    recent_.clear();
    recent_bytes_ = 0;
  }
  if (bytes > kMemoryBytes / 2) return;  // reread from disk when needed
  if (recent_.emplace(d->id, d).second) recent_bytes_ += bytes;
}

DocumentStore::~DocumentStore() = default;

bool DocumentStore::is_valid_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string DocumentStore::font_digest(const std::string& spec) {
  std::string path = parse_font_ref(spec).path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing:" + path;
  std::string key = path + "|" + std::to_string(st.st_size) + "|" + std::to_string(st.st_mtime);
  {
    std::lock_guard lock(mutex_);
    if (auto it = font_digests_.find(key); it != font_digests_.end()) return it->second;
  }
  std::string digest = sha256_hex(read_file(path));
  std::lock_guard lock(mutex_);
  font_digests_[key] = digest;
  return digest;
}

std::string DocumentStore::cache_key(std::string_view text, const std::string& config_json,
                                     const RenderConfig& config) {
  Sha256 h;
  auto field = [&](std::string_view bytes) {
    h.update(std::to_string(bytes.size()));
    h.update(":");
    h.update(bytes);
  };
  field("glyph-render-v1");
  field(text);
  field(config_json);
  field(font_digest(config.font_path));
  for (const auto& f : config.fallback_fonts) field(font_digest(f));
  return h.hex_digest().substr(0, 32);
}

std::shared_ptr<const Renderer> DocumentStore::renderer_for(const RenderConfig& config) {
  std::string key = config_to_json(config);
  {
    std::lock_guard lock(mutex_);
    if (auto it = renderers_.find(key); it != renderers_.end()) return it->second;
  }
  // max-text-tokens-per-page needs the tokenizer to count each page's text.
  auto renderer = std::make_shared<const Renderer>(
      config, config.max_text_tokens_per_page > 0 ? text_token_counter(shared_tokenizer())
                                                  : TextTokenCounter{});
  std::lock_guard lock(mutex_);
  if (renderers_.size() >= 16) renderers_.clear();  // a few configs in use at a time
  return renderers_.emplace(key, renderer).first->second;
}

void DocumentStore::publish(const RenderedDocument& d) {
  if (!index_) return;
  // The render stands without the index: other hosts will not find it, which they report.
  try {
    index_->publish(d.id, {d.text, d.config_json, d.warnings});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serve: publishing document %s failed: %s\n", d.id.c_str(), e.what());
  }
}

std::shared_ptr<const RenderedDocument> DocumentStore::open(std::string_view id) {
  try {
    return open_local(id);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found || !index_ || !is_valid_id(id)) throw;
  }
  // Rendered on another host: render it here from its text and config.
  auto indexed = index_->lookup(std::string(id));
  if (!indexed) throw Error(ErrorCode::not_found, "no document with id '" + std::string(id) + "'");
  RenderConfig config = parse_config_json(indexed->config_json, "/");
  auto d = render(indexed->text, config, indexed->warnings);
  if (d->id != id)
    throw Error(ErrorCode::internal, "document " + std::string(id) +
                                         " was rendered on a host whose fonts differ from " +
                                         "this host's (here its text and config give " + d->id +
                                         "): install the same fonts on every host");
  return d;
}

std::shared_ptr<const RenderedDocument> DocumentStore::open_local(std::string_view id) {
  if (!is_valid_id(id))
    throw Error(ErrorCode::not_found, "no document with id '" + std::string(id) + "'");
  {
    std::lock_guard lock(mutex_);
    if (auto it = recent_.find(std::string(id)); it != recent_.end()) {
      touch(it->first);
      return it->second;
    }
  }
  std::string dir = root_ + "/" + std::string(id);
  if (!fs::exists(dir + "/meta.json"))
    throw Error(ErrorCode::not_found, "no document with id '" + std::string(id) + "'");
  auto d = std::make_shared<RenderedDocument>();
  d->id = std::string(id);
  d->dir = dir;
  d->cached = true;
  d->text = read_file(dir + "/text.txt");
  d->config_json = read_file(dir + "/config.json");
  d->config = parse_config_json(d->config_json, "/");
  d->layout_json = read_file(dir + "/layout.json");
  try {
    meta_from_json(json::parse(read_file(dir + "/meta.json")), *d);
  } catch (const json::exception& e) {
    throw Error(ErrorCode::io, dir + "/meta.json: damaged: " + e.what());
  }
  std::lock_guard lock(mutex_);
  if (!disk_.count(d->id)) {
    std::error_code ec;
    std::size_t bytes = 0;
    for (const auto& f : fs::directory_iterator(dir, ec))
      if (f.is_regular_file(ec)) bytes += f.file_size(ec);
    disk_[d->id].bytes = bytes;
    disk_bytes_ += bytes;
  }
  touch(d->id);
  remember(d);
  return d;
}

std::shared_ptr<const RenderedDocument> DocumentStore::render(
    std::string_view prepared_text, const RenderConfig& config, std::vector<std::string> warnings,
    const std::function<void(std::size_t, std::size_t)>& on_progress) {
  std::string config_json = config_to_json(config);
  std::string id = cache_key(prepared_text, config_json, config);
  try {
    auto cached = open_local(id);
    auto copy = std::make_shared<RenderedDocument>(*cached);
    copy->cached = true;
    if (index_) {
      try {
        if (!index_->refresh(id)) publish(*copy);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: refreshing document %s failed: %s\n", id.c_str(), e.what());
      }
    }
    if (on_progress) on_progress(copy->pages.size(), copy->pages.size());
    return copy;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
  }

  auto start = std::chrono::steady_clock::now();
  auto renderer = renderer_for(config);
  std::u32string text = decode_utf8(prepared_text).text;
  std::string tmp =
      root_ + "/.tmp-" + id + "-" + std::to_string(::getpid()) + "-" + random_suffix();
  RenderOptions options;
  options.threads = 1;  // the service runs requests in parallel already
  if (on_progress) options.on_page_written = on_progress;
  RenderResult result;
  try {
    result = renderer->render_to_directory(text, tmp, options);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }

  auto d = std::make_shared<RenderedDocument>();
  d->id = id;
  d->config = config;
  d->config_json = config_json;
  d->text = std::string(prepared_text);
  d->layout_json = read_file(result.layout_json_path);
  d->warnings = std::move(warnings);
  if (result.missing_glyph_chars > 0)
    d->warnings.push_back(std::to_string(result.missing_glyph_chars) +
                          " characters have no glyph in any configured font (drawn as boxes)");
  // Only the pages' sizes and offsets: the lines (most of the layout) are skipped, not parsed
  // into a tree several times the text's size.
  json layout = json::parse(d->layout_json, [](int, json::parse_event_t event, json& parsed) {
    return !(event == json::parse_event_t::key && parsed == "lines");
  });
  for (const auto& p : layout.at("pages")) {
    PageInfo info;
    info.number = p.at("page").get<int>();
    info.width_px = p.at("width").get<int>();
    info.height_px = p.at("height").get<int>();
    info.char_start = p.at("char_start").get<std::size_t>();
    info.char_end = p.at("char_end").get<std::size_t>();
    info.visual_tokens = static_cast<int>(
        count_visual_tokens(kVisualTokenModel, info.width_px, info.height_px).tokens);
    d->stats.visual_tokens += info.visual_tokens;
    d->pages.push_back(info);
  }
  d->stats.characters = static_cast<std::int64_t>(text.size());
  d->stats.visual_token_model = kVisualTokenModel;
  try {
    const Tokenizer& tokenizer = shared_tokenizer();
    d->stats.text_tokens = static_cast<std::int64_t>(tokenizer.count(prepared_text));
    d->stats.tokenizer = "qwen3";
  } catch (const Error& e) {
    d->warnings.push_back(std::string("text tokens not counted: ") + e.what());
  }
  if (d->stats.text_tokens > 0 && d->stats.visual_tokens > 0)
    d->stats.compression_ratio =
        static_cast<double>(d->stats.text_tokens) / static_cast<double>(d->stats.visual_tokens);
  d->render_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  write_file(tmp + "/text.txt", d->text);
  write_file(tmp + "/config.json", config_json);
  write_file(tmp + "/meta.json", meta_to_json(*d).dump());
  std::string final_dir = root_ + "/" + id;
  std::error_code ec;
  fs::rename(tmp, final_dir, ec);
  if (ec) {
    // Another request rendered the same document meanwhile: keep theirs.
    fs::remove_all(tmp, ec);
  }
  d->dir = final_dir;
  std::size_t bytes = 0;
  for (const auto& f : fs::directory_iterator(final_dir, ec))
    if (f.is_regular_file(ec)) bytes += f.file_size(ec);
  std::unique_lock lock(mutex_);
  if (auto [it, added] = disk_.try_emplace(id); added) {
    it->second.bytes = bytes;
    disk_bytes_ += bytes;
  }
  touch(id);
  remember(d);
  evict();
  lock.unlock();
  publish(*d);
  return d;
}

}  // namespace glyph::serve
