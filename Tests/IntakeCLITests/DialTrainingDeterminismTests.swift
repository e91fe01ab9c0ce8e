import IntakeCore
import IntakeTestSupport
import Testing

/// `make train-dials` is reproducible: the same seed (and the same number of threads, which sets
/// the order gradients are summed in) writes the same weights, byte for byte; another seed does
/// not. Run small (one epoch of 24 dials, three steps), as a real `intake-train` process.
@Suite struct DialTrainingDeterminismTests {
    let trainer = ChildProcess.built("intake-train")

    func train(seed: Int, into folder: TemporaryFolder, as name: String) throws -> [UInt8] {
        let out = folder.path + "/" + name
        let result = try ChildProcess.run(trainer, [
            "dials", "--epochs", "1", "--dials-per-epoch", "24", "--batch", "8", "--threads", "2", "--seed", String(seed),
            "--corpus", folder.path + "/no-corpus", "--out", out,
        ])
        #expect(result.status == 0, "\(result.standardError)")
        return try WholeFile.read(out)
    }

    @Test func theSameSeedWritesTheSameWeightsAndAnotherSeedOthers() throws {
        let folder = try TemporaryFolder()
        let first = try train(seed: 5, into: folder, as: "a.weights")
        let again = try train(seed: 5, into: folder, as: "b.weights")
        let other = try train(seed: 6, into: folder, as: "c.weights")
        #expect(first.count > 100_000, "\(first.count) bytes")
        #expect(first == again, "the same seed gave different weights")
        #expect(first != other, "another seed gave the same weights")
    }
}
