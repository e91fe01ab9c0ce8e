import ArgumentParser
import Foundation
import IntakeConfig
import IntakeCore
import IntakeClassify
import IntakeMeter
import IntakePipeline
import IntakeStore

/// `intake process FILE…`: the pipeline on each file, in this process, without the daemon.
struct ProcessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Run the pipeline on files: sniff, decode, metadata, orient, derive.",
        discussion: """
            Exits 0 when every file succeeded, 2 when any was refused (not an image, corrupt, over a limit), \
            1 on an internal error such as an output that could not be written.
            """
    )

    @Argument(help: "Image files to process.")
    var files: [String]

    @Option(help: "Write the derivative and rotations under this folder, in the state-root layout.")
    var out: String?

    @Option(help: "The environment named in output paths.")
    var env = "prod"

    @Option(help: "Configuration file (default: etc/intake.toml if present, else built-in defaults).")
    var config: String?

    @Flag(help: "Print one JSON object per file (one line each).")
    var json = false

    @Option(help: "Read this meter in every file with its profile (etc/meters/<ID>.toml) and judge the reading.")
    var meter: String?

    /// The environment names a folder of the output tree: `--env ../x` wrote beside it.
    func validate() throws {
        guard IntakeConfiguration.isEnvironmentName(env) else {
            throw ValidationError("--env must be an environment name: lower-case letters, digits, '_' and '-'")
        }
    }

    func run() throws {
        let configuration: IntakeConfiguration
        do {
            configuration = try ConfigurationFile.load(explicitPath: config)
        } catch {
            FileHandle.standardError.write(Data("intake: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let processor: OneShotProcessor
        do {
            processor = try OneShotProcessor(
                options: ProcessingOptions(configuration), outputRoot: out, environment: env,
                externalClassifier: ExternalClassifier(configuration.classify),
                meter: meter.map { OneShotProcessor.MeterRequest.make(meter: $0, configuration: configuration) })
        } catch {
            FileHandle.standardError.write(Data("intake: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var worst = FileReport.Status.ok
        for file in files {
            let report = processor.process(path: file)
            if json {
                let line = try encoder.encode(report)
                FileHandle.standardOutput.write(line + Data("\n".utf8))
            } else {
                print(Self.summary(report))
            }
            if report.status == .error || (report.status == .refused && worst == .ok) { worst = report.status }
        }
        do {
            try processor.finish()
        } catch {
            FileHandle.standardError.write(Data("intake: \(error)\n".utf8))
            throw ExitCode(1)
        }
        switch worst {
        case .ok: return
        case .refused: throw ExitCode(2)
        case .error: throw ExitCode(1)
        }
    }

    /// One human line per file: a name with a line break or other control characters in it is
    /// shown escaped as the daemon keeps such names (`SafeName`), so it cannot split the line.
    static func summary(_ report: FileReport) -> String {
        let file = SafeName.from(report.file)
        let ms = String(format: "%.1f ms", report.stagesMilliseconds.values.reduce(0, +))
        switch report.status {
        case .ok:
            let size = "\(report.facts.width ?? 0)×\(report.facts.height ?? 0)"
            let warnings = report.facts.warnings.isEmpty ? "" : "  warning: " + report.facts.warnings.joined(separator: "; ")
            return "ok       \(file)  \(report.facts.type ?? "") \(size)  \(ms)\(warnings)"
        case .refused, .error:
            return "\(report.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(file)  "
                + "\(report.stage?.rawValue ?? ""): \(report.reason ?? "")"
        }
    }
}
