#include "tiff_reader.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

/// The file in memory, read through libtiff's client interface (it never touches a descriptor).
typedef struct {
    const uint8_t *data;
    toff_t length;
    toff_t offset;
    char *error;              /* libtiff's first error message lands here */
} memory_file;

static tmsize_t read_memory(thandle_t handle, void *buffer, tmsize_t wanted) {
    memory_file *file = handle;
    if (wanted < 0 || file->offset >= file->length) return 0;
    toff_t left = file->length - file->offset;
    toff_t count = (toff_t)wanted < left ? (toff_t)wanted : left;
    memcpy(buffer, file->data + file->offset, (size_t)count);
    file->offset += count;
    return (tmsize_t)count;
}

static tmsize_t write_nothing(thandle_t handle, void *buffer, tmsize_t size) {
    (void)handle, (void)buffer, (void)size;
    return 0;
}

static toff_t seek_memory(thandle_t handle, toff_t offset, int whence) {
    memory_file *file = handle;
    toff_t base = whence == SEEK_CUR ? file->offset : whence == SEEK_END ? file->length : 0;
    file->offset = base + offset;  // past the end is allowed; reads there return nothing
    return file->offset;
}

static int close_nothing(thandle_t handle) {
    (void)handle;
    return 0;
}

static toff_t size_of_memory(thandle_t handle) { return ((memory_file *)handle)->length; }

static int map_nothing(thandle_t handle, void **base, toff_t *size) {
    (void)handle, (void)base, (void)size;
    return 0;
}

static void unmap_nothing(thandle_t handle, void *base, toff_t size) { (void)handle, (void)base, (void)size; }

/// Keeps libtiff's first error (the cause; later ones are consequences) and says nothing on stderr.
static int keep_error(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff, (void)module;
    char *error = user;
    if (error[0] == 0) vsnprintf(error, 256, format, arguments);
    return 1;
}

static int ignore_warning(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff, (void)user, (void)module, (void)format, (void)arguments;
    return 1;
}

static pthread_once_t silenced = PTHREAD_ONCE_INIT;

/// libtiff's process-wide handlers print to stderr; every message intake wants comes through the
/// per-file handlers below, so the global ones say nothing.
static void silence_globally(void) {
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
}

static TIFF *open_memory(memory_file *file, uint64_t max_allocation) {
    pthread_once(&silenced, silence_globally);
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return NULL;
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, (tmsize_t)max_allocation);
    TIFFOpenOptionsSetErrorHandlerExtR(options, keep_error, file->error);
    TIFFOpenOptionsSetWarningHandlerExtR(options, ignore_warning, NULL);
    // "r": read; "m": no memory mapping (there is no descriptor to map).
    TIFF *tiff = TIFFClientOpenExt("image", "rm", file, read_memory, write_nothing, seek_memory, close_nothing,
                                   size_of_memory, map_nothing, unmap_nothing, options);
    TIFFOpenOptionsFree(options);
    return tiff;
}

/// Why the first page is not an image intake should show, or NULL: camera raws are TIFF
/// underneath, but their first page is a small preview (or sensor data no viewer shows as is).
static const char *raw_reason(TIFF *tiff) {
    void *dng_version = NULL;
    if (TIFFGetField(tiff, TIFFTAG_DNGVERSION, &dng_version)) return "a DNG camera raw";
    uint16_t photometric = 0;
    if (TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric) && (photometric == 32803 || photometric == 34892)) {
        return "camera raw sensor data (a CFA or linear-raw TIFF)";
    }
    uint16_t count = 0;
    void *sub_directories = NULL;
    uint32_t subfile = 0;
    if (TIFFGetField(tiff, TIFFTAG_SUBIFD, &count, &sub_directories) && count > 0 &&
        TIFFGetField(tiff, TIFFTAG_SUBFILETYPE, &subfile) && (subfile & FILETYPE_REDUCEDIMAGE)) {
        return "a TIFF-based camera raw (its first page is a reduced preview)";
    }
    return NULL;
}

static void fill(char error[256], const char *prefix, const char *cause) {
    snprintf(error, 256, "%s%s%s", prefix, cause[0] ? ": " : "", cause);
}

int intake_tiff_probe(const uint8_t *data, size_t length, uint32_t *width, uint32_t *height, char error[256]) {
    char cause[256] = {0};
    memory_file file = {data, length, 0, cause};
    TIFF *tiff = open_memory(&file, 64u << 20);
    if (!tiff) {
        fill(error, "TIFF unreadable", cause);
        return -1;
    }
    const char *raw = raw_reason(tiff);
    int status = 0;
    if (raw) {
        snprintf(error, 256, "not a supported image: the content is %s", raw);
        status = -1;
    } else if (!TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, width) || !TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, height)) {
        fill(error, "TIFF's first page states no size", cause);
        status = -1;
    }
    TIFFClose(tiff);
    return status;
}

/// Whether the page is 16-bit CMYK of interleaved samples, in strips or tiles, which libtiff's
/// RGBA interface reads only at 8 bits ("Can not handle format"): read here instead.
static int is_cmyk16(TIFF *tiff) {
    uint16_t photometric = 0, bits = 0, samples = 0, planar = PLANARCONFIG_CONTIG, inkset = INKSET_CMYK;
    TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_INKSET, &inkset);
    return photometric == PHOTOMETRIC_SEPARATED && bits == 16 && samples >= 4 && planar == PLANARCONFIG_CONTIG &&
           inkset == INKSET_CMYK;
}

/// One pixel's 16-bit inks to 8-bit RGB as libtiff turns 8-bit CMYK: red = (1 - cyan)(1 - black),
/// and so on; samples past the fourth (alpha, spot inks) are left out.
static inline void cmyk16_to_rgb(const uint16_t *ink, uint8_t *rgb) {
    uint64_t paper = 65535u - ink[3];
    for (int c = 0; c < 3; c++) {
        uint64_t value = (65535u - ink[c]) * paper;  // up to 65535², in units of 65535 x 257 per 8-bit step
        rgb[c] = (uint8_t)((value + 65535u * 257u / 2) / (65535u * 257u));
    }
}

/// A 16-bit CMYK page, read a piece at a time: a line of a page in strips, a tile of one in tiles
/// (in the machine's byte order: libtiff swaps 16-bit samples as it reads them). A tile's size is
/// held to `max_allocation`, as libtiff's own buffers are: a tile may declare itself far larger
/// than its page. NULL when a piece cannot be read.
static uint8_t *decode_cmyk16(TIFF *tiff, uint32_t width, uint32_t height, uint16_t samples, uint64_t max_allocation) {
    const int tiled = TIFFIsTiled(tiff);
    uint32_t piece_width = width, piece_height = 1;
    if (tiled && (!TIFFGetField(tiff, TIFFTAG_TILEWIDTH, &piece_width) || !TIFFGetField(tiff, TIFFTAG_TILELENGTH, &piece_height) ||
                  piece_width == 0 || piece_height == 0 || piece_width > 65536 || piece_height > 65536))
        return NULL;
    const tmsize_t size = tiled ? TIFFTileSize(tiff) : TIFFScanlineSize(tiff);
    if (size <= 0 || (tiled && (uint64_t)size > max_allocation) ||
        (uint64_t)size < (uint64_t)piece_width * piece_height * samples * 2)
        return NULL;
    uint16_t *piece = _TIFFmalloc(size);
    uint8_t *pixels = malloc((size_t)width * height * 3);
    if (!piece || !pixels) {
        _TIFFfree(piece);
        free(pixels);
        return NULL;
    }
    for (uint32_t top = 0; top < height; top += piece_height) {
        for (uint32_t left = 0; left < width; left += piece_width) {
            if ((tiled ? TIFFReadTile(tiff, piece, left, top, 0, 0) : TIFFReadScanline(tiff, piece, top, 0)) < 0) {
                _TIFFfree(piece);
                free(pixels);
                return NULL;
            }
            for (uint32_t y = 0; y < piece_height && top + y < height; y++) {
                for (uint32_t x = 0; x < piece_width && left + x < width; x++) {
                    cmyk16_to_rgb(piece + ((size_t)y * piece_width + x) * samples, pixels + ((size_t)(top + y) * width + left + x) * 3);
                }
            }
        }
    }
    _TIFFfree(piece);
    return pixels;
}

static int fail(intake_tiff_image *out, TIFF *tiff, uint32_t *raster, const char *what, const char *cause) {
    fill(out->error, what, cause);
    _TIFFfree(raster);
    if (tiff) TIFFClose(tiff);
    out->pixels = NULL;
    return -1;
}

/// The page decoded: what follows it is noted, and the file closed.
static int finish(intake_tiff_image *out, TIFF *tiff, uint8_t *pixels, uint32_t width, uint32_t height) {
    out->first_directory = TIFFCurrentDirOffset(tiff);
    out->more_pages = !TIFFLastDirectory(tiff);
    TIFFClose(tiff);
    out->pixels = pixels;
    out->width = width;
    out->height = height;
    return 0;
}

int intake_tiff_decode(const uint8_t *data, size_t length, uint64_t max_pixels, uint64_t max_allocation,
                       intake_tiff_image *out) {
    memset(out, 0, sizeof *out);
    char cause[256] = {0};
    memory_file file = {data, length, 0, cause};
    TIFF *tiff = open_memory(&file, max_allocation);
    if (!tiff) return fail(out, NULL, NULL, "TIFF unreadable", cause);
    const char *raw = raw_reason(tiff);
    if (raw) {
        snprintf(cause, sizeof cause, "%s", raw);
        return fail(out, tiff, NULL, "not a supported image: the content is", cause);
    }
    uint32_t width = 0, height = 0;
    TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &height);
    if (width == 0 || height == 0) return fail(out, tiff, NULL, "TIFF declares an empty page", "");
    if ((uint64_t)width * height > max_pixels) return fail(out, tiff, NULL, "TIFF page over the pixel limit", "");
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &out->bits_per_sample);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &out->samples_per_pixel);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_COMPRESSION, &out->compression);
    TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &out->photometric);
    if (!TIFFGetField(tiff, TIFFTAG_ORIENTATION, &out->orientation)) out->orientation = 0;
    uint16_t extra_count = 0;
    uint16_t *extra_kinds = NULL;
    int has_extra = TIFFGetField(tiff, TIFFTAG_EXTRASAMPLES, &extra_count, &extra_kinds) && extra_count > 0;
    out->has_alpha = has_extra && (extra_kinds[0] == EXTRASAMPLE_ASSOCALPHA || extra_kinds[0] == EXTRASAMPLE_UNASSALPHA);
    // libtiff premultiplies an RGB image's unassociated alpha, but hands grey with alpha back as
    // stored: there only associated alpha arrives premultiplied.
    int grey = out->photometric == PHOTOMETRIC_MINISBLACK || out->photometric == PHOTOMETRIC_MINISWHITE;
    int premultiplied = !grey || (out->has_alpha && extra_kinds[0] == EXTRASAMPLE_ASSOCALPHA);

    if (is_cmyk16(tiff)) {
        uint8_t *pixels = decode_cmyk16(tiff, width, height, out->samples_per_pixel, max_allocation);
        if (!pixels) return fail(out, tiff, NULL, "TIFF image data damaged or truncated", cause);
        out->has_alpha = 0;
        return finish(out, tiff, pixels, width, height);
    }
    char refusal[1024] = {0};
    if (!TIFFRGBAImageOK(tiff, refusal)) return fail(out, tiff, NULL, "TIFF of a kind intake cannot read", refusal);
    TIFFRGBAImage reader;
    // Stop at the first strip or tile that cannot be read: otherwise libtiff leaves its rows
    // black and reports success, and a file cut short would pass as a whole picture.
    if (!TIFFRGBAImageBegin(&reader, tiff, 1, refusal)) return fail(out, tiff, NULL, "TIFF of a kind intake cannot read", refusal);
    // Rows as stored, top first: the Orientation tag is applied later with EXIF's, never twice.
    reader.req_orientation = ORIENTATION_TOPLEFT;
    reader.orientation = ORIENTATION_TOPLEFT;
    uint32_t *raster = _TIFFmalloc((tmsize_t)((uint64_t)width * height * 4));
    if (!raster) {
        TIFFRGBAImageEnd(&reader);
        return fail(out, tiff, NULL, "out of memory for the TIFF's page", "");
    }
    int read = TIFFRGBAImageGet(&reader, raster, width, height);
    TIFFRGBAImageEnd(&reader);
    if (!read) return fail(out, tiff, raster, "TIFF image data damaged or truncated", cause);

    uint8_t *pixels = malloc((size_t)width * height * 3);
    if (!pixels) return fail(out, tiff, raster, "out of memory for the TIFF's page", "");
    size_t count = (size_t)width * height;
    for (size_t i = 0; i < count; i++) {
        uint32_t packed = raster[i];
        unsigned alpha = TIFFGetA(packed), channel[3] = {TIFFGetR(packed), TIFFGetG(packed), TIFFGetB(packed)};
        for (int c = 0; c < 3; c++) {
            // Over white: premultiplied is the colour plus what is missing; straight weighs it first.
            unsigned value = premultiplied ? channel[c] + (255 - alpha) : (channel[c] * alpha + 255 * (255 - alpha) + 127) / 255;
            pixels[i * 3 + c] = (uint8_t)(value > 255 ? 255 : value);
        }
    }
    _TIFFfree(raster);
    return finish(out, tiff, pixels, width, height);
}

void intake_tiff_release(intake_tiff_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
