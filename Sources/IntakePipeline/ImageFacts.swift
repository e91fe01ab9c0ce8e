public import IntakeCodecs

/// What intake learned about one file: recorded in the database and printed by `intake process`.
public struct ImageFacts: Sendable, Codable, Equatable {
    /// "jpeg", "png", or the name of what the file turned out to be.
    public var type: String?
    public var bytes: Int
    public var sha256: String?
    /// Stored pixel size, before orientation.
    public var width: Int?
    public var height: Int?
    /// The EXIF orientation applied (1 when absent or invalid).
    public var orientation: Int?
    /// Where the orientation came from: "exif", or "xmp" (`tiff:Orientation`) when EXIF stated none.
    public var orientationSource: String?
    public var exif: EXIFInfo?
    public var exifProblems: [String] = []
    /// Problems the image survived: a truncated stream decoded with grey blocks, a damaged chunk.
    public var warnings: [String] = []
    /// The DCT scale the JPEG was decoded at ("1/8"), nil for PNG.
    public var decodeScale: String?
    public var detail: FormatDetail?

    public init(bytes: Int) { self.bytes = bytes }

    enum CodingKeys: String, CodingKey {
        case type, bytes, sha256, width, height, orientation, exif, warnings, detail
        case exifProblems = "exif_problems", decodeScale = "decode_scale", orientationSource = "orientation_source"
    }
}

/// Format-specific facts: how a JPEG was coded, what a PNG stores.
public struct FormatDetail: Sendable, Codable, Equatable {
    public var colorSpace: String?
    public var progressive: Bool?
    public var arithmetic: Bool?
    public var bitDepth: Int?
    public var interlaced: Bool?
    public var alpha: Bool?
    /// A PNG's text chunks (tEXt, zTXt, iTXt: software, author, comments, XMP), each cut at
    /// 1,024 characters.
    public var text: [PNGText]?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case colorSpace = "color_space", progressive, arithmetic, bitDepth = "bit_depth", interlaced, alpha, text
    }
}
