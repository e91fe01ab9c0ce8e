#ifndef INTAKE_CKERNELS_H
#define INTAKE_CKERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Whether this processor and its kernel run AVX instructions (asked once, then remembered).
bool intake_has_avx(void);

/// The dial and digit networks' 3×3 convolution with ReLU (channels last, zero padding,
/// `outputs` a multiple of 16), in 256-bit AVX registers where the Swift code has SSE's 128.
/// Every output is the same product-then-sum, in the same order, as `DigitNetwork`'s own loop:
/// AVX without FMA rounds each step as SSE does, so the results are the same to the last bit.
/// Only to be called when `intake_has_avx()`.
void intake_convolution3x3_avx(const float *input, int height, int width, int inputs, const float *weights,
                               const float *bias, float *output, int outputs);

/// Whether this processor has the POPCNT instruction (asked once, then remembered).
bool intake_has_popcnt(void);

/// For each of `queryCount` 256-bit descriptors (four words each) in `queries`, the nearest of
/// `referenceCount` in `references` by Hamming distance, as `LandmarkMatching.pairs` finds it:
/// `bestIndex` (-1 when there are none), `best` and `second` (the nearest distance and the next,
/// INT32_MAX when missing); the first of equals wins. With POPCNT, where Swift's baseline build
/// counts bits in a dozen instructions. Only to be called when `intake_has_popcnt()`.
void intake_hamming_nearest_popcnt(const uint64_t *queries, int queryCount, const uint64_t *references, int referenceCount,
                                   int32_t *bestIndex, int32_t *best, int32_t *second);

/// FAST's full test of one centre: which of the 16 circle pixels (`centre[offsets[k]]`, k = 0…15)
/// are brighter than `bright` (bits 0–15) and which darker than `dark` (bits 16–31), compared as
/// Swift's `>` and `<` do (a NaN is neither). Four pixels to a compare and `movemask` where the
/// processor has SSE2 (every x86-64 does), where a loop of scalar compares spends about five
/// instructions a pixel on building the bits. Inline, so that the caller's loop keeps it.
static inline uint32_t intake_fast_circle_bits(const float *centre, const ptrdiff_t *offsets, float bright, float dark) {
#if defined(__SSE2__)
    const __m128 high = _mm_set1_ps(bright), low = _mm_set1_ps(dark);
    uint32_t brighter = 0, darker = 0;
    for (int k = 0; k < 16; k += 4) {
        const __m128 v = _mm_setr_ps(centre[offsets[k]], centre[offsets[k + 1]], centre[offsets[k + 2]], centre[offsets[k + 3]]);
        brighter |= (uint32_t)_mm_movemask_ps(_mm_cmpgt_ps(v, high)) << k;
        darker |= (uint32_t)_mm_movemask_ps(_mm_cmplt_ps(v, low)) << k;
    }
    return brighter | darker << 16;
#else
    uint32_t bits = 0;
    for (int k = 0; k < 16; k++) {
        const float v = centre[offsets[k]];
        bits |= (uint32_t)(v > bright) << k | (uint32_t)(v < dark) << (k + 16);
    }
    return bits;
#endif
}

/// The classifier's analysis copy of packed RGB `source` (`sourceWidth` × `sourceHeight`), area-averaged
/// over whole-pixel bins to `width` × `height` (each at most its source's): BT.601 luma, chroma
/// (largest minus smallest of R, G, B), packed colour (R << 16 | G << 8 | B) and the red mask,
/// a pixel each; how many red pixels each row has; and, counted over the copy once it is made,
/// the histograms of luma, of the luma of pixels whose chroma is at most `paleChroma`, and of
/// red, green and blue (768 entries, in that order), and the sum of chroma. See `AnalysisImage`.
/// False when memory for its scratch rows runs out.
bool intake_analysis_reduce(const uint8_t *source, int sourceWidth, int sourceHeight, int width, int height,
                            int paleChroma, uint8_t *luma, uint8_t *chroma, uint32_t *colour, uint8_t *red,
                            int32_t *redPerRow, int32_t *lumaHistogram, int32_t *paleLumaHistogram,
                            int32_t *channelHistograms, int64_t *chromaSum);

/// The re-blur measure along one direction (see `Sharpness`): over the pixels p of columns
/// `left..<right` and rows `top..<bottom` of `luma` (`width` a row), the steps |I(p) − I(p − d)|;
/// `cutoff`, the smallest of the `wanted` largest; and over the steps at least `cutoff`, `total`,
/// the sum of step × `taps`, and `kept`, the sum of what the `taps`-pixel mean's step at p,
/// |I(p + (taps / 2)d) − I(p − (taps / 2 + 1)d)|, leaves of it. `steps` is scratch for one step a
/// pixel. At most 65,536 pixels (an analysis copy), so that its sums fit 32 bits. False when
/// fewer than `wanted` steps are above zero: nothing strong enough to judge.
bool intake_reblur_directional(const uint8_t *luma, int width, int left, int right, int top, int bottom, int dx, int dy,
                               int taps, int wanted, uint8_t *steps, int32_t *cutoff, int64_t *total, int64_t *kept);

/// The screenshot measure's counts over every pixel with a right and a lower neighbour: `flat`,
/// those whose colour equals both neighbours'; and by the larger luma step towards them, `still`
/// (0), `grain` (1–3) and `edges` (40 or more).
void intake_screenshot_counts(const uint8_t *luma, const uint32_t *colour, int width, int height, int32_t *flat,
                              int32_t *still, int32_t *grain, int32_t *edges);

/// For each of `height` rows of `luma` (`width` a row), how far its pixels in columns
/// `left..<right` fall below `paper`, summed: the document measure's profile of one strip.
void intake_row_darkness(const uint8_t *luma, int width, int height, int left, int right, int paper, int64_t *darkness);

// MARK: The landmark detector's passes (landmarks.c), the same to the last bit as the Swift
// loops they replace.

/// `AlignGrayPlane.smoothed`: a [1 2 1]/4 blur across, then down, edges repeated; `source`,
/// `scratch` and `smoothed` are `width` × `height` (each at least 3).
void intake_smooth_121(const float *source, int width, int height, float *scratch, float *smoothed);

/// `AlignGrayPlane.resampled`: bilinear samples of `source` (`width` a row) at the columns
/// `x0`, `x1`, `wx` and rows `y0`, `y1`, `wy` the caller works out, `newWidth` × `newHeight`
/// into `resampled`; `rows` is scratch for two interpolated rows (2 × `newWidth`).
void intake_resample_bilinear(const float *source, int width, int newWidth, int newHeight, const int32_t *x0,
                              const int32_t *x1, const float *wx, const int32_t *y0, const int32_t *y1,
                              const float *wy, float *rows, float *resampled);

/// `AlignGrayPlane.contrastStretched`'s mapping, in place: (v − `offset`) · 255 / `span`, held to 0…255.
void intake_stretch(float *pixels, size_t count, float offset, float span);

/// Adds each pixel, held to 0…255 and truncated, to its bin of `histogram` (256 bins).
void intake_histogram_255(const float *pixels, size_t count, int64_t *histogram);

/// FAST-9 over the pixels of `p` at least `border` inside every edge (6 or more: a step of four
/// reads three pixels past the last one tested, and the circle three further): each centre with
/// nine contiguous pixels of the 16-pixel circle (`circle`, the offsets `intake_fast_circle_bits`
/// takes) all brighter than it plus `threshold` or all darker than it less `threshold` gets its
/// Harris measure in `scores` (the rest is left as it is), and its index appended to `candidates`
/// in reading order. `candidates` must hold one index for every pixel tested. Returns the count.
/// The Harris measure is summed over a 5×5 window of central-difference gradients in reading
/// order, and is at least the least positive float.
int intake_fast_corners(const float *p, int width, int height, int border, float threshold, const ptrdiff_t *circle,
                        float *scores, int32_t *candidates);

/// A BRIEF descriptor: bit k of the four `words` says whether the first point of pair k of
/// `pairs` (256 pairs of x, y, x, y offsets) is darker than the second, both around `centre`.
void intake_brief_describe(const float *centre, ptrdiff_t width, const int8_t *pairs, uint64_t *words);

/// `CorrelationPatch`'s sums for `count` positions side by side, the patch's top-left at
/// (`left` + k, `top`) for k = 0 ..< `count`: the sum over the patch's pixels of image × patch,
/// of image, and of image², each row summed in floats and the rows in doubles, in reading order.
void intake_correlation_sums(const float *image, ptrdiff_t imageWidth, const float *patch, int width, int height,
                             ptrdiff_t left, ptrdiff_t top, int count, double *product, double *sum, double *squares);

// MARK: The meter's crop sampler (sampling.c)

/// `BoxSampler.crop`: the `width` × `height` box at (`boxX`, `boxY`) of the reference frame,
/// each pixel taken from packed RGB `source` at the point the transform `m` (row-major 3×3,
/// reference → photo) maps it to, bilinear, into packed RGB `out`; points outside the photo are
/// black. `scratch` holds 2 × `width` doubles.
void intake_box_sample(const uint8_t *source, int sourceWidth, int sourceHeight, const double *m, int boxX, int boxY,
                       int width, int height, double *scratch, uint8_t *out);

#endif
