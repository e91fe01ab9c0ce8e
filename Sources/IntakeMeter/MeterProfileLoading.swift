#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
public import IntakeCodecs
import IntakeCore

/// A profile with its images read: the reference frame's size, its landmarks and the marks ready
/// to search for. Load it once per profile and align every photo of the meter against it.
public struct LoadedProfile: Sendable {
    public let profile: MeterProfile
    /// The reference frame's size: the reference image's.
    public var referenceWidth: Int { reference.width }
    public var referenceHeight: Int { reference.height }
    /// The marks' crops, in the profile's order.
    public let markImages: [RGBImage]
    let reference: AlignmentReference
    let templates: [MarkTemplate]
    /// The box around every wheel and dial: the part of the frame that is read.
    var readingArea: Box {
        let boxes = profile.wheels.map(\.box) + profile.dials.map(\.box)
        guard let left = boxes.map(\.x).min(), let top = boxes.map(\.y).min(),
              let right = boxes.map({ $0.x + $0.width }).max(), let bottom = boxes.map({ $0.y + $0.height }).max()
        else { return Box(x: 0, y: 0, width: referenceWidth, height: referenceHeight) }
        return Box(x: left, y: top, width: right - left, height: bottom - top)
    }

    /// A profile with images already in memory; checks that every mark and box lies inside the
    /// reference frame and that each mark image is big enough to search for.
    public init(profile: MeterProfile, reference image: RGBImage, markImages: [RGBImage]) throws(MeterProfileError) {
        let file = profile.path.isEmpty ? profile.name : profile.path
        guard markImages.count == profile.marks.count else {
            throw MeterProfileError(file: file, message: "\(profile.marks.count) marks but \(markImages.count) mark images")
        }
        let frame = Box(x: 0, y: 0, width: image.width, height: image.height)
        // Too small to find the meter in again after the camera moves (its landmarks are
        // sought 20 pixels in from each edge), and no photo of a meter is this small.
        guard image.width >= Self.smallestReference, image.height >= Self.smallestReference else {
            throw MeterProfileError(
                file: file, key: "reference",
                message: "the reference picture is \(image.width)×\(image.height); it must be at least \(Self.smallestReference)×\(Self.smallestReference)")
        }
        for (index, (mark, markImage)) in zip(profile.marks, markImages).enumerated() {
            // Smaller crops correlate with too many places to say anything.
            guard markImage.width >= 16, markImage.height >= 16 else {
                throw MeterProfileError(
                    file: file, key: "marks[\(index + 1)].image",
                    message: "mark \(index + 1) (\(mark.imagePath)) is \(markImage.width)×\(markImage.height); a mark must be at least 16×16")
            }
            let box = Box(x: mark.x, y: mark.y, width: markImage.width, height: markImage.height)
            guard Self.contains(frame, box) else {
                throw MeterProfileError(
                    file: file, key: "marks[\(index + 1)]",
                    message: "mark \(index + 1) (\(box)) extends past the \(image.width)×\(image.height) reference frame")
            }
        }
        for (kind, boxes) in [("wheels", profile.wheels.map(\.box)), ("dials", profile.dials.map(\.box))] {
            for (index, box) in boxes.enumerated() where !Self.contains(frame, box) {
                throw MeterProfileError(
                    file: file, key: "\(kind)[\(index + 1)]",
                    message: "\(kind)[\(index + 1)] (\(box)) extends past the \(image.width)×\(image.height) reference frame")
            }
        }
        self.profile = profile
        self.markImages = markImages
        reference = AlignmentReference(image: image, wheels: profile.wheels.map(\.box), dials: profile.dials.map(\.box))
        templates = markImages.map(MarkTemplate.init)
    }

    /// Decodes the reference image and the marks (JPEG or PNG, whatever the name says).
    public static func load(_ profile: MeterProfile) throws(MeterProfileError) -> LoadedProfile {
        let file = profile.path.isEmpty ? profile.name : profile.path
        let codec: JPEGCodec
        do { codec = try JPEGCodec() } catch { throw MeterProfileError(file: file, message: "can't start the JPEG decoder: \(error)") }
        let reference = try image(at: profile.referencePath, key: "reference", file: file, codec: codec)
        var marks: [RGBImage] = []
        for (index, mark) in profile.marks.enumerated() {
            marks.append(try image(at: mark.imagePath, key: "marks[\(index + 1)].image", file: file, codec: codec))
        }
        return try LoadedProfile(profile: profile, reference: reference, markImages: marks)
    }

    /// Reads a profile file and its images.
    public static func load(path: String) throws(MeterProfileError) -> LoadedProfile {
        try load(try MeterProfile.load(path: path))
    }

    /// The smallest reference picture, on each side.
    static let smallestReference = 64

    /// Whether `box` lies inside `frame`, told without adding to an `x` a profile may have set
    /// to Int.max (which traps).
    private static func contains(_ frame: Box, _ box: Box) -> Bool {
        box.x >= frame.x && box.y >= frame.y && box.x - frame.x <= frame.width - box.width && box.y - frame.y <= frame.height - box.height
    }

    private static func image(at path: String, key: String, file: String, codec: JPEGCodec) throws(MeterProfileError) -> RGBImage {
        let bytes: [UInt8]
        do {
            bytes = try WholeFile.read(path)
        } catch {
            throw MeterProfileError(file: file, key: key, message: "\"\(key)\": can't read \(path): \(ErrnoText.describe(error.code))")
        }
        let decoded = bytes.withUnsafeBytes { raw in
            Result { () throws(CodecError) -> RGBImage in
                try WholeImageDecoder.decode(raw, jpeg: codec, maxPixels: 40_000_000)
            }
        }
        switch decoded {
        case .success(let image): return image
        case .failure(let error): throw MeterProfileError(file: file, key: key, message: "\"\(key)\": \(path): \(error)")
        }
    }
}
