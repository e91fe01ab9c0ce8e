internal import CTurboJPEG

#if canImport(Glibc)
import Glibc
#endif

/// A DCT scaling factor: TurboJPEG can decode straight to 1/2, 1/4 or 1/8 of the stored size,
/// doing a fraction of the inverse-DCT and colour work.
public struct ScaleFactor: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let numerator: Int
    public let denominator: Int

    public init(numerator: Int, denominator: Int) {
        self.numerator = numerator
        self.denominator = denominator
    }

    public static let full = ScaleFactor(numerator: 1, denominator: 1)
    /// The factors with fast reduced inverse DCTs, smallest first.
    public static let fastFactors = [8, 4, 2, 1].map { ScaleFactor(numerator: 1, denominator: $0) }

    /// The scaled size of one dimension, rounded up as libjpeg does.
    public func scaled(_ dimension: Int) -> Int { (dimension * numerator + denominator - 1) / denominator }

    /// The smallest fast factor whose output still covers `minimumWidth` × `minimumHeight`.
    public static func smallest(width: Int, height: Int, covering minimumWidth: Int, _ minimumHeight: Int) -> ScaleFactor {
        fastFactors.first { $0.scaled(width) >= minimumWidth && $0.scaled(height) >= minimumHeight } ?? .full
    }

    public var description: String { "\(numerator)/\(denominator)" }
    public static func < (a: ScaleFactor, b: ScaleFactor) -> Bool {
        a.numerator * b.denominator < b.numerator * a.denominator
    }
}

/// What the JPEG header says, read without decoding any pixels.
public struct JPEGHeader: Sendable, Equatable {
    public enum ColorSpace: String, Sendable { case rgb, ycbcr, gray, cmyk, ycck }
    public let width: Int
    public let height: Int
    public let colorSpace: ColorSpace
}

/// A decoded JPEG and the warning libjpeg raised while decoding it, if any (a truncated or
/// damaged stream decodes with grey or smeared blocks: the image goes on, flagged).
public struct DecodedJPEG: Sendable {
    public let image: RGBImage
    public let scale: ScaleFactor
    public let warning: String?
}

/// A TurboJPEG instance: the library's handle, freed when its owner goes.
struct TurboJPEGHandle: ~Copyable {
    let raw: tjhandle

    init(_ create: () -> tjhandle?) throws(CodecError) {
        guard let handle = create() else { throw CodecError("TurboJPEG could not be initialised") }
        raw = handle
    }

    var lastError: String { String(cString: tjGetErrorStr2(raw)) }

    /// Whether the last failure was only a warning. TurboJPEG 2.1 says "warning" for any failure
    /// that followed a warning, fatal or not; its message is the last one libjpeg emitted, so a
    /// failure counts as a warning only when that message is one of libjpeg's warnings (JWRN_*).
    var lastErrorIsWarning: Bool {
        guard tjGetErrorCode(raw) == Int32(TJERR_WARNING.rawValue) else { return false }
        let message = lastError
        return Self.libjpegWarnings.contains { message.hasPrefix($0) }
    }

    static let libjpegWarnings = [
        "Corrupt JPEG data", "Premature end of JPEG file", "Invalid SOS parameters for sequential JPEG",
        "Inconsistent progression sequence", "Unknown Adobe color transform code", "Warning: unknown JFIF revision",
        "Application transferred too many scanlines",
    ]

    deinit { tjDestroy(raw) }
}

/// JPEG decoding, encoding and lossless rotation through TurboJPEG. Not thread-safe: each worker
/// owns one, which also keeps libjpeg's allocations warm between images.
public final class JPEGCodec {
    private var decompressor: TurboJPEGHandle
    private let compressor: TurboJPEGHandle
    private let transformer: TurboJPEGHandle

    public init() throws(CodecError) {
        decompressor = try TurboJPEGHandle { tjInitDecompress() }
        compressor = try TurboJPEGHandle { tjInitCompress() }
        transformer = try TurboJPEGHandle { tjInitTransform() }
    }

    /// Reads the frame header. Cheap: no entropy-coded data is touched. `structure`, when given,
    /// supplies the colour space where TurboJPEG stops before reporting it.
    public func readHeader(_ jpeg: UnsafeRawBufferPointer, structure: JPEGStructure? = nil) throws(CodecError) -> JPEGHeader {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorSpace: Int32 = 0
        let status = tjDecompressHeader3(
            decompressor.raw, jpeg.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(jpeg.count),
            &width, &height, &subsampling, &colorSpace)
        if status != 0 {
            // TurboJPEG fills in the size before it fails on a warning (stray bytes before a marker)
            // or on a subsampling it cannot name (4:1:0, 4:4:1…): libjpeg decodes both all the same.
            let reason = decompressor.lastError, isWarning = decompressor.lastErrorIsWarning
            try resetDecompressor()
            let unnamedSubsampling = reason.contains("Could not determine subsampling")
            guard isWarning || unnamedSubsampling, width > 0, height > 0 else {
                throw CodecError("JPEG header unreadable: \(reason)")
            }
            if unnamedSubsampling, let frame = structure?.frame {
                return JPEGHeader(width: Int(width), height: Int(height), colorSpace: frame.colorSpace)
            }
        }
        guard width > 0, height > 0 else {
            // libjpeg reads a file that ends early as if it ended there, and then finds no frame
            // header, so no size: the file is cut short, not an image declared empty.
            guard (structure ?? JPEGStructure(scanning: jpeg)).frameMarker != nil else {
                throw CodecError("JPEG cut short: its \(jpeg.count) bytes end before the frame header that gives the image's size")
            }
            throw CodecError("JPEG header declares an empty image (\(width)×\(height))")
        }
        let space: JPEGHeader.ColorSpace =
            switch colorSpace {
            case Int32(TJCS_RGB.rawValue): .rgb
            case Int32(TJCS_GRAY.rawValue): .gray
            case Int32(TJCS_CMYK.rawValue): .cmyk
            case Int32(TJCS_YCCK.rawValue): .ycck
            default: .ycbcr
            }
        return JPEGHeader(width: Int(width), height: Int(height), colorSpace: space)
    }

    /// Decodes at `scale` to RGB. CMYK and YCCK files are decoded to CMYK and converted here,
    /// because TurboJPEG 2.1 cannot convert them itself; `adobeInverted` says whether the ink
    /// values are stored inverted, as Adobe applications write them.
    public func decode(
        _ jpeg: UnsafeRawBufferPointer, header: JPEGHeader, scale: ScaleFactor, adobeInverted: Bool
    ) throws(CodecError) -> DecodedJPEG {
        let width = scale.scaled(header.width), height = scale.scaled(header.height)
        let isCMYK = header.colorSpace == .cmyk || header.colorSpace == .ycck
        let channels = isCMYK ? 4 : 3
        let storage = PixelStorage(count: width * height * channels)
        // LIMITSCANS refuses progressive files with absurd scan counts, a known CPU exhaustion attack.
        let flags = Int32(TJFLAG_LIMITSCANS)
        let status = tjDecompress2(
            decompressor.raw, jpeg.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(jpeg.count),
            storage.base, Int32(width), 0, Int32(height),
            Int32(isCMYK ? TJPF_CMYK.rawValue : TJPF_RGB.rawValue), flags)
        var warning: String?
        if status != 0 {
            let reason = decompressor.lastError, isWarning = decompressor.lastErrorIsWarning
            try resetDecompressor()
            guard isWarning else { throw CodecError("JPEG data unreadable: \(reason)") }
            warning = reason
        }
        let rgb = isCMYK ? Self.convertCMYK(storage, width: width, height: height, inverted: adobeInverted) : storage
        return DecodedJPEG(image: RGBImage(width: width, height: height, storage: rgb), scale: scale, warning: warning)
    }

    /// A decode that stopped early leaves libjpeg mid-stream, and TurboJPEG 2.1 does not always
    /// recover on the next call: a fresh handle after any failure or warning keeps one bad file
    /// from spoiling the next good one.
    private func resetDecompressor() throws(CodecError) {
        decompressor = try TurboJPEGHandle { tjInitDecompress() }
    }

    /// Encodes RGB at `quality` with 4:2:0 chroma, as most cameras and Pillow do.
    public func encode(_ image: RGBImage, quality: Int) throws(CodecError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        defer { tjFree(output) }
        let status = tjCompress2(
            compressor.raw, image.storage.base, Int32(image.width), 0, Int32(image.height),
            Int32(TJPF_RGB.rawValue), &output, &size, Int32(TJSAMP_420.rawValue), Int32(quality), 0)
        guard status == 0, let output else { throw CodecError("JPEG encoding failed: \(compressor.lastError)") }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    /// Lossless clockwise rotations of an encoded JPEG in the DCT domain: no decode, no
    /// re-encode, no generation loss. Each angle is 90, 180 or 270; the image's sides must be
    /// multiples of the MCU size (16 for 4:2:0), which the square derivative is.
    public func rotateClockwise(_ jpeg: [UInt8], by angles: [Int]) throws(CodecError) -> [[UInt8]] {
        guard !angles.isEmpty else { return [] }
        var transforms = try angles.map { angle throws(CodecError) in
            var transform = tjtransform()
            transform.op =
                switch angle {
                case 90: Int32(TJXOP_ROT90.rawValue)
                case 180: Int32(TJXOP_ROT180.rawValue)
                case 270: Int32(TJXOP_ROT270.rawValue)
                default: throw CodecError("cannot rotate by \(angle)°")
                }
            transform.options = TJXOPT_PERFECT
            return transform
        }
        var buffers = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: angles.count)
        var sizes = [UInt](repeating: 0, count: angles.count)
        defer { buffers.forEach { tjFree($0) } }
        let status = jpeg.withUnsafeBufferPointer { source in
            tjTransform(
                transformer.raw, source.baseAddress, UInt(source.count), Int32(angles.count),
                &buffers, &sizes, &transforms, 0)
        }
        guard status == 0 else { throw CodecError("JPEG rotation failed: \(transformer.lastError)") }
        return zip(buffers, sizes).map { buffer, size in Array(UnsafeBufferPointer(start: buffer, count: Int(size))) }
    }

    /// CMYK (4 bytes a pixel) to RGB in new storage: R = (1 − C)(1 − K), on inverted values
    /// simply C·K.
    private static func convertCMYK(_ cmyk: PixelStorage, width: Int, height: Int, inverted: Bool) -> PixelStorage {
        let rgb = PixelStorage(count: width * height * 3)
        let source = cmyk.base, target = rgb.base
        for i in 0..<(width * height) {
            var c = UInt32(source[i * 4]), m = UInt32(source[i * 4 + 1])
            var y = UInt32(source[i * 4 + 2]), k = UInt32(source[i * 4 + 3])
            if !inverted { (c, m, y, k) = (255 - c, 255 - m, 255 - y, 255 - k) }
            target[i * 3] = UInt8((c * k + 127) / 255)
            target[i * 3 + 1] = UInt8((m * k + 127) / 255)
            target[i * 3 + 2] = UInt8((y * k + 127) / 255)
        }
        return rgb
    }
}
