// Golden cases of line breaking and pagination (tests/golden/line_breaking.txt), one per line.
#include <gtest/gtest.h>

#include <sstream>

#include "config/config.h"
#include "core/file.h"
#include "core/utf8.h"
#include "font/font.h"
#include "layout/layout.h"
#include "support/paths.h"

namespace glyph {
namespace {

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out += c == 'n' ? '\n' : c == 'f' ? '\f' : c == 's' ? ' ' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!s.empty() && s.back() == sep) parts.push_back("");
  return parts;
}

RenderConfig config_of(const std::string& spec) {
  const std::vector<std::string> parts = split(spec, ',');
  RenderConfig config = preset_config(parts.at(0));
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
    if (key == "page-width")
      config.page_width_pt = std::stod(value);
    else if (key == "page-height")
      config.page_height_pt = std::stod(value);
    else if (key == "space-after")
      config.space_after_pt = std::stod(value);
    else if (key == "newline-markup" && value == "red") {
      config.newline.line_break = false;
      config.newline.inline_text = U" \\n ";
    } else
      ADD_FAILURE() << "unknown golden key " << key;
  }
  return config;
}

TEST(line_breaking_golden, cases) {
  const std::string file = read_file(test::source_dir() + "/tests/golden/line_breaking.txt");
  std::istringstream in(file);
  std::string row;
  int cases = 0;
  while (std::getline(in, row)) {
    if (row.empty() || row[0] == '#') continue;
    const std::vector<std::string> fields = split(row, ';');
    ASSERT_EQ(fields.size(), 3u) << row;
    const RenderConfig config = config_of(fields[0]);
    const FontSet fonts(config);
    const std::u32string text = decode_utf8(unescape(fields[1])).text;
    const Layout layout = lay_out(text, config, fonts);
    std::string got;
    for (size_t p = 0; p < layout.pages.size(); ++p) {
      if (p > 0) got += "||";
      for (size_t l = 0; l < layout.pages[p].lines.size(); ++l) {
        const LineLayout& line = layout.pages[p].lines[l];
        const std::u32string t = drawn_text(line, text, config);
        if (l > 0) got += "|";
        got += encode_utf8(t);
      }
    }
    std::string expected = fields[2];
    // In expectations "\n" is the drawn newline marker text, written literally.
    EXPECT_EQ(got, expected) << "case: " << row;
    ++cases;
  }
  EXPECT_GE(cases, 10);
}

}  // namespace
}  // namespace glyph
