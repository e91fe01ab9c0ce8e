// libpng's classic API, wrapped so that its longjmp-based errors never cross into Swift.
#include "png_reader.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t length;
    size_t offset;
    intake_png_image *out;
} read_state;

static void read_from_memory(png_structp png, png_bytep dest, png_size_t count) {
    read_state *state = (read_state *)png_get_io_ptr(png);
    if (count > state->length - state->offset) {
        png_error(png, "file is truncated (read past the end of the data)");
    }
    memcpy(dest, state->data + state->offset, count);
    state->offset += count;
}

static void on_error(png_structp png, png_const_charp message) {
    read_state *state = (read_state *)png_get_error_ptr(png);
    snprintf(state->out->error, sizeof state->out->error, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    read_state *state = (read_state *)png_get_error_ptr(png);
    char *warnings = state->out->warnings;
    size_t used = strlen(warnings);
    if (used + 3 >= sizeof state->out->warnings) return;
    snprintf(warnings + used, sizeof state->out->warnings - used, "%s%s", used ? "; " : "", message);
}

/// libpng reports an ancillary chunk over the size limit as a benign error, a warning, and then
/// allocates it all the same (1 GiB for the huge_*_chunk crashers). The file is in memory, so walk
/// its chunk list first and have libpng discard every oversized ancillary chunk unread.
static void skip_oversized_chunks(png_structp png, const uint8_t *data, size_t length, size_t max_chunk_bytes) {
    png_byte names[16 * 5];
    int count = 0;
    size_t offset = 8;
    while (offset + 8 <= length && count < 16) {
        uint32_t chunk_length = (uint32_t)data[offset] << 24 | (uint32_t)data[offset + 1] << 16 |
                                (uint32_t)data[offset + 2] << 8 | data[offset + 3];
        const uint8_t *type = data + offset + 4;
        int ancillary = (type[0] & 0x20) != 0;
        if (ancillary && chunk_length > max_chunk_bytes) {
            memcpy(names + 5 * count, type, 4);
            names[5 * count + 4] = 0;
            count++;
        }
        if (memcmp(type, "IEND", 4) == 0) break;
        offset += 12 + (size_t)chunk_length;
    }
    if (count > 0) png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, names, count);
}

/// Creates the read struct with every limit set; returns NULL when libpng cannot be set up.
static png_structp create_reader(read_state *state, const intake_png_limits *limits) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, state, on_error, on_warning);
    if (!png) return NULL;
    png_set_read_fn(png, state, read_from_memory);
    png_set_user_limits(png, limits->max_width, limits->max_height);
    png_set_chunk_malloc_max(png, limits->max_chunk_bytes);
    png_set_chunk_cache_max(png, 512);
    skip_oversized_chunks(png, state->data, state->length, limits->max_chunk_bytes);
    // Checks of CRCs stay on: a damaged critical chunk is an error, a damaged ancillary one a warning.
    return png;
}

static int check_pixels(intake_png_image *out, const intake_png_limits *limits) {
    uint64_t pixels = (uint64_t)out->width * out->height;
    if (pixels > limits->max_pixels) {
        snprintf(out->error, sizeof out->error, "image is %ux%u = %llu pixels, over the limit of %llu",
                 out->width, out->height, (unsigned long long)pixels,
                 (unsigned long long)limits->max_pixels);
        return -1;
    }
    return 0;
}

static void describe(png_structp png, png_infop info, intake_png_image *out) {
    out->width = png_get_image_width(png, info);
    out->height = png_get_image_height(png, info);
    out->bit_depth = png_get_bit_depth(png, info);
    out->color_type = png_get_color_type(png, info);
    out->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    out->has_alpha = (out->color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
}

/// Copies an eXIf payload found in `info`, if there is one and none was copied yet.
static void take_exif(png_structp png, png_infop info, intake_png_image *out) {
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 count = 0;
    png_bytep exif = NULL;
    if (out->exif || !info) return;
    if (png_get_eXIf_1(png, info, &count, &exif) && exif && count > 0) {
        out->exif = malloc(count);
        if (out->exif) {
            memcpy(out->exif, exif, count);
            out->exif_length = count;
        }
    }
#endif
}

enum { max_texts = 32, max_text_bytes = 16384, max_texts_bytes = 65536 };

/// Appends the text chunks found in `info` (libpng has inflated zTXt and compressed iTXt) to
/// `out->texts` as "key\0text\0" pairs, within the caps: a file cannot make the record large.
static void take_texts(png_structp png, png_infop info, intake_png_image *out) {
#ifdef PNG_TEXT_SUPPORTED
    png_textp texts = NULL;
    int count = 0;
    if (!info || png_get_text(png, info, &texts, &count) <= 0 || !texts) return;
    for (int i = 0; i < count && out->texts_length < max_texts_bytes; i++) {
        size_t taken = 0;
        for (size_t k = 0; k < out->texts_length; k++) taken += out->texts[k] == 0;
        if (taken / 2 >= max_texts) return;
        const char *key = texts[i].key ? texts[i].key : "";
        const char *text = texts[i].text ? texts[i].text : "";
        size_t text_length = texts[i].compression >= PNG_ITXT_COMPRESSION_NONE ? texts[i].itxt_length : texts[i].text_length;
        if (text_length > max_text_bytes) text_length = max_text_bytes;
        size_t key_length = strnlen(key, 79);
        size_t need = key_length + 1 + text_length + 1;
        if (out->texts_length + need > max_texts_bytes) return;
        char *grown = realloc(out->texts, out->texts_length + need);
        if (!grown) return;
        out->texts = grown;
        memcpy(out->texts + out->texts_length, key, key_length);
        out->texts[out->texts_length + key_length] = 0;
        // A NUL inside an iTXt's text would split the pair: cut there.
        size_t kept = strnlen(text, text_length);
        memcpy(out->texts + out->texts_length + key_length + 1, text, kept);
        out->texts[out->texts_length + key_length + 1 + kept] = 0;
        out->texts_length += key_length + 1 + kept + 1;
    }
#endif
}

/// Writes one decoded row (RGB or RGBA, 8-bit) as RGB, compositing alpha over white.
static void store_row(const uint8_t *source, uint8_t *dest, uint32_t width, int channels) {
    if (channels == 3) {
        memcpy(dest, source, (size_t)width * 3);
        return;
    }
    for (uint32_t x = 0; x < width; x++) {
        const uint8_t *p = source + (size_t)x * 4;
        uint32_t alpha = p[3], inverse = 255 - alpha;
        for (int c = 0; c < 3; c++) {
            // Rounded (value * alpha + 255 * (255 - alpha)) / 255.
            uint32_t v = p[c] * alpha + 255 * inverse + 127;
            dest[c] = (uint8_t)((v + (v >> 8)) >> 8);
        }
        dest += 3;
    }
}

int intake_png_decode(const uint8_t *data, size_t length, const intake_png_limits *limits,
                      intake_png_image *out) {
    memset(out, 0, sizeof *out);
    read_state state = {data, length, 0, out};
    png_structp png = create_reader(&state, limits);
    if (!png) {
        snprintf(out->error, sizeof out->error, "libpng could not be initialised");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    png_infop end_info = png_create_info_struct(png);
    // Declared volatile: they change between setjmp and a possible longjmp.
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile scratch = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || !end_info || setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(scratch);
        free(rows);
        free(out->exif);
        out->exif = NULL;
        out->exif_length = 0;
        free(out->texts);
        out->texts = NULL;
        out->texts_length = 0;
        png_destroy_read_struct(&png, &info, &end_info);
        if (!out->error[0]) snprintf(out->error, sizeof out->error, "libpng failed");
        return -1;
    }

    png_read_info(png, info);
    describe(png, info, out);
    if (check_pixels(out, limits) != 0) {
        png_destroy_read_struct(&png, &info, &end_info);
        return -1;
    }
    take_exif(png, info, out);
    take_texts(png, info, out);

    // Everything becomes 8-bit RGB or RGBA: palettes and low bit depths expanded, tRNS made alpha,
    // 16-bit scaled (not truncated) to 8, gray widened to RGB.
    png_set_expand(png);
    png_set_scale_16(png);
    png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((channels != 3 && channels != 4) || rowbytes != (size_t)out->width * channels) {
        png_error(png, "unexpected pixel layout after transformation");
    }

    size_t out_row = (size_t)out->width * 3;
    pixels = malloc(out_row * out->height);
    if (!pixels) png_error(png, "out of memory for the decoded image");

    if (passes == 1) {
        // Non-interlaced: one row buffer, composited straight into the output.
        scratch = malloc(rowbytes);
        if (!scratch) png_error(png, "out of memory for a row");
        for (uint32_t y = 0; y < out->height; y++) {
            png_read_row(png, scratch, NULL);
            store_row(scratch, pixels + out_row * y, out->width, channels);
        }
    } else {
        // Adam7 needs the whole image in hand until the last pass.
        scratch = malloc(rowbytes * out->height);
        if (!scratch) png_error(png, "out of memory for the interlaced image");
        rows = malloc(sizeof(png_bytep) * out->height);
        if (!rows) png_error(png, "out of memory for row pointers");
        for (uint32_t y = 0; y < out->height; y++) rows[y] = scratch + rowbytes * y;
        png_read_image(png, rows);
        free(rows);
        rows = NULL;
        for (uint32_t y = 0; y < out->height; y++) {
            store_row(scratch + rowbytes * y, pixels + out_row * y, out->width, channels);
        }
    }
    // Reading to the end verifies the trailing chunks and finds an eXIf written after IDAT. Every
    // pixel is in hand by now, so damage past the image data (a missing IEND, say) is a warning.
    if (setjmp(png_jmpbuf(png))) {
        char message[sizeof out->error];
        snprintf(message, sizeof message, "after the image data: %s", out->error);
        out->error[0] = 0;
        on_warning(png, message);
    } else {
        png_read_end(png, end_info);
        take_exif(png, end_info, out);
        take_texts(png, end_info, out);
    }

    free(scratch);
    png_destroy_read_struct(&png, &info, &end_info);
    out->pixels = pixels;
    return 0;
}

void intake_png_release(intake_png_image *image) {
    free(image->pixels);
    free(image->exif);
    free(image->texts);
    image->texts = NULL;
    image->texts_length = 0;
    image->pixels = NULL;
    image->exif = NULL;
    image->exif_length = 0;
}
