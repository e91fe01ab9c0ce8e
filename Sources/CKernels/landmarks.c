// The landmark detector's passes over its grey planes (see `LandmarkDetector` and
// `AlignGrayPlane`): plain loops the C compiler vectorises, where the same loops in Swift stay
// scalar behind their index checks. Every value is computed with the same operations, in the
// same order, as the Swift code they replace (baseline x86-64 has no FMA to contract them into),
// so the planes, corners and scores are the same to the last bit, and so are the readings.

#include "CKernels.h"

#include <float.h>

void intake_smooth_121(const float *source, int width, int height, float *scratch, float *smoothed) {
    for (int y = 0; y < height; y++) {
        const float *p = source + (ptrdiff_t)y * width;
        float *t = scratch + (ptrdiff_t)y * width;
        t[0] = 0.75f * p[0] + 0.25f * p[1];
        for (int x = 1; x < width - 1; x++) t[x] = 0.25f * (p[x - 1] + p[x + 1]) + 0.5f * p[x];
        t[width - 1] = 0.25f * p[width - 2] + 0.75f * p[width - 1];
    }
    for (int y = 0; y < height; y++) {
        const float *above = scratch + (ptrdiff_t)(y > 0 ? y - 1 : 0) * width;
        const float *row = scratch + (ptrdiff_t)y * width;
        const float *below = scratch + (ptrdiff_t)(y < height - 1 ? y + 1 : height - 1) * width;
        float *o = smoothed + (ptrdiff_t)y * width;
        for (int x = 0; x < width; x++) o[x] = 0.25f * (above[x] + below[x]) + 0.5f * row[x];
    }
}

/// One source row interpolated at every output column: the part of a bilinear sample that does
/// not depend on the output row, so each source row is done once however many rows use it.
static void interpolate_row(const float *row, int newWidth, const int32_t *x0, const int32_t *x1, const float *wx,
                            float *out) {
    for (int x = 0; x < newWidth; x++) out[x] = row[x0[x]] * (1.0f - wx[x]) + row[x1[x]] * wx[x];
}

void intake_resample_bilinear(const float *source, int width, int newWidth, int newHeight, const int32_t *x0,
                              const int32_t *x1, const float *wx, const int32_t *y0, const int32_t *y1,
                              const float *wy, float *rows, float *resampled) {
    // `rows` holds two interpolated source rows, kept while the next output row uses them again.
    float *rowA = rows, *rowB = rows + newWidth;
    int32_t haveA = -1, haveB = -1;
    for (int y = 0; y < newHeight; y++) {
        if (haveA != y0[y]) {
            if (haveB == y0[y]) {
                float *swap = rowA; rowA = rowB; rowB = swap;
                haveA = haveB; haveB = -1;
            } else {
                interpolate_row(source + (ptrdiff_t)y0[y] * width, newWidth, x0, x1, wx, rowA);
                haveA = y0[y];
            }
        }
        if (haveB != y1[y]) {
            interpolate_row(source + (ptrdiff_t)y1[y] * width, newWidth, x0, x1, wx, rowB);
            haveB = y1[y];
        }
        const float w = wy[y], rest = 1.0f - w;
        float *o = resampled + (ptrdiff_t)y * newWidth;
        for (int x = 0; x < newWidth; x++) o[x] = rowA[x] * rest + rowB[x] * w;
    }
}

void intake_stretch(float *pixels, size_t count, float offset, float span) {
    for (size_t i = 0; i < count; i++) {
        // Swift's `max(0, min(255, v))`: `min` keeps v only when v < 255, `max` only when v >= 0.
        const float v = (pixels[i] - offset) * 255.0f / span;
        const float capped = v < 255.0f ? v : 255.0f;
        pixels[i] = capped >= 0.0f ? capped : 0.0f;
    }
}

void intake_histogram_255(const float *pixels, size_t count, int64_t *histogram) {
    for (size_t i = 0; i < count; i++) {
        const float v = pixels[i];
        const float capped = v < 255.0f ? v : 255.0f;
        histogram[(int)(capped >= 0.0f ? capped : 0.0f)] += 1;
    }
}

/// The Harris corner measure at (`x`, `y`), three or more pixels inside every edge.
static float harris(const float *p, ptrdiff_t width, ptrdiff_t x, ptrdiff_t y) {
    float xx = 0, yy = 0, xy = 0;
    for (ptrdiff_t dy = -2; dy <= 2; dy++) {
        for (ptrdiff_t dx = -2; dx <= 2; dx++) {
            const ptrdiff_t i = (y + dy) * width + x + dx;
            const float gx = p[i + 1] - p[i - 1], gy = p[i + width] - p[i - width];
            xx += gx * gx;
            yy += gy * gy;
            xy += gx * gy;
        }
    }
    const float response = xx * yy - xy * xy - 0.04f * (xx + yy) * (xx + yy);
    // Swift's `max(response, .leastNonzeroMagnitude)`.
    return FLT_TRUE_MIN >= response ? FLT_TRUE_MIN : response;
}

/// Whether nine or more of the circle's 16 bits are set in a row, wrapping around.
static inline bool has_run(uint32_t bits) {
    if (__builtin_popcount(bits) < 9) return false;
    uint32_t run = bits | bits << 16;
    for (int k = 0; k < 8; k++) run &= run >> 1;
    return run != 0;
}

/// Whether the compass test passes: two neighbouring compass points of the circle both brighter
/// than `high` or both darker than `low` (nine contiguous pixels of the sixteen always include
/// such a pair, so without one there is no corner).
static inline bool compass_passes(float n, float e, float s, float w, float high, float low) {
    const bool bn = n > high, be = e > high, bs = s > high, bw = w > high;
    const bool dn = n < low, de = e < low, ds = s < low, dw = w < low;
    return (bn & be) | (be & bs) | (bs & bw) | (bw & bn) | (dn & de) | (de & ds) | (ds & dw) | (dw & dn);
}

int intake_fast_corners(const float *p, int width, int height, int border, float threshold, const ptrdiff_t *circle,
                        float *scores, int32_t *candidates) {
    const ptrdiff_t north = circle[0], east = circle[4], south = circle[8], west = circle[12];
    int found = 0;
    for (int y = border; y < height - border; y++) {
        const ptrdiff_t row = (ptrdiff_t)y * width;
        for (int x0 = border; x0 < width - border; x0 += 4) {
            // Four pixels a step through the compass test: a step where none passes (flat or
            // smooth parts) is done with at once. The last step of a row may read three pixels
            // into the border, which is wider than that and the circle's 3.
            const ptrdiff_t i0 = row + x0;
            unsigned pass;
#if defined(__SSE2__)
            {
                const __m128 t = _mm_set1_ps(threshold), centre = _mm_loadu_ps(p + i0);
                const __m128 high = _mm_add_ps(centre, t), low = _mm_sub_ps(centre, t);
                const __m128 n = _mm_loadu_ps(p + i0 + north), e = _mm_loadu_ps(p + i0 + east);
                const __m128 s = _mm_loadu_ps(p + i0 + south), w = _mm_loadu_ps(p + i0 + west);
                const __m128 bn = _mm_cmpgt_ps(n, high), be = _mm_cmpgt_ps(e, high), bs = _mm_cmpgt_ps(s, high), bw = _mm_cmpgt_ps(w, high);
                const __m128 dn = _mm_cmplt_ps(n, low), de = _mm_cmplt_ps(e, low), ds = _mm_cmplt_ps(s, low), dw = _mm_cmplt_ps(w, low);
                const __m128 bright = _mm_or_ps(_mm_or_ps(_mm_and_ps(bn, be), _mm_and_ps(be, bs)), _mm_or_ps(_mm_and_ps(bs, bw), _mm_and_ps(bw, bn)));
                const __m128 dark = _mm_or_ps(_mm_or_ps(_mm_and_ps(dn, de), _mm_and_ps(de, ds)), _mm_or_ps(_mm_and_ps(ds, dw), _mm_and_ps(dw, dn)));
                pass = (unsigned)_mm_movemask_ps(_mm_or_ps(bright, dark));
            }
#else
            pass = 0;
            for (int lane = 0; lane < 4; lane++) {
                const ptrdiff_t i = i0 + lane;
                const float high = p[i] + threshold, low = p[i] - threshold;
                pass |= (unsigned)compass_passes(p[i + north], p[i + east], p[i + south], p[i + west], high, low) << lane;
            }
#endif
            if (x0 + 4 > width - border) pass &= (1u << (width - border - x0)) - 1;
            while (pass) {
                const int lane = __builtin_ctz(pass);
                pass &= pass - 1;
                const ptrdiff_t i = i0 + lane;
                const float high = p[i] + threshold, low = p[i] - threshold;
                const uint32_t bits = intake_fast_circle_bits(p + i, circle, high, low);
                if (!has_run(bits & 0xFFFF) && !has_run(bits >> 16)) continue;
                scores[i] = harris(p, width, x0 + lane, y);
                candidates[found++] = (int32_t)i;
            }
        }
    }
    return found;
}

void intake_brief_describe(const float *centre, ptrdiff_t width, const int8_t *pairs, uint64_t *words) {
    for (int word = 0; word < 4; word++) {
        uint64_t bits = 0;
        for (int bit = 0; bit < 64; bit++) {
            const int8_t *pair = pairs + 4 * (word * 64 + bit);
            const float a = centre[pair[1] * width + pair[0]], b = centre[pair[3] * width + pair[2]];
            bits |= (uint64_t)(a < b) << bit;
        }
        words[word] = bits;
    }
}

void intake_correlation_sums(const float *image, ptrdiff_t imageWidth, const float *patch, int width, int height,
                             ptrdiff_t left, ptrdiff_t top, int count, double *product, double *sum, double *squares) {
    int lane = 0;
#if defined(__SSE2__)
    // Four positions side by side, one to a lane: each lane's sums run over the same terms in the
    // same order as one position's alone, so only the positions are done together, not the terms.
    for (; lane + 4 <= count; lane += 4) {
        __m128d product01 = _mm_setzero_pd(), product23 = _mm_setzero_pd(), sum01 = _mm_setzero_pd(),
                sum23 = _mm_setzero_pd(), squares01 = _mm_setzero_pd(), squares23 = _mm_setzero_pd();
        for (int y = 0; y < height; y++) {
            const float *row = image + (top + y) * imageWidth + left + lane, *values = patch + (ptrdiff_t)y * width;
            __m128 rowProduct = _mm_setzero_ps(), rowSum = _mm_setzero_ps(), rowSquares = _mm_setzero_ps();
            for (int x = 0; x < width; x++) {
                const __m128 value = _mm_loadu_ps(row + x);
                rowProduct = _mm_add_ps(rowProduct, _mm_mul_ps(value, _mm_set1_ps(values[x])));
                rowSum = _mm_add_ps(rowSum, value);
                rowSquares = _mm_add_ps(rowSquares, _mm_mul_ps(value, value));
            }
            product01 = _mm_add_pd(product01, _mm_cvtps_pd(rowProduct));
            product23 = _mm_add_pd(product23, _mm_cvtps_pd(_mm_movehl_ps(rowProduct, rowProduct)));
            sum01 = _mm_add_pd(sum01, _mm_cvtps_pd(rowSum));
            sum23 = _mm_add_pd(sum23, _mm_cvtps_pd(_mm_movehl_ps(rowSum, rowSum)));
            squares01 = _mm_add_pd(squares01, _mm_cvtps_pd(rowSquares));
            squares23 = _mm_add_pd(squares23, _mm_cvtps_pd(_mm_movehl_ps(rowSquares, rowSquares)));
        }
        _mm_storeu_pd(product + lane, product01);
        _mm_storeu_pd(product + lane + 2, product23);
        _mm_storeu_pd(sum + lane, sum01);
        _mm_storeu_pd(sum + lane + 2, sum23);
        _mm_storeu_pd(squares + lane, squares01);
        _mm_storeu_pd(squares + lane + 2, squares23);
    }
#endif
    for (; lane < count; lane++) {
        double p = 0, s = 0, q = 0;
        for (int y = 0; y < height; y++) {
            const float *row = image + (top + y) * imageWidth + left + lane, *values = patch + (ptrdiff_t)y * width;
            float rowProduct = 0, rowSum = 0, rowSquares = 0;
            for (int x = 0; x < width; x++) {
                const float value = row[x];
                rowProduct += value * values[x];
                rowSum += value;
                rowSquares += value * value;
            }
            p += (double)rowProduct;
            s += (double)rowSum;
            q += (double)rowSquares;
        }
        product[lane] = p;
        sum[lane] = s;
        squares[lane] = q;
    }
}
