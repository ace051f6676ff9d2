#include "byCodeBins.hpp"
#include "detmath.hpp"
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#define QL_BYCODE_AVX2 1
#include <immintrin.h>
#endif

namespace ql {

// bin[0..m) into the four interleaved histograms, element i into histogram i % 4: consecutive
// elements often share a code, and one counter incremented per element is a chain of dependent
// read-modify-writes. Run after a block's bins are all stored (their stores have retired, so the
// loads wait on no forwarding): on Zen 5 the AVX2 kernel took 0.30 ns an element against 0.50
// with the bins sent to the histograms from the vector register inside its loop.
static inline void countBins(const int32_t* bin, int m, uint32_t* h, int stride) {
  uint32_t* h0 = h;
  uint32_t* h1 = h0 + stride;
  uint32_t* h2 = h1 + stride;
  uint32_t* h3 = h2 + stride;
  int i = 0;
  for (; i + 4 <= m; i += 4) { h0[bin[i]]++; h1[bin[i + 1]]++; h2[bin[i + 2]]++; h3[bin[i + 3]]++; }
  for (; i < m; i++) (&h0[(i & 3) * stride])[bin[i]]++;
}

QL_CPU_CLONES
int byCodeBinsPortable(const float* x, int m, const ByCodeGrid& g, int32_t* bin, uint8_t* notPlain, uint32_t* h, int stride) {
  // Straight-line so that it vectorizes: the bins and one flag byte per element, then the
  // histogram alone, then the flags packed to bits where any is set.
  alignas(64) uint8_t flag[1024 + 8];
  int count = 0;
  if (!g.divide) {
    for (int i = 0; i < m; i++) {
      const int32_t b = byCodeBin(x[i], g);
      bin[i] = b;
      flag[i] = b == g.bins;
      count += b == g.bins;
    }
  } else {
    for (int i = 0; i < m; i++) {
      const float qr = rintDet(x[i] / g.s), q = qr + g.fzp;
      const bool plain = qr * g.s == x[i] && q >= g.fqmin && q <= g.fqmax;  // false for NaN and +-inf
      bin[i] = (int32_t)(plain ? q - g.fqmin : (float)g.bins);
      flag[i] = !plain;
      count += !plain;
    }
  }
  countBins(bin, m, h, stride);
  std::memset(flag + m, 0, 8);
  for (int k0 = 0; k0 < m; k0 += 8) {
    uint64_t word;
    std::memcpy(&word, flag + k0, 8);
    uint8_t bits = 0;
    for (int k = 0; word && k < 8; k++) bits |= (uint8_t)(flag[k0 + k] << k);
    notPlain[k0 >> 3] = bits;
  }
  return count;
}

#if defined(QL_BYCODE_AVX2)

__attribute__((target("avx2")))
int byCodeBinsAvx2(const float* x, int m, const ByCodeGrid& g, int32_t* bin, uint8_t* notPlain, uint32_t* h, int stride) {
  const __m256 vs = _mm256_set1_ps(g.s), vinv = _mm256_set1_ps(g.inv);
  const __m256i zeroBin = _mm256_set1_epi32((int32_t)g.binOfZero), spare = _mm256_set1_epi32(g.bins);
  int count = 0, i = 0;
  for (; i + 8 <= m; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    // Rounded in the default mode (to nearest, ties to even), as rintf; out of range: INT32_MIN.
    const __m256i qi = _mm256_cvtps_epi32(_mm256_mul_ps(v, vinv));
    const __m256 eq = _mm256_cmp_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(qi), vs), v, _CMP_EQ_OQ);  // false for NaN
    // Unsigned: a negative bin (and INT32_MIN's) is above every in-range one and becomes the spare.
    const __m256i inRange = _mm256_min_epu32(_mm256_add_epi32(qi, zeroBin), spare);
    const __m256i b = _mm256_blendv_epi8(spare, inRange, _mm256_castps_si256(eq));
    _mm256_storeu_si256((__m256i*)(bin + i), b);
    const int mask = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(b, spare)));
    notPlain[i >> 3] = (uint8_t)mask;
    count += __builtin_popcount((unsigned)mask);
  }
  if (i < m) {
    uint8_t bits = 0;
    for (int k = i; k < m; k++) {
      const int32_t b = byCodeBin(x[k], g);
      bin[k] = b;
      bits |= (uint8_t)((b == g.bins) << (k - i));
      count += b == g.bins;
    }
    notPlain[i >> 3] = bits;
  }
  countBins(bin, m, h, stride);
  return count;
}

bool byCodeBinsAvx2Runs() {
  static const bool runs = __builtin_cpu_supports("avx2");
  return runs;
}

#else

int byCodeBinsAvx2(const float*, int, const ByCodeGrid&, int32_t*, uint8_t*, uint32_t*, int) { return -1; }
bool byCodeBinsAvx2Runs() { return false; }

#endif

}  // namespace ql
