#include "heif_reader.h"

#include <string.h>

// The canvas a HEIF's primary image declares when it is a derived image: a grid of tiles
// ('grid') or an overlay ('iovl'), itself or behind identities ('iden'). libheif 1.15 sizes its
// output by this box, not by the primary's `ispe` property that its API reports, and checks only
// each side against its limit: a file may say 64x64 and make it allocate 65000x65000 x 3 planes.
// Read here from the file's boxes, with every length checked, before anything is decoded.

typedef struct {
    const uint8_t *p;
    size_t n;
} span;

static uint64_t big_endian(const uint8_t *p, int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes; i++) value = value << 8 | p[i];
    return value;
}

/// Takes the box at the start of `s`: its type and body; 0 when it does not fit.
static int next_box(span *s, char type[4], span *body) {
    if (s->n < 8) return 0;
    uint64_t size = big_endian(s->p, 4);
    size_t header = 8;
    memcpy(type, s->p + 4, 4);
    if (size == 1) {
        if (s->n < 16) return 0;
        size = big_endian(s->p + 8, 8);
        header = 16;
    } else if (size == 0) {
        size = s->n;  // to the end
    }
    if (size < header || size > s->n) return 0;
    body->p = s->p + header;
    body->n = (size_t)size - header;
    s->p += size;
    s->n -= (size_t)size;
    return 1;
}

static int find_box(span s, const char *type, span *body) {
    char found[4];
    span next;
    while (next_box(&s, found, &next)) {
        if (memcmp(found, type, 4) == 0) {
            *body = next;
            return 1;
        }
    }
    return 0;
}

/// Reads `bytes` (0, 2, 4 or 8) from `s` into `value`, moving on; 0 when too short.
static int take(span *s, int bytes, uint64_t *value) {
    if ((size_t)bytes > s->n) return 0;
    *value = big_endian(s->p, bytes);
    s->p += bytes;
    s->n -= (size_t)bytes;
    return 1;
}

/// The type of item `id`, from `iinf`'s `infe` entries (versions 2 and 3).
static int item_type(span iinf, uint64_t id, char type[4]) {
    uint64_t version, flags, count;
    if (!take(&iinf, 1, &version) || !take(&iinf, 3, &flags) || !take(&iinf, version == 0 ? 2 : 4, &count)) return 0;
    char box[4];
    span entry;
    while (next_box(&iinf, box, &entry)) {
        uint64_t entry_version, entry_flags, entry_id, protection;
        if (memcmp(box, "infe", 4) != 0 || !take(&entry, 1, &entry_version) || !take(&entry, 3, &entry_flags)) continue;
        if (entry_version < 2) continue;
        if (!take(&entry, entry_version == 2 ? 2 : 4, &entry_id) || !take(&entry, 2, &protection) || entry.n < 4) continue;
        if (entry_id == id) {
            memcpy(type, entry.p, 4);
            return 1;
        }
    }
    return 0;
}

/// The first bytes of item `id`'s data, from `iloc` (in the file, or in `idat`).
static int item_data(span iloc, span file, span idat, uint64_t id, span *data) {
    uint64_t version, flags, sizes, more, count;
    if (!take(&iloc, 1, &version) || !take(&iloc, 3, &flags) || version > 2) return 0;
    if (!take(&iloc, 1, &sizes) || !take(&iloc, 1, &more) || !take(&iloc, version < 2 ? 2 : 4, &count)) return 0;
    int offset_size = (int)(sizes >> 4), length_size = (int)(sizes & 15), base_size = (int)(more >> 4);
    int index_size = version == 1 || version == 2 ? (int)(more & 15) : 0;
    const int field_sizes[] = {offset_size, length_size, base_size, index_size};
    for (int i = 0; i < 4; i++) {
        if (field_sizes[i] != 0 && field_sizes[i] != 4 && field_sizes[i] != 8) return 0;
    }
    for (uint64_t i = 0; i < count; i++) {
        uint64_t item, method = 0, reference, base, extents;
        if (!take(&iloc, version < 2 ? 2 : 4, &item)) return 0;
        if (version == 1 || version == 2) {
            if (!take(&iloc, 2, &method)) return 0;
            method &= 15;
        }
        if (!take(&iloc, 2, &reference) || !take(&iloc, base_size, &base) || !take(&iloc, 2, &extents)) return 0;
        uint64_t first_offset = 0, first_length = 0;
        for (uint64_t e = 0; e < extents; e++) {
            uint64_t index, offset, length;
            if (!take(&iloc, index_size, &index) || !take(&iloc, offset_size, &offset) || !take(&iloc, length_size, &length)) return 0;
            if (e == 0) first_offset = offset, first_length = length;
        }
        if (item != id) continue;
        if (extents == 0 || reference != 0 || method > 1) return 0;
        span source = method == 1 ? idat : file;
        uint64_t start = base + first_offset;
        if (start < base || start > source.n) return 0;
        uint64_t available = source.n - start;
        data->p = source.p + start;
        data->n = (size_t)(first_length == 0 || first_length > available ? available : first_length);
        return 1;
    }
    return 0;
}

/// The item that item `id` is derived from, by its first 'dimg' reference in `iref`; 0 when none.
static uint64_t derived_from(span iref, uint64_t id) {
    uint64_t version, flags;
    if (!take(&iref, 1, &version) || !take(&iref, 3, &flags)) return 0;
    int field = version == 0 ? 2 : 4;
    char type[4];
    span reference;
    while (next_box(&iref, type, &reference)) {
        uint64_t from, count, to;
        if (memcmp(type, "dimg", 4) != 0) continue;
        if (!take(&reference, field, &from) || !take(&reference, 2, &count)) return 0;
        if (from != id) continue;
        return count > 0 && take(&reference, field, &to) ? to : 0;
    }
    return 0;
}

int intake_heif_declared_canvas(const uint8_t *bytes, size_t length, uint64_t *width, uint64_t *height, char kind[5]) {
    span file = {bytes, length}, meta, pitm, iinf, iloc, idat = {NULL, 0}, data;
    uint64_t version, flags, primary;
    if (!find_box(file, "meta", &meta) || !take(&meta, 4, &flags)) return 0;
    if (!find_box(meta, "pitm", &pitm) || !take(&pitm, 1, &version) || !take(&pitm, 3, &flags) ||
        !take(&pitm, version == 0 ? 2 : 4, &primary)) return 0;
    char type[4];
    if (!find_box(meta, "iinf", &iinf) || !item_type(iinf, primary, type)) return 0;
    // An identity ('iden': the source turned, mirrored or cropped) is as large as what it is
    // derived from, which libheif decodes whole first: a grid behind it is checked as one in front.
    span iref;
    int has_iref = find_box(meta, "iref", &iref);
    for (int depth = 0; depth < 8 && memcmp(type, "iden", 4) == 0; depth++) {
        uint64_t source = has_iref ? derived_from(iref, primary) : 0;
        if (source == 0 || !item_type(iinf, source, type)) return 0;
        primary = source;
    }
    int grid = memcmp(type, "grid", 4) == 0, overlay = memcmp(type, "iovl", 4) == 0;
    if (!grid && !overlay) return 0;
    memcpy(kind, type, 4);
    kind[4] = 0;
    find_box(meta, "idat", &idat);
    // A derived image whose description cannot be found is refused: libheif would size it anyway.
    if (!find_box(meta, "iloc", &iloc) || !item_data(iloc, file, idat, primary, &data)) return -1;
    uint64_t ignored;
    if (!take(&data, 1, &version) || !take(&data, 1, &flags)) return -1;
    if (grid && !take(&data, 2, &ignored)) return -1;      // rows and columns, less one each
    if (overlay && !take(&data, 8, &ignored)) return -1;   // four 16-bit fill values
    int field = (flags & 1) ? 4 : 2;
    if (!take(&data, field, width) || !take(&data, field, height)) return -1;
    return 1;
}
