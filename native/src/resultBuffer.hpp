// Storage for large results handed to JS, recycled. A conv1d at mamba-130m size returns three
// 12 MB arrays per call; perf on a VM put 41% of a Mode 1 call in the kernel zeroing fresh pages,
// and a value-initialized std::vector writes every element once more before the kernel does.
// So a result vector's block comes from a small pool of blocks JS has released (the ArrayBuffer's
// finalizer frees the vector), and `resize` leaves the elements unwritten: only for results the
// kernel writes in full.
#pragma once
#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace ql {

// A block of at least `bytes`: a released one of the same size class when the pool has one, else a
// fresh one (huge-page advised when large). Throws std::bad_alloc when memory is exhausted.
void* takeResultBlock(size_t bytes);
// Back to the pool (up to its cap, otherwise freed); `bytes` as given to takeResultBlock.
void releaseResultBlock(void* block, size_t bytes) noexcept;
// What the pool holds now, in bytes (for tests).
size_t pooledResultBytes() noexcept;

template <typename T>
struct ResultAllocator {
  using value_type = T;
  ResultAllocator() = default;
  template <typename U>
  ResultAllocator(const ResultAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(takeResultBlock(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { releaseResultBlock(p, n * sizeof(T)); }
  // Default-initialization: resize(n) leaves trivially constructible elements unwritten.
  template <typename U>
  void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
  template <typename U, typename... A>
  void construct(U* p, A&&... a) { ::new (static_cast<void*>(p)) U(std::forward<A>(a)...); }
  template <typename U>
  bool operator==(const ResultAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const ResultAllocator<U>&) const noexcept { return false; }
};

// A result array: resize(n) allocates without writing; every element must then be written.
template <typename T>
using ResultVector = std::vector<T, ResultAllocator<T>>;

}  // namespace ql
