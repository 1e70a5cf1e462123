// The on-disk cache of recognized images: one JSON file per image, named by its content hash.
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/sha256.h"
#include "image/image.h"
#include "read/ocr_detail.h"

namespace glyph {

namespace {
// Bumped whenever what is stored, or how recognition is done, changes.
constexpr int kCacheFormat = 1;
}  // namespace

std::string ocr_cache_key(const PageImage& image, const OcrOptions& options, double image_dpi) {
  Sha256 hash;
  const std::string header =
      "glyph-ocr/" + std::to_string(kCacheFormat) + "/" + tesseract_version() + "/" +
      options.language + "/" + std::to_string(effective_upscale(options, image_dpi)) + "/" +
      std::to_string(image_dpi) + "/" + std::to_string(options.page_segmentation_mode) + "/" +
      std::to_string(image.width_px) + "x" + std::to_string(image.height_px) + "x" +
      std::to_string(image.channels) + "\n";
  hash.update(header);
  hash.update(image.pixels.data(), image.pixels.size());
  return hash.hex_digest();
}

namespace detail {
namespace {

nlohmann::json box_json(const PixelBox& box) {
  return {box.left_px, box.top_px, box.right_px, box.bottom_px};
}

PixelBox box_from(const nlohmann::json& j) {
  PixelBox box;
  box.left_px = j.at(0).get<int>();
  box.top_px = j.at(1).get<int>();
  box.right_px = j.at(2).get<int>();
  box.bottom_px = j.at(3).get<int>();
  return box;
}

std::string path_for(const std::string& dir, const std::string& key) {
  return (std::filesystem::path(dir) / key.substr(0, 2) / (key + ".json")).string();
}

}  // namespace

std::string ocr_cache_dir(const OcrOptions& options) {
  if (!options.cache_dir.empty()) return options.cache_dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return (std::filesystem::path(xdg) / "glyph" / "ocr").string();
  if (const char* home = std::getenv("HOME"); home && *home)
    return (std::filesystem::path(home) / ".cache" / "glyph" / "ocr").string();
  return {};
}

std::optional<std::vector<OcrLine>> load_cached_lines(const std::string& dir,
                                                      const std::string& key) {
  if (dir.empty()) return std::nullopt;
  const std::string path = path_for(dir, key);
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(read_file(path));
    if (j.at("format").get<int>() != kCacheFormat || j.at("key").get<std::string>() != key)
      return std::nullopt;
    std::vector<OcrLine> lines;
    for (const auto& jl : j.at("lines")) {
      OcrLine line;
      line.text = jl.at("text").get<std::string>();
      line.box = box_from(jl.at("box"));
      line.confidence = jl.at("confidence").get<float>();
      for (const auto& jw : jl.at("words")) {
        OcrWord word;
        word.text = jw.at("text").get<std::string>();
        word.box = box_from(jw.at("box"));
        word.confidence = jw.at("confidence").get<float>();
        line.words.push_back(std::move(word));
      }
      lines.push_back(std::move(line));
    }
    return lines;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged or foreign file: recognize again and overwrite it
  }
}

void store_cached_lines(const std::string& dir, const std::string& key,
                        const std::vector<OcrLine>& lines) {
  if (dir.empty()) return;
  nlohmann::json jlines = nlohmann::json::array();
  for (const auto& line : lines) {
    nlohmann::json jwords = nlohmann::json::array();
    for (const auto& word : line.words) {
      jwords.push_back(
          {{"text", word.text}, {"box", box_json(word.box)}, {"confidence", word.confidence}});
    }
    jlines.push_back({{"text", line.text},
                      {"box", box_json(line.box)},
                      {"confidence", line.confidence},
                      {"words", std::move(jwords)}});
  }
  const nlohmann::json j = {{"format", kCacheFormat}, {"key", key}, {"lines", std::move(jlines)}};
  try {
    const std::string path = path_for(dir, key);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_file(path, j.dump());
  } catch (const std::exception&) {
    // A read-only or full disk only costs speed next time.
  }
}

}  // namespace detail
}  // namespace glyph
