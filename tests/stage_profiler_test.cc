// core/stage_profiler.h: only every N-th step is timed, each stage gets the time since the previous mark, the
// table and JSON report the means per profiled step.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/stage_profiler.h"

namespace vg {
namespace {

TEST(StageProfiler, TimesEveryNthStepByStage) {
  StageProfiler p(Device::cpu(), 2);
  ASSERT_TRUE(p.enabled());
  for (int step = 0; step < 6; ++step) {  // steps 1, 3, 5 profiled (half-way between multiples of 2)
    p.begin(step);
    std::this_thread::sleep_for(std::chrono::milliseconds(4));
    p.mark("a");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    p.mark("b");
    p.end();
  }
  EXPECT_EQ(p.profiled_steps(), 3);
  const auto rows = p.ms_per_step();
  ASSERT_EQ(rows.size(), 3u);  // a, b, other
  EXPECT_EQ(rows[0].first, "a");
  EXPECT_EQ(rows[1].first, "b");
  EXPECT_EQ(rows[2].first, "other");
  EXPECT_GE(rows[0].second, 3.9);
  EXPECT_GE(rows[1].second, 0.9);
  EXPECT_GT(rows[0].second, rows[1].second);
  EXPECT_EQ(p.allocs_per_step(), 0.0);  // no GPU here
  const auto j = p.to_json();
  EXPECT_EQ(j["profiled_steps"], 3);
  EXPECT_EQ(j["stages"].size(), 3u);
  EXPECT_NE(p.table().find("3 profiled steps"), std::string::npos);
}

TEST(StageProfiler, OffIsANoOp) {
  StageProfiler p(Device::cpu(), 0);
  EXPECT_FALSE(p.enabled());
  p.begin(0);
  p.mark("a");
  p.end();
  EXPECT_EQ(p.profiled_steps(), 0);
  EXPECT_TRUE(p.ms_per_step().empty());
}

}  // namespace
}  // namespace vg
