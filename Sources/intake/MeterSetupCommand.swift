import ArgumentParser
import Foundation
import IntakeCodecs
import IntakeConfig
import IntakeCore
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
        if let refusal = SafeName.refusal(ofComponent: meter) { fail("the meter's name \(refusal)") }
        let configuration = loadConfiguration(config)
        let profilesDir = configuration.meters.profilesDir
        let profilePath = out ?? profilesDir + "/\(meter).toml"
        guard profilePath.hasSuffix(".toml"), !profilePath.hasSuffix("/.toml") else { fail("--out names the profile to write: a file ending in .toml") }
        var status = stat()
        if stat(profilePath, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFREG else { fail("\(profilePath) exists and is not a file") }
            guard force else { fail("\(profilePath) exists; --force replaces it") }
        }
        guard let processor = try? ImageProcessor(options: ProcessingOptions()) else { fail("cannot start the decoder") }
        guard let image = decodedPhoto(photo, with: processor) else { throw ExitCode(1) }

        let proposal = MeterSetup.propose(image)
        let folder = DurableFile.parent(of: profilePath)
        let base = String(PathText.lastComponent(profilePath).dropLast(".toml".count))
        let referenceName = base + ".reference.png", overlayPath = folder + "/\(base).setup.png"
        let referencePath = folder + "/" + referenceName
        do {
            try DurableFile.makeFolders(folder)
            try write(MeterOverlays.setup(photo: image, proposal: proposal).png(), to: overlayPath)
        } catch { fail("cannot write the overlay \(overlayPath): \(error)") }
        guard !proposal.wheels.isEmpty || !proposal.dials.isEmpty else {
            // A profile with nothing to read would make a folder of this name a meter whose every
            // photo is "profile unusable": write none, and show what was (not) found.
            output("no counter wheels or dials found in \(photo): no profile written; the overlay \(overlayPath) shows what was looked at\n")
            throw ExitCode(2)
        }
        let text = MeterProfileText.render(meter: meter, reference: referenceName, proposal: proposal)
        do {
            try write(PNGEncoder.encode(image), to: referencePath)
            try write(Array(text.utf8), to: profilePath)
        } catch { fail("cannot write the profile \(profilePath): \(error)") }

        output("\(profilePath): \(proposal.wheels.count) wheels, \(proposal.dials.count) dials, \(proposal.decimals) decimals\n")
        if let window = proposal.counterWindow { output("counter window \(window) (magenta, c, on the overlay)\n") }
        output("\(proposal.landmarks.count) landmarks to find it by after the camera moves (green on the overlay: they should lie on the meter)\n")
        output("reference \(referencePath); overlay \(overlayPath): check every box on it\n")
        if profilePath != profilesDir + "/\(meter).toml" {
            output("note: the daemon and `intake meter check` look for meter \(meter)'s profile at \(profilesDir)/\(meter).toml\n")
        }
        var unsure = proposal.doubts
        switch selfCheck(profilePath, photo: image, models: profilesDir) {
        case .read(let reading): output("reads its own photo as \(reading)\n")
        case .unread(let problem): unsure.append("the profile does not read its own photo: \(problem)")
        case .noModels(let problem): output("note: not tried on its own photo, the models cannot be loaded: \(problem)\n")
        }
        for doubt in unsure { output("unsure: \(doubt)\n") }
        if unsure.count > proposal.doubts.count { throw ExitCode(2) }
    }

    /// Writes `bytes` to `path` whole or not at all: a daemon reading the profile meanwhile sees
    /// the old file or the new one.
    private func write(_ bytes: [UInt8], to path: String) throws {
        try WholeFile.write(bytes, to: path, through: WholeFile.uniqueTemporary(in: DurableFile.parent(of: path)), sync: true)
    }

    enum SelfCheck {
        /// What the profile read, as text.
        case read(String)
        /// Why the profile did not load or read: the proposal's fault.
        case unread(String)
        /// The models are not where the configuration says: nothing to say about the proposal.
        case noModels(String)
    }

    /// The profile just written, loaded as the daemon loads it and read on the photo it was made
    /// from: what a person would try first.
    private func selfCheck(_ profilePath: String, photo: RGBImage, models folder: String) -> SelfCheck {
        let digits: DigitModel, dials: DialModel
        do {
            digits = try DigitModel(weightsAt: folder + "/digits.weights")
            dials = try DialModel(weightsAt: folder + "/dials.weights")
        } catch { return .noModels("\(error)") }
        do {
            let profile = try LoadedProfile.load(path: profilePath)
            let reading = MeterReader(profile: profile, digits: digits, dials: dials).read(photo)
            guard let value = reading.value else { return .unread(reading.unreadableReason ?? "unreadable") }
            return .read("\(Cell.decimal(value, profile.profile.decimals)) \(profile.profile.unit) (confidence \(Cell.decimal(reading.confidence, 2)))")
        } catch {
            return .unread("\(error)")
        }
    }
}
