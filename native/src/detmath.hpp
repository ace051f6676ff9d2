// Deterministic FP32 exp and SiLU: the same sequence of correctly rounded IEEE operations on the
// CPU and on the GPU (no FMA contraction on either side), so Mode 1's FP32 outputs are bit-identical
// across devices. libm's expf and CUDA's expf differ in the last bit on ~40% of inputs.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define QL_HD __host__ __device__ __forceinline__
#else
#define QL_HD inline
#endif

// Hot CPU loops are compiled three times and picked at load time: AVX-512 (x86-64-v4: 16 lanes and
// mask registers), AVX2 (8 lanes) and baseline x86-64. FMA, which v4 includes, is never used for
// these loops' arithmetic (the build passes -ffp-contract=off), so every copy gives the same results.
// Not under AddressSanitizer, which does not support the resolver, nor clang, which spells it differently.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && !defined(__CUDACC__)
#define QL_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define QL_CPU_CLONES
#endif

namespace ql {

// Bit casts. On the host __builtin_bit_cast, not memcpy: loops that use them still vectorize.
#if defined(__CUDA_ARCH__)
QL_HD float bitsToFloat(uint32_t b) { return __uint_as_float(b); }
QL_HD uint32_t floatBits(float f) { return __float_as_uint(f); }
#else
QL_HD float bitsToFloat(uint32_t b) { return __builtin_bit_cast(float, b); }
QL_HD uint32_t floatBits(float f) { return __builtin_bit_cast(uint32_t, f); }
#endif

// rint (round half to even) for FP32 without libm: glibc's nearbyintf saves and restores the FP
// environment on every call (~20x slower). For |r| < 2^23, (|r| + 2^23) - 2^23 rounds to an integer
// under the default round-to-nearest-even mode; larger magnitudes are already integers.
QL_HD float rintDet(float r) {
#if defined(__CUDA_ARCH__)
  return rintf(r);
#else
  // Branch-free (selects), so loops over arrays vectorize.
  const float a = __builtin_fabsf(r);
  const float t = __builtin_copysignf((a + 8388608.0f) - 8388608.0f, r);
  return a < 8388608.0f ? t : r;
#endif
}


// The storage dtype a grid value is written in: a bf16 or fp16 fake-quantized tensor holds
// dtype(q·s), not fl32(q·s), so the exact membership test rounds the FP32 product once more.
enum StorageDType : uint8_t { kStorageF32 = 0, kStorageBF16 = 1, kStorageF16 = 2 };

// Round to nearest even at bfloat16 precision (8 significant bits); NaN and Inf pass through.
QL_HD float roundToBf16(float x) {
  const uint32_t u = floatBits(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return x;
  return bitsToFloat((u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u);
}

// Round to nearest even at IEEE half precision: 11 significant bits for normal halves, a quantum of
// 2^-24 below 2^-14 (subnormal halves), +-Inf past the largest half (65504 and its rounding margin).
QL_HD float roundToF16(float x) {
  const uint32_t u = floatBits(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return x;
  const float a = x < 0.0f ? -x : x;
  if (a >= 65520.0f) return x < 0.0f ? -bitsToFloat(0x7f800000u) : bitsToFloat(0x7f800000u);
  if (a < 0x1p-14f) return rintDet(x * 0x1p24f) * 0x1p-24f;  // both scalings are exact
  return bitsToFloat((u + 0xfffu + ((u >> 13) & 1u)) & 0xffffe000u);
}

QL_HD float roundToStorage(float x, uint8_t storage) {
  return storage == kStorageBF16 ? roundToBf16(x) : storage == kStorageF16 ? roundToF16(x) : x;
}

// exp(x) for FP32: x = k*ln2 + r (Cody-Waite, two-part ln2), exp(r) by a degree-6 Taylor/Horner
// polynomial on |r| <= ln2/2 (error < 2 ulp), scaled by 2^k through the exponent bits (in two
// steps, so k up to 128 does not overflow early). Written with selects, not branches, so it vectorizes;
// arguments outside [-103.9, 88.7] give 0 or +inf, NaN gives NaN.
QL_HD float expDet(float x) {
  // NaN is clamped too (to 0) so that k stays a finite integer; the result is replaced by x below.
  const float xc = x < -103.9f ? -103.9f : (x > 88.7f ? 88.7f : (x != x ? 0.0f : x));
  const float k = rintDet(xc * 1.44269504f);
  const float r = (xc - k * 0.693145752f) - k * 1.42860677e-06f;
  float p = 1.38888889e-03f;
  p = p * r + 8.33333333e-03f;
  p = p * r + 4.16666667e-02f;
  p = p * r + 1.66666667e-01f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int ki = (int)k;
  const int k1 = ki / 2, k2 = ki - k1;
  float e = p * bitsToFloat((uint32_t)(k1 + 127) << 23) * bitsToFloat((uint32_t)(k2 + 127) << 23);
  e = x > 88.7f ? bitsToFloat(0x7f800000u) : e;
  e = x < -103.9f ? 0.0f : e;
  return x != x ? x : e;
}

QL_HD float siluDet(float y) { return y * (1.0f / (1.0f + expDet(-y))); }

}  // namespace ql
