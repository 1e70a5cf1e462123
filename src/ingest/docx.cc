// DOCX → text: libzip reads the archive from memory, pugixml parses the parts.
//
// Safety: entry names are only looked up, never used as paths; the entry count is capped before
// reading; every byte inflated is counted against per-entry and total caps while reading (the
// sizes an archive declares are not trusted); duplicate names are refused; an XML part with a
// DOCTYPE is refused (pugixml never expands entities, and a DOCX never needs a DTD); element
// nesting is capped so that walking the tree cannot exhaust the stack.
//
// What comes out: paragraphs one per line; w:br and w:cr as line breaks; w:tab as a tab; list
// items with their marker ("1.", "a)", "•") computed from numbering.xml and indented two spaces
// per level; tables one row per line, cells joined by " | "; text boxes; footnote and endnote
// references as "[n]" with the notes listed at the end; headers and footers only when asked.
// Headings (a paragraph whose style styles.xml names "heading N" or "Title", or gives an outline
// level; without styles.xml, a style id "HeadingN" or "Title") are marked "# " to "######### ".
// Empty paragraphs leave one blank line at most.
// Blocks (Document::blocks): each body paragraph a heading, list_item (numbered) or paragraph,
// each table row a table_row; each line of the rest (headers, notes, footers) a paragraph.
// Numbering a paragraph style gives (its numPr, or that of the style it is based on) applies to
// its paragraphs, as Word's "List Number" and "List Bullet" styles number them.
// Limits: a level linked to a style only from numbering.xml (w:lvl/w:pStyle) is not followed;
// tracked deletions are dropped and insertions kept (the document as accepted).
#include <zip.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "ingest/detail.h"

namespace glyph::detail {
namespace {

std::string_view local_name(const pugi::xml_node& node) {
  std::string_view name = node.name();
  const size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

// An attribute by local name (w:val, r:id, ...).
std::string_view attr(const pugi::xml_node& node, std::string_view local) {
  for (const pugi::xml_attribute& a : node.attributes()) {
    std::string_view name = a.name();
    const size_t colon = name.find(':');
    if ((colon == std::string_view::npos ? name : name.substr(colon + 1)) == local)
      return a.value();
  }
  return {};
}

// A decimal attribute value clamped to [lo, hi]; fallback when it is not a number.
int to_int(std::string_view text, int fallback, int lo, int hi) {
  const std::string s(text);
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str()) return fallback;
  return static_cast<int>(std::clamp<long>(v, lo, hi));
}

pugi::xml_node child(const pugi::xml_node& node, std::string_view local) {
  for (const pugi::xml_node& c : node.children()) {
    if (local_name(c) == local) return c;
  }
  return {};
}

class ZipReader {
 public:
  ZipReader(std::string_view bytes, std::string where, const IngestLimits& limits)
      : where_(std::move(where)), limits_(limits) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    if (!source) fail_zip(error);
    // Owned from here on, so that a throw below (too many entries, duplicates) still frees it.
    archive_.reset(zip_open_from_source(source, ZIP_RDONLY, &error));
    if (!archive_) {
      zip_source_free(source);
      fail_zip(error);
    }
    zip_error_fini(&error);
    const zip_int64_t count = zip_get_num_entries(archive_.get(), 0);
    if (count < 0 || static_cast<zip_uint64_t>(count) > limits.max_zip_entries) {
      throw Error(ErrorCode::limit_exceeded, where_ + ": the archive has " + std::to_string(count) +
                                                 " entries, over the limit of " +
                                                 std::to_string(limits.max_zip_entries));
    }
    for (zip_int64_t i = 0; i < count; ++i) {
      const char* name = zip_get_name(archive_.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
      if (!name) continue;
      if (!index_.emplace(name, static_cast<zip_uint64_t>(i)).second) {
        throw Error(ErrorCode::invalid_input,
                    where_ + ": the archive has two entries named '" + std::string(name) +
                        "' (a DOCX never does; refusing an ambiguous file)");
      }
    }
  }
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  bool has(const std::string& name) const { return index_.count(name) != 0; }

  // The entry inflated in memory, or nullopt when absent. Counts every byte against the caps.
  std::optional<std::string> read(const std::string& name) {
    const auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    zip_file_t* file = zip_fopen_index(archive_.get(), it->second, 0);
    if (!file) {
      const zip_error_t* error = zip_get_error(archive_.get());
      const int code = zip_error_code_zip(error);
      throw Error(code == ZIP_ER_NOPASSWD || code == ZIP_ER_WRONGPASSWD ? ErrorCode::unsupported
                                                                        : ErrorCode::invalid_input,
                  where_ + ": cannot open entry '" + name +
                      "': " + zip_error_strerror(zip_get_error(archive_.get())));
    }
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> closer(file, zip_fclose);
    std::string data;
    char buf[1 << 16];
    for (;;) {
      const zip_int64_t got = zip_fread(file, buf, sizeof buf);
      if (got < 0) {
        throw Error(ErrorCode::invalid_input,
                    where_ + ": entry '" + name + "' is damaged: " + zip_file_strerror(file));
      }
      if (got == 0) break;
      total_bytes_ += static_cast<size_t>(got);
      if (data.size() + static_cast<size_t>(got) > limits_.max_entry_bytes) {
        throw Error(ErrorCode::limit_exceeded,
                    where_ + ": entry '" + name + "' inflates past the limit of " +
                        std::to_string(limits_.max_entry_bytes) + " bytes (a zip bomb?)");
      }
      if (total_bytes_ > limits_.max_uncompressed_bytes) {
        throw Error(ErrorCode::limit_exceeded,
                    where_ + ": the entries read inflate past the limit of " +
                        std::to_string(limits_.max_uncompressed_bytes) + " bytes (a zip bomb?)");
      }
      data.append(buf, static_cast<size_t>(got));
    }
    return data;
  }

 private:
  [[noreturn]] void fail_zip(zip_error_t& error) {
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw Error(ErrorCode::invalid_input, where_ + ": not a readable zip archive: " + message);
  }

  std::string where_;
  const IngestLimits& limits_;
  std::unique_ptr<zip_t, void (*)(zip_t*)> archive_{nullptr, zip_discard};
  std::unordered_map<std::string, zip_uint64_t> index_;
  size_t total_bytes_ = 0;
};

// A numPr: the list (numId; "0" means none) and the level (-1: not given).
struct StyleNumbering {
  std::string num_id;
  int ilvl = -1;
};

struct ListLevel {
  std::string format = "decimal";  // w:numFmt
  std::string text = "%1.";        // w:lvlText
  int start = 1;
};

std::string to_roman(int n, bool upper_case) {
  static const std::pair<int, const char*> kTable[] = {
      {1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
      {40, "xl"},  {10, "x"},   {9, "ix"},  {5, "v"},    {4, "iv"},  {1, "i"}};
  if (n <= 0 || n > 3999) return std::to_string(n);
  std::string out;
  for (const auto& [value, letters] : kTable) {
    while (n >= value) {
      out += letters;
      n -= value;
    }
  }
  if (upper_case) {
    for (char& c : out) c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string to_letters(int n, bool upper_case) {
  if (n <= 0) return std::to_string(n);
  // Word repeats the letter: a..z, aa..zz, aaa...
  const char letter = static_cast<char>((upper_case ? 'A' : 'a') + (n - 1) % 26);
  return std::string(static_cast<size_t>(std::min((n - 1) / 26 + 1, 8)), letter);
}

std::string format_number(int n, const std::string& format) {
  if (format == "lowerLetter") return to_letters(n, false);
  if (format == "upperLetter") return to_letters(n, true);
  if (format == "lowerRoman") return to_roman(n, false);
  if (format == "upperRoman") return to_roman(n, true);
  return std::to_string(n);
}

// Each line of the text outside the blocks found so far (headers, notes, footers) becomes a
// paragraph block, so that the blocks cover the text.
void add_line_blocks(Document& doc) {
  std::vector<TextBlock> all;
  size_t at = 0;
  auto lines_up_to = [&](size_t end) {
    while (at < end) {
      const size_t newline = doc.text.find('\n', at);
      const size_t line_end = std::min(newline == std::string::npos ? end : newline, end);
      if (line_end > at) all.push_back({at, line_end, BlockKind::paragraph});
      at = line_end + 1;
    }
    at = end;
  };
  for (const TextBlock& b : doc.blocks) {
    lines_up_to(b.begin);
    all.push_back(b);
    at = b.end;
  }
  lines_up_to(doc.text.size());
  doc.blocks = std::move(all);
}

class DocxText {
 public:
  DocxText(std::string where, const IngestLimits& limits)
      : where_(std::move(where)), limits_(limits) {}

  // Parses an XML part in place (data must outlive the returned document).
  pugi::xml_document parse(std::string& data, const std::string& part) {
    pugi::xml_document doc;
    const unsigned flags = pugi::parse_default | pugi::parse_ws_pcdata_single | pugi::parse_doctype;
    const pugi::xml_parse_result result =
        doc.load_buffer_inplace(data.data(), data.size(), flags, pugi::encoding_auto);
    if (!result) {
      throw Error(ErrorCode::invalid_input, where_ + ": " + part + ": XML error at byte " +
                                                std::to_string(result.offset) + ": " +
                                                result.description());
    }
    for (const pugi::xml_node& node : doc.children()) {
      if (node.type() == pugi::node_doctype) {
        throw Error(
            ErrorCode::invalid_input,
            where_ + ": " + part +
                ": has a DOCTYPE (entity declarations are never expanded; a DOCX has none)");
      }
    }
    return doc;
  }

  void load_numbering(const pugi::xml_node& root) {
    std::map<std::string, std::vector<ListLevel>> abstract;
    for (const pugi::xml_node& node : root.children()) {
      if (local_name(node) != "abstractNum") continue;
      std::vector<ListLevel>& levels = abstract[std::string(attr(node, "abstractNumId"))];
      for (const pugi::xml_node& lvl : node.children()) {
        if (local_name(lvl) != "lvl") continue;
        const int ilvl = to_int(attr(lvl, "ilvl"), -1, -1, 10);
        if (ilvl < 0 || ilvl > 9) continue;
        if (levels.size() <= static_cast<size_t>(ilvl))
          levels.resize(static_cast<size_t>(ilvl) + 1);
        ListLevel& level = levels[static_cast<size_t>(ilvl)];
        if (auto n = child(lvl, "start")) level.start = to_int(attr(n, "val"), 1, 0, 1000000);
        if (auto n = child(lvl, "numFmt")) level.format = attr(n, "val");
        if (auto n = child(lvl, "lvlText")) level.text = attr(n, "val");
      }
    }
    for (const pugi::xml_node& node : root.children()) {
      if (local_name(node) != "num") continue;
      const pugi::xml_node ref = child(node, "abstractNumId");
      const auto it = abstract.find(std::string(attr(ref, "val")));
      if (it != abstract.end()) lists_[std::string(attr(node, "numId"))] = it->second;
    }
  }

  // Heading levels of the paragraph styles: outline level + 1, or N of a name "heading N", or 1
  // for "Title".
  void load_styles(const pugi::xml_node& root) {
    for (const pugi::xml_node& style : root.children()) {
      if (local_name(style) != "style" || attr(style, "type") != "paragraph") continue;
      int level = 0;
      if (const pugi::xml_node outline = child(child(style, "pPr"), "outlineLvl"))
        level = to_int(attr(outline, "val"), -1, -1, 9) + 1;
      if (level > 9) level = 0;  // outline level 9 is body text
      if (level == 0) level = level_of_name(attr(child(style, "name"), "val"), "heading ");
      const std::string id(attr(style, "styleId"));
      if (level > 0) heading_levels_[id] = level;
      // List numbering given by the style (Word's "List Number", "List Bullet"), and the style
      // it is based on, which may give it instead.
      if (const pugi::xml_node num_pr = child(child(style, "pPr"), "numPr")) {
        StyleNumbering& numbering = style_numbering_[id];
        if (const pugi::xml_node num_id = child(num_pr, "numId"))
          numbering.num_id = std::string(attr(num_id, "val"));
        if (const pugi::xml_node ilvl = child(num_pr, "ilvl"))
          numbering.ilvl = to_int(attr(ilvl, "val"), 0, -1, 10);
      }
      if (const pugi::xml_node based_on = child(style, "basedOn"))
        based_on_[id] = std::string(attr(based_on, "val"));
    }
  }

  // The numbering a paragraph style gives, through its basedOn chain; empty num_id when none.
  StyleNumbering style_numbering(std::string_view style_id) const {
    StyleNumbering found;
    std::string id(style_id);
    for (int depth = 0; depth < 16 && !id.empty(); ++depth) {  // bounded: a cycle ends here
      if (const auto it = style_numbering_.find(id); it != style_numbering_.end()) {
        if (found.num_id.empty()) found.num_id = it->second.num_id;
        if (found.ilvl < 0) found.ilvl = it->second.ilvl;
        if (!found.num_id.empty() && found.ilvl >= 0) break;
      }
      const auto base = based_on_.find(id);
      id = base == based_on_.end() ? "" : base->second;
    }
    return found;
  }

  void load_notes(const pugi::xml_node& root, std::map<std::string, std::string>& notes) {
    for (const pugi::xml_node& note : root.children()) {
      const std::string_view kind = attr(note, "type");
      if (!kind.empty() && kind != "normal") continue;  // separators
      std::string text;
      block_container(note, text, 1, " ");
      notes[std::string(attr(note, "id"))] = text;
    }
  }

  // Paragraphs and tables of a container (body, cell, text box, note, header), separated by sep.
  void block_container(const pugi::xml_node& node, std::string& out, size_t depth,
                       std::string_view sep) {
    check_depth(depth);
    for (const pugi::xml_node& c : node.children()) {
      const std::string_view name = local_name(c);
      if (name == "p") {
        separate(out, sep);
        const size_t begin = out.size();
        const BlockKind kind = paragraph(c, out, depth + 1);
        if (&out == blocks_of_ && out.size() > begin) blocks.push_back({begin, out.size(), kind});
        // Empty paragraphs used as spacing leave one blank line at most.
        if (out.size() == begin && sep == "\n" && out.size() >= 2 && out[out.size() - 2] == '\n')
          out.pop_back();
      } else if (name == "tbl") {
        separate(out, sep);
        table(c, out, depth + 1);
      } else if (name == "sdt") {
        block_container(child(c, "sdtContent"), out, depth + 1, sep);
      } else if (name == "customXml" || name == "ins" || name == "moveTo") {
        block_container(c, out, depth + 1, sep);
      }
    }
  }

  std::map<std::string, std::string> footnotes, endnotes;
  std::vector<std::string> footnote_refs, endnote_refs;
  // The blocks of the text written into *blocks_of_ (the body), offsets into it.
  std::vector<TextBlock> blocks;
  const std::string* blocks_of_ = nullptr;

 private:
  void check_depth(size_t depth) const {
    if (depth > limits_.max_nesting_depth) {
      throw Error(ErrorCode::limit_exceeded, where_ + ": XML elements nested deeper than " +
                                                 std::to_string(limits_.max_nesting_depth));
    }
  }

  static void separate(std::string& out, std::string_view sep) {
    if (!out.empty()) out += sep;
  }

  // "heading 2" → 2 for prefix "heading "; "Title" → 1; else 0. Case-insensitive.
  static int level_of_name(std::string_view name, std::string_view prefix) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "title") return 1;
    if (lower.size() == prefix.size() + 1 && lower.compare(0, prefix.size(), prefix) == 0 &&
        lower.back() >= '1' && lower.back() <= '9')
      return lower.back() - '0';
    return 0;
  }

  int heading_level(const pugi::xml_node& p_pr) const {
    if (const pugi::xml_node outline = child(p_pr, "outlineLvl")) {
      const int level = to_int(attr(outline, "val"), -1, -1, 9) + 1;
      if (level > 0 && level <= 9) return level;  // 9 is "body text"
    }
    const std::string_view style = attr(child(p_pr, "pStyle"), "val");
    if (style.empty()) return 0;
    const auto it = heading_levels_.find(std::string(style));
    if (it != heading_levels_.end()) return it->second;
    return level_of_name(style, "heading");
  }

  BlockKind paragraph(const pugi::xml_node& p, std::string& out, size_t depth) {
    const pugi::xml_node p_pr = child(p, "pPr");
    const int level = heading_level(p_pr);
    const size_t begin = out.size();
    // The paragraph's numPr, else (in part or whole) its style's: numId and ilvl.
    const pugi::xml_node num_pr = child(p_pr, "numPr");
    StyleNumbering numbering;
    if (const pugi::xml_node num_id = child(num_pr, "numId"))
      numbering.num_id = std::string(attr(num_id, "val"));
    if (const pugi::xml_node ilvl = child(num_pr, "ilvl"))
      numbering.ilvl = to_int(attr(ilvl, "val"), 0, -1, 10);
    if (numbering.num_id.empty() || numbering.ilvl < 0) {
      if (const pugi::xml_node style = child(p_pr, "pStyle")) {
        const StyleNumbering inherited = style_numbering(attr(style, "val"));
        if (numbering.num_id.empty()) numbering.num_id = inherited.num_id;
        if (numbering.ilvl < 0) numbering.ilvl = inherited.ilvl;
      }
    }
    const std::string marker =
        numbering.num_id.empty() ? "" : list_marker(numbering.num_id, std::max(0, numbering.ilvl));
    out += marker;
    const size_t start = out.size();
    inline_content(p, out, depth + 1);
    // A text box at the end of a paragraph leaves a line break that the separator repeats.
    while (out.size() > start && out.back() == '\n') out.pop_back();
    if (level > 0 && out.size() > start) {  // an empty heading leaves no mark
      out.insert(begin, std::string(static_cast<size_t>(level), '#') + " ");
      return BlockKind::heading;
    }
    return marker.empty() ? BlockKind::paragraph : BlockKind::list_item;
  }

  std::string list_marker(const std::string& num_id, int ilvl) {
    const auto it = lists_.find(num_id);
    if (it == lists_.end() || ilvl < 0 || static_cast<size_t>(ilvl) >= it->second.size()) {
      return "";  // numId 0 means "no list"
    }
    const std::vector<ListLevel>& levels = it->second;
    // A level's counter starts at its w:start and restarts whenever a shallower level advances.
    constexpr int kUnset = INT_MIN;
    std::vector<int>& counters = counters_[num_id];
    counters.resize(levels.size(), kUnset);
    for (size_t l = 0; l <= static_cast<size_t>(ilvl); ++l) {
      if (counters[l] == kUnset) counters[l] = levels[l].start - 1;
    }
    counters[static_cast<size_t>(ilvl)] += 1;
    for (size_t l = static_cast<size_t>(ilvl) + 1; l < levels.size(); ++l) counters[l] = kUnset;

    std::string marker;
    const ListLevel& level = levels[static_cast<size_t>(ilvl)];
    if (level.format == "bullet") {
      marker = "\xE2\x80\xA2";  // •: bullet glyphs are often private-use symbol-font characters
    } else if (level.format == "none") {
      marker = "";
    } else {
      for (size_t i = 0; i < level.text.size(); ++i) {
        const char c = level.text[i];
        if (c == '%' && i + 1 < level.text.size() && level.text[i + 1] >= '1' &&
            level.text[i + 1] <= '9') {
          const size_t l = static_cast<size_t>(level.text[i + 1] - '1');
          if (l < levels.size()) {
            marker += format_number(counters[l] == kUnset ? levels[l].start : counters[l],
                                    levels[l].format);
          }
          ++i;
        } else {
          marker += c;
        }
      }
    }
    return std::string(2 * static_cast<size_t>(ilvl), ' ') + marker + (marker.empty() ? "" : " ");
  }

  void table(const pugi::xml_node& tbl, std::string& out, size_t depth) {
    check_depth(depth);
    bool first_row = true;
    for (const pugi::xml_node& tr : tbl.children()) {
      if (local_name(tr) != "tr") continue;
      if (!first_row) out += '\n';
      first_row = false;
      const size_t row_begin = out.size();
      bool first_cell = true;
      for (const pugi::xml_node& tc : tr.children()) {
        if (local_name(tc) != "tc") continue;
        if (!first_cell) out += " | ";
        first_cell = false;
        std::string cell;
        block_container(tc, cell, depth + 2, " ");
        for (char& ch : cell) {
          if (ch == '\n') ch = ' ';  // a row stays on one line
        }
        out += cell;
      }
      if (&out == blocks_of_ && out.size() > row_begin)
        blocks.push_back({row_begin, out.size(), BlockKind::table_row});
    }
  }

  void inline_content(const pugi::xml_node& node, std::string& out, size_t depth) {
    check_depth(depth);
    for (const pugi::xml_node& c : node.children()) {
      const std::string_view name = local_name(c);
      if (name == "r") {
        run(c, out, depth + 1);
      } else if (name == "hyperlink" || name == "ins" || name == "smartTag" ||
                 name == "fldSimple" || name == "customXml" || name == "moveTo" || name == "bdo" ||
                 name == "dir") {
        inline_content(c, out, depth + 1);
      } else if (name == "sdt") {
        inline_content(child(c, "sdtContent"), out, depth + 1);
      }
      // pPr, del, moveFrom, bookmarks, proofing marks: no text
    }
  }

  void run(const pugi::xml_node& r, std::string& out, size_t depth) {
    check_depth(depth);
    for (const pugi::xml_node& c : r.children()) {
      const std::string_view name = local_name(c);
      if (name == "t") {
        out += c.text().get();
      } else if (name == "tab" || name == "ptab") {
        out += '\t';
      } else if (name == "br" || name == "cr") {
        out += '\n';
      } else if (name == "noBreakHyphen") {
        out += '-';
      } else if (name == "footnoteReference" || name == "endnoteReference") {
        const std::string id(attr(c, "id"));
        (name == "footnoteReference" ? footnote_refs : endnote_refs).push_back(id);
        out += "[" + std::string(name == "endnoteReference" ? "e" : "") + id + "]";
      } else if (name == "drawing" || name == "pict" || name == "AlternateContent" ||
                 name == "object") {
        text_boxes(c, out, depth + 1);
      }
      // rPr, delText, instrText (field codes), softHyphen, lastRenderedPageBreak: no text
    }
  }

  // Text boxes hide deep inside drawings; AlternateContent repeats them in Choice and Fallback,
  // so only the first choice is read.
  void text_boxes(const pugi::xml_node& node, std::string& out, size_t depth) {
    check_depth(depth);
    for (const pugi::xml_node& c : node.children()) {
      const std::string_view name = local_name(c);
      if (name == "txbxContent") {
        std::string box;
        block_container(c, box, depth + 1, "\n");
        if (!box.empty()) {
          if (!out.empty() && out.back() != '\n') out += '\n';
          out += box;
          out += '\n';
        }
      } else if (name == "Fallback") {
        continue;
      } else if (c.type() == pugi::node_element) {
        text_boxes(c, out, depth + 1);
        if (name == "Choice") break;
      }
    }
  }

  std::string where_;
  const IngestLimits& limits_;
  std::map<std::string, std::vector<ListLevel>> lists_;
  std::map<std::string, std::vector<int>> counters_;
  std::unordered_map<std::string, int> heading_levels_;  // paragraph style id → heading level
  std::unordered_map<std::string, StyleNumbering> style_numbering_;  // style id → its numPr
  std::unordered_map<std::string, std::string> based_on_;            // style id → basedOn
};

// Relationship targets of a .rels part whose type ends with one of the suffixes, as entry names.
std::vector<std::string> relationship_targets(const pugi::xml_node& root, std::string_view base,
                                              std::string_view type_suffix) {
  std::vector<std::string> out;
  for (const pugi::xml_node& rel : root.children()) {
    const std::string_view type = attr(rel, "Type");
    if (type.size() < type_suffix.size() ||
        type.substr(type.size() - type_suffix.size()) != type_suffix ||
        attr(rel, "TargetMode") == "External") {
      continue;
    }
    std::string target(attr(rel, "Target"));
    if (target.empty()) continue;
    // Entry names, not paths: "/word/x.xml" is absolute inside the package, else relative.
    out.push_back(target[0] == '/' ? target.substr(1) : std::string(base) + target);
  }
  return out;
}

void strip_trailing_space(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
}

}  // namespace

Document read_docx(std::string_view bytes, std::string_view name, const IngestOptions& options) {
  const std::string where(name);
  if (bytes.size() > options.limits.max_input_bytes) {
    throw Error(ErrorCode::limit_exceeded, where + ": DOCX of " + std::to_string(bytes.size()) +
                                               " bytes is over the limit of " +
                                               std::to_string(options.limits.max_input_bytes) +
                                               " bytes");
  }
  ZipReader zip(bytes, where, options.limits);
  DocxText docx(where, options.limits);

  std::string main_part = "word/document.xml";
  if (auto rels = zip.read("_rels/.rels")) {
    pugi::xml_document doc = docx.parse(*rels, "_rels/.rels");
    auto targets = relationship_targets(doc.document_element(), "", "/officeDocument");
    if (!targets.empty() && zip.has(targets[0])) main_part = targets[0];
  }
  std::optional<std::string> main_xml = zip.read(main_part);
  if (!main_xml) {
    throw Error(ErrorCode::invalid_input,
                where + ": a zip archive without " + main_part + " (not a Word document)");
  }
  const size_t slash = main_part.rfind('/');
  const std::string base = slash == std::string::npos ? "" : main_part.substr(0, slash + 1);
  const std::string rels_name = base + "_rels/" + main_part.substr(base.size()) + ".rels";

  std::vector<std::string> headers, footers;
  std::string numbering_part = base + "numbering.xml", footnotes_part = base + "footnotes.xml",
              endnotes_part = base + "endnotes.xml", styles_part = base + "styles.xml";
  if (auto rels = zip.read(rels_name)) {
    pugi::xml_document doc = docx.parse(*rels, rels_name);
    const pugi::xml_node root = doc.document_element();
    headers = relationship_targets(root, base, "/header");
    footers = relationship_targets(root, base, "/footer");
    if (auto t = relationship_targets(root, base, "/numbering"); !t.empty()) numbering_part = t[0];
    if (auto t = relationship_targets(root, base, "/footnotes"); !t.empty()) footnotes_part = t[0];
    if (auto t = relationship_targets(root, base, "/endnotes"); !t.empty()) endnotes_part = t[0];
    if (auto t = relationship_targets(root, base, "/styles"); !t.empty()) styles_part = t[0];
  }
  if (auto xml = zip.read(styles_part)) {
    pugi::xml_document doc = docx.parse(*xml, styles_part);
    docx.load_styles(doc.document_element());
  }
  if (auto xml = zip.read(numbering_part)) {
    pugi::xml_document doc = docx.parse(*xml, numbering_part);
    docx.load_numbering(doc.document_element());
  }
  if (auto xml = zip.read(footnotes_part)) {
    pugi::xml_document doc = docx.parse(*xml, footnotes_part);
    docx.load_notes(doc.document_element(), docx.footnotes);
  }
  if (auto xml = zip.read(endnotes_part)) {
    pugi::xml_document doc = docx.parse(*xml, endnotes_part);
    docx.load_notes(doc.document_element(), docx.endnotes);
  }

  auto read_parts = [&](const std::vector<std::string>& parts) {
    std::string text;
    std::set<std::string> seen;
    for (const std::string& part : parts) {
      if (!seen.insert(part).second) continue;
      std::optional<std::string> xml = zip.read(part);
      if (!xml) continue;
      pugi::xml_document doc = docx.parse(*xml, part);
      std::string part_text;
      docx.block_container(doc.document_element(), part_text, 1, "\n");
      strip_trailing_space(part_text);
      if (part_text.empty()) continue;
      if (!text.empty()) text += '\n';
      text += part_text;
    }
    return text;
  };

  Document out;
  out.format = "docx";
  if (options.docx_headers_footers) {
    out.text = read_parts(headers);
    if (!out.text.empty()) out.text += "\n\n";
  }
  {
    pugi::xml_document doc = docx.parse(*main_xml, main_part);
    const pugi::xml_node body = child(doc.document_element(), "body");
    if (!body) {
      throw Error(ErrorCode::invalid_input, where + ": " + main_part + " has no w:body");
    }
    std::string body_text;
    docx.blocks_of_ = &body_text;
    docx.block_container(body, body_text, 1, "\n");
    docx.blocks_of_ = nullptr;
    strip_trailing_space(body_text);
    const size_t offset = out.text.size();
    for (TextBlock b : docx.blocks) {
      b.end = std::min(b.end, body_text.size());
      if (b.begin < b.end) out.blocks.push_back({offset + b.begin, offset + b.end, b.kind});
    }
    out.text += body_text;
  }
  auto append_notes = [&](const char* title, const std::map<std::string, std::string>& notes,
                          const std::vector<std::string>& refs, const char* prefix) {
    std::string block;
    std::set<std::string> seen;
    for (const std::string& id : refs) {
      const auto it = notes.find(id);
      if (it == notes.end() || !seen.insert(id).second) continue;
      block += "\n[" + std::string(prefix) + id + "] " + it->second;
    }
    if (!block.empty()) out.text += "\n\n" + std::string(title) + block;
  };
  append_notes("Footnotes", docx.footnotes, docx.footnote_refs, "");
  append_notes("Endnotes", docx.endnotes, docx.endnote_refs, "e");
  if (options.docx_headers_footers) {
    const std::string footer_text = read_parts(footers);
    if (!footer_text.empty()) out.text += "\n\n" + footer_text;
  }
  add_line_blocks(out);
  return out;
}

}  // namespace glyph::detail
