// libFuzzer target over the native entry points that take sizes, strides and offsets: the same
// validation the addon runs on JavaScript's numbers (validate.hpp), then, when it accepts, the CPU
// kernel over buffers of exactly the validated lengths. Built with AddressSanitizer and
// UndefinedBehaviorSanitizer, so an accepted shape that reads or writes out of bounds, or any
// overflow in the checks, stops the run. Run by scripts/fuzz-native.sh.
#include <fuzzer/FuzzedDataProvider.h>
#include <cmath>
#include <cstdint>
#include <vector>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include "conv1d.hpp"
#include "diff.hpp"
#include "grid.hpp"
#include "layers.hpp"
#include "validate.hpp"
#include "../test/grid_compare.hpp"

namespace {

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
  ql::GridAcc per, byCode;
  p.cpuPath = ql::GridParams::CpuPath::kPerElement;
  ql::verifyRange(x.data(), (int64_t)n, start, p, per);
  p.cpuPath = ql::GridParams::CpuPath::kByCode;
  ql::verifyRange(x.data(), (int64_t)n, start, p, byCode);
  std::string why;
  const bool ok = ql::sameAcc(per, byCode, why);
  if (!ok) { std::fprintf(stderr, "verify: the per-element and by-code CPU kernels disagree on: %s\n", why.c_str()); std::abort(); }
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: conv1d(in); break;
    case 1: linear(in); break;
    case 2: scan(in); break;
    case 3: verify(in); break;
    default: diff(in); break;
  }
  return 0;
}
