// The web page's files, embedded at build time from web/ (cmake/embed_web.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace glyph::serve {

struct WebAsset {
  std::string_view path;  // "/index.html", "/app.js", ...
  std::string_view content_type;
  std::string_view bytes;
};

const std::vector<WebAsset>& web_assets();

}  // namespace glyph::serve
