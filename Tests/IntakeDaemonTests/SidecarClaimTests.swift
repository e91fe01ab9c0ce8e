@testable import IntakeDaemon
import IntakePipeline
import IntakeStore
import IntakeTestSupport
import Testing
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// What a sidecar claims, and which claim wins when the folder, the sidecar and the file name
/// all say something.
@Suite struct SidecarClaimTests {
    let folder = try! TemporaryFolder()

    func claim(_ text: String) -> Result<SidecarClaim, SidecarProblem>? {
        SidecarClaim.read(folder.write("x.jpg.json", Array(text.utf8)))
    }

    @Test func readsReadingMeterAndTimeAndIgnoresOtherKeys() throws {
        let read = try #require(try claim(#"{"reading": 530.488, "meter": "demo-meter", "time": "2026-11-21T09:30:00Z", "app": "x"}"#)?.get())
        #expect(read == SidecarClaim(reading: 530.488, meter: "demo-meter", time: ISOTime.milliseconds("2026-11-21T09:30:00Z")))
        #expect(try claim(#"{"reading": "12.25"}"#)?.get() == SidecarClaim(reading: 12.25))
        #expect(try claim("{}")?.get() == SidecarClaim())
    }

    @Test(arguments: [
        ("reading: 4", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        (#"{"reading": "about 4"}"#, #"reading "about 4" is not a number"#),
        (#"{"reading": true}"#, "not a JSON object"),
        (#"{"time": "yesterday"}"#, #"time "yesterday" is not an ISO 8601 time"#),
        (#"{"meter": "\u001b]0;x\u0007"}"#, "meter name contains control characters"),
        (#"{"meter": "a/../etc"}"#, "meter name contains '/'"),
        (#"{"time": "2026-02-31T08:00:00Z"}"#, "is not an ISO 8601 time"),
    ])
    func aSidecarThatCannotBeUsedSaysWhy(text: String, fragment: String) {
        guard case .failure(let problem)? = claim(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(problem.reason.contains(fragment), "\(problem.reason)")
    }

    @Test func anOversizedSidecarIsNotRead() {
        guard case .failure(let problem)? = claim("{\"reading\": 1, \"pad\": \"" + String(repeating: "x", count: 70_000) + "\"}") else {
            Issue.record("accepted")
            return
        }
        #expect(problem.reason.contains("over 64 KB"))
    }

    @Test func aLinkOrAFIFONamedLikeASidecarIsRefusedWithoutFollowingOrWaiting() {
        let target = folder.write("elsewhere.json", Array(#"{"reading": 1}"#.utf8))
        let link = folder.path + "/link.jpg.json"
        #expect(symlink(target, link) == 0)
        guard case .failure(let linkProblem)? = SidecarClaim.read(link) else {
            Issue.record("a link was followed")
            return
        }
        #expect(linkProblem.reason.contains("symbolic link"))
        // Opening a FIFO for reading would wait for a writer forever without O_NONBLOCK.
        let fifo = folder.path + "/fifo.jpg.json"
        #expect(mkfifo(fifo, 0o644) == 0)
        guard case .failure(let fifoProblem)? = SidecarClaim.read(fifo) else {
            Issue.record("a FIFO was read")
            return
        }
        #expect(fifoProblem.reason.contains("not a regular file"))
    }

    @Test func noSidecarIsNoClaim() {
        #expect(SidecarClaim.read(folder.path + "/absent.json") == nil)
    }

    func job(_ name: String, meter: String? = nil) -> QueuedJob {
        let id = JobID.make()
        return QueuedJob(id: id, environment: "prod", name: name, sourcePath: "prod/\(name)", meter: meter, spoolPath: "/nowhere",
                         createdAt: JobID.milliseconds(of: id)!)
    }

    @Test func theFolderNamesTheMeterThenTheSidecarThenTheFileName() {
        let naming = MeterNaming(pattern: #"^(?<meter>M\d+)_(?<reading>[\d.]+)\.jpg$"#)
        let sidecar = Result<SidecarClaim, SidecarProblem>.success(SidecarClaim(reading: 9.5, meter: "FROM-SIDECAR"))
        #expect(naming.name(job("M1_4.5.jpg", meter: "FOLDER"), sidecar: sidecar)?.meter == "FOLDER")
        #expect(naming.name(job("M1_4.5.jpg"), sidecar: sidecar) == MeterNaming.Named(meter: "FROM-SIDECAR", claimed: 9.5))
        #expect(naming.name(job("M1_4.5.jpg")) == MeterNaming.Named(meter: "M1", claimed: 4.5))
        #expect(naming.name(job("other.jpg")) == nil)
    }

    /// A subfolder names a meter only when the meter is known (a profile or manual readings) or
    /// its whole name matches `meters.folder_pattern`: holiday photos get no meter verdict.
    @Test func aSubfolderNamesAMeterOnlyWhenKnownOrMatchingTheFolderPattern() {
        let plain = MeterNaming(pattern: nil)
        let unknown: (String) -> Bool = { _ in false }
        #expect(plain.name(job("beach.jpg", meter: "holiday"), isKnown: unknown) == nil)
        #expect(plain.name(job("x.jpg", meter: "demo-meter"), isKnown: { $0 == "demo-meter" })?.meter == "demo-meter")
        let patterned = MeterNaming(pattern: #"^(?<meter>M\d+)_(?<reading>[\d.]+)\.jpg$"#, folderPattern: #"MTR-\d+"#)
        #expect(patterned.name(job("x.jpg", meter: "MTR-0042"), isKnown: unknown)?.meter == "MTR-0042")
        // The whole name must match, not a part of it.
        #expect(patterned.name(job("x.jpg", meter: "old-MTR-0042-photos"), isKnown: unknown) == nil)
        // A folder that is not a meter leaves the file name's meter to speak.
        #expect(patterned.name(job("M7_1.5.jpg", meter: "holiday"), isKnown: unknown) == MeterNaming.Named(meter: "M7", claimed: 1.5))
    }

    @Test func aBrokenSidecarLeavesTheFileNamesClaimAndSaysSo() {
        let naming = MeterNaming(pattern: #"^(?<meter>M\d+)_(?<reading>[\d.]+)\.jpg$"#)
        let named = naming.name(job("M1_4.5.jpg"), sidecar: .failure(SidecarProblem("the sidecar is not a JSON object")))
        #expect(named == MeterNaming.Named(meter: "M1", claimed: 4.5, sidecarProblem: "the sidecar is not a JSON object"))
    }
}
