import ArgumentParser
import Foundation
import IntakeCodecs
import IntakeConfig
import IntakeMeter
import IntakePipeline
import IntakeReports

/// `intake meter setup METER PHOTO`: a profile proposed from one photo of a meter intake has never
/// seen, with the photo saved beside it as the reference and an overlay picture to check by eye.
struct MeterSetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup", abstract: "Propose a meter's profile from one photo, with an overlay picture to check it by.")
    @Option(help: "Configuration file; its [meters] profiles_dir is where the profile goes unless --out says.") var config: String?
    @Option(help: "The profile to write (default: <profiles_dir>/<meter>.toml).") var out: String?
    @Flag(help: "Replace an existing profile.") var force = false
    @Argument(help: "The meter's name.") var meter: String
    @Argument(help: "A photo of it (JPEG or PNG), as its camera takes it.") var photo: String

    func run() throws {
        guard !meter.isEmpty, !meter.contains("/"), !meter.hasPrefix(".") else { fail("a meter's name has no '/' and does not start with '.'") }
        let configuration = loadConfiguration(config)
        let profilePath = out ?? configuration.meters.profilesDir + "/\(meter).toml"
        guard force || !FileManager.default.fileExists(atPath: profilePath) else {
            fail("\(profilePath) exists; --force replaces it")
        }
        guard let processor = try? ImageProcessor(options: ProcessingOptions()) else { fail("cannot start the decoder") }
        guard let image = decodedPhoto(photo, with: processor) else { throw ExitCode(1) }

        let proposal = MeterSetup.propose(image)
        let parent = (profilePath as NSString).deletingLastPathComponent
        let folder = parent.isEmpty ? "." : parent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let base = ((profilePath as NSString).lastPathComponent as NSString).deletingPathExtension
        let referenceName = base + ".reference.png", overlayPath = folder + "/\(base).setup.png"
        let referencePath = folder + "/" + referenceName
        do {
            try Data(PNGEncoder.encode(image)).write(to: URL(fileURLWithPath: referencePath))
            try Data(MeterOverlays.setup(photo: image, proposal: proposal).png()).write(to: URL(fileURLWithPath: overlayPath))
            try Data(MeterProfileText.render(meter: meter, reference: referenceName, proposal: proposal).utf8)
                .write(to: URL(fileURLWithPath: profilePath))
        } catch { fail("cannot write the profile: \(error)") }

        output("\(profilePath): \(proposal.wheels.count) wheels, \(proposal.dials.count) dials, \(proposal.decimals) decimals\n")
        if let window = proposal.counterWindow { output("counter window \(window) (magenta, c, on the overlay)\n") }
        output("\(proposal.landmarks.count) landmarks to find it by after the camera moves (green on the overlay: they should lie on the meter)\n")
        output("reference \(referencePath); overlay \(overlayPath): check every box on it\n")
        for doubt in proposal.doubts { output("unsure: \(doubt)\n") }
        if proposal.wheels.isEmpty && proposal.dials.isEmpty { throw ExitCode(2) }
    }
}
