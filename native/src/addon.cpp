// Node-API binding. Every numeric call runs on a libuv worker thread (Napi::AsyncWorker) and
// returns a Promise, so the extension host's event loop never blocks; callers stream chunks and
// can stop between them (cancellation), which also bounds memory to one chunk.
#include <napi.h>
#include <iterator>
#include <climits>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>
#include "grid.hpp"
#include "diff.hpp"
#include "conv1d.hpp"
#include "cuda_api.hpp"
#include "backend.hpp"
#include "job.hpp"
#include "validate.hpp"
#include "fileVerify.hpp"
#include "stats.hpp"
#include "overview.hpp"
#include "gridFit.hpp"

namespace {

using ql::Job;

int defaultThreads() {
  unsigned h = std::thread::hardware_concurrency();
  return h ? (int)h : 1;
}

int intOpt(const Napi::Object& o, const char* key, int def) {
  return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().Int32Value() : def;
}
double numOpt(const Napi::Object& o, const char* key, double def) {
  return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().DoubleValue() : def;
}
bool boolOpt(const Napi::Object& o, const char* key, bool def) {
  return o.Has(key) && o.Get(key).IsBoolean() ? o.Get(key).As<Napi::Boolean>().Value() : def;
}
std::string strOpt(const Napi::Object& o, const char* key, const std::string& def) {
  return o.Has(key) && o.Get(key).IsString() ? o.Get(key).As<Napi::String>().Utf8Value() : def;
}

Napi::Float32Array float32Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Float32Array");
  }
  return info[i].As<Napi::Float32Array>();
}

// The flat index of a pushed chunk's first element (argument i, default 0), checked.
int64_t chunkStart(const Napi::CallbackInfo& info, size_t i, size_t n) {
  double start = 0;
  if (info.Length() > i && !info[i].IsUndefined()) {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "chunk start must be a number");
    start = info[i].As<Napi::Number>().DoubleValue();
  }
  int64_t out = 0;
  const std::string bad = ql::checkChunk(start, n, out);
  if (!bad.empty()) throw Napi::RangeError::New(info.Env(), bad);
  return out;
}

// Argument i as a non-negative integer index (a descriptor, byte offset or count), into out.
bool indexArg(const Napi::CallbackInfo& info, size_t i, int64_t& out) {
  return info.Length() > i && info[i].IsNumber() && ql::toIndex(info[i].As<Napi::Number>().DoubleValue(), 0, out);
}
// A JS array from a C++ sequence, each element converted by `toJs`.
template <typename Seq, typename ToJs>
Napi::Array jsArray(Napi::Env env, const Seq& items, ToJs toJs) {
  const size_t n = std::size(items);
  auto out = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) out.Set(i, toJs(items[i]));
  return out;
}

const auto asNumber = [](auto v) { return (double)v; };

// Computes one chunk's partial result off the main thread and merges it into `acc` under `mu`
// (pushes may overlap if a caller does not await them).
template <typename Acc, typename Compute>
Napi::Value queueMerge(Napi::Env env, std::mutex& mu, Acc& acc, int k, Compute compute, std::vector<Napi::Value> keep) {
  auto* job = new Job(env, [&mu, &acc, k, compute] {
    Acc part;
    compute(part);
    std::lock_guard<std::mutex> lock(mu);
    acc.merge(part, k);
  }, [](Napi::Env e) { return e.Undefined(); }, std::move(keep));
  job->Queue();
  return job->Promise();
}

const char* className(uint8_t c) {
  switch (c) {
    case ql::kExact: return "exact";
    case ql::kFp32Artifact: return "fp32_artifact";
    case ql::kOffGrid: return "off_grid";
    default: return "non_finite";
  }
}

// The grid options a Verifier and an overview take (scales, zeroPoints, inner, qmin, qmax), checked
// and set in p; a TypeError or RangeError naming the option otherwise.
void readGrid(Napi::Env env, const Napi::Object& o, ql::GridParams& p) {
  auto isNumbers = [](const Napi::Value& v) {
    return v.IsArray() || (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array);
  };
  if (!o.Has("scales") || !isNumbers(o.Get("scales"))) throw Napi::TypeError::New(env, "options.scales must be an array or a Float64Array");
  // A Float64Array is copied at once: per-channel weights have a scale per row, and reading an
  // array element by element through N-API took most of a millisecond per tensor.
  auto numbers = [&](const char* key) {
    std::vector<double> v;
    const Napi::Value value = o.Has(key) ? o.Get(key) : env.Undefined();
    if (!isNumbers(value)) return v;
    if (value.IsTypedArray()) {
      auto t = value.As<Napi::Float64Array>();
      v.assign(t.Data(), t.Data() + t.ElementLength());
      return v;
    }
    auto a = value.As<Napi::Array>();
    const uint32_t n = a.Length();
    v.reserve(n);
    for (uint32_t i = 0; i < n; i++) {
      const Napi::Value e = a.Get(i);
      if (!e.IsNumber()) throw Napi::TypeError::New(env, std::string("options.") + key + " must hold numbers");
      v.push_back(e.As<Napi::Number>().DoubleValue());
    }
    return v;
  };
  const std::string bad = ql::checkGrid(numbers("scales"), numbers("zeroPoints"), numOpt(o, "inner", 1), numOpt(o, "qmin", -128),
                                        numOpt(o, "qmax", 127), p);
  if (!bad.empty()) throw Napi::RangeError::New(env, bad);
}

class Verifier : public Napi::ObjectWrap<Verifier> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Verifier", {InstanceMethod("push", &Verifier::Push), InstanceMethod("pushFile", &Verifier::PushFile),
                                             InstanceMethod("result", &Verifier::Result)});
  }
  explicit Verifier(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Verifier>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Verifier options must be an object");
    auto o = info[0].As<Napi::Object>();
    readGrid(env, o, p_);
    p_.tolerance = (float)numOpt(o, "tolerance", 1e-5);
    p_.worstK = std::max(0, std::min(1000, intOpt(o, "worst", 10)));
    p_.inputIsCodes = boolOpt(o, "codes", false);
    const std::string storage = strOpt(o, "storage", "float32");
    if (storage == "bfloat16") p_.storage = ql::kStorageBF16;
    else if (storage == "float16") p_.storage = ql::kStorageF16;
    else if (storage != "float32") throw Napi::RangeError::New(env, "storage must be float32, bfloat16 or float16");
    threads_ = std::max(1, intOpt(o, "threads", defaultThreads()));
    const std::string badDevice = ql::deviceFor(strOpt(o, "device", "cpu"), device_);
    if (!badDevice.empty()) throw Napi::Error::New(env, badDevice);
    // The CUDA kernels test membership in FP32 only: grids stored in bf16/fp16 are verified on the CPU.
    if (p_.storage != ql::kStorageF32) device_ = ql::Device::Cpu;
  }

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    auto arr = float32Arg(info, 0, "values");
    const float* data = arr.Data();
    const int64_t n = (int64_t)arr.ElementLength();
    const int64_t start = chunkStart(info, 1, (size_t)n);
    auto self = this;
    return queueMerge(info.Env(), mu_, acc_, p_.worstK, [self, data, n, start](ql::GridAcc& part) {
      ql::runVerify(self->device_, data, n, start, self->p_, part, self->threads_);
    }, {arr, info.This()});
  }

  // pushFile(fd, byteOffset, count, start): `count` little-endian FP32 elements read by the
  // kernel's own threads from an open file descriptor (the caller keeps it open until this resolves).
  Napi::Value PushFile(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t fd = 0, offset = 0, count = 0;
    if (!indexArg(info, 0, fd) || fd > INT32_MAX) throw Napi::TypeError::New(env, "pushFile: fd must be an open file descriptor");
    if (!indexArg(info, 1, offset) || !indexArg(info, 2, count)) throw Napi::RangeError::New(env, "pushFile: byte offset and count must be non-negative integers");
    const int64_t start = chunkStart(info, 3, (size_t)count);
    auto self = this;
    return queueMerge(env, mu_, acc_, p_.worstK, [self, fd, offset, count, start](ql::GridAcc& part) {
      if (self->device_ == ql::Device::Cpu) {
        ql::verifyFileRegion((int)fd, offset, count, start, self->p_, part, self->threads_);
      } else {
        std::vector<float> values((size_t)count);
        ql::readFully((int)fd, offset, 4 * count, values.data());
        ql::runVerify(self->device_, values.data(), count, start, self->p_, part, self->threads_);
      }
    }, {info.This()});
  }

  Napi::Value Result(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto& a = acc_;
    auto r = Napi::Object::New(env);
    const double n = (double)a.n;
    r.Set("n", n);
    r.Set("nan", (double)a.nan);
    r.Set("inf", (double)a.inf);
    r.Set("int_min", a.any ? Napi::Value(Napi::Number::New(env, a.qMin)) : env.Null());
    r.Set("int_max", a.any ? Napi::Value(Napi::Number::New(env, a.qMax)) : env.Null());
    const double mean = n > 0 ? a.sumQ / n : 0;
    r.Set("int_mean", n > 0 ? Napi::Value(Napi::Number::New(env, mean)) : env.Null());
    const double var = n > 1 ? std::max(0.0, (a.sumQ2 - a.sumQ * mean) / (n - 1)) : 0;
    r.Set("int_std", n > 0 ? Napi::Value(Napi::Number::New(env, std::sqrt(var))) : env.Null());
    r.Set("out_of_range", (double)a.outOfRange);
    r.Set("saturated_pos", (double)a.satPos);
    r.Set("saturated_neg", (double)a.satNeg);
    r.Set("max_deviation", (double)a.maxDev);
    r.Set("offgrid_tolerance", (double)a.offTol);
    r.Set("fp32_artifacts", (double)a.artifacts);
    r.Set("true_offgrid", (double)a.offGrid);
    r.Set("max_reconstruction_error", (double)a.maxRecon);
    r.Set("deviation_histogram", jsArray(env, a.devHist, asNumber));
    r.Set("code_histogram", jsArray(env, a.codeHist, asNumber));
    r.Set("worst", jsArray(env, a.worst, [env](const ql::Worst& w) {
      auto e = Napi::Object::New(env);
      e.Set("index", (double)w.index);
      e.Set("value", (double)w.value);
      e.Set("q", (double)w.q);
      e.Set("deviation", (double)w.dev);
      e.Set("class", className(w.cls));
      return e;
    }));
    r.Set("device", ql::deviceName(device_));
    return r;
  }

  ql::GridParams p_;
  ql::GridAcc acc_;
  std::mutex mu_;  // pushes may overlap if a caller does not await; merging is serialized
  int threads_ = 1;
  ql::Device device_ = ql::Device::Cpu;
};

class Differ : public Napi::ObjectWrap<Differ> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Differ", {InstanceMethod("push", &Differ::Push), InstanceMethod("result", &Differ::Result)});
  }
  explicit Differ(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Differ>(info) {
    auto o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
    p_.a.scale = (float)numOpt(o, "scaleA", 0);
    p_.b.scale = (float)numOpt(o, "scaleB", 0);
    for (float s : {p_.a.scale, p_.b.scale}) {
      if (!(s >= 0 && std::isfinite(s))) throw Napi::RangeError::New(info.Env(), "diff scales must be finite and non-negative (0: unknown)");
    }
    p_.a.isCodes = boolOpt(o, "codesA", false);
    p_.b.isCodes = boolOpt(o, "codesB", false);
    p_.topK = std::max(0, std::min(1000, intOpt(o, "top", 10)));
    threads_ = std::max(1, intOpt(o, "threads", defaultThreads()));
  }

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    auto a = float32Arg(info, 0, "a"), b = float32Arg(info, 1, "b");
    if (a.ElementLength() != b.ElementLength()) throw Napi::RangeError::New(info.Env(), "a and b chunks differ in length");
    const float *pa = a.Data(), *pb = b.Data();
    const int64_t n = (int64_t)a.ElementLength();
    const int64_t start = chunkStart(info, 2, (size_t)n);
    auto self = this;
    return queueMerge(info.Env(), mu_, acc_, p_.topK, [self, pa, pb, n, start](ql::DiffAcc& part) {
      ql::diffParallel(pa, pb, n, start, self->p_, part, self->threads_);
    }, {a, b, info.This()});
  }

  Napi::Value Result(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto& a = acc_;
    auto r = Napi::Object::New(env);
    const double n = (double)a.n;
    auto numOrNull = [&](bool ok, double v) { return ok && std::isfinite(v) ? Napi::Value(Napi::Number::New(env, v)) : env.Null(); };
    r.Set("n", n);
    r.Set("max_abs_diff", (double)a.maxAbs);
    r.Set("mean_abs_diff", numOrNull(n > 0, a.sumAbs / n));
    r.Set("exact_match_pct", numOrNull(n > 0, 100.0 * (double)a.exact / n));
    r.Set("nan_mismatch", (double)a.nanMismatch);
    r.Set("sqnr_db", a.sumSqErr == 0 ? Napi::Value(env.Null()) : numOrNull(a.sumSqRef > 0, 10.0 * std::log10(a.sumSqRef / a.sumSqErr)));
    r.Set("cosine", numOrNull(a.sumSqA > 0 && a.sumSqB > 0, a.dot / std::sqrt(a.sumSqA * a.sumSqB)));
    const bool grid = !a.dqHist.empty();
    r.Set("max_abs_int", numOrNull(grid, a.maxAbsDq));
    r.Set("mean_abs_int", numOrNull(grid && n > 0, a.sumAbsDq / n));
    r.Set("exact_pct", numOrNull(grid && n > 0, 100.0 * (double)a.equalCodes / n));
    r.Set("int_diff_histogram", grid ? Napi::Value(jsArray(env, a.dqHist, asNumber)) : Napi::Value(env.Null()));
    r.Set("largest", jsArray(env, a.top, [env](const auto& t) {
      auto e = Napi::Object::New(env);
      e.Set("index", (double)t.index);
      e.Set("a", (double)t.a);
      e.Set("b", (double)t.b);
      e.Set("abs_diff", (double)t.absDiff);
      return e;
    }));
    return r;
  }

  ql::DiffParams p_;
  ql::DiffAcc acc_;
  std::mutex mu_;
  int threads_ = 1;
};

// stats(fd, byteOffset, count, threads?): the statistics of `count` FP32 values read from the file
// by the kernel's threads (stats.hpp). The caller keeps fd open until the promise settles.
Napi::Value StatsOfFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd = 0, offset = 0, count = 0;
  if (!indexArg(info, 0, fd) || fd > INT32_MAX) throw Napi::TypeError::New(env, "stats: fd must be an open file descriptor");
  if (!indexArg(info, 1, offset) || !indexArg(info, 2, count)) throw Napi::RangeError::New(env, "stats: byte offset and count must be non-negative integers");
  const int threads = info.Length() > 3 && info[3].IsNumber() ? std::max(1, info[3].As<Napi::Number>().Int32Value()) : defaultThreads();
  auto out = std::make_shared<ql::Stats>();
  auto* job = new Job(env, [out, fd, offset, count, threads] { *out = ql::statsOfFileRegion((int)fd, offset, count, threads); },
                      [out](Napi::Env e) {
                        auto r = Napi::Object::New(e);
                        r.Set("n", (double)out->n);
                        r.Set("nan", (double)out->nan);
                        r.Set("inf", (double)out->inf);
                        r.Set("sum", out->sum);
                        r.Set("mean", out->mean);
                        r.Set("m2", out->m2);
                        r.Set("min", out->n ? Napi::Value(Napi::Number::New(e, out->min)) : e.Null());
                        r.Set("max", out->n ? Napi::Value(Napi::Number::New(e, out->max)) : e.Null());
                        return r;
                      },
                      {});
  job->Queue();
  return job->Promise();
}

// overview(fd, byteOffset, count, start, options): the tiles (overview.hpp) of `count` FP32 values
// read from the file, positions start..; options: the grid (readGrid) and the tiling, as
// src/view/overview.ts lays it out (cols, rowsPerTile, colsPerTile, tileCols, tiles).
Napi::Value OverviewOfFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd = 0, offset = 0, count = 0, start = 0;
  if (!indexArg(info, 0, fd) || fd > INT32_MAX) throw Napi::TypeError::New(env, "overview: fd must be an open file descriptor");
  if (!indexArg(info, 1, offset) || !indexArg(info, 2, count) || !indexArg(info, 3, start)) throw Napi::RangeError::New(env, "overview: byte offset, count and start must be non-negative integers");
  if (info.Length() < 5 || !info[4].IsObject()) throw Napi::TypeError::New(env, "overview options must be an object");
  auto o = info[4].As<Napi::Object>();
  ql::GridParams p;
  readGrid(env, o, p);
  ql::TileGrid g;
  double fields[5];
  for (int k = 0; k < 5; k++) {
    const char* name = ql::kTilingFields[k];
    fields[k] = o.Has(name) && o.Get(name).IsNumber() ? o.Get(name).As<Napi::Number>().DoubleValue() : NAN;
  }
  const std::string bad = ql::checkTiling(fields, start, count, g);
  if (!bad.empty()) throw Napi::RangeError::New(env, bad);
  const int threads = std::max(1, intOpt(o, "threads", defaultThreads()));
  auto out = std::make_shared<ql::Tiles>();
  auto* job = new Job(env, [out, fd, offset, count, start, p, g, threads] { *out = ql::overviewOfFileRegion((int)fd, offset, count, start, p, g, threads); },
                      [out](Napi::Env e) {
                        const size_t n = out->worst.size();
                        auto r = Napi::Object::New(e);
                        auto worst = Napi::Uint8Array::New(e, n);
                        auto peak = Napi::Float32Array::New(e, n);
                        auto atMeasure = Napi::Float32Array::New(e, n);
                        auto at = Napi::Float64Array::New(e, n);
                        auto problems = Napi::Uint32Array::New(e, n);
                        std::copy(out->worst.begin(), out->worst.end(), worst.Data());
                        std::copy(out->peak.begin(), out->peak.end(), peak.Data());
                        std::copy(out->atMeasure.begin(), out->atMeasure.end(), atMeasure.Data());
                        std::copy(out->at.begin(), out->at.end(), at.Data());
                        std::copy(out->problems.begin(), out->problems.end(), problems.Data());
                        r.Set("worst", worst);
                        r.Set("peak", peak);
                        r.Set("atMeasure", atMeasure);
                        r.Set("at", at);
                        r.Set("problems", problems);
                        return r;
                      },
                      {});
  job->Queue();
  return job->Promise();
}

// gridFit(values: Float32Array, scale, qmax) -> { members, distinctCodes }, synchronous: scale
// inference calls it on a sample of at most 16K elements (microseconds), per candidate grid.
Napi::Value GridFitOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "gridFit(values: Float32Array, scale: number, qmax: number)");
  auto x = info[0].As<Napi::Float32Array>();
  const float s = (float)info[1].As<Napi::Number>().DoubleValue();
  const double qmax = info[2].As<Napi::Number>().DoubleValue();
  if (!ql::validScale(s)) throw Napi::RangeError::New(env, "gridFit: the scale must be finite and positive");
  if (!(qmax >= 1 && qmax <= 32767 && qmax == std::floor(qmax))) throw Napi::RangeError::New(env, "gridFit: qmax must be an integer in 1..32767");
  const ql::GridFit fit = ql::gridFit(x.Data(), x.ElementLength(), s, (int)qmax);
  auto r = Napi::Object::New(env);
  r.Set("members", Napi::Number::New(env, (double)fit.members));
  r.Set("distinctCodes", Napi::Number::New(env, fit.distinctCodes));
  return r;
}

// absRange(values: Float32Array) -> { absMax, minNonzero }, synchronous, finite values only.
Napi::Value AbsRangeOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, "absRange(values: Float32Array)");
  auto x = info[0].As<Napi::Float32Array>();
  const ql::AbsRange a = ql::absRange(x.Data(), x.ElementLength());
  auto r = Napi::Object::New(env);
  r.Set("absMax", Napi::Number::New(env, a.absMax));
  r.Set("minNonzero", Napi::Number::New(env, a.minNonzero));
  return r;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Verifier", Verifier::Init(env));
  exports.Set("Differ", Differ::Init(env));
  exports.Set("cudaAvailable", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ql::cudaAvailable()); }));
  exports.Set("cudaCompiled", Napi::Boolean::New(env, ql::cudaCompiled()));
  exports.Set("hardwareThreads", Napi::Number::New(env, defaultThreads()));
  exports.Set("stats", Napi::Function::New(env, StatsOfFile));
  exports.Set("overview", Napi::Function::New(env, OverviewOfFile));
  exports.Set("gridFit", Napi::Function::New(env, GridFitOf));
  exports.Set("absRange", Napi::Function::New(env, AbsRangeOf));
  ql::registerLayerFunctions(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(quant_lens, Init)
