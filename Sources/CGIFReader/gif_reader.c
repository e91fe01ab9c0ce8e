#include "gif_reader.h"

#include <gif_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t length;
    size_t offset;
} memory_source;

static int read_memory(GifFileType *gif, GifByteType *buffer, int wanted) {
    memory_source *source = gif->UserData;
    size_t left = source->length - source->offset;
    size_t count = (size_t)wanted < left ? (size_t)wanted : left;
    memcpy(buffer, source->data + source->offset, count);
    source->offset += count;
    return (int)count;
}

static int fail(intake_gif_image *out, GifFileType *gif, uint8_t *pixels, uint8_t *line, const char *what, int code) {
    snprintf(out->error, sizeof out->error, "%s%s%s", what, code ? ": " : "", code ? GifErrorString(code) : "");
    free(pixels);
    free(line);
    out->pixels = NULL;
    if (gif) DGifCloseFile(gif, NULL);
    return -1;
}

/// A giflib call failed before the first image was whole. Where every byte was read, the file
/// ends early: giflib says only that a read failed, or (reading an image's code size) nothing.
static int failed_call(intake_gif_image *out, GifFileType *gif, uint8_t *pixels, uint8_t *line, const char *what) {
    const memory_source *source = gif->UserData;
    if (source->offset < source->length) return fail(out, gif, pixels, line, what, gif->Error);
    char cut[96];
    snprintf(cut, sizeof cut, "GIF cut short: its %zu bytes end before its first image does", source->length);
    return fail(out, gif, pixels, line, cut, 0);
}

int intake_gif_decode(const uint8_t *data, size_t length, uint64_t max_pixels, intake_gif_image *out) {
    memset(out, 0, sizeof *out);
    memory_source source = {data, length, 0};
    int code = 0;
    GifFileType *gif = DGifOpen(&source, read_memory, &code);
    if (!gif) return fail(out, NULL, NULL, NULL, "GIF unreadable", code);
    uint32_t width = (uint32_t)gif->SWidth, height = (uint32_t)gif->SHeight;
    if (width == 0 || height == 0) return fail(out, gif, NULL, NULL, "GIF declares an empty screen", 0);
    if ((uint64_t)width * height > max_pixels) return fail(out, gif, NULL, NULL, "GIF screen over the pixel limit", 0);
    uint8_t *pixels = malloc((size_t)width * height * 3);
    if (!pixels) return fail(out, gif, NULL, NULL, "out of memory for the GIF's screen", 0);
    memset(pixels, 255, (size_t)width * height * 3);  // the background: white, as PNG's alpha is composited
    uint8_t *line = NULL;
    int transparent = -1;
    GifRecordType record;
    for (;;) {
        if (DGifGetRecordType(gif, &record) == GIF_ERROR) return failed_call(out, gif, pixels, line, "GIF damaged before its first image");
        if (record == TERMINATE_RECORD_TYPE) return fail(out, gif, pixels, line, "GIF holds no image", 0);
        if (record == EXTENSION_RECORD_TYPE) {
            int extension = 0;
            GifByteType *block = NULL;
            if (DGifGetExtension(gif, &extension, &block) == GIF_ERROR) return failed_call(out, gif, pixels, line, "GIF extension damaged");
            // The graphic control extension before the first image names its transparent colour.
            if (extension == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4 && (block[1] & 1)) transparent = block[4];
            while (block) {
                if (DGifGetExtensionNext(gif, &block) == GIF_ERROR) return failed_call(out, gif, pixels, line, "GIF extension damaged");
            }
            continue;
        }
        if (record != IMAGE_DESC_RECORD_TYPE) continue;
        if (DGifGetImageDesc(gif) == GIF_ERROR) return failed_call(out, gif, pixels, line, "GIF image descriptor damaged");
        break;
    }
    GifImageDesc *frame = &gif->Image;
    ColorMapObject *map = frame->ColorMap ? frame->ColorMap : gif->SColorMap;
    if (!map) return fail(out, gif, pixels, line, "GIF has no colour table for its first image", 0);
    if (frame->Width <= 0 || frame->Height <= 0 || (uint64_t)frame->Width * (uint64_t)frame->Height > max_pixels) {
        return fail(out, gif, pixels, line, "GIF's first image has an impossible size", 0);
    }
    line = malloc((size_t)frame->Width);
    if (!line) return fail(out, gif, pixels, line, "out of memory for a GIF line", 0);
    // Interlaced images come in four passes of rows; each row is placed where it belongs.
    static const int starts[] = {0, 4, 2, 1}, steps[] = {8, 8, 4, 2};
    int passes = frame->Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; pass++) {
        int start = frame->Interlace ? starts[pass] : 0, step = frame->Interlace ? steps[pass] : 1;
        for (int row = start; row < frame->Height; row += step) {
            if (DGifGetLine(gif, line, frame->Width) == GIF_ERROR) return failed_call(out, gif, pixels, line, "GIF image data damaged");
            int y = frame->Top + row;
            if (y < 0 || (uint32_t)y >= height) continue;
            for (int column = 0; column < frame->Width; column++) {
                int x = frame->Left + column, index = line[column];
                if (x < 0 || (uint32_t)x >= width || index == transparent || index >= map->ColorCount) continue;
                uint8_t *pixel = pixels + ((size_t)y * width + (size_t)x) * 3;
                pixel[0] = map->Colors[index].Red;
                pixel[1] = map->Colors[index].Green;
                pixel[2] = map->Colors[index].Blue;
            }
        }
    }
    free(line);
    // Whether an animation follows; the first frame is what is kept either way.
    out->frames_seen = 1;
    if (DGifGetRecordType(gif, &record) != GIF_ERROR && record == IMAGE_DESC_RECORD_TYPE) out->frames_seen = 2;
    while (out->frames_seen == 1 && record == EXTENSION_RECORD_TYPE) {
        int extension = 0;
        GifByteType *block = NULL;
        if (DGifGetExtension(gif, &extension, &block) == GIF_ERROR) break;
        while (block && DGifGetExtensionNext(gif, &block) != GIF_ERROR) {}
        if (DGifGetRecordType(gif, &record) == GIF_ERROR) break;
        if (record == IMAGE_DESC_RECORD_TYPE) out->frames_seen = 2;
    }
    out->interlaced = frame->Interlace ? 1 : 0;
    out->transparent = transparent >= 0;
    DGifCloseFile(gif, NULL);
    out->pixels = pixels;
    out->width = width;
    out->height = height;
    return 0;
}

void intake_gif_release(intake_gif_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
