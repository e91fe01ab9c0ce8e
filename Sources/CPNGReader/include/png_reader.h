#ifndef INTAKE_PNG_READER_H
#define INTAKE_PNG_READER_H

#include <stddef.h>
#include <stdint.h>

/// Limits applied before and while libpng reads, so that no file can make it allocate
/// far beyond the decoded image (the huge-chunk crashers ask for 1 GiB otherwise).
typedef struct {
    uint32_t max_width;
    uint32_t max_height;
    uint64_t max_pixels;
    size_t max_chunk_bytes;  /* largest ancillary chunk (text, ICC, eXIf) kept, decompressed */
} intake_png_limits;

/// What a decode returns. Pixels are 8-bit RGB, alpha already composited on white.
typedef struct {
    uint8_t *pixels;         /* width * height * 3 bytes, free with intake_png_release */
    uint32_t width;
    uint32_t height;
    int bit_depth;           /* as stored in the file */
    int color_type;          /* PNG colour type 0, 2, 3, 4, 6 */
    int interlaced;          /* 1 when Adam7 */
    int has_alpha;           /* alpha channel or tRNS */
    uint8_t *exif;           /* eXIf chunk payload (TIFF header first), or NULL */
    size_t exif_length;
    char *texts;             /* tEXt, zTXt and iTXt chunks as "key\0text\0" pairs, or NULL; */
    size_t texts_length;     /* at most 32 chunks and 64 KiB in all, each text cut at 16 KiB */
    char error[256];         /* set when the result is not 0 */
    char warnings[512];      /* libpng warnings, "; "-separated, possibly truncated */
} intake_png_image;

/// Decodes a whole PNG held in memory. Returns 0 on success; on failure `error` says why
/// and no memory is left allocated.
int intake_png_decode(const uint8_t *data, size_t length, const intake_png_limits *limits,
                      intake_png_image *out);

/// Frees what a successful decode allocated.
void intake_png_release(intake_png_image *image);

/// An encoded PNG in memory.
typedef struct {
    uint8_t *bytes;          /* free with intake_png_release_encoded */
    size_t length;
    char error[256];         /* set when the result is not 0 */
} intake_png_encoded;

/// Encodes 8-bit RGB pixels (width * height * 3 bytes, rows top to bottom) as a PNG. Returns 0
/// on success; on failure `error` says why and no memory is left allocated.
int intake_png_encode_rgb(const uint8_t *pixels, uint32_t width, uint32_t height, intake_png_encoded *out);

/// Frees what a successful encode allocated.
void intake_png_release_encoded(intake_png_encoded *encoded);

#endif
