// fl32(x / s) on the GPU without the IEEE division instruction sequence (proven equal: kernel_test).
#pragma once
#include "common.cuh"

namespace ql {

// fl32(v / s) without the division instruction sequence. With y = RN(1/s), q0 = RN(v*y) is within
// one ulp of v/s, the remainder v - q0*s is exact in one FMA, and RN(q0 + rem*y) is the correctly
// rounded quotient (Markstein's theorem). The guard keeps every step away from overflow and
// subnormals, where the theorem's exactness assumptions fail; kernel_test checks all 2^32 inputs.
__device__ __forceinline__ bool needsIeeeDivision(float v, bool fast) {
  const float a = fabsf(v);
  return !fast || (a != 0.0f && a < INFINITY && (a < 0x1p-60f || a > 0x1p60f));
}
__device__ __forceinline__ float divRN(float v, float s, float inv, bool fast) {
  const float q0 = __fmul_rn(v, inv);
  const float rem = __fmaf_rn(-q0, s, v);
  float r = __fmaf_rn(rem, inv, q0);
  // Zero divides exactly (only the sign of a zero quotient may differ, which changes no result);
  // non-finite inputs are classified without their quotient.
  if (needsIeeeDivision(v, fast)) r = __fdiv_rn(v, s);
  return r;
}

}  // namespace ql
