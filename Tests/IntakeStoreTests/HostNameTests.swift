import Testing

@testable import IntakeStore

/// The host names of a shared store: one holder each, under a lease (see `HostNameLease`).
@Suite("Host names")
struct HostNameTests {
    @Test(arguments: TestEngine.available) func aNameHasOneHolderUntilItsLeaseRunsOutOrItIsGivenUp(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }
        let now = try database.clockMilliseconds()
        #expect(try database.takeHostName("twin", holder: "boot-a /srv/intake", now: now, leaseUntil: now + 30_000) == nil)
        // The same holder again (a restart): taken back at once.
        #expect(try database.takeHostName("twin", holder: "boot-a /srv/intake", now: now + 1, leaseUntil: now + 30_001) == nil)
        // Another holder while the lease runs: refused, told whose it is and until when.
        let refused = try #require(try database.takeHostName("twin", holder: "boot-b /srv/intake", now: now + 2, leaseUntil: now + 30_002))
        #expect(refused.holder == "boot-a /srv/intake" && refused.leaseUntil == now + 30_001)
        #expect(try database.takeHostName("other", holder: "boot-b /srv/intake", now: now + 2, leaseUntil: now + 30_002) == nil)
        // Renewed by its holder only.
        #expect(try database.renewHostName("twin", holder: "boot-a /srv/intake", leaseUntil: now + 60_000))
        #expect(try !database.renewHostName("twin", holder: "boot-b /srv/intake", leaseUntil: now + 60_000))
        // Past the lease, another may take it; the first then finds it gone when it renews.
        #expect(try database.takeHostName("twin", holder: "boot-b /srv/intake", now: now + 60_001, leaseUntil: now + 90_000) == nil)
        #expect(try !database.renewHostName("twin", holder: "boot-a /srv/intake", leaseUntil: now + 90_000))
        // Given up by its holder, free at once; given up by another, kept.
        try database.releaseHostName("twin", holder: "boot-a /srv/intake")
        #expect(try database.takeHostName("twin", holder: "boot-c /srv/intake", now: now + 60_002, leaseUntil: now + 90_000) != nil)
        try database.releaseHostName("twin", holder: "boot-b /srv/intake")
        #expect(try database.takeHostName("twin", holder: "boot-c /srv/intake", now: now + 60_002, leaseUntil: now + 90_000) == nil)
    }
}
