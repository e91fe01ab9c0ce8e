import IntakeCore
import Testing

/// Job ids: unique within a process however fast they are made, in creation order, and readable back.
@Suite struct JobIDTests {
    @Test func idsMadeInABurstAreAllDifferentAndInOrder() {
        // 20,000 in a few milliseconds: with 22 random bits alone, about 40 pairs would be alike.
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
        let id = JobID.make(milliseconds: 1_700_000_000_123, random: 0x3F_FFFF)
        #expect(JobID.milliseconds(of: id) == 1_700_000_000_123)
        #expect(JobID(id.rawValue) == id)
        #expect(JobID("not-an-id") == nil)
        let now = JobID.nowMilliseconds(), made = JobID.milliseconds(of: JobID.make()) ?? 0
        #expect(made >= now && made < now + 1_000)
    }
}
