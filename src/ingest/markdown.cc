// Markdown → readable text with cmark: the structure a reader needs stays, the markup goes.
// Headings on their own lines, marked "# " to "###### " by level; paragraphs with soft line breaks
// joined by a space; list items with "•" or "N." markers, nested items indented; code blocks
// verbatim; block quotes prefixed "> "; thematic breaks as a line of dashes; GitHub pipe tables
// (a paragraph whose second line is a delimiter row such as "|---|:--|") one row a line, cells
// trimmed and joined by " | ", the delimiter row dropped; raw HTML blocks reduced to their visible
// text; emphasis, links and inline HTML tags dropped, their text kept. Blocks are separated by one
// blank line, except after a heading and between the items of a tight list (a line break).
//
// Each block's byte range and kind go to StructuredText::blocks: a list item's first paragraph is
// a list_item (marker included), a paragraph directly in a block quote a quote ("> " included).
//
// Limits: cmark (CommonMark, not GFM) does not know tables; they are found in its paragraphs, so
// an escaped pipe (\|) inside a cell splits the cell as a pipe does.
#include <cmark.h>

#include <memory>
#include <utility>

#include "core/error.h"
#include "ingest/detail.h"

namespace glyph::detail {
namespace {

class MarkdownWriter {
 public:
  MarkdownWriter(std::string where, const IngestLimits& limits)
      : where_(std::move(where)), limits_(limits) {}

  // Returns true when the node's children were written already (a table): skip them.
  bool enter(cmark_node* node) {
    switch (cmark_node_get_type(node)) {
      case CMARK_NODE_PARAGRAPH: {
        const std::vector<std::string> lines = inline_lines(node);
        begin_block(node);
        if (is_table(lines)) {
          write_table(lines);
          return true;
        }
        block_begin_ = out_.size();
        break;
      }
      case CMARK_NODE_HEADING:
        begin_block(node);
        block_begin_ = out_.size();
        if (cmark_node_first_child(node))  // an empty heading gets no mark
          write(std::string(static_cast<size_t>(cmark_node_get_heading_level(node)), '#') + " ");
        break;
      case CMARK_NODE_CODE_BLOCK:
        begin_block(node);
        block_begin_ = out_.size();
        write(trim_final_newline(cmark_node_get_literal(node)));
        add_block(BlockKind::code);
        break;
      case CMARK_NODE_HTML_BLOCK: {
        StructuredText html = html_to_text(literal(node), where_, limits_);
        if (!html.text.empty()) {
          begin_block(node);
          block_begin_ = out_.size();
          if (prefixes_.empty()) {  // written byte for byte: its own blocks hold
            for (TextBlock b : html.blocks)
              blocks_.push_back({block_begin_ + b.begin, block_begin_ + b.end, b.kind});
            write(html.text);
          } else {
            write(html.text);
            add_block(kind_in_container(node));
          }
        }
        break;
      }
      case CMARK_NODE_THEMATIC_BREAK:
        begin_block(node);
        block_begin_ = out_.size();
        write("----------");
        add_block(BlockKind::rule);
        break;
      case CMARK_NODE_BLOCK_QUOTE:
        begin_block(node);
        push_prefix("> ", "> ");
        break;
      case CMARK_NODE_LIST:
        begin_block(node);
        lists_.push_back({cmark_node_get_list_type(node) == CMARK_ORDERED_LIST,
                          cmark_node_get_list_start(node), cmark_node_get_list_delim(node)});
        break;
      case CMARK_NODE_ITEM: {
        begin_block(node);
        std::string marker = "\xE2\x80\xA2 ";  // "• "
        size_t width = 2;
        if (!lists_.empty() && lists_.back().ordered) {
          marker = std::to_string(lists_.back().next++) +
                   (lists_.back().delim == CMARK_PAREN_DELIM ? ") " : ". ");
          width = marker.size();
        }
        push_prefix(marker, std::string(width, ' '));
        break;
      }
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE: write(literal(node)); break;
      case CMARK_NODE_SOFTBREAK: write(" "); break;
      case CMARK_NODE_LINEBREAK: write("\n"); break;
      default:  // emphasis, strong, links, images (their text is inside), inline HTML tags
        break;
    }
    return false;
  }

  void exit(cmark_node* node) {
    switch (cmark_node_get_type(node)) {
      case CMARK_NODE_PARAGRAPH: add_block(kind_in_container(node)); break;
      case CMARK_NODE_HEADING:
        add_block(BlockKind::heading);
        after_heading_ = true;
        break;
      case CMARK_NODE_BLOCK_QUOTE:
      case CMARK_NODE_ITEM:
        if (first_line_pending_) {  // an empty item (or quote) still shows its marker
          block_begin_ = out_.size();
          write("");
          while (out_.size() > block_begin_ && out_.back() == ' ') out_.pop_back();
          add_block(cmark_node_get_type(node) == CMARK_NODE_ITEM ? BlockKind::list_item
                                                                 : BlockKind::quote);
        }
        prefixes_.pop_back();
        break;
      case CMARK_NODE_LIST: lists_.pop_back(); break;
      default: break;
    }
  }

  StructuredText finish() {
    while (!out_.empty() && (out_.back() == '\n' || out_.back() == ' ')) out_.pop_back();
    StructuredText result;
    for (TextBlock b : blocks_) {
      b.end = std::min(b.end, out_.size());
      if (b.begin < b.end) result.blocks.push_back(b);
    }
    result.text = std::move(out_);
    return result;
  }

 private:
  struct Prefix {
    std::string first;         // on the first line of the container (a list marker)
    std::string continuation;  // on the lines after
  };
  struct ListState {
    bool ordered;
    int next;
    cmark_delim_type delim;
  };

  static std::string literal(cmark_node* node) {
    const char* s = cmark_node_get_literal(node);
    return s ? s : "";
  }
  static std::string trim_final_newline(const char* s) {
    std::string out = s ? s : "";
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  void push_prefix(std::string first, std::string continuation) {
    if (prefixes_.size() >= limits_.max_nesting_depth) {
      throw Error(ErrorCode::limit_exceeded, where_ + ": Markdown blocks nested deeper than " +
                                                 std::to_string(limits_.max_nesting_depth));
    }
    prefixes_.push_back({std::move(first), std::move(continuation)});
    first_line_pending_ = true;
    pending_from_ = std::min(pending_from_, prefixes_.size() - 1);
  }

  // The kind of a paragraph (or HTML block) by its container: the first block of a list item is
  // the item; a block directly in a quote is the quote.
  static BlockKind kind_in_container(cmark_node* node) {
    cmark_node* parent = cmark_node_parent(node);
    const cmark_node_type type = parent ? cmark_node_get_type(parent) : CMARK_NODE_NONE;
    if (type == CMARK_NODE_ITEM && !cmark_node_previous(node)) return BlockKind::list_item;
    if (type == CMARK_NODE_BLOCK_QUOTE) return BlockKind::quote;
    return BlockKind::paragraph;
  }

  // The block from block_begin_ to the end of the text written so far (trailing newlines out).
  void add_block(BlockKind kind) {
    size_t end = out_.size();
    while (end > block_begin_ && out_[end - 1] == '\n') --end;
    if (end > block_begin_) blocks_.push_back({block_begin_, end, kind});
  }

  // The visible text of a paragraph's inlines, one string per source line (soft and hard breaks).
  static std::vector<std::string> inline_lines(cmark_node* paragraph) {
    std::vector<std::string> lines(1);
    std::unique_ptr<cmark_iter, void (*)(cmark_iter*)> iter(cmark_iter_new(paragraph),
                                                            cmark_iter_free);
    for (cmark_event_type event; (event = cmark_iter_next(iter.get())) != CMARK_EVENT_DONE;) {
      if (event != CMARK_EVENT_ENTER) continue;
      cmark_node* n = cmark_iter_get_node(iter.get());
      switch (cmark_node_get_type(n)) {
        case CMARK_NODE_TEXT:
        case CMARK_NODE_CODE: lines.back() += literal(n); break;
        case CMARK_NODE_SOFTBREAK:
        case CMARK_NODE_LINEBREAK: lines.emplace_back(); break;
        default: break;
      }
    }
    return lines;
  }

  static std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }

  // The cells of a pipe-table row: outer pipes dropped, each cell trimmed.
  static std::vector<std::string_view> cells_of(std::string_view row) {
    row = trim(row);
    if (!row.empty() && row.front() == '|') row.remove_prefix(1);
    if (!row.empty() && row.back() == '|') row.remove_suffix(1);
    std::vector<std::string_view> cells;
    for (size_t start = 0;;) {
      const size_t bar = row.find('|', start);
      cells.push_back(trim(row.substr(start, bar == std::string_view::npos ? bar : bar - start)));
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    return cells;
  }

  // GitHub's rule: a header row with a pipe, then a delimiter row (cells of dashes with optional
  // colons) with as many cells.
  static bool is_table(const std::vector<std::string>& lines) {
    if (lines.size() < 2 || lines[0].find('|') == std::string::npos) return false;
    const std::string_view delimiter = trim(lines[1]);
    if (delimiter.find('-') == std::string_view::npos) return false;
    for (const char c : delimiter)
      if (c != '|' && c != '-' && c != ':' && c != ' ' && c != '\t') return false;
    const std::vector<std::string_view> cells = cells_of(delimiter);
    for (std::string_view cell : cells)
      if (cell.find('-') == std::string_view::npos) return false;
    return cells.size() == cells_of(lines[0]).size();
  }

  // One row a line, its cells joined by " | "; each row a table_row block.
  void write_table(const std::vector<std::string>& lines) {
    bool first = true;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i == 1) continue;  // the delimiter row
      if (!first) newline();
      first = false;
      block_begin_ = out_.size();
      std::string row;
      bool first_cell = true;
      for (std::string_view cell : cells_of(lines[i])) {
        if (!first_cell) row += " | ";
        first_cell = false;
        row += cell;
      }
      write(row);
      add_block(BlockKind::table_row);
    }
  }

  // A new block starts on a new line, after a blank line unless it opens its container, sits in
  // a tight list or follows a heading.
  void begin_block(cmark_node* node) {
    const bool after_heading = std::exchange(after_heading_, false);
    if (out_.empty()) return;
    if (!at_line_start_) newline();
    cmark_node* parent = cmark_node_parent(node);
    if (!cmark_node_previous(node)) return;
    bool tight = false;
    if (cmark_node_get_type(node) == CMARK_NODE_ITEM) {
      tight = cmark_node_get_list_tight(parent);
    } else if (parent && cmark_node_get_type(parent) == CMARK_NODE_ITEM) {
      tight = cmark_node_get_list_tight(cmark_node_parent(parent));
    }
    if (!tight && !after_heading) newline();
  }

  void newline() {
    if (at_line_start_ && first_line_pending_) start_line();
    out_ += '\n';
    at_line_start_ = true;
  }

  void start_line() {
    for (size_t i = 0; i < prefixes_.size(); ++i) {
      const bool first = first_line_pending_ && i >= pending_from_;
      out_ += first ? prefixes_[i].first : prefixes_[i].continuation;
    }
    first_line_pending_ = false;
    pending_from_ = SIZE_MAX;
    at_line_start_ = false;
  }

  void write(std::string_view text) {
    if (at_line_start_) start_line();
    for (const char c : text) {
      if (at_line_start_) start_line();
      out_ += c;
      if (c == '\n') at_line_start_ = true;
    }
  }

  std::string where_;
  const IngestLimits& limits_;
  std::string out_;
  std::vector<Prefix> prefixes_;
  std::vector<ListState> lists_;
  bool at_line_start_ = true;
  bool first_line_pending_ = false;
  size_t pending_from_ = SIZE_MAX;  // prefixes from here on still show their first-line form
  bool after_heading_ = false;      // the last block written is a heading
  std::vector<TextBlock> blocks_;
  size_t block_begin_ = 0;  // where the block being written starts (at a line start)
};

}  // namespace

StructuredText markdown_to_text(std::string_view utf8, std::string_view name,
                                const IngestLimits& limits) {
  std::unique_ptr<cmark_node, void (*)(cmark_node*)> root(
      cmark_parse_document(utf8.data(), utf8.size(), CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8),
      cmark_node_free);
  if (!root) throw Error(ErrorCode::internal, std::string(name) + ": the Markdown parser failed");
  MarkdownWriter writer{std::string(name), limits};
  std::unique_ptr<cmark_iter, void (*)(cmark_iter*)> iter(cmark_iter_new(root.get()),
                                                          cmark_iter_free);
  for (cmark_event_type event; (event = cmark_iter_next(iter.get())) != CMARK_EVENT_DONE;) {
    cmark_node* node = cmark_iter_get_node(iter.get());
    if (event == CMARK_EVENT_ENTER) {
      if (writer.enter(node)) cmark_iter_reset(iter.get(), node, CMARK_EVENT_EXIT);
    } else {
      writer.exit(node);
    }
  }
  return writer.finish();
}

}  // namespace glyph::detail
