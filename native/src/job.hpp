// A unit of numeric work run on a libuv worker thread, resolving a Promise on the main thread.
#pragma once
#include <napi.h>
#include <functional>
#include <vector>

namespace ql {

// Runs `work` off the main thread, keeping the input arrays alive until it resolves.
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> done, std::vector<Napi::Value> keep)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), done_(std::move(done)) {
    for (auto& v : keep) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try { work_(); } catch (const std::exception& e) { SetError(e.what()); }
  }
  void OnOK() override { deferred_.Resolve(done_(Env())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
  std::vector<Napi::ObjectReference> refs_;
};

}  // namespace ql
