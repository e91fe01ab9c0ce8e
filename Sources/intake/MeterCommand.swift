import ArgumentParser
import Foundation
import IntakeCodecs
import IntakeConfig
import IntakeMeter
import IntakeReports
import IntakePipeline

/// `intake meter …`: the meter models on their own, one line per file.
struct MeterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meter", abstract: "Check a meter's photos against its profile, read single digit-wheel or dial crops, evaluate the reader.",
        subcommands: [MeterSetupCommand.self, MeterCheck.self, ReadDigit.self, ReadDial.self, MeterEvaluate.self])

    struct ReadDigit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "read-digit", abstract: "Read counter-wheel crops: the digit with tenths of a roll (8.7 is 70% from 8 to 9).")
        @Option(help: "The digit model's weights (default: digits.weights in the configured profiles folder).") var weights: String?
        @Option(help: "Configuration file.") var config: String?
        @Argument(help: "Crop images (JPEG or PNG).") var files: [String]

        func run() throws {
            let configuration = loadConfiguration(config)
            let path = weights ?? configuration.meters.profilesDir + "/digits.weights"
            let model: DigitModel
            do { model = try DigitModel(weightsAt: path) } catch { fail("\(error)") }
            let status = readEach(files) { image in
                let reading = model.read(image)
                return (reading.value, reading.confidence)
            }
            throw ExitCode(status)
        }
    }

    struct ReadDial: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "read-dial", abstract: "Read analog dial crops: the needle's position, 0.0 to 9.9 (the dial model, checked by the needle's geometry).")
        @Option(help: "The dial model's weights (default: dials.weights in the configured profiles folder).") var weights: String?
        @Option(help: "Configuration file.") var config: String?
        @Argument(help: "Crop images (JPEG or PNG).") var files: [String]

        func run() throws {
            let configuration = loadConfiguration(config)
            let path = weights ?? configuration.meters.profilesDir + "/dials.weights"
            let model: DialModel
            do { model = try DialModel(weightsAt: path) } catch { fail("\(error)") }
            let status = readEach(files) { image in
                let reading = model.read(image)
                return (reading.value, reading.confidence)
            }
            throw ExitCode(status)
        }
    }
}

func loadConfiguration(_ path: String?) -> IntakeConfiguration {
    do { return try ConfigurationFile.load(explicitPath: path) } catch { fail("\(error)") }
}

/// Decodes each file upright at full resolution and prints `value<TAB>confidence<TAB>path`;
/// a file that cannot be decoded or read prints its reason on standard error. Returns the exit
/// status: 0 when every file was read, 2 otherwise.
func readEach(_ files: [String], _ read: (RGBImage) -> (Double, Double)?) -> Int32 {
    guard let processor = try? ImageProcessor(options: ProcessingOptions()) else { fail("cannot start the decoder") }
    var status: Int32 = 0
    for file in files {
        switch decodedPhoto(file, with: processor) {
        case nil:
            status = 2
        case let image?:
            guard let (value, confidence) = read(image) else {
                FileHandle.standardError.write(Data("intake: \(file): nothing to read\n".utf8))
                status = 2
                continue
            }
            // One decimal, 9.95 and up shown as 0.0: the scale is circular.
            var shown = (value * 10).rounded() / 10
            if shown >= 10 { shown -= 10 }
            output("\(Cell.decimal(shown, 1))\t\(Cell.decimal(confidence, 2))\t\(file)\n")
        }
    }
    return status
}

/// `path` decoded upright at full resolution, or nil after saying on standard error why not.
func decodedPhoto(_ path: String, with processor: ImageProcessor) -> RGBImage? {
    let decoded: Result<RGBImage, IntakeError>
    do {
        decoded = processor.decodeUpright(try ImageFile.read(path: path, maxBytes: 50 << 20, followSymlinks: true))
    } catch {
        FileHandle.standardError.write(Data("intake: \(path): \(error.reason)\n".utf8))
        return nil
    }
    switch decoded {
    case .success(let image): return image
    case .failure(let error):
        FileHandle.standardError.write(Data("intake: \(path): \(error.stage.rawValue): \(error.reason)\n".utf8))
        return nil
    }
}
