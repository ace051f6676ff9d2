#include "fileVerify.hpp"
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
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
  // Sliced as verifyParallel slices, merged in the same order: the same results.
  forEachSlice(count, threads, p.worstK, acc, [&](int64_t b, int64_t e, GridAcc& part) { verifySlice(fd, byteOffset, b, e, start, p, part); });
}

}  // namespace ql
