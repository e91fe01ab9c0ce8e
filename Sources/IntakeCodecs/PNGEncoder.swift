internal import CPNGReader

/// Writes RGB pictures as PNG through libpng: the overlays that show how a meter was aligned
/// and read, where JPEG's ringing would blur the thin lines.
public enum PNGEncoder {
    public static func encode(_ image: RGBImage) throws(CodecError) -> [UInt8] {
        var encoded = intake_png_encoded()
        let status = intake_png_encode_rgb(image.storage.base, UInt32(image.width), UInt32(image.height), &encoded)
        guard status == 0 else {
            let message = withUnsafeBytes(of: &encoded.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw CodecError("PNG encode failed: \(message)")
        }
        defer { intake_png_release_encoded(&encoded) }
        return Array(UnsafeBufferPointer(start: encoded.bytes, count: encoded.length))
    }
}
