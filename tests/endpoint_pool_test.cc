#include "read/endpoint_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <optional>
#include <thread>

#include "core/error.h"
#include "support/fake_vlm_server.h"

namespace glyph {
namespace {

using namespace std::chrono_literals;

TEST(endpoint_pool, least_outstanding_with_a_limit_per_endpoint) {
  test::FakeVlmServer a, b;
  EndpointPool pool({.urls = {a.url(), b.url() + "/v1/"}, .max_in_flight = 2});
  std::deque<EndpointPool::Lease> held;
  int on_a = 0;
  for (int i = 0; i < 4; ++i) {
    held.push_back(pool.acquire());
    on_a += held.back().url() == a.url();
  }
  EXPECT_EQ(on_a, 2) << "two on each: the least busy is chosen";
  EXPECT_EQ(held[1].url(), b.url()) << "the trailing /v1/ is dropped";
  // Both are full: a fifth waits, and gives up only when cancelled.
  std::atomic<int> polls{0};
  EXPECT_THROW(pool.acquire({}, [&] { return ++polls > 3; }), Error);
  held.pop_front();  // a slot on a frees
  auto next = pool.acquire();
  EXPECT_EQ(next.url(), a.url());
  auto status = pool.status();
  EXPECT_EQ(status[0].in_flight, 2);
  EXPECT_EQ(status[1].in_flight, 2);
}

TEST(endpoint_pool, a_failed_endpoint_is_avoided_until_its_check_passes) {
  test::FakeVlmServer a, b;
  EndpointPool pool({.urls = {a.url(), b.url()}, .health_interval_ms = 3600000});
  {
    auto lease = pool.acquire();
    EXPECT_EQ(lease.url(), a.url());
    lease.failed("connection reset");
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pool.acquire().url(), b.url()) << "a is down";
  EXPECT_EQ(pool.acquire({b.url()}).url(), b.url()) << "a down one only when nothing else is up";
  pool.check_all();  // a answers /v1/models again
  EXPECT_TRUE(pool.status()[0].up);
  b.stop();
  pool.check_all();
  EXPECT_FALSE(pool.status()[1].up);
  EXPECT_NE(pool.status()[1].last_error.find("/v1/models"), std::string::npos);
  EXPECT_EQ(pool.acquire().url(), a.url());
}

TEST(endpoint_pool, bad_urls_are_refused_by_name) {
  try {
    EndpointPool pool({.urls = {"http://127.0.0.1:1", "ftp://x"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("ftp://x"), std::string::npos);
  }
  EXPECT_THROW(EndpointPool({.urls = {"http://a:1", "http://a:1/v1"}}), Error);
}

}  // namespace
}  // namespace glyph
