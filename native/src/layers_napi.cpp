// N-API entry for layer evaluation: conv1d(options) -> Promise<{ input, output_xproj, ssm_input }>.
#include <napi.h>
#include <cmath>
#include <memory>
#include <thread>
#include "conv1d.hpp"
#include "recipe.hpp"
#include "layers.hpp"
#include "cuda_api.hpp"
#include "backend.hpp"
#include "job.hpp"
#include "validate.hpp"

namespace ql {

namespace {

template <typename T>
T typed(const Napi::Object& o, const char* key, napi_typedarray_type type, const char* typeName) {
  if (!o.Has(key) || !o.Get(key).IsTypedArray() || o.Get(key).As<Napi::TypedArray>().TypedArrayType() != type) {
    throw Napi::TypeError::New(o.Env(), std::string("options.") + key + " must be a " + typeName);
  }
  return o.Get(key).As<T>();
}

double number(const Napi::Object& o, const char* key) {
  if (!o.Has(key) || !o.Get(key).IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("options.") + key + " must be a number");
  return o.Get(key).As<Napi::Number>().DoubleValue();
}

// Hands a result vector to JS without a copy: the ArrayBuffer owns the vector's memory and frees
// it when collected (a copy would touch every page a second time).
// A ResultVector's block goes back to the result pool then.
template <typename A, typename T, typename Alloc>
A toArray(Napi::Env env, std::vector<T, Alloc>& v) {
  auto* owned = new std::vector<T, Alloc>(std::move(v));
  auto buf = Napi::ArrayBuffer::New(env, owned->data(), owned->size() * sizeof(T),
                                    [](Napi::Env, void*, std::vector<T, Alloc>* vec) { delete vec; }, owned);
  return A::New(env, owned->size(), buf, 0);
}

Mode modeOf(const Napi::Object& o) {
  const std::string mode = o.Get("mode").ToString().Utf8Value();
  if (mode == "baseline") return Mode::Baseline;
  if (mode == "mode1") return Mode::Mode1;
  if (mode == "mode2") return Mode::Mode2;
  throw Napi::RangeError::New(o.Env(), "mode must be baseline, mode1 or mode2");
}

// The device an options object asks for (`device: "cuda"`, else the CPU); no GPU for "cuda" is an error.
Device deviceOf(const Napi::Object& o) {
  Device d;
  const std::string bad = deviceFor(o.Has("device") && o.Get("device").IsString() ? o.Get("device").As<Napi::String>().Utf8Value() : "cpu", d);
  if (!bad.empty()) throw Napi::Error::New(o.Env(), bad);
  return d;
}

int threadsOf(const Napi::Object& o) {
  unsigned hw = std::thread::hardware_concurrency();
  return o.Has("threads") && o.Get("threads").IsNumber() ? std::max(1, o.Get("threads").As<Napi::Number>().Int32Value()) : (hw ? (int)hw : 1);
}

// One switch of a recipe object (absent is off), and one of its rounding indices (0..4, absent is half to even).
bool recipeFlag(const Napi::Object& r, const char* key) { return r.Has(key) && r.Get(key).ToBoolean().Value(); }
Rounding recipeRounding(const Napi::Object& r, const char* key) {
  const double v = r.Has(key) && r.Get(key).IsNumber() ? r.Get(key).As<Napi::Number>().DoubleValue() : 0;
  if (v != 0 && v != 1 && v != 2 && v != 3 && v != 4) throw Napi::RangeError::New(r.Env(), std::string("recipe.") + key + " must be 0..4");
  return (Rounding)(int)v;
}

// The operands every conv1d entry takes (x, weight, bias, shape, four scales, threads), checked, into `prob`;
// returns the typed arrays the job must keep alive.
std::vector<Napi::Value> conv1dOperands(const Napi::Object& o, Conv1dProblem& prob) {
  Napi::Env env = o.Env();
  auto x = typed<Napi::Float32Array>(o, "x", napi_float32_array, "Float32Array");
  auto w = typed<Napi::Int8Array>(o, "weight", napi_int8_array, "Int8Array");
  auto bias = typed<Napi::Int32Array>(o, "bias", napi_int32_array, "Int32Array");
  const std::string bad = checkConv1d(number(o, "batch"), number(o, "channels"), number(o, "length"), number(o, "kernel"),
                                      x.ElementLength(), w.ElementLength(), bias.ElementLength(), prob);
  if (!bad.empty()) throw Napi::RangeError::New(env, bad);
  prob.x = x.Data(); prob.w = w.Data(); prob.bias = bias.Data();
  prob.inputScale = (float)number(o, "inputScale");
  prob.weightScale = (float)number(o, "weightScale");
  prob.biasScale = (float)number(o, "biasScale");
  prob.outputScale = (float)number(o, "outputScale");
  for (float s : {prob.inputScale, prob.weightScale, prob.biasScale, prob.outputScale}) {
    if (!validScale(s)) throw Napi::RangeError::New(env, "scales must be finite and positive");
  }
  prob.threads = threadsOf(o);
  return {x, w, bias};
}

Napi::Value Conv1d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "conv1d options must be an object");
  auto o = info[0].As<Napi::Object>();
  auto prob = std::make_shared<Conv1dProblem>();
  prob->mode = modeOf(o);
  const std::vector<Napi::Value> keep = conv1dOperands(o, *prob);
  const Device device = deviceOf(o);
  auto out = std::make_shared<Conv1dOutputs>();
  auto* job = new Job(env, [prob, out, device] { runConv1d(device, *prob, *out); },
    [prob, out, device](Napi::Env e) -> Napi::Value {
      auto r = Napi::Object::New(e);
      r.Set("device", deviceName(device));
      if (prob->mode == Mode::Baseline) {
        r.Set("input", toArray<Napi::Int8Array>(e, out->inputQ));
        auto q = toArray<Napi::Int8Array>(e, out->outputQ);
        r.Set("output_xproj", q);
        r.Set("ssm_input", q);
      } else {
        r.Set("input", toArray<Napi::Float32Array>(e, out->inputSim));
        r.Set("output_xproj", toArray<Napi::Float32Array>(e, out->outputSim));
        r.Set("ssm_input", toArray<Napi::Float32Array>(e, out->ssmInput));
      }
      return r;
    }, keep);
  job->Queue();
  return job->Promise();
}

// conv1dRecipes({...conv1d options without mode/device, recipes: [{earlyScales, fp32Accumulate, biasEpilogue,
//                inputRounding, outputRounding, ssmUnquantized}], reference: bool})
//   -> Promise<{ results: [{ codes: Int8Array, ssm: Float32Array }], reference?: Float32Array }>   (CPU)
Napi::Value Conv1dRecipes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "conv1dRecipes options must be an object");
  auto o = info[0].As<Napi::Object>();
  auto prob = std::make_shared<Conv1dProblem>();
  const std::vector<Napi::Value> keep = conv1dOperands(o, *prob);
  if (!o.Has("recipes") || !o.Get("recipes").IsArray()) throw Napi::TypeError::New(env, "options.recipes must be an array");
  auto list = o.Get("recipes").As<Napi::Array>();
  if (list.Length() == 0 || list.Length() > 1024) throw Napi::RangeError::New(env, "options.recipes must hold 1 to 1024 recipes");
  auto recipes = std::make_shared<std::vector<Conv1dRecipe>>();
  for (uint32_t i = 0; i < list.Length(); i++) {
    if (!list.Get(i).IsObject()) throw Napi::TypeError::New(env, "each recipe must be an object");
    auto r = list.Get(i).As<Napi::Object>();
    recipes->push_back({recipeFlag(r, "earlyScales"), recipeFlag(r, "fp32Accumulate"), recipeFlag(r, "biasEpilogue"), recipeRounding(r, "inputRounding"),
                        recipeRounding(r, "outputRounding"), recipeFlag(r, "ssmUnquantized")});
  }
  const bool wantReference = o.Has("reference") && o.Get("reference").ToBoolean().Value();
  auto outs = std::make_shared<std::vector<Conv1dRecipeOutputs>>(recipes->size());
  auto ref = std::make_shared<std::vector<float>>();
  auto* job = new Job(env, [prob, recipes, outs, ref, wantReference] {
      for (size_t i = 0; i < recipes->size(); i++) conv1dRecipeRun(*prob, (*recipes)[i], (*outs)[i]);
      if (wantReference) conv1dReference(*prob, *ref);
    },
    [outs, ref, wantReference](Napi::Env e) -> Napi::Value {
      auto r = Napi::Object::New(e);
      auto results = Napi::Array::New(e, outs->size());
      for (size_t i = 0; i < outs->size(); i++) {
        auto one = Napi::Object::New(e);
        one.Set("codes", toArray<Napi::Int8Array>(e, (*outs)[i].codes));
        one.Set("ssm", toArray<Napi::Float32Array>(e, (*outs)[i].ssm));
        results.Set((uint32_t)i, one);
      }
      r.Set("results", results);
      if (wantReference) r.Set("reference", toArray<Napi::Float32Array>(e, *ref));
      return r;
    }, keep);
  job->Queue();
  return job->Promise();
}

// linear({mode, x: Float32Array [T*K], weight: Int8Array [N*K], bias?: Int32Array [N], rows T, inFeatures K, outFeatures N,
//         inputScale, weightScales: number[] (1 or N)}) -> Promise<Float32Array [T*N]>
Napi::Value Linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "linear options must be an object");
  auto o = info[0].As<Napi::Object>();
  auto x = typed<Napi::Float32Array>(o, "x", napi_float32_array, "Float32Array");
  auto w = typed<Napi::Int8Array>(o, "weight", napi_int8_array, "Int8Array");
  auto p = std::make_shared<LinearProblem>();
  p->mode = modeOf(o);
  std::vector<Napi::Value> keep{x, w};
  int64_t biasLen = -1;
  if (o.Has("bias") && !o.Get("bias").IsUndefined() && !o.Get("bias").IsNull()) {
    auto b = typed<Napi::Int32Array>(o, "bias", napi_int32_array, "Int32Array");
    biasLen = (int64_t)b.ElementLength();
    p->bias = b.Data();
    keep.push_back(b);
  }
  if (!o.Get("weightScales").IsArray()) throw Napi::TypeError::New(env, "options.weightScales must be an array");
  auto ws = o.Get("weightScales").As<Napi::Array>();
  const std::string bad = checkLinear(number(o, "rows"), number(o, "inFeatures"), number(o, "outFeatures"), x.ElementLength(), w.ElementLength(),
                                      biasLen, ws.Length(), *p);
  if (!bad.empty()) throw Napi::RangeError::New(env, bad);
  p->x = x.Data(); p->w = w.Data();
  p->inputScale = (float)number(o, "inputScale");
  for (uint32_t i = 0; i < ws.Length(); i++) {
    if (!ws.Get(i).IsNumber()) throw Napi::TypeError::New(env, "weightScales must be numbers");
    p->weightScales.push_back((float)ws.Get(i).As<Napi::Number>().DoubleValue());
  }
  for (float s : p->weightScales) if (!validScale(s)) throw Napi::RangeError::New(env, "scales must be finite and positive");
  if (!validScale(p->inputScale)) throw Napi::RangeError::New(env, "scales must be finite and positive");
  p->threads = threadsOf(o);
  auto y = std::make_shared<std::vector<float>>();
  const Device device = deviceOf(o);
  // An optional recipe (attribution): one combination of the switches between the modes, on the CPU.
  std::shared_ptr<LinearRecipe> recipe;
  if (o.Has("recipe") && o.Get("recipe").IsObject()) {
    auto r = o.Get("recipe").As<Napi::Object>();
    recipe = std::make_shared<LinearRecipe>(
        LinearRecipe{recipeFlag(r, "earlyScales"), recipeFlag(r, "fp32Accumulate"), recipeFlag(r, "biasEpilogue"), recipeRounding(r, "inputRounding")});
  }
  auto* job = new Job(env, [p, y, device, recipe] { if (recipe) linearRecipeRun(*p, *recipe, *y); else runLinear(device, *p, *y); },
                      [y](Napi::Env e) -> Napi::Value { return toArray<Napi::Float32Array>(e, *y); }, keep);
  job->Queue();
  return job->Promise();
}

// scan({u, delta, A, B, C, D?, z?, deltaBias?: Float32Array, channels D, length L, state S, softplus}) -> Promise<Float32Array [D*L]>
Napi::Value Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "scan options must be an object");
  auto o = info[0].As<Napi::Object>();
  auto p = std::make_shared<ScanProblem>();
  std::vector<Napi::Value> keep;
  // Optional arrays: absent is length -1; present ones must be Float32Arrays.
  auto array = [&](const char* key, bool optional, int64_t& len) -> const float* {
    if (optional && (!o.Has(key) || o.Get(key).IsUndefined() || o.Get(key).IsNull())) { len = -1; return nullptr; }
    auto a = typed<Napi::Float32Array>(o, key, napi_float32_array, "Float32Array");
    len = (int64_t)a.ElementLength();
    keep.push_back(a);
    return a.Data();
  };
  int64_t lu, ldelta, lA, lB, lC, lD, lz, ldb;
  p->u = array("u", false, lu); p->delta = array("delta", false, ldelta); p->A = array("A", false, lA);
  p->Bm = array("B", false, lB); p->Cm = array("C", false, lC); p->Dskip = array("D", true, lD);
  p->z = array("z", true, lz); p->deltaBias = array("deltaBias", true, ldb);
  const std::string bad = checkScan(number(o, "channels"), number(o, "length"), number(o, "state"),
                                    ScanLengths{(size_t)lu, (size_t)ldelta, (size_t)lA, (size_t)lB, (size_t)lC, lD, lz, ldb}, *p);
  if (!bad.empty()) throw Napi::RangeError::New(env, bad);
  p->softplus = !o.Has("softplus") || o.Get("softplus").ToBoolean().Value();
  p->threads = threadsOf(o);
  auto y = std::make_shared<std::vector<float>>();
  const Device device = deviceOf(o);
  auto* job = new Job(env, [p, y, device] { runScan(device, *p, *y); },
                      [y](Napi::Env e) -> Napi::Value { return toArray<Napi::Float32Array>(e, *y); }, keep);
  job->Queue();
  return job->Promise();
}

}  // namespace

void registerLayerFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("conv1d", Napi::Function::New(env, Conv1d));
  exports.Set("conv1dRecipes", Napi::Function::New(env, Conv1dRecipes));
  exports.Set("linear", Napi::Function::New(env, Linear));
  exports.Set("scan", Napi::Function::New(env, Scan));
  exports.Set("cudaDeviceName", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return Napi::String::New(i.Env(), cudaDeviceName()); }));
}

}  // namespace ql
