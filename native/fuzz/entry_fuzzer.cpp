// libFuzzer target over the native entry points that take sizes, strides and offsets: the same
// validation the addon runs on JavaScript's numbers (validate.hpp), then, when it accepts, the CPU
// kernel over buffers of exactly the validated lengths. Built with AddressSanitizer and
// UndefinedBehaviorSanitizer, so an accepted shape that reads or writes out of bounds, or any
// overflow in the checks, stops the run. Run by scripts/fuzz-native.sh.
#include <fuzzer/FuzzedDataProvider.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <sys/mman.h>
#include <unistd.h>
#include "conv1d.hpp"
#include "diff.hpp"
#include "grid.hpp"
#include "layers.hpp"
#include "overview.hpp"
#include "stats.hpp"
#include "validate.hpp"
#include "../test/grid_compare.hpp"

namespace {

// A property the target checks does not hold: say which, and stop the run.
void die(const char* what) { std::fprintf(stderr, "%s\n", what); std::abort(); }

constexpr size_t kMaxLen = 1024;  // buffers stay small: each input must run in milliseconds

// A JavaScript number as an attacker could pass it: small integers mostly, sometimes anything.
double number(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0: return in.ConsumeFloatingPoint<double>();
    case 1: return (double)in.ConsumeIntegral<int64_t>();
    case 2: return -(double)in.ConsumeIntegralInRange<int>(0, 8);
    case 3: return std::ldexp(1.0, in.ConsumeIntegralInRange<int>(0, 64)) + in.ConsumeIntegralInRange<int>(-2, 2);
    default: return (double)in.ConsumeIntegralInRange<int>(0, 40);
  }
}

// A buffer length: the product the shape implies (so valid problems are reached), or off by a
// little, or anything up to kMaxLen.
size_t length(FuzzedDataProvider& in, double implied) {
  const int pick = in.ConsumeIntegralInRange<int>(0, 3);
  if (pick < 2 && implied >= 0 && implied <= (double)kMaxLen) return (size_t)implied;
  if (pick == 2 && implied >= 2 && implied <= (double)kMaxLen) return (size_t)implied + in.ConsumeIntegralInRange<int>(-1, 1);
  return in.ConsumeIntegralInRange<size_t>(0, kMaxLen);
}

std::vector<float> floats(FuzzedDataProvider& in, size_t n) {
  std::vector<float> v(n);
  const float scale = in.ConsumeFloatingPointInRange<float>(-4.0f, 4.0f);
  for (size_t i = 0; i < n; i++) v[i] = in.remaining_bytes() ? in.ConsumeFloatingPoint<float>() : scale * (float)((i * 37) % 255 - 127);
  return v;
}

float scale(FuzzedDataProvider& in) { return in.ConsumeBool() ? 0.0121623231f : in.ConsumeFloatingPoint<float>(); }
ql::Mode mode(FuzzedDataProvider& in) { return (ql::Mode)in.ConsumeIntegralInRange<int>(0, 2); }

void conv1d(FuzzedDataProvider& in) {
  const double B = number(in), D = number(in), L = number(in), K = number(in);
  const size_t xLen = length(in, B * D * L), wLen = length(in, D * K), bLen = length(in, D);
  ql::Conv1dProblem p;
  if (!ql::checkConv1d(B, D, L, K, xLen, wLen, bLen, p).empty()) return;
  std::vector<float> x = floats(in, xLen);
  std::vector<int8_t> w(wLen, (int8_t)in.ConsumeIntegral<int8_t>());
  std::vector<int32_t> bias(bLen, in.ConsumeIntegral<int32_t>());
  p.mode = mode(in); p.x = x.data(); p.w = w.data(); p.bias = bias.data(); p.threads = 1;
  p.inputScale = scale(in); p.weightScale = scale(in); p.biasScale = scale(in); p.outputScale = scale(in);
  for (float s : {p.inputScale, p.weightScale, p.biasScale, p.outputScale}) if (!ql::validScale(s)) return;
  ql::Conv1dOutputs out;
  ql::conv1dRun(p, out);
}

void linear(FuzzedDataProvider& in) {
  const double T = number(in), K = number(in), N = number(in);
  const size_t xLen = length(in, T * K), wLen = length(in, N * K);
  const int64_t bLen = in.ConsumeBool() ? -1 : (int64_t)length(in, N);
  const size_t nScales = in.ConsumeBool() ? 1 : length(in, N);
  ql::LinearProblem p;
  if (!ql::checkLinear(T, K, N, xLen, wLen, bLen, nScales, p).empty()) return;
  std::vector<float> x = floats(in, xLen);
  std::vector<int8_t> w(wLen, (int8_t)in.ConsumeIntegral<int8_t>());
  std::vector<int32_t> bias(bLen < 0 ? 0 : (size_t)bLen, in.ConsumeIntegral<int32_t>());
  p.mode = mode(in); p.x = x.data(); p.w = w.data(); p.bias = bLen < 0 ? nullptr : bias.data(); p.threads = 1;
  p.inputScale = scale(in);
  p.weightScales.assign(nScales, scale(in));
  if (!ql::validScale(p.inputScale) || !ql::validScale(p.weightScales[0])) return;
  std::vector<float> y;
  ql::linearRun(p, y);
}

void scan(FuzzedDataProvider& in) {
  const double D = number(in), L = number(in), S = number(in);
  auto opt = [&](double implied) { return in.ConsumeBool() ? (int64_t)-1 : (int64_t)length(in, implied); };
  ql::ScanLengths len{length(in, D * L), length(in, D * L), length(in, D * S), length(in, S * L), length(in, S * L), opt(D), opt(D * L), opt(D)};
  ql::ScanProblem p;
  if (!ql::checkScan(D, L, S, len, p).empty()) return;
  std::vector<float> u = floats(in, len.u), delta = floats(in, len.delta), A = floats(in, len.A), Bm = floats(in, len.B), Cm = floats(in, len.C);
  std::vector<float> Dv(len.D < 0 ? 0 : (size_t)len.D, 0.5f), z(len.z < 0 ? 0 : (size_t)len.z, 1.0f), db(len.deltaBias < 0 ? 0 : (size_t)len.deltaBias, 0.1f);
  p.u = u.data(); p.delta = delta.data(); p.A = A.data(); p.Bm = Bm.data(); p.Cm = Cm.data();
  p.Dskip = len.D < 0 ? nullptr : Dv.data(); p.z = len.z < 0 ? nullptr : z.data(); p.deltaBias = len.deltaBias < 0 ? nullptr : db.data();
  p.softplus = in.ConsumeBool(); p.threads = 1;
  std::vector<float> y;
  ql::scanRun(p, y);
}

void verify(FuzzedDataProvider& in) {
  std::vector<double> scales(in.ConsumeIntegralInRange<size_t>(0, 8)), zps(in.ConsumeIntegralInRange<size_t>(0, 8));
  for (double& s : scales) s = in.ConsumeBool() ? 0.0121623231 : number(in);
  for (double& z : zps) z = number(in);
  const double inner = number(in), qmin = in.ConsumeBool() ? -128 : number(in), qmax = in.ConsumeBool() ? 127 : number(in);
  ql::GridParams p;
  if (!ql::checkGrid(scales, zps, inner, qmin, qmax, p).empty()) return;
  p.worstK = in.ConsumeIntegralInRange<int>(0, 40);
  p.inputIsCodes = in.ConsumeBool();
  p.tolerance = in.ConsumeFloatingPoint<float>();
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, kMaxLen);
  int64_t start = 0;
  if (!ql::checkChunk(number(in), n, start).empty()) return;
  std::vector<float> x = floats(in, n);
  ql::GridAcc acc;
  ql::verifyRange(x.data(), (int64_t)n, start, p, acc);
  ql::GridAcc many;
  ql::verifyParallel(x.data(), (int64_t)n, start, p, many, 2);
  // Differential: the per-element and by-code CPU kernels must agree on every input.
  ql::GridAcc per, byCode, portable;
  p.cpuPath = ql::GridParams::CpuPath::kPerElement;
  ql::verifyRange(x.data(), (int64_t)n, start, p, per);
  p.cpuPath = ql::GridParams::CpuPath::kByCode;
  ql::verifyRange(x.data(), (int64_t)n, start, p, byCode);
  p.cpuPath = ql::GridParams::CpuPath::kByCodePortable;
  ql::verifyRange(x.data(), (int64_t)n, start, p, portable);
  std::string why;
  if (!ql::sameAcc(per, byCode, why)) die(("verify: the per-element and by-code CPU kernels disagree on: " + why).c_str());
  if (!ql::sameAcc(per, portable, why)) die(("verify: the per-element and portable by-code CPU kernels disagree on: " + why).c_str());
}

void diff(FuzzedDataProvider& in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, kMaxLen);
  int64_t start = 0;
  if (!ql::checkChunk(number(in), n, start).empty()) return;
  ql::DiffParams p;
  p.a.scale = in.ConsumeBool() ? 0.0f : scale(in); p.b.scale = in.ConsumeBool() ? 0.0f : scale(in);
  if (!(p.a.scale >= 0 && std::isfinite(p.a.scale)) || !(p.b.scale >= 0 && std::isfinite(p.b.scale))) return;
  p.a.isCodes = in.ConsumeBool(); p.b.isCodes = in.ConsumeBool(); p.topK = in.ConsumeIntegralInRange<int>(0, 40);
  std::vector<float> a = floats(in, n), b = floats(in, n);
  ql::DiffAcc acc;
  ql::diffRange(a.data(), b.data(), (int64_t)n, start, p, acc);
}

// A file holding `x` (an anonymous memory file: the kernels read it with pread as they read a dump).
struct MemFile {
  int fd;
  explicit MemFile(const std::vector<float>& x) : fd(memfd_create("ql-fuzz", 0)) {
    if (fd < 0 || write(fd, x.data(), x.size() * sizeof(float)) != (ssize_t)(x.size() * sizeof(float))) die("fuzz: cannot write the memory file");
  }
  ~MemFile() { close(fd); }
};

// The byte offset and count of a region: inside the file mostly, sometimes past its end (an error).
void region(FuzzedDataProvider& in, size_t n, int64_t& offset, int64_t& count) {
  const int64_t first = in.ConsumeIntegralInRange<int64_t>(0, (int64_t)n);
  offset = first * 4 + (in.ConsumeIntegralInRange<int>(0, 7) == 0 ? in.ConsumeIntegralInRange<int>(1, 3) : 0);
  count = in.ConsumeIntegralInRange<int64_t>(0, (int64_t)n - first + (in.ConsumeIntegralInRange<int>(0, 7) == 0 ? 3 : 0));
}

// Statistics from a file: the same figures bit for bit at 1 and 3 threads and as from memory.
void stats(FuzzedDataProvider& in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, kMaxLen);
  int64_t offset = 0, count = 0;
  region(in, n, offset, count);
  const std::vector<float> x = floats(in, n);  // last: floats() takes what bytes are left
  MemFile f(x);
  ql::Stats one, three;
  try {
    one = ql::statsOfFileRegion(f.fd, offset, count, 1);
  } catch (const std::runtime_error&) {
    return;  // a region past the end: refused, as the addon reports it
  }
  three = ql::statsOfFileRegion(f.fd, offset, count, 3);
  if (offset % 4 == 0) {
    const ql::Stats mem = ql::statsOf(x.data() + offset / 4, count);
    if (std::memcmp(&mem, &one, sizeof mem) != 0) die("stats: the file's figures differ from memory's");
  }
  if (std::memcmp(&one, &three, sizeof one) != 0) die("stats: the figures depend on the thread count");
}

// The overview over a fuzzed grid and tiling: refused by checkTiling, or every tile written is
// one that exists (ASan), the result does not depend on the thread count, and each tile's
// problems and worst element are consistent with its positions.
void overview(FuzzedDataProvider& in) {
  std::vector<double> scales(in.ConsumeIntegralInRange<size_t>(1, 4)), zps(in.ConsumeIntegralInRange<size_t>(0, 4));
  for (double& s : scales) s = in.ConsumeBool() ? 0.0121623231 : number(in);
  for (double& z : zps) z = number(in);
  ql::GridParams p;
  const bool plain = in.ConsumeBool();  // one INT8 scale: reaches the tiling more often
  if (plain) scales.assign(1, 0.0121623231), zps.clear();
  const double inner = plain ? 1 : number(in), qmin = plain || in.ConsumeBool() ? -128 : number(in), qmax = plain || in.ConsumeBool() ? 127 : number(in);
  if (!ql::checkGrid(scales, zps, inner, qmin, qmax, p).empty()) return;
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, kMaxLen);
  int64_t offset = 0, count = 0;
  region(in, n, offset, count);
  int64_t start = 0;
  if (!ql::toIndex(in.ConsumeBool() ? (double)in.ConsumeIntegralInRange<int>(0, 64) : number(in), 0, start)) return;
  double fields[5] = {number(in), number(in), number(in), number(in), number(in)};
  if (in.ConsumeIntegralInRange<int>(0, 3) != 0) {
    // Mostly a layout as src/view/overview.ts makes it, each count off by a little at times: the
    // edge a wrong coverage check lets through.
    const int64_t cols = in.ConsumeIntegralInRange<int64_t>(1, 40), rpt = in.ConsumeIntegralInRange<int64_t>(1, 8),
                  cpt = in.ConsumeIntegralInRange<int64_t>(1, 8);
    const int64_t rows = (start + count + cols - 1) / cols, tileCols = (cols + cpt - 1) / cpt;
    const auto off = [&] { return in.ConsumeIntegralInRange<int>(0, 2) == 0 ? in.ConsumeIntegralInRange<int>(-2, 1) : 0; };
    fields[0] = (double)cols; fields[1] = (double)rpt; fields[2] = (double)cpt;
    fields[3] = (double)(tileCols + off());
    fields[4] = (double)(std::max<int64_t>(1, (rows + rpt - 1) / rpt) * tileCols + off());
  }
  ql::TileGrid g;
  if (!ql::checkTiling(fields, start, count, g).empty()) return;
  if (g.tiles > 4096) return;  // each input must run in milliseconds
  const std::vector<float> x = floats(in, n);  // last: floats() takes what bytes are left
  MemFile f(x);
  ql::Tiles one, three;
  try {
    one = ql::overviewOfFileRegion(f.fd, offset, count, start, p, g, 1);
  } catch (const std::runtime_error&) {
    return;
  }
  three = ql::overviewOfFileRegion(f.fd, offset, count, start, p, g, 3);
  if (one.worst != three.worst || one.at != three.at || one.problems != three.problems ||
      std::memcmp(one.peak.data(), three.peak.data(), one.peak.size() * sizeof(float)) != 0)
    die("overview: the tiles depend on the thread count");
  uint64_t problems = 0, filled = 0;
  for (size_t t = 0; t < one.worst.size(); t++) {
    problems += one.problems[t];
    if (one.worst[t] == ql::kNoTileClass) continue;
    filled++;
    const double at = one.at[t];
    if (!(at >= (double)start && at < (double)(start + count))) die("overview: a tile's worst element lies outside the region");
  }
  if (problems > (uint64_t)count || filled > (uint64_t)count || (count > 0 && filled == 0)) die("overview: tile counts do not add up");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  // The last byte picks the target (FuzzedDataProvider reads integers from the end): regressions/
  // keep theirs when targets are added only by rewriting that byte.
  switch (in.ConsumeIntegralInRange<int>(0, 6)) {
    case 0: conv1d(in); break;
    case 1: linear(in); break;
    case 2: scan(in); break;
    case 3: verify(in); break;
    case 4: diff(in); break;
    case 5: stats(in); break;
    default: overview(in); break;
  }
  return 0;
}
