// RenderedDocument: the text, its layout and its page images, rasterized once on demand.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "core/utf8.h"
#include "image/image.h"
#include "layout/layout.h"
#include "raster/renderer.h"
#include "tasks/tasks.h"
#include "text/prepare.h"

namespace glyph {

struct RenderedDocument::Impl {
  std::unique_ptr<Renderer> renderer;
  std::u32string text;
  SourceMap map;
  ReflowReport reflow;
  Layout layout;
  mutable std::mutex mutex;
  mutable std::vector<std::shared_ptr<const PageImage>> images;
  mutable std::vector<std::vector<PixelBox>> line_boxes;
  mutable double render_seconds = 0;
};

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

RenderedDocument::RenderedDocument(std::string_view utf8_text, RenderConfig config)
    : impl_(std::make_unique<Impl>()) {
  const auto start = Clock::now();
  impl_->renderer = std::make_unique<Renderer>(std::move(config));
  impl_->text = prepare_text(utf8_text, impl_->renderer->config()).text;
  impl_->map = SourceMap::identity(impl_->text.size());
  impl_->layout = impl_->renderer->lay_out(impl_->text);
  impl_->images.resize(impl_->layout.pages.size());
  impl_->line_boxes.resize(impl_->layout.pages.size());
  impl_->render_seconds = seconds_since(start);
}

RenderedDocument::RenderedDocument(const Document& document, RenderConfig config)
    : impl_(std::make_unique<Impl>()) {
  const auto start = Clock::now();
  impl_->renderer = std::make_unique<Renderer>(std::move(config));
  PreparedDocument prepared = prepare_document(document, impl_->renderer->config());
  impl_->text = std::move(prepared.text);
  impl_->map = std::move(prepared.map);
  impl_->reflow = std::move(prepared.reflow);
  impl_->layout = impl_->renderer->lay_out(impl_->text);
  impl_->images.resize(impl_->layout.pages.size());
  impl_->line_boxes.resize(impl_->layout.pages.size());
  impl_->render_seconds = seconds_since(start);
}

int RenderedDocument::source_page(size_t char_index) const {
  return impl_->map.source_page(char_index);
}

int RenderedDocument::source_page(size_t char_start, size_t char_end) const {
  return impl_->map.source_page(char_start, char_end);
}

const ReflowReport& RenderedDocument::reflow() const {
  return impl_->reflow;
}

RenderedDocument::~RenderedDocument() = default;

const RenderConfig& RenderedDocument::config() const {
  return impl_->renderer->config();
}
const std::u32string& RenderedDocument::text() const {
  return impl_->text;
}
const Layout& RenderedDocument::layout() const {
  return impl_->layout;
}
size_t RenderedDocument::page_count() const {
  return impl_->layout.pages.size();
}
double RenderedDocument::dpi() const {
  return impl_->renderer->config().dpi;
}

std::shared_ptr<const PageImage> RenderedDocument::page_image(size_t page_index) const {
  if (page_index >= page_count()) {
    throw Error(ErrorCode::invalid_argument, "page " + std::to_string(page_index + 1) +
                                                 " does not exist (the document has " +
                                                 std::to_string(page_count()) + " pages)");
  }
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->images[page_index]) return impl_->images[page_index];
  }
  const auto start = Clock::now();
  RasterPage raster = impl_->renderer->rasterize_page(impl_->layout, page_index);
  std::vector<PixelBox> boxes;
  boxes.reserve(raster.line_boxes.size());
  for (const auto& b : raster.line_boxes) {
    boxes.push_back({static_cast<int>(std::floor(b.x0_px)), static_cast<int>(std::floor(b.y0_px)),
                     static_cast<int>(std::ceil(b.x1_px)), static_cast<int>(std::ceil(b.y1_px))});
  }
  auto image = std::make_shared<const PageImage>(std::move(raster.image));
  std::lock_guard lock(impl_->mutex);
  impl_->render_seconds += seconds_since(start);
  if (!impl_->images[page_index]) {
    impl_->images[page_index] = std::move(image);
    impl_->line_boxes[page_index] = std::move(boxes);
  }
  return impl_->images[page_index];
}

std::vector<PixelBox> RenderedDocument::line_boxes(size_t page_index) const {
  page_image(page_index);
  std::lock_guard lock(impl_->mutex);
  return impl_->line_boxes[page_index];
}

void RenderedDocument::rasterize_all(int threads,
                                     const std::function<void(size_t, size_t)>& on_page) const {
  const size_t total = page_count();
  size_t thread_count = threads > 0 ? static_cast<size_t>(threads)
                                    : std::max(1u, std::thread::hardware_concurrency());
  thread_count = std::max<size_t>(1, std::min(thread_count, total));
  std::atomic<size_t> next{0}, done{0};
  std::mutex callback_mutex;
  std::exception_ptr failure;
  auto work = [&] {
    try {
      for (size_t i = next++; i < total; i = next++) {
        page_image(i);
        const size_t finished = ++done;
        if (on_page) {
          std::lock_guard lock(callback_mutex);
          on_page(finished, total);
        }
      }
    } catch (...) {
      std::lock_guard lock(callback_mutex);
      if (!failure) failure = std::current_exception();
      next = total;
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < thread_count; ++t) workers.emplace_back(work);
  work();
  for (auto& worker : workers) worker.join();
  if (failure) std::rethrow_exception(failure);
}

double RenderedDocument::render_seconds() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->render_seconds;
}

std::string RenderedDocument::slice(size_t char_start, size_t char_end) const {
  const size_t start = std::min(char_start, impl_->text.size());
  const size_t end = std::clamp(char_end, start, impl_->text.size());
  return encode_utf8(std::u32string_view(impl_->text).substr(start, end - start));
}

}  // namespace glyph
