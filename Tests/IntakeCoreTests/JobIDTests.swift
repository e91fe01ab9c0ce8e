import IntakeCore
import Testing

/// Job ids: unique within a process however fast they are made, in creation order, and readable back.
@Suite struct JobIDTests {
    @Test func idsMadeInABurstAreAllDifferentAndInOrder() {
        // 20,000 in a few milliseconds: drawn at random each, with 22 bits about 40 pairs would be alike.
        let ids = (0..<20_000).map { _ in JobID.make() }
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
    }

    @Test func idsFromManyThreadsAtOnceAreAllDifferent() async {
        let ids = await withTaskGroup(of: [JobID].self) { group in
            for _ in 0..<8 { group.addTask { (0..<2_000).map { _ in JobID.make() } } }
            var all: [JobID] = []
            for await part in group { all += part }
            return all
        }
        #expect(Set(ids).count == 16_000)
    }

    @Test func anIdCarriesItsMillisecondsAndParsesBack() {
        let id = JobID.make(milliseconds: 1_700_000_000_123, random: .max)
        #expect(id.rawValue.utf8.count == 16)
        #expect(JobID.milliseconds(of: id) == 1_700_000_000_123)
        #expect(JobID(id.rawValue) == id)
        #expect(JobID("not-an-id") == nil)
        let now = JobID.nowMilliseconds(), made = JobID.milliseconds(of: JobID.make()) ?? 0
        #expect(made >= now && made < now + 1_000)
    }

    /// Ids made before the random part widened to 32 bits: 14 characters, 22 random bits.
    @Test func aLegacyIdStillParsesSortsAmongNewOnesAndCarriesItsMilliseconds() throws {
        // 1_700_000_000_123 ms and 22 random bits, as the old make() wrote it.
        let legacy = try #require(JobID("065wzsb8ffzzzz"))
        #expect(JobID.milliseconds(of: legacy) == 1_700_000_000_123)
        let sameMillisecond = JobID.make(milliseconds: 1_700_000_000_123, random: 0)
        let before = JobID.make(milliseconds: 1_700_000_000_122, random: .max)
        let after = JobID.make(milliseconds: 1_700_000_000_124, random: 0)
        #expect(before < legacy && legacy < after)
        #expect(JobID.milliseconds(of: sameMillisecond) == JobID.milliseconds(of: legacy))
        #expect(JobID("065wzsb8ffzzz") == nil && JobID("065wzsb8ffzzzzz") == nil, "13 and 15 characters are no id")
    }

    @Test func aSpoolNameIsReadForItsIdWhicheverTheLength() throws {
        let new = JobID.make()
        let parsed = try #require(JobID.leading(Array("\(new)-photo.jpg".utf8)))
        #expect(parsed.id == new && parsed.rest == 17)
        let legacy = try #require(JobID.leading(Array("065wzsb8ffzzzz-ab-photo.jpg".utf8)))
        #expect(legacy.id.rawValue == "065wzsb8ffzzzz" && legacy.rest == 15)
        #expect(JobID.leading(Array("065wzsb8ffzzzz-".utf8)) == nil, "an id with no name after it")
        #expect(JobID.leading(Array("holiday-photo.jpg".utf8)) == nil)
    }
}
