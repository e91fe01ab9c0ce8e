// libpng's writer, wrapped like the reader so that its longjmp-based errors never cross into
// Swift: the overlays `intake meter check` and `setup` draw are written through it.
#include "png_reader.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    intake_png_encoded *out;
    size_t capacity;
} write_state;

static void write_to_memory(png_structp png, png_bytep data, png_size_t count) {
    write_state *state = (write_state *)png_get_io_ptr(png);
    intake_png_encoded *out = state->out;
    if (out->length + count > state->capacity) {
        size_t capacity = state->capacity ? state->capacity : 65536;
        while (capacity < out->length + count) capacity *= 2;
        uint8_t *grown = realloc(out->bytes, capacity);
        if (!grown) png_error(png, "out of memory for the encoded PNG");
        out->bytes = grown;
        state->capacity = capacity;
    }
    memcpy(out->bytes + out->length, data, count);
    out->length += count;
}

static void flush_nothing(png_structp png) { (void)png; }

static void on_write_error(png_structp png, png_const_charp message) {
    write_state *state = (write_state *)png_get_error_ptr(png);
    snprintf(state->out->error, sizeof state->out->error, "%s", message);
    png_longjmp(png, 1);
}

static void on_write_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

int intake_png_encode_rgb(const uint8_t *pixels, uint32_t width, uint32_t height, intake_png_encoded *out) {
    memset(out, 0, sizeof *out);
    if (width == 0 || height == 0) {
        snprintf(out->error, sizeof out->error, "an image of %ux%u pixels has nothing to encode", width, height);
        return 1;
    }
    write_state state = {out, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_write_error, on_write_warning);
    if (!png) {
        snprintf(out->error, sizeof out->error, "libpng could not start");
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        free(out->bytes);
        out->bytes = NULL;
        out->length = 0;
        if (!out->error[0]) snprintf(out->error, sizeof out->error, "libpng could not start");
        return 1;
    }
    png_set_write_fn(png, &state, write_to_memory, flush_nothing);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 6);
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * 3));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

void intake_png_release_encoded(intake_png_encoded *encoded) {
    free(encoded->bytes);
    encoded->bytes = NULL;
    encoded->length = 0;
}
