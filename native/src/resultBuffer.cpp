#include "resultBuffer.hpp"
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include "hugepages.hpp"

namespace ql {

namespace {

// Blocks of 1 MiB and more are pooled; their size class is the size rounded up to 2 MiB, the
// huge-page size, so a released block serves any later request of the same class.
constexpr size_t kPooledFrom = (size_t)1 << 20;
constexpr size_t kClass = (size_t)2 << 20;
// At most this much stays pooled: a few layer runs' outputs, not a second copy of a model.
constexpr size_t kPoolCap = (size_t)256 << 20;
constexpr size_t kPoolSlots = 32;

size_t classOf(size_t bytes) { return (bytes + kClass - 1) / kClass * kClass; }

struct Pool {
  std::mutex lock;
  void* block[kPoolSlots] = {};
  size_t size[kPoolSlots] = {};
  size_t count = 0, bytes = 0;
};

// Slots are kept oldest first.
void removeAt(Pool& p, size_t i) {
  for (size_t j = i + 1; j < p.count; j++) { p.block[j - 1] = p.block[j]; p.size[j - 1] = p.size[j]; }
  p.count--;
}

// Never destroyed: ArrayBuffer finalizers may run while the process is exiting.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

void* takeResultBlock(size_t bytes) {
  if (bytes < kPooledFrom) {
    void* b = std::malloc(bytes ? bytes : 1);
    if (!b) throw std::bad_alloc();
    return b;
  }
  const size_t cls = classOf(bytes);
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> g(p.lock);
    for (size_t i = p.count; i-- > 0;) {  // the most recently released first: its pages are warmest
      if (p.size[i] != cls) continue;
      void* b = p.block[i];
      p.bytes -= cls;
      removeAt(p, i);
      return b;
    }
  }
  void* b = std::aligned_alloc(kClass, cls);
  if (!b) throw std::bad_alloc();
  adviseHugePages(b, cls);  // before the first write: 2 MiB faults instead of 4 KiB ones
  return b;
}

void releaseResultBlock(void* block, size_t bytes) noexcept {
  if (!block) return;
  if (bytes < kPooledFrom) { std::free(block); return; }
  const size_t cls = classOf(bytes);
  if (cls > kPoolCap) { std::free(block); return; }
  void* evicted[kPoolSlots];
  size_t nEvicted = 0;
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> g(p.lock);
    // The oldest blocks make room: a pool of some earlier shape's blocks must not stay forever.
    while (p.count == kPoolSlots || p.bytes + cls > kPoolCap) {
      evicted[nEvicted++] = p.block[0];
      p.bytes -= p.size[0];
      removeAt(p, 0);
    }
    p.block[p.count] = block;
    p.size[p.count] = cls;
    p.count++;
    p.bytes += cls;
  }
  for (size_t i = 0; i < nEvicted; i++) std::free(evicted[i]);  // outside the lock
}

size_t pooledResultBytes() noexcept {
  Pool& p = pool();
  std::lock_guard<std::mutex> g(p.lock);
  return p.bytes;
}

}  // namespace ql
