#!/usr/bin/env bash
# Makes the small format fixtures the codec tests decode where the corpus is absent. Each is the
# same 24×16 picture: the left half red (200, 30, 40), the right half blue (20, 40, 210), so a
# test can check the size, the colours and which way up the pixels are. Made once with
# ImageMagick 6.9 (libwebp 1.2.4, libtiff 4.5.0, libheif 1.15.1) and committed; the tests never
# run this.
set -euo pipefail
cd "$(dirname "$0")"
picture=(-size 24x16 'xc:rgb(200,30,40)' \( -size 12x16 'xc:rgb(20,40,210)' \) -gravity east -composite +gravity -depth 8)
convert "${picture[@]}" -define webp:lossless=true lossless.webp
convert "${picture[@]}" -quality 90 lossy.webp
convert "${picture[@]}" -alpha set -channel A -fx 'i<6?0:1' +channel -define webp:lossless=true alpha.webp
convert "${picture[@]}" -compress lzw rgb8.tiff
convert "${picture[@]}" -depth 16 -compress zip rgb16.tiff
convert "${picture[@]}" -colorspace cmyk -compress none cmyk.tiff
convert "${picture[@]}" -type palette -compress RLE palette.tiff
convert "${picture[@]}" -orient RightTop rotated6.tiff
convert "${picture[@]}" \( "${picture[@]}" -negate \) pages.tiff
convert "${picture[@]}" -quality 90 still.heic
convert "${picture[@]}" -quality 90 still.avif
# Grey at 200 with unassociated alpha at 50%: over white it is 227, not the 255 a premultiplied
# reading would give.
convert -size 4x4 'xc:rgb(200,200,200)' -alpha set -channel A -evaluate set 50% +channel -colorspace gray -depth 8 grey-alpha.tiff
