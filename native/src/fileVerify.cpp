#include "fileVerify.hpp"
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

namespace ql {

void readFully(int fd, int64_t offset, int64_t bytes, void* into) {
  char* dst = static_cast<char*>(into);
  int64_t done = 0;
  while (done < bytes) {
    const ssize_t got = ::pread(fd, dst + done, (size_t)(bytes - done), (off_t)(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("read failed: ") + std::strerror(errno));
    }
    if (got == 0) throw std::runtime_error("file shrank while reading");
    done += got;
  }
}

namespace {

void verifySlice(int fd, int64_t byteOffset, int64_t b, int64_t e, int64_t start, const GridParams& p, GridAcc& acc) {
  std::unique_ptr<float[]> buf(new float[(size_t)std::max<int64_t>(1, std::min(kFileBlockElements, e - b))]);
  if (b == e) { verifyRange(buf.get(), 0, start + b, p, acc); return; }  // sizes the histograms as an empty push does
  for (int64_t i = b; i < e; i += kFileBlockElements) {
    const int64_t m = std::min(kFileBlockElements, e - i);
    readFully(fd, byteOffset + 4 * i, 4 * m, buf.get());
    verifyRange(buf.get(), m, start + i, p, acc);
  }
}

}  // namespace

void verifyFileRegion(int fd, int64_t byteOffset, int64_t count, int64_t start, const GridParams& p, GridAcc& acc, int threads) {
  // Slices as verifyParallel cuts them, merged in the same order: the same results.
  const int64_t minPerThread = 1 << 16;
  const int t = std::max(1, std::min<int>(threads, (int)((count + minPerThread - 1) / minPerThread)));
  if (t == 1) { verifySlice(fd, byteOffset, 0, count, start, p, acc); return; }
  std::vector<GridAcc> parts(t);
  std::vector<std::exception_ptr> errors(t);
  std::vector<std::thread> pool;
  const int64_t per = (count + t - 1) / t;
  for (int k = 0; k < t; k++) {
    const int64_t b = k * per, e = std::min(count, b + per);
    pool.emplace_back([&, k, b, e] {
      try { if (b < e) verifySlice(fd, byteOffset, b, e, start, p, parts[k]); } catch (...) { errors[k] = std::current_exception(); }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& err : errors) if (err) std::rethrow_exception(err);
  for (auto& part : parts) acc.merge(part, p.worstK);
}

}  // namespace ql
