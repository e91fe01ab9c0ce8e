public import IntakeCodecs
public import IntakeClassify
public import IntakeCore

/// What the image stages need to know, taken from the configuration.
public struct ProcessingOptions: Sendable, Equatable {
    public var maxBytes: Int
    public var limits: DecodeLimits
    /// Side of the square derivative.
    public var derivativeSize: Int
    public var quality: Int
    /// Counter-clockwise rotations to make of the derivative; 360 is the derivative itself.
    public var angles: [Int]
    /// Decode every pixel instead of shrinking on load: the meter reader needs them.
    public var fullResolution: Bool
    /// The built-in labels' thresholds.
    public var classification: ClassifierThresholds

    public init(
        maxBytes: Int = 50 << 20, limits: DecodeLimits = DecodeLimits(), derivativeSize: Int = 256, quality: Int = 90,
        angles: [Int] = [90, 180, 270, 360], fullResolution: Bool = false, classification: ClassifierThresholds = .defaults
    ) {
        self.maxBytes = maxBytes
        self.limits = limits
        self.derivativeSize = derivativeSize
        self.quality = quality
        self.angles = angles
        self.fullResolution = fullResolution
        self.classification = classification
    }
}

/// The image a job produced: its facts, the upright pixels later stages look at, and the
/// encoded derivative with its rotations.
public struct ProcessedImage: Sendable {
    public var facts: ImageFacts
    /// Decoded (possibly shrunk on load), as stored, and how it turns upright.
    let stored: RGBImage
    let orientation: Orientation
    /// Decoded and turned upright, made when asked: only the meter stage needs every pixel
    /// upright; the derivative and the classifier turn the small fitted image instead.
    public var upright: RGBImage { stored.applying(orientation) }
    /// The original's size turned upright: what boxes on it are measured in, as the built-in
    /// classifier measures them.
    public var uprightSize: (width: Int, height: Int) {
        let (imageWidth, imageHeight) = orientation.swapsSides ? (stored.height, stored.width) : (stored.width, stored.height)
        let size = UprightSize(imageWidth: imageWidth, imageHeight: imageHeight,
                               originalWidth: facts.width ?? imageWidth, originalHeight: facts.height ?? imageHeight)
        return (size.width, size.height)
    }
    /// The derivative, a JPEG of derivativeSize²; also the "360-degree" rotation.
    public var derivative: [UInt8]
    /// Counter-clockwise angle → JPEG bytes, for every configured angle.
    public var rotations: [Int: [UInt8]]
    /// What the built-in classifier saw.
    public var labels: [Label]
}

/// The outcome of running the image stages on one file; facts and timings exist either way.
public struct ProcessingOutcome: Sendable {
    public var facts: ImageFacts
    public var clock: StageClock
    public var result: Result<ProcessedImage, IntakeError>

    public init(facts: ImageFacts, clock: StageClock, result: Result<ProcessedImage, IntakeError>) {
        self.facts = facts
        self.clock = clock
        self.result = result
    }
}

/// Runs stages sniff → decode → metadata → orient → derive on the bytes of one file.
/// Holds TurboJPEG handles, so each worker owns one and reuses it.
public final class ImageProcessor {
    public let options: ProcessingOptions
    private let codec: JPEGCodec

    public init(options: ProcessingOptions) throws(IntakeError) {
        self.options = options
        do { codec = try JPEGCodec() } catch { throw .transient(.decode, error.reason) }
    }

    /// Runs the stages; `fullResolution` overrides the options for this file (a profiled meter).
    public func process(_ bytes: [UInt8], fullResolution: Bool? = nil) -> ProcessingOutcome {
        bytes.withUnsafeBytes { process($0, fullResolution: fullResolution) }
    }

    /// The same on bytes the caller owns (a worker's ReadBuffer); nothing returned refers to them.
    public func process(_ data: UnsafeRawBufferPointer, fullResolution: Bool? = nil) -> ProcessingOutcome {
        var facts = ImageFacts(bytes: data.count)
        var clock = StageClock()
        let full = fullResolution ?? options.fullResolution
        let result = Result { () throws(IntakeError) in try run(data, fullResolution: full, facts: &facts, clock: &clock) }
        if facts.sha256 == nil {
            // A refused file is still identified, so a second drop of it is known as a duplicate.
            facts.sha256 = clock.measure(.metadata) { SHA256.hex(of: data) }
        }
        return ProcessingOutcome(facts: facts, clock: clock, result: result)
    }

    /// Only the stages up to orient: the whole image, upright, for reading single crops.
    public func decodeUpright(_ bytes: [UInt8]) -> Result<RGBImage, IntakeError> {
        var facts = ImageFacts(bytes: bytes.count)
        var clock = StageClock()
        return bytes.withUnsafeBytes { data in
            Result { () throws(IntakeError) in try upright(data, fullResolution: true, facts: &facts, clock: &clock) }
        }
    }

    private func run(_ data: UnsafeRawBufferPointer, fullResolution: Bool, facts: inout ImageFacts, clock: inout StageClock)
        throws(IntakeError) -> ProcessedImage
    {
        let stored = try decodeStored(data, fullResolution: fullResolution, facts: &facts, clock: &clock)
        let (width, height) = (facts.width ?? stored.image.width, facts.height ?? stored.image.height)
        // One area-averaging pass serves the derivative and the classifier, which analyses at
        // the derivative's scale anyway. Fitting is the same either side up, so the image is
        // turned upright once it is small: a fraction of the pixels to move.
        let fittedAsStored = clock.measure(.derive) { BoxFit.fitted(stored.image, box: options.derivativeSize) }
        let fitted = clock.measure(.orient) { fittedAsStored.applying(stored.orientation) }
        let labels = clock.measure(.classify) {
            ImageClassifier.labels(
                for: fitted, originalWidth: width, originalHeight: height, thresholds: options.classification)
        }

        let (derivative, rotations) = try clock.measure(.derive) { () throws(IntakeError) in try derive(fitted) }
        return ProcessedImage(
            facts: facts, stored: stored.image, orientation: stored.orientation, derivative: derivative, rotations: rotations,
            labels: labels)
    }

    /// Stages sniff → decode → metadata → orient.
    private func upright(_ data: UnsafeRawBufferPointer, fullResolution: Bool, facts: inout ImageFacts, clock: inout StageClock)
        throws(IntakeError) -> RGBImage
    {
        let stored = try decodeStored(data, fullResolution: fullResolution, facts: &facts, clock: &clock)
        return clock.measure(.orient) { stored.image.applying(stored.orientation) }
    }

    /// Stages sniff → decode → metadata: the pixels as stored, and the orientation that turns them upright.
    private func decodeStored(_ data: UnsafeRawBufferPointer, fullResolution: Bool, facts: inout ImageFacts, clock: inout StageClock)
        throws(IntakeError) -> (image: RGBImage, orientation: Orientation)
    {
        let (type, width, height) = try clock.measure(.sniff) { () throws(IntakeError) in try sniff(data) }
        facts.type = type.description
        (facts.width, facts.height) = (width, height)
        let decoded = try clock.measure(.decode) { () throws(IntakeError) in
            try decode(data, type: type, fullResolution: fullResolution, facts: &facts)
        }
        let orientation = clock.measure(.metadata) { readMetadata(data, decoded: decoded, facts: &facts) }
        facts.orientation = orientation.rawValue
        return (decoded.image, orientation)
    }

    // MARK: sniff

    private func sniff(_ data: UnsafeRawBufferPointer) throws(IntakeError) -> (ImageType, Int, Int) {
        let type = Sniffer.sniff(data)
        let width: Int, height: Int
        do {
            switch type {
            case .jpeg:
                let header = try codec.readHeader(data, structure: JPEGStructure(scanning: data))
                (width, height) = (header.width, header.height)
            case .png:
                let header = try PNGDecoder.readHeader(data)
                (width, height) = (header.width, header.height)
            case .bmp:
                let header = try BMPDecoder.readHeader(data)
                (width, height) = (header.width, header.height)
            case .gif:
                (width, height) = try GIFDecoder.readHeader(data)
            case .webp:
                (width, height) = try WebPDecoder.readHeader(data)
            case .tiff:
                (width, height) = try TIFFDecoder.readHeader(data, limits: options.limits)
            case .heif, .avif:
                (width, height) = try HEIFDecoder.readHeader(data, limits: options.limits)
            case .refused(let what):
                throw IntakeError.permanent(.sniff, "not a supported image: the content is \(what); intake takes \(ImageType.decodableNames)")
            }
            guard width > 0, height > 0 else { throw IntakeError.permanent(.sniff, "header declares an empty image (\(width)×\(height))") }
            try options.limits.check(width: width, height: height)
        } catch let error as IntakeError {
            throw error
        } catch let error as CodecError {
            throw .permanent(.sniff, error.reason)
        } catch {
            throw .permanent(.sniff, "\(error)")
        }
        return (type, width, height)
    }

    // MARK: decode

    private struct Decoded {
        var image: RGBImage
        var exif: EXIFSource
        /// The XMP packet, if any (a JPEG's APP1, a PNG's iTXt, a WebP's or HEIF's XMP block): its
        /// orientation stands where EXIF states none.
        var xmp: [UInt8]? = nil
        /// The orientation the container itself states (a TIFF's tag), where EXIF states none.
        var containerOrientation: Int? = nil
        /// The decoder already turned the image upright (HEIF's own transformations): no
        /// orientation from EXIF or XMP is applied again.
        var upright = false
    }

    private enum EXIFSource {
        case none
        case app1(Range<Int>)
        case tiff([UInt8])
    }

    private func decode(_ data: UnsafeRawBufferPointer, type: ImageType, fullResolution: Bool, facts: inout ImageFacts)
        throws(IntakeError) -> Decoded
    {
        var detail = FormatDetail()
        defer { facts.detail = detail }
        do throws(CodecError) {
            switch type {
            case .jpeg:
                let structure = JPEGStructure(scanning: data)
                let header = try codec.readHeader(data, structure: structure)
                let box = options.derivativeSize
                let need = fullResolution
                    ? (header.width, header.height) : BoxFit.size(width: header.width, height: header.height, box: box)
                let scale = ScaleFactor.smallest(width: header.width, height: header.height, covering: need.0, need.1)
                let jpeg = try codec.decode(data, header: header, scale: scale, adobeInverted: structure.hasAdobeMarker)
                facts.decodeScale = scale.description
                if let warning = jpeg.warning { facts.warnings.append(warning) }
                detail.colorSpace = header.colorSpace.rawValue
                detail.progressive = structure.isProgressive
                detail.arithmetic = structure.isArithmetic
                return Decoded(image: jpeg.image, exif: structure.exifSegment.map(EXIFSource.app1) ?? .none, xmp: structure.xmpSegment.map { Array(data[$0]) })
            case .png:
                let png = try PNGDecoder.decode(data, limits: options.limits)
                facts.warnings += png.warnings
                detail.colorSpace = png.header.colorName
                detail.bitDepth = png.header.bitDepth
                detail.interlaced = png.header.interlaced
                detail.alpha = png.hasAlpha
                if !png.texts.isEmpty { detail.text = png.texts.map(Self.recorded) }
                let xmp = png.texts.first { $0.key == "XML:com.adobe.xmp" }.map { Array($0.text.utf8) }
                return Decoded(image: png.image, exif: png.exif.map(EXIFSource.tiff) ?? .none, xmp: xmp)
            case .gif:
                let gif = try GIFDecoder.decode(data, limits: options.limits)
                detail.colorSpace = "palette"
                detail.bitDepth = 8
                detail.interlaced = gif.interlaced
                detail.alpha = gif.transparent
                // Only the first frame of an animation is the image: said, not hidden.
                if gif.animated { facts.warnings.append("an animated GIF: only its first frame is kept") }
                return Decoded(image: gif.image, exif: .none)
            case .bmp:
                let header = try BMPDecoder.readHeader(data)
                detail.colorSpace = header.bitsPerPixel <= 8 ? "palette" : "rgb"
                detail.bitDepth = header.bitsPerPixel
                detail.alpha = header.hasAlpha
                return Decoded(image: try BMPDecoder.decode(data, header: header), exif: .none)
            case .webp:
                let webp = try WebPDecoder.decode(data, limits: options.limits)
                detail.colorSpace = webp.lossless ? "rgb (lossless)" : "ycbcr"
                detail.bitDepth = 8
                detail.alpha = webp.hasAlpha
                if webp.animated { facts.warnings.append("an animated WebP: only its first frame is kept") }
                return Decoded(image: webp.image, exif: webp.exif.map(EXIFSource.tiff) ?? .none, xmp: webp.xmp)
            case .tiff:
                let tiff = try TIFFDecoder.decode(data, limits: options.limits)
                detail.colorSpace = tiff.colorSpace
                detail.bitDepth = tiff.bitsPerSample
                detail.alpha = tiff.hasAlpha
                if tiff.morePages { facts.warnings.append("a TIFF of several pages: only the first is kept") }
                // Not the file's fault (a directory after 64 KiB of pixels is how libtiff writes),
                // so these are warnings, not EXIF problems.
                if tiff.exif == nil {
                    facts.warnings.append("EXIF not read: the TIFF's first directory could not be copied for the EXIF reader; only its orientation tag is read")
                }
                for omitted in tiff.exifOmitted {
                    facts.warnings.append("EXIF: \(omitted) not read, the TIFF's metadata lying beyond the first 64 KiB")
                }
                return Decoded(image: tiff.image, exif: tiff.exif.map(EXIFSource.tiff) ?? .none, containerOrientation: tiff.orientation)
            case .heif, .avif:
                let heif = try HEIFDecoder.decode(data, limits: options.limits)
                detail.colorSpace = "ycbcr"
                detail.bitDepth = heif.bitDepth
                detail.alpha = heif.hasAlpha
                if heif.bitDepth > 8 { facts.warnings.append("a \(heif.bitDepth)-bit HEIF: reduced to 8 bits") }
                if heif.imageCount > 1 { facts.warnings.append("a HEIF of \(heif.imageCount) images: only the primary one is kept") }
                return Decoded(image: heif.image, exif: heif.exif.map(EXIFSource.tiff) ?? .none, xmp: heif.xmp, upright: true)
            case .refused(let what):
                throw CodecError("not a supported image: the content is \(what)")
            }
        } catch {
            throw .permanent(.decode, error.reason)
        }
    }

    /// A PNG text chunk as the record keeps it: its first 1,024 characters (an XMP packet can
    /// be many kilobytes; what is cut is said).
    static func recorded(_ text: PNGText) -> PNGText {
        guard text.text.count > 1024 else { return text }
        return PNGText(key: text.key, text: String(text.text.prefix(1024)) + "… (\(text.text.utf8.count) bytes)")
    }

    // MARK: metadata

    /// Records hash and EXIF; returns the orientation to apply: EXIF's, else the container's
    /// (a TIFF's tag), else the XMP packet's; none when the decoder already applied the file's
    /// own (HEIF). Never fails: broken EXIF is noted.
    private func readMetadata(_ data: UnsafeRawBufferPointer, decoded: Decoded, facts: inout ImageFacts) -> Orientation {
        facts.sha256 = SHA256.hex(of: data)
        let reading: EXIFReading? =
            switch decoded.exif {
            case .none: nil
            case .app1(let range): EXIFReader.read(app1: UnsafeRawBufferPointer(rebasing: data[range]))
            case .tiff(let tiff): EXIFReader.read(tiff: tiff)
            }
        if let reading {
            facts.exif = reading.info
            facts.exifProblems += reading.problems
        }
        // A date the EXIF lacks, from the XMP packet, where editors and some phones keep it.
        if facts.exif?.dateTaken == nil, let xmp = decoded.xmp, let date = xmp.withUnsafeBytes({ XMPProperties.dateTaken($0) }) {
            var exif = facts.exif ?? EXIFInfo()
            exif.dateTaken = date
            exif.sources = (exif.sources ?? [:]).merging(["date_taken": "XMP (exif:DateTimeOriginal)"]) { $1 }
            facts.exif = exif
        }
        if decoded.upright {
            facts.orientationSource = "decoder"
            return .up
        }
        let stated: (tag: Int, source: String)? =
            if let exif = reading?.info?.orientation { (exif, "exif") }
            else if let container = decoded.containerOrientation { (container, "tiff") }
            else { nil }
        guard let (tag, source) = stated else { return xmpOrientation(decoded.xmp, facts: &facts) }
        guard let orientation = Orientation(rawValue: tag) else {
            facts.exifProblems.append("orientation tag has the invalid value \(tag); the image is used as stored")
            return .up
        }
        facts.orientationSource = source
        return orientation
    }

    /// The orientation the XMP packet states, for an image whose EXIF states none.
    private func xmpOrientation(_ xmp: [UInt8]?, facts: inout ImageFacts) -> Orientation {
        guard let xmp else { return .up }
        let found = xmp.withUnsafeBytes { XMPProperties.orientation($0) }
        if let invalid = found.invalid {
            facts.exifProblems.append("XMP tiff:Orientation has the invalid value \(invalid); the image is used as stored")
        }
        guard let value = found.orientation, let orientation = Orientation(rawValue: value) else { return .up }
        facts.orientationSource = "xmp"
        return orientation
    }

    // MARK: derive

    /// The derivative from the image already fitted to its box, and its rotations.
    private func derive(_ fitted: RGBImage) throws(IntakeError) -> ([UInt8], [Int: [UInt8]]) {
        let box = options.derivativeSize
        let canvas = BoxFit.centered(fitted, box: box)
        do {
            let derivative = try codec.encode(canvas, quality: options.quality)
            var rotations: [Int: [UInt8]] = [:]
            let turns = options.angles.filter { $0 != 360 }
            if box % 16 == 0 {
                // Square and MCU-aligned: rotate losslessly in the DCT domain, no re-encoding.
                // Clockwise by 360 − a is counter-clockwise by a.
                let rotated = try codec.rotateClockwise(derivative, by: turns.map { 360 - $0 })
                for (angle, jpeg) in zip(turns, rotated) { rotations[angle] = jpeg }
            } else {
                for angle in turns {
                    let turned = canvas.applying(Self.counterClockwise(angle))
                    rotations[angle] = try codec.encode(turned, quality: options.quality)
                }
            }
            if options.angles.contains(360) { rotations[360] = derivative }
            return (derivative, rotations)
        } catch {
            throw .transient(.derive, error.reason)
        }
    }

    /// The orientation whose application turns an image counter-clockwise by `angle`.
    private static func counterClockwise(_ angle: Int) -> Orientation {
        switch angle {
        case 90: .rotatedCounterclockwise
        case 180: .upsideDown
        case 270: .rotatedClockwise
        default: .up
        }
    }
}
