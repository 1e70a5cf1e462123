// Internals of the tasks module shared by its files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "retrieval/retrieval.h"
#include "tasks/tasks.h"

namespace glyph::detail {

struct CharRange {
  size_t start = 0, end = 0;
};

// Retrieval units over the layout map: each line with the next line of the same page (a sentence
// often crosses a line break).
struct LineWindow {
  size_t page_index = 0;
  size_t first_line = 0, last_line = 0;  // inclusive
  std::string text;
};
std::vector<LineWindow> line_windows(const RenderedDocument& document);

// The box of text[range] on the page holding range.start: exact on its first and last line (from
// the glyph positions), whole lines between. Page is 1-based in the citation.
Citation citation_for_range(const RenderedDocument& document, CharRange range, std::string quote);

// The characters of the page's lines that a pixel box overlaps (by more than half a line's
// height), or nothing.
std::optional<CharRange> chars_in_box(const RenderedDocument& document, size_t page_index,
                                      const PixelBox& box);

// The part of text[range] that `quote` matches best (semi-global edit distance, case and
// quotation-mark style folded); also returns the distance.
CharRange align_quote(std::u32string_view text, CharRange range, std::u32string_view quote,
                      size_t* distance = nullptr);

// Share of the question's distinct terms (idf-weighted by `index`) that `passage` has.
double question_coverage(const Bm25Index& index, std::string_view question,
                         std::string_view passage);

// Regions around line windows at the document's dpi, merged when they overlap on a page: the lines
// of the window plus one above and below, full text width, a few pixels of margin.
std::vector<PageInput> focus_crops(const RenderedDocument& document,
                                   const std::vector<LineWindow>& windows);

// A model's JSON answer, without the ```json fence models like to add; empty if not JSON.
std::string json_of(std::string_view content);

// The whole page as an input at the document's dpi.
PageInput whole_page_input(const RenderedDocument& document, size_t page_index);

// ReadCallbacks of a task's callbacks (streaming only when stream_content).
ReadCallbacks read_callbacks(const TaskCallbacks& callbacks, bool stream_content);

// The budget of visual tokens for this request (TaskOptions::budget, else the reader's context,
// else the family table), with the cost of every page at the document's dpi; unset when no
// context is known. Rasterizes every page.
std::optional<ReadPlan> budget_plan(const RenderedDocument& document, const TaskRequest& request,
                                    Reader& reader, const TaskOptions& options,
                                    const TaskCallbacks& callbacks);

// A read that does not fit plan.budget: global pass + focus for questions, map-reduce for
// summaries and extractions (tasks.h, ReadPlan). Fills the answer's text, citations, plan, steps.
Answer read_over_budget(const RenderedDocument& document, const TaskRequest& request,
                        Reader& reader, const TaskOptions& options, const TaskCallbacks& callbacks,
                        ReadPlan plan, Answer answer);

// The answer's text, reasoning, model, finish reason, repetition report and first-token time from
// a read (usage is the caller's: a read over budget adds up several requests).
void take_result(Answer& answer, const ReadResult& result);

}  // namespace glyph::detail
