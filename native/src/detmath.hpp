// Deterministic FP32 exp and SiLU: the same sequence of correctly rounded IEEE operations on the
// CPU and on the GPU (no FMA contraction on either side), so Mode 1's FP32 outputs are bit-identical
// across devices. libm's expf and CUDA's expf differ in the last bit on ~40% of inputs.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define QL_HD __host__ __device__ __forceinline__
#else
#define QL_HD inline
#endif

namespace ql {

QL_HD float bitsToFloat(uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  float f; std::memcpy(&f, &b, 4); return f;
#endif
}

// exp(x) for FP32: x = k*ln2 + r (Cody-Waite, two-part ln2), exp(r) by a degree-6 Taylor/Horner
// polynomial on |r| <= ln2/2 (error < 2 ulp), scaled by 2^k through the exponent bits.
QL_HD float expDet(float x) {
  if (x != x) return x;
  if (x > 88.7f) return bitsToFloat(0x7f800000u);
  if (x < -103.9f) return 0.0f;
#if defined(__CUDA_ARCH__)
  const float k = rintf(x * 1.44269504f);
#else
  const float k = __builtin_nearbyintf(x * 1.44269504f);
#endif
  const float r = (x - k * 0.693145752f) - k * 1.42860677e-06f;
  float p = 1.38888889e-03f;
  p = p * r + 8.33333333e-03f;
  p = p * r + 4.16666667e-02f;
  p = p * r + 1.66666667e-01f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int ki = (int)k;
  // 2^k in two steps so subnormal results stay exact-as-rounded and k up to 128 does not overflow early.
  const int k1 = ki / 2, k2 = ki - k1;
  return p * bitsToFloat((uint32_t)(k1 + 127) << 23) * bitsToFloat((uint32_t)(k2 + 127) << 23);
}

QL_HD float siluDet(float y) { return y * (1.0f / (1.0f + expDet(-y))); }

}  // namespace ql
