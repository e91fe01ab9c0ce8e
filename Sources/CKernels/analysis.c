// The classifier's passes over the analysis copy: plain loops over bytes and words that the
// compiler turns into SIMD instructions, and SSE2 (every x86-64 has it) where counting needs
// byte lanes it would not choose. Swift's loops over the same data stayed scalar: their
// conversions and checked ranges keep LLVM from vectorising them. Each gives exactly what the
// Swift loops it replaced gave (AnalysisKernelTests keeps those as its oracle): the labels'
// thresholds were tuned on those numbers.

#include "CKernels.h"

#include <stdlib.h>

/// The fixed-point reciprocal of a bin of `size` pixels: 65536 / size, rounded.
static int32_t reciprocal(int64_t size) { return (int32_t)((65536 + size / 2) / size); }

/// Analysis pixel `i` from its bin's sums of red, green and blue and the bin's reciprocal.
static inline void convert(long i, int32_t sumR, int32_t sumG, int32_t sumB, int32_t scale, uint8_t *luma,
                           uint8_t *chroma, uint32_t *colour, uint8_t *red) {
    // At most 255: a reciprocal rounded up overshoots on bins over 256 pixels (an image far over
    // the analysis size), and white would wrap to black.
    int32_t r = (sumR * scale + 32768) >> 16, g = (sumG * scale + 32768) >> 16, b = (sumB * scale + 32768) >> 16;
    r = r < 255 ? r : 255;
    g = g < 255 ? g : 255;
    b = b < 255 ? b : 255;
    const int32_t largest = r > g ? (r > b ? r : b) : (g > b ? g : b);
    const int32_t smallest = r < g ? (r < b ? r : b) : (g < b ? g : b);
    const int32_t redness = r - (g > b ? g : b);
    // 0.299, 0.587, 0.114 in 8-bit fixed point; the weights sum to 256, so white stays 255.
    luma[i] = (uint8_t)((77 * r + 150 * g + 29 * b + 128) >> 8);
    chroma[i] = (uint8_t)(largest - smallest);
    colour[i] = (uint32_t)(r << 16 | g << 8 | b);
    // Red clearly above green and blue, by more than 20 and by more than 12% of red itself.
    red[i] = (redness > 20) & (redness * 100 > 12 * r);
}

/// A row of an image already at the analysis size (the pipeline's, reduced to the derivative's
/// size first): every bin is one pixel, whose reciprocal, 65536, leaves it as it is. Its own
/// function, with pointers that do not alias, so that the compiler vectorises it; and built
/// twice, for AVX2 and for any x86-64, the loader choosing: three-byte pixels take shuffles
/// that SSE2 lacks, and the AVX2 build took a third of the time.
#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
static void convertRow(const uint8_t *restrict source, long width, uint8_t *restrict luma, uint8_t *restrict chroma,
                       uint32_t *restrict colour, uint8_t *restrict red) {
    for (long x = 0; x < width; x++) convert(x, source[3 * x], source[3 * x + 1], source[3 * x + 2], 65536, luma, chroma, colour, red);
}

/// The histograms of `count` analysis pixels, in a pass of their own (counted as the pixels are
/// made, they took half as long again). Two pixels a step, each into its own copy of each table,
/// added up at the end, since runs of equal values would otherwise make each increment wait for
/// the one before; red, green and blue share one table of 768 (a third less time than a
/// table each and a pixel a step). Luma is counted once, in the upper half of its table for
/// pale pixels and in the lower half for the others.
static void count(const uint8_t *luma, const uint8_t *chroma, const uint32_t *colour, long count, int paleChroma,
                  int32_t *lumaHistogram, int32_t *paleLumaHistogram, int32_t *channelHistograms, int64_t *chromaSum) {
    int32_t lumaCounts[2][512] = {{0}}, channelCounts[2][768] = {{0}};
    int64_t sum = 0;
    long i = 0;
    for (; i + 1 < count; i += 2) {
        const int firstChroma = chroma[i], secondChroma = chroma[i + 1];
        const uint32_t first = colour[i], second = colour[i + 1];
        lumaCounts[0][(firstChroma <= paleChroma) << 8 | luma[i]]++;
        lumaCounts[1][(secondChroma <= paleChroma) << 8 | luma[i + 1]]++;
        channelCounts[0][first >> 16 & 0xFF]++, channelCounts[0][256 + (first >> 8 & 0xFF)]++, channelCounts[0][512 + (first & 0xFF)]++;
        channelCounts[1][second >> 16 & 0xFF]++, channelCounts[1][256 + (second >> 8 & 0xFF)]++, channelCounts[1][512 + (second & 0xFF)]++;
        sum += firstChroma + secondChroma;
    }
    if (i < count) {
        const int lastChroma = chroma[i];
        const uint32_t last = colour[i];
        lumaCounts[0][(lastChroma <= paleChroma) << 8 | luma[i]]++;
        channelCounts[0][last >> 16 & 0xFF]++, channelCounts[0][256 + (last >> 8 & 0xFF)]++, channelCounts[0][512 + (last & 0xFF)]++;
        sum += lastChroma;
    }
    for (int v = 0; v < 256; v++) {
        paleLumaHistogram[v] = lumaCounts[0][256 + v] + lumaCounts[1][256 + v];
        lumaHistogram[v] = paleLumaHistogram[v] + lumaCounts[0][v] + lumaCounts[1][v];
    }
    for (int v = 0; v < 768; v++) channelHistograms[v] = channelCounts[0][v] + channelCounts[1][v];
    *chromaSum = sum;
}

bool intake_analysis_reduce(const uint8_t *source, int sourceWidth, int sourceHeight, int width, int height,
                            int paleChroma, uint8_t *luma, uint8_t *chroma, uint32_t *colour, uint8_t *red,
                            int32_t *redPerRow, int32_t *lumaHistogram, int32_t *paleLumaHistogram,
                            int32_t *channelHistograms, int64_t *chromaSum) {
    const long stride = (long)sourceWidth * 3;
    // Analysis column x takes source columns columnStart[x]..<columnStart[x + 1]; with whole-pixel
    // bins of an integer division, every bin is `narrow` columns wide or one more.
    const int narrow = sourceWidth / width;
    const bool unreduced = sourceWidth == width && sourceHeight == height;
    // Three zeros past the end: the one-more column of a narrow bin at the right edge reads them.
    int32_t *rowSums = unreduced ? NULL : calloc((size_t)stride + 3, sizeof(int32_t));
    int32_t *columnStart = malloc((size_t)(width + 1) * sizeof(int32_t));
    if ((!unreduced && !rowSums) || !columnStart) {
        free(rowSums), free(columnStart);
        return false;
    }
    for (int x = 0; x <= width; x++) columnStart[x] = (int32_t)((int64_t)x * sourceWidth / width);

    for (int y = 0; y < height; y++) {
        const long first = (long)y * width;
        if (unreduced) {
            convertRow(source + first * 3, width, luma + first, chroma + first, colour + first, red + first);
        } else {
            const long top = (long)y * sourceHeight / height, rows = (long)(y + 1) * sourceHeight / height - top;
            const uint8_t *line = source + top * stride;
            for (long i = 0; i < stride; i++) rowSums[i] = line[i];
            for (long r = 1; r < rows; r++) {
                line += stride;
                for (long i = 0; i < stride; i++) rowSums[i] += line[i];
            }
            const int32_t narrowScale = reciprocal(rows * narrow), wideScale = reciprocal(rows * (narrow + 1));
            for (int x = 0; x < width; x++) {
                const int32_t *bin = rowSums + 3 * (long)columnStart[x];
                int32_t r = 0, g = 0, b = 0;
                for (int k = 0; k < 3 * narrow; k += 3) {
                    r += bin[k];
                    g += bin[k + 1];
                    b += bin[k + 2];
                }
                // The extra column of a wide bin, added as a product rather than behind a branch
                // that irregular bin widths would make the predictor miss.
                const int32_t wide = columnStart[x + 1] - columnStart[x] > narrow;
                const int32_t *next = bin + 3 * narrow;
                convert(first + x, r + wide * next[0], g + wide * next[1], b + wide * next[2],
                        wide ? wideScale : narrowScale, luma, chroma, colour, red);
            }
        }
        int32_t redInRow = 0;
        for (long i = first; i < first + width; i++) redInRow += red[i];
        redPerRow[y] = redInRow;
    }
    free(rowSums), free(columnStart);
    count(luma, chroma, colour, (long)width * height, paleChroma, lumaHistogram, paleLumaHistogram, channelHistograms,
          chromaSum);
    return true;
}

/// How many of `count` steps reach each power of two, 1 to 128 (`reaching[k]` those at least
/// 2^k): one pass that brackets the cutoff within a factor of two. Sixteen steps to a compare,
/// counted in byte lanes that are added up before they can wrap.
static void countPowers(const uint8_t *steps, long count, int32_t reaching[8]) {
    long i = 0;
    for (int k = 0; k < 8; k++) reaching[k] = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    __m128i totals[8];
    for (int k = 0; k < 8; k++) totals[k] = zero;
    while (i + 16 <= count) {
        __m128i lanes[8];
        for (int k = 0; k < 8; k++) lanes[k] = zero;
        for (int round = 0; round < 255 && i + 16 <= count; round++, i += 16) {
            const __m128i v = _mm_loadu_si128((const __m128i *)(steps + i));
            // v >= bound exactly where max(v, bound) == v; a true compare is -1, so subtract it.
            for (int k = 0; k < 8; k++) {
                const __m128i bound = _mm_set1_epi8((char)(1 << k));
                lanes[k] = _mm_sub_epi8(lanes[k], _mm_cmpeq_epi8(_mm_max_epu8(v, bound), v));
            }
        }
        for (int k = 0; k < 8; k++) totals[k] = _mm_add_epi64(totals[k], _mm_sad_epu8(lanes[k], zero));
    }
    for (int k = 0; k < 8; k++)
        reaching[k] = (int32_t)(_mm_cvtsi128_si32(totals[k]) + _mm_cvtsi128_si32(_mm_unpackhi_epi64(totals[k], totals[k])));
#endif
    for (; i < count; i++)
        for (int k = 0; k < 8; k++) reaching[k] += steps[i] >= 1 << k;
}

bool intake_reblur_directional(const uint8_t *luma, int width, int left, int right, int top, int bottom, int dx, int dy,
                               int taps, int wanted, uint8_t *steps, int32_t *cutoff, int64_t *total, int64_t *kept) {
    const long offset = (long)dy * width + dx, columns = right - left;
    const long count = columns * (bottom - top);
    const int ahead = taps / 2, behind = ahead + 1;
    for (int y = top; y < bottom; y++) {
        const uint8_t *here = luma + (long)y * width + left, *before = here - offset;
        uint8_t *out = steps + (long)(y - top) * columns;
        for (long x = 0; x < columns; x++) out[x] = here[x] > before[x] ? here[x] - before[x] : before[x] - here[x];
    }
    // The cutoff is the smallest step among the `wanted` strongest: the largest threshold that at
    // least `wanted` steps reach. It lies between the largest power of two that many steps reach
    // and the next power: the steps from there up are few, and are counted value by value.
    int32_t reaching[8];
    countPowers(steps, count, reaching);
    if (reaching[0] < wanted) return false;
    int power = 0;
    while (power < 7 && reaching[power + 1] >= wanted) power++;
    const int least = 1 << power;
    // For each step value from `least` up: how many steps have it, and what the re-blur leaves of
    // them (both ×taps: the step, and the re-blurred image's step at the same place).
    int32_t many[256] = {0}, keptOf[256] = {0};
    for (int y = top; y < bottom; y++) {
        const uint8_t *row = steps + (long)(y - top) * columns;
        const uint8_t *front = luma + (long)y * width + left + ahead * offset;
        const uint8_t *back = luma + (long)y * width + left - behind * offset;
        long x = 0;
#if defined(__SSE2__)
        // Sixteen steps to a compare; the few that reach `least` are found by their bits.
        const __m128i bound = _mm_set1_epi8((char)least);
        for (; x + 16 <= columns; x += 16) {
            const __m128i v = _mm_loadu_si128((const __m128i *)(row + x));
            unsigned bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, bound), v));
            while (bits) {
                const long i = x + __builtin_ctz(bits);
                bits &= bits - 1;
                const int32_t step = row[i], scaled = step * taps;
                const int32_t reblurred = front[i] > back[i] ? front[i] - back[i] : back[i] - front[i];
                many[step]++;
                keptOf[step] += scaled > reblurred ? scaled - reblurred : 0;
            }
        }
#endif
        for (; x < columns; x++) {
            const int32_t step = row[x], scaled = step * taps;
            if (step < least) continue;
            const int32_t reblurred = front[x] > back[x] ? front[x] - back[x] : back[x] - front[x];
            many[step]++;
            keptOf[step] += scaled > reblurred ? scaled - reblurred : 0;
        }
    }
    int value = 255;
    for (int32_t seen = many[255]; seen < wanted; seen += many[value]) value--;
    *cutoff = value;
    int64_t allSteps = 0, allKept = 0;
    for (int v = value; v < 256; v++) {
        allSteps += (int64_t)v * taps * many[v];
        allKept += keptOf[v];
    }
    *total = allSteps;
    *kept = allKept;
    return allSteps > 0;
}

/// Built for AVX2 and for any x86-64, as `convertRow` is: the AVX2 build took 60% of the time.
#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
void intake_screenshot_counts(const uint8_t *luma, const uint32_t *colour, int width, int height, int32_t *flat,
                              int32_t *still, int32_t *grain, int32_t *edges) {
    int32_t flatCount = 0, stillCount = 0, grainCount = 0, edgeCount = 0;
    for (int y = 0; y + 1 < height; y++) {
        const uint8_t *here = luma + (long)y * width, *below = here + width;
        const uint32_t *colourHere = colour + (long)y * width, *colourBelow = colourHere + width;
        for (int x = 0; x + 1 < width; x++) {
            flatCount += (colourHere[x] == colourHere[x + 1]) & (colourHere[x] == colourBelow[x]);
            const uint8_t level = here[x];
            const uint8_t right = here[x + 1] > level ? here[x + 1] - level : level - here[x + 1];
            const uint8_t down = below[x] > level ? below[x] - level : level - below[x];
            const uint8_t step = right > down ? right : down;
            stillCount += step == 0;
            grainCount += (step >= 1) & (step <= 3);
            edgeCount += step >= 40;
        }
    }
    *flat = flatCount, *still = stillCount, *grain = grainCount, *edges = edgeCount;
}

void intake_row_darkness(const uint8_t *luma, int width, int height, int left, int right, int paper, int64_t *darkness) {
    for (int y = 0; y < height; y++) {
        const uint8_t *row = luma + (long)y * width;
        int32_t sum = 0;
        for (int x = left; x < right; x++) {
            const int32_t below = paper - row[x];
            sum += below > 0 ? below : 0;
        }
        darkness[y] = sum;
    }
}
