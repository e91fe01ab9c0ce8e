import IntakeClassify
import IntakeCodecs
import IntakeConfig
import IntakeCore
import IntakeDaemon
import IntakePipeline
import IntakeReports

/// The parsers intake runs on bytes it did not make, each as a fuzz target: the input must never
/// crash, hang or leak, whatever it is. Each target only calls the parser; what it answers (an
/// error, most of the time) is the parser's business.
enum FuzzTarget: String, CaseIterable {
    /// The sniffer and the limits, then every decoder (TurboJPEG, libpng through its C shim,
    /// giflib, libwebp, libtiff, libheif, intake's BMP reader), the EXIF inside them, the
    /// derivative: one whole image job.
    case image
    /// The EXIF reader on an APP1 payload ("Exif\0\0" and a TIFF structure), as libexif sees it,
    /// and on a TIFF's metadata directories copied out of it (`TIFFMetadataCopy`).
    case exif
    /// The PNG header reader and decoder alone, with small limits, so that more inputs go deep.
    case png
    /// The TOML reader and the configuration built from it.
    case toml
    /// The strict CSV reader and the manual-readings import on top of it.
    case csv
    /// A JSON sidecar's claim.
    case sidecar
    /// The external classifier's answer.
    case classifier

    /// A processor with limits small enough that the fuzzer explores shapes, not megapixels.
    nonisolated(unsafe) static let processor = try! ImageProcessor(options: ProcessingOptions(
        maxBytes: 4 << 20, limits: DecodeLimits(maxPixels: 4_000_000, maxWidth: 8192, maxHeight: 8192, maxChunkBytes: 1 << 20)))

    func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .image:
            _ = Self.processor.process(data)
        case .exif:
            _ = EXIFReader.read(app1: data)
            _ = EXIFReader.read(tiff: Array(data))
            // A TIFF whose metadata lies beyond 64 KiB: its directories copied, then read.
            if let copy = TIFFMetadataCopy.copy(data) { _ = EXIFReader.read(tiff: copy.tiff) }
        case .png:
            _ = try? PNGDecoder.readHeader(data)
            _ = try? PNGDecoder.decode(data, limits: DecodeLimits(maxPixels: 1_000_000, maxWidth: 4096, maxHeight: 4096, maxChunkBytes: 1 << 18))
        case .toml:
            _ = try? IntakeConfiguration.parse(String(decoding: data, as: UTF8.self), fileName: "fuzz.toml")
        case .csv:
            let text = String(decoding: data, as: UTF8.self)
            _ = try? CSV.records(text)
            _ = try? ManualReadingsFile.parse(text, fileName: "fuzz.csv")
        case .sidecar:
            _ = SidecarClaim.parse(Array(data))
        case .classifier:
            _ = ClassifierAnswer.labels(from: Array(data), source: "fuzz")
        }
    }
}
