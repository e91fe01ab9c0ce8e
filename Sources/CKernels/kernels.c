// Kernels compiled for AVX or POPCNT and chosen at run time: the rest of intake is built for
// baseline x86-64 (SSE2) so that it runs on any machine, and a function marked with a target may
// use more where the processor has it.

#include "CKernels.h"

#include <limits.h>

#if defined(__x86_64__)
#include <immintrin.h>

enum { hasAVX = 1, hasPOPCNT = 2 };

/// The features the kernels use that this processor has, asked once. AVX counts only where the
/// kernel saves its registers (the builtin checks XGETBV).
static int features(void) {
    static int answer = -1;
    if (answer < 0) {
        __builtin_cpu_init();
        answer = (__builtin_cpu_supports("avx") ? hasAVX : 0) | (__builtin_cpu_supports("popcnt") ? hasPOPCNT : 0);
    }
    return answer;
}

bool intake_has_avx(void) { return features() & hasAVX; }

bool intake_has_popcnt(void) { return features() & hasPOPCNT; }

__attribute__((target("avx"))) static inline __m256 relu(__m256 sum) {
    // Negative lanes to zero; -0 and NaN stay, as in the Swift loop.
    return _mm256_blendv_ps(sum, _mm256_setzero_ps(), _mm256_cmp_ps(sum, _mm256_setzero_ps(), _CMP_LT_OQ));
}

__attribute__((target("avx"))) void intake_convolution3x3_avx(const float *input, int height, int width, int inputs,
                                                               const float *weights, const float *bias, float *output,
                                                               int outputs) {
    // Thirty-two output channels at a time (sixteen for the last block of an odd count of
    // sixteens), accumulated in four registers over every tap.
    for (int block = 0; block < outputs; block += 32) {
        const int pair = block + 16 < outputs;
        for (int y = 0; y < height; y++) {
            const int rowFirst = y == 0 ? 1 : 0, rowEnd = y == height - 1 ? 2 : 3;
            for (int x = 0; x < width; x++) {
                const int columnFirst = x == 0 ? 1 : 0, columnEnd = x == width - 1 ? 2 : 3;
                __m256 s0 = _mm256_loadu_ps(bias + block), s1 = _mm256_loadu_ps(bias + block + 8);
                __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
                if (pair) {
                    s2 = _mm256_loadu_ps(bias + block + 16);
                    s3 = _mm256_loadu_ps(bias + block + 24);
                }
                for (int ky = rowFirst; ky < rowEnd; ky++) {
                    for (int kx = columnFirst; kx < columnEnd; kx++) {
                        const float *pixel = input + ((long)(y + ky - 1) * width + (x + kx - 1)) * inputs;
                        const float *tap = weights + (long)(ky * 3 + kx) * inputs * outputs + block;
                        for (int c = 0; c < inputs; c++, tap += outputs) {
                            // No test for the zeros ReLU leaves, as in the Swift loop.
                            const __m256 va = _mm256_broadcast_ss(pixel + c);
                            s0 = _mm256_add_ps(s0, _mm256_mul_ps(va, _mm256_loadu_ps(tap)));
                            s1 = _mm256_add_ps(s1, _mm256_mul_ps(va, _mm256_loadu_ps(tap + 8)));
                            if (pair) {
                                s2 = _mm256_add_ps(s2, _mm256_mul_ps(va, _mm256_loadu_ps(tap + 16)));
                                s3 = _mm256_add_ps(s3, _mm256_mul_ps(va, _mm256_loadu_ps(tap + 24)));
                            }
                        }
                    }
                }
                float *out = output + ((long)y * width + x) * outputs + block;
                _mm256_storeu_ps(out, relu(s0));
                _mm256_storeu_ps(out + 8, relu(s1));
                if (pair) {
                    _mm256_storeu_ps(out + 16, relu(s2));
                    _mm256_storeu_ps(out + 24, relu(s3));
                }
            }
        }
    }
}

__attribute__((target("popcnt"))) void intake_hamming_nearest_popcnt(const uint64_t *queries, int queryCount,
                                                                      const uint64_t *references, int referenceCount,
                                                                      int32_t *bestIndex, int32_t *best, int32_t *second) {
    for (int i = 0; i < queryCount; i++) {
        const uint64_t *a = queries + 4 * (long)i;
        int32_t nearest = INT32_MAX, next = INT32_MAX, index = -1;
        for (int j = 0; j < referenceCount; j++) {
            const uint64_t *b = references + 4 * (long)j;
            const int32_t distance = __builtin_popcountll(a[0] ^ b[0]) + __builtin_popcountll(a[1] ^ b[1]) +
                                     __builtin_popcountll(a[2] ^ b[2]) + __builtin_popcountll(a[3] ^ b[3]);
            if (distance < nearest) {
                next = nearest;
                nearest = distance;
                index = j;
            } else if (distance < next) {
                next = distance;
            }
        }
        bestIndex[i] = index;
        best[i] = nearest;
        second[i] = next;
    }
}

#else

bool intake_has_avx(void) { return false; }

bool intake_has_popcnt(void) { return false; }

void intake_hamming_nearest_popcnt(const uint64_t *queries, int queryCount, const uint64_t *references, int referenceCount,
                                   int32_t *bestIndex, int32_t *best, int32_t *second) {
    (void)queries, (void)queryCount, (void)references, (void)referenceCount, (void)bestIndex, (void)best, (void)second;
}

void intake_convolution3x3_avx(const float *input, int height, int width, int inputs, const float *weights,
                               const float *bias, float *output, int outputs) {
    (void)input, (void)height, (void)width, (void)inputs, (void)weights, (void)bias, (void)output, (void)outputs;
}

#endif
