import ArgumentParser
import Foundation
import IntakeCodecs
import IntakeConfig
import IntakeCore
import IntakeMeter
import IntakePipeline
import IntakeReports

/// `intake meter check METER PHOTO…`: how each photo aligns to the meter's profile and what is
/// read there, in a line of text and an overlay picture: the photo seen through the alignment,
/// in the reference frame, each box with its value and confidence.
struct MeterCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Align photos to a meter's profile and read them, with an overlay picture of each.")
    @Option(help: "Configuration file; its [meters] profiles_dir says where profiles live.") var config: String?
    @Option(help: "Folder the overlays are written to.") var out = "."
    @Argument(help: "The meter's name (its profile is <profiles_dir>/<meter>.toml).") var meter: String
    @Argument(help: "Photos (JPEG or PNG).") var photos: [String]

    func run() throws {
        let configuration = loadConfiguration(config)
        let station = MeterStation(profilesFolder: configuration.meters.profilesDir)
        let reader: MeterReader
        if let refusal = SafeName.refusal(ofComponent: meter) { fail("the meter's name \(refusal)") }
        switch station.reader(for: meter) {
        case nil: fail("no profile for meter \(meter) in \(configuration.meters.profilesDir)")
        case .failure(let error)?: fail("\(error)")
        case .success(let loaded)?: reader = loaded
        }
        guard let processor = try? ImageProcessor(options: ProcessingOptions()) else { fail("cannot start the decoder") }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var status: Int32 = 0
        var overlayNames: Set<String> = []
        for path in photos {
            guard let photo = decodedPhoto(path, with: processor) else {
                status = 2
                continue
            }
            let (aligned, reading, picture) = MeterOverlays.check(photo, with: reader)
            // Named after the photo; photos of one name from two folders (or x.jpg and x.png) get
            // -2, -3… rather than one overlay over the other.
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            var name = stem, copy = 1
            while !overlayNames.insert(name).inserted {
                copy += 1
                name = "\(stem)-\(copy)"
            }
            let overlayPath = out + "/" + name + ".check.png"
            let written = (try? picture.png()).map { FileManager.default.createFile(atPath: overlayPath, contents: Data($0)) } ?? false
            var line = "\(path): "
            if let value = reading.value {
                line += "\(Cell.decimal(value, reader.profile.profile.decimals)) \(reader.profile.profile.unit) (confidence \(Cell.decimal(reading.confidence, 2)))"
            } else {
                line += "unreadable: \(reading.unreadableReason ?? "")"
                status = 2
            }
            if case .success(let alignment) = aligned {
                line += "; \(alignment.followedLastPhoto ? "followed from the photo before" : "searched"): turned \(Cell.decimal(alignment.rotationDegrees, 1))° (profile made at \(Cell.decimal(-reader.profile.profile.initialRotationDegrees, 1))°), "
                    + "scale \(Cell.decimal(alignment.scale, 2)), \(alignment.inliers) of \(alignment.correspondences) correspondences, "
                    + "residual \(Cell.decimal(alignment.residualPixels, 2)) px, tilt spread \(Cell.decimal(alignment.perspectiveSpread, 2)), "
                    + "similarity \(Cell.decimal(alignment.similarity, 2)), marks \(alignment.marks.map { $0.used ? Cell.decimal($0.score, 2) : "not found" }.joined(separator: " "))"
            }
            line += written ? "; overlay \(overlayPath)" : "; overlay could not be written to \(overlayPath)"
            output(line + "\n")
        }
        throw ExitCode(status)
    }
}

/// The check overlay of a filed meter photo, for the HTML report: the original decoded upright,
/// read through the configured profile, drawn, and encoded as JPEG (a page of fifty PNGs would
/// weigh tens of megabytes).
struct MeterOverlayMaker {
    let station: MeterStation?
    let processor: ImageProcessor?
    let encoder: JPEGCodec?

    init(configuration path: String?) {
        let configuration = try? ConfigurationFile.load(explicitPath: path)
        station = configuration.map { MeterStation(profilesFolder: $0.meters.profilesDir) }
        processor = try? ImageProcessor(options: ProcessingOptions())
        encoder = try? JPEGCodec()
    }

    func jpeg(meter: String, original: String) -> [UInt8]? {
        guard let station, let processor, let encoder, case .success(let reader)? = station.reader(for: meter),
              let bytes = try? ImageFile.read(path: original, maxBytes: 50 << 20, followSymlinks: false),
              case .success(let photo) = processor.decodeUpright(bytes) else { return nil }
        return try? encoder.encode(MeterOverlays.check(photo, with: reader).overlay.image, quality: 85)
    }
}
