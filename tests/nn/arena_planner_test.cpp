// ArenaPlanner: buffers alive at the same time never share bytes; buffers that are not reuse them.
#include "nn/arena_planner.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace qf {
namespace {

TEST(ArenaPlanner, BuffersAliveTogetherGetDisjointBytesAndLaterOnesReuseFreedBytes) {
  ArenaPlanner p;
  const int a = p.acquire(1000);
  const int b = p.acquire(100);
  p.release(a);
  const int c = p.acquire(900);  // a is gone: c fits where a was
  p.release(b);
  p.release(b);  // again: no effect
  p.release(c);
  p.place();
  EXPECT_EQ(p.offset(a), p.offset(c));
  EXPECT_GE(p.offset(b), 1024u);  // b lives beside a (its 1000 bytes rounded up to 1024)
  EXPECT_EQ(p.total(), 1024u + 128u);
  EXPECT_EQ(p.peak_live(), 1024u + 128u);
}

TEST(ArenaPlanner, RandomLifetimesNeverOverlapInMemoryAndStayNearTheLiveBytes) {
  std::mt19937 gen(5);
  ArenaPlanner p;
  struct Life {
    int id;
    size_t bytes;
    int start, end = -1;
  };
  std::vector<Life> lives, open;
  for (int tick = 0; tick < 400; ++tick) {
    if (!open.empty() && gen() % 2) {
      const size_t k = gen() % open.size();
      p.release(open[k].id);
      for (Life& l : lives)
        if (l.id == open[k].id) l.end = tick;
      open.erase(open.begin() + static_cast<long>(k));
    } else {
      const size_t bytes = 64 * (1 + gen() % 200);
      lives.push_back({p.acquire(bytes), bytes, tick});
      open.push_back(lives.back());
    }
  }
  p.place();
  auto ends = [](const Life& l) { return l.end < 0 ? 1 << 30 : l.end; };
  for (const Life& x : lives)
    for (const Life& y : lives) {
      if (x.id >= y.id || !(x.start < ends(y) && y.start < ends(x))) continue;
      const bool apart = p.offset(x.id) + x.bytes <= p.offset(y.id) ||
                         p.offset(y.id) + y.bytes <= p.offset(x.id);
      EXPECT_TRUE(apart) << "buffers " << x.id << " and " << y.id << " share bytes";
    }
  EXPECT_GE(p.total(), p.peak_live());
  EXPECT_LE(p.total(), p.peak_live() * 3 / 2) << "greedy placement far above the live bytes";
}

}  // namespace
}  // namespace qf
