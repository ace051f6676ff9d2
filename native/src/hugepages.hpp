// Large result buffers on transparent huge pages. A fresh multi-MB std::vector costs one page fault
// per 4 KiB on first touch; on virtual machines a fault costs microseconds, so a conv1d's three 12 MB
// outputs spent ~100 ms in the kernel's page-fault handler, more than the computation (and did not
// scale with threads). Advising the buffer before it is first written lets the kernel back it with
// 2 MiB pages: ~20x fewer faults. Only advice: where THP is off, nothing changes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ql {

// Advises the whole pages of [p, p + bytes) to huge pages; call before their first write.
inline void adviseHugePages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t page = 4096, begin = ((uintptr_t)p + page - 1) & ~(page - 1), end = ((uintptr_t)p + bytes) & ~(page - 1);
  if (end > begin) madvise((void*)begin, end - begin, MADV_HUGEPAGE);
#else
  (void)p; (void)bytes;
#endif
}

// v = n copies of value, its storage advised to huge pages before the first write when it is large.
template <typename T>
void assignHuge(std::vector<T>& v, size_t n, T value = T()) {
  const size_t bytes = n * sizeof(T);
  if (bytes >= ((size_t)1 << 20) && v.capacity() < n) {
    std::vector<T>().swap(v);
    v.reserve(n);  // a large malloc is a fresh mapping: nothing touched yet
    adviseHugePages(v.data(), bytes);
  }
  v.assign(n, value);
}

}  // namespace ql
