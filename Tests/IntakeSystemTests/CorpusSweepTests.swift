import IntakeCodecs
import IntakePipeline
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every file of the shared corpus through the image stages, judged against the reference
/// decoders' verdicts in MANIFEST.csv.
@Suite(.serialized) struct CorpusSweepTests {
    struct Verdict: Sendable {
        let path: String
        let accepted: Bool
        let stage: Stage?
        let reason: String?
        let warnings: [String]
        /// The size the header states, as stored (before any orientation), when accepted.
        var size: (width: Int, height: Int)? = nil
    }

    static func sweep(_ paths: [String], corpus: String) async -> [Verdict] {
        // Two workers, each with its own processor, as the daemon runs them.
        let half = (paths.count + 1) / 2
        return await withTaskGroup(of: [Verdict].self) { group in
            for part in [Array(paths.prefix(half)), Array(paths.dropFirst(half))] {
                group.addTask {
                    let processor = try! ImageProcessor(options: ProcessingOptions())
                    return part.map { path in
                        let outcome: ProcessingOutcome
                        do {
                            let bytes = try ImageFile.read(path: corpus + "/" + path, maxBytes: 50 << 20, followSymlinks: false)
                            outcome = processor.process(bytes)
                        } catch let error as IntakeError {
                            return Verdict(path: path, accepted: false, stage: error.stage, reason: error.reason, warnings: [])
                        } catch {
                            return Verdict(path: path, accepted: false, stage: nil, reason: "\(error)", warnings: [])
                        }
                        switch outcome.result {
                        case .success:
                            return Verdict(path: path, accepted: true, stage: nil, reason: nil, warnings: outcome.facts.warnings,
                                           size: (outcome.facts.width ?? 0, outcome.facts.height ?? 0))
                        case .failure(let error):
                            return Verdict(path: path, accepted: false, stage: error.stage, reason: error.reason, warnings: [])
                        }
                    }
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
    }

    @Test(.enabled(if: Fixtures.corpus != nil, "needs ../shared/corpus beside the checkout (or INTAKE_CORPUS)"))
    func everyCorpusFileIsJudgedLikeTheReferenceDecoders() async throws {
        let corpus = try #require(Fixtures.corpus)
        let manifest = try #require(Manifest(corpus: corpus), "the corpus has no readable MANIFEST.csv")
        let paths = manifest.rows.map(\.path).filter { $0.hasPrefix("images/") || $0.hasPrefix("fuzz-seeds/") }
        #expect(paths.count > 4000)
        let verdicts = await Self.sweep(paths, corpus: corpus)
        #expect(verdicts.count == paths.count)

        var tally: [String: Int] = [:]
        for verdict in verdicts {
            let row = try #require(manifest.byPath[verdict.path])
            let type = row["type"], reference = row["decode"]
            let ours = verdict.accepted ? (verdict.warnings.isEmpty ? "ok" : "ok+warning") : "refused"
            tally["\(type.isEmpty ? "?" : type) \(reference.isEmpty ? "-" : reference) → \(ours)", default: 0] += 1
            if !verdict.accepted {
                #expect(verdict.reason?.isEmpty == false, "\(verdict.path) refused without a reason")
            }
            // The HEIF brands (heif, heif-avif, …) are one family here.
            switch (type.hasPrefix("heif") ? "heif" : type, reference) {
            case ("jpeg", "ok"), ("png", "ok"):
                #expect(verdict.accepted, "\(verdict.path): reference decoders say ok, intake refused at \(verdict.stage?.rawValue ?? "?"): \(verdict.reason ?? "")")
            case (_, "error"), (_, "skipped"):
                #expect(!verdict.accepted, "\(verdict.path): reference decoders refuse it, intake accepted it")
            case ("jpeg", "warning"), ("png", "warning"), ("jpeg-bad-marker", "warning"):
                break  // decoded with a warning or refused: both are honest
            case ("bmp", _), ("gif", _), ("webp", _), ("tiff", _), ("bigtiff", _), ("avif", _), ("heif", _):
                // No reference verdict: decoded, or refused by sniff or decode with its reason
                // (checked above), never a crash or a hang. Where the manifest states a size
                // (Pillow's, which turns a TIFF by its orientation), the decode has it.
                if !verdict.accepted { #expect(verdict.stage == .sniff || verdict.stage == .decode, "\(verdict.path): refused at \(verdict.stage?.rawValue ?? "?")") }
                if let size = verdict.size, let width = Int(row["w"]), let height = Int(row["h"]) {
                    #expect((size.width, size.height) == (width, height) || (size.width, size.height) == (height, width),
                            "\(verdict.path): decoded \(size.width)×\(size.height), the manifest says \(width)×\(height)")
                }
            default:
                #expect(!verdict.accepted, "\(verdict.path) is \(type), not one of \(ImageType.decodableNames), yet was accepted")
                #expect(verdict.stage == .sniff, "\(verdict.path) (\(type)) should be refused at sniff")
            }
        }
        print("Corpus sweep: \(verdicts.count) files")
        for (key, count) in tally.sorted(by: { $0.key < $1.key }) { print("  \(key): \(count)") }
    }
}
