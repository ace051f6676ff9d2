// The hot loop of the by-code CPU verify kernel (verifyRunByCode in grid.cpp), for grids whose
// codes and zero point are small enough for the multiply guess: each element of a block is mapped
// to its bin (its code's, when the element is plain: fl32(qi·s) == v with the code in range; else
// the spare bin) and that bin is counted, in one pass. A portable form, which the compiler
// vectorizes, and an AVX2 form written with intrinsics: there the guess needs no clamp (an
// out-of-range conversion gives INT32_MIN, which is out of range for every grid here), the range is
// one unsigned min, the not-plain flags come out as one mask byte per 8 elements, and the
// histogram increments run after the block's bins, as a loop of loads and increments alone. Both
// give the same bins, flags and counts.
#pragma once
#include <cstdint>

namespace ql {

struct ByCodeGrid {
  float s, inv;        // the scale and fl32(1/s)
  uint32_t binOfZero;  // the bin of qr = 0 (zp - qmin), below 2^22 in magnitude
  int32_t bins;        // in-range codes; bin `bins` is the spare
  // Codes or a zero point beyond 2^21 (the user's qmin, qmax and zp): the guess is the definition's
  // rint(fl32(v/s)), in the portable form only.
  bool divide = false;
  float fzp = 0, fqmin = 0, fqmax = 0;
};

// Guesses a code within 2^22 of 0 as rint(v·inv) (the caller's proof: a plain element's guess is its code).
constexpr float kByCodeGuessLimit = 4194304.0f;  // 2^22

// The bin of one element: its code's when it is plain, else g.bins (multiply guess).
inline int32_t byCodeBin(float v, const ByCodeGrid& g) {
  float q = v * g.inv;
  // The clamp keeps the conversion defined; a clamped guess is out of range for every grid here, so
  // the element is not plain, NaN included.
  q = q > -kByCodeGuessLimit ? q : -kByCodeGuessLimit;
  q = q < kByCodeGuessLimit ? q : kByCodeGuessLimit;
  const int32_t qi = (int32_t)__builtin_rintf(q);
  const uint32_t b = (uint32_t)qi + g.binOfZero;
  const bool plain = (float)qi * g.s == v && b < (uint32_t)g.bins;
  return plain ? (int32_t)b : g.bins;
}

// For the m <= 1024 elements x[0..m): bin[i] = byCodeBin(x[i], g); bit i % 8 of notPlain[i / 8] set
// when bin[i] is the spare (bytes (m + 7) / 8 written); h[(i & 3) * stride + bin[i]] incremented for
// every i. Returns how many elements are not plain.
int byCodeBinsPortable(const float* x, int m, const ByCodeGrid& g, int32_t* bin, uint8_t* notPlain, uint32_t* h, int stride);
// The same with AVX2 intrinsics; only where byCodeBinsAvx2Runs() and not g.divide.
int byCodeBinsAvx2(const float* x, int m, const ByCodeGrid& g, int32_t* bin, uint8_t* notPlain, uint32_t* h, int stride);
// Whether this build has the AVX2 form and this CPU can run it.
bool byCodeBinsAvx2Runs();

}  // namespace ql
