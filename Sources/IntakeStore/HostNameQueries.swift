import IntakeCore

/// The host names in use on a shared store: each held by one running intaked under a lease (see
/// schema version 8). Times are the store's clock (`clockMilliseconds`), as for claims.
extension Database {
    /// Takes `host` for `holder` until `leaseUntil`, when the name is free, its lease has passed
    /// by `now`, or `holder` has it already (a restart of the same daemon). Returns nil when taken;
    /// else the lease of the one that holds it.
    public func takeHostName(_ host: String, holder: String, now: Int64, leaseUntil: Int64) throws(StoreError) -> (holder: String, leaseUntil: Int64)? {
        try execute(
            """
            INSERT INTO host_names (host, holder, lease_until) VALUES (?1, ?2, ?3)
            ON CONFLICT (host) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
             WHERE host_names.holder = excluded.holder OR host_names.lease_until < ?4
            """,
            [.text(host), .text(holder), SQLValue(timestamp: leaseUntil), SQLValue(timestamp: now)])
        guard changes == 0 else { return nil }
        let row = try query("SELECT holder, lease_until FROM host_names WHERE host = ?", [.text(host)]).first
        return (row?["holder"]?.textValue ?? "?", row?["lease_until"]?.textValue.flatMap(Timestamp.milliseconds(from:)) ?? now)
    }

    /// Renews `holder`'s lease on `host`; false when the name is no longer its own (its lease ran
    /// out while it could not reach the store, and another intaked took the name).
    public func renewHostName(_ host: String, holder: String, leaseUntil: Int64) throws(StoreError) -> Bool {
        try execute("UPDATE host_names SET lease_until = ? WHERE host = ? AND holder = ?",
                    [SQLValue(timestamp: leaseUntil), .text(host), .text(holder)])
        return changes == 1
    }

    /// Gives the name up at a clean stop, so that another may take it at once.
    public func releaseHostName(_ host: String, holder: String) throws(StoreError) {
        try execute("DELETE FROM host_names WHERE host = ? AND holder = ?", [.text(host), .text(holder)])
    }
}
