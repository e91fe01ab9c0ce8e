/// The files left in the inbox that the watcher has named in its log (ignored by name, too deep,
/// in no environment's folder): each is said once while it stays, and again only if it goes and
/// comes back. A full scan sees every file there is, so what it did not see has gone and is
/// forgotten: the set holds only what is still there, and never needs clearing wholesale (which
/// named every such file again, at every scan of an inbox holding more than the set kept).
struct SaidOnce {
    enum Answer: Equatable {
        /// Not said before: say it.
        case say
        case alreadySaid
        /// `limit` files are remembered already: this one is not named; `first` for the first
        /// such, which says so, once until the inbox holds fewer again.
        case overLimit(first: Bool)
    }

    /// The most files remembered, and so named: an inbox holding more left files than this is
    /// told in one line instead of as many.
    let limit: Int
    private var said: Set<BytePath> = []
    private var seenThisScan: Set<BytePath>?
    private var saidOverLimit = false

    init(limit: Int) { self.limit = limit }

    mutating func first(_ path: BytePath) -> Answer {
        seenThisScan?.insert(path)
        if said.contains(path) { return .alreadySaid }
        guard said.count < limit else {
            defer { saidOverLimit = true }
            return .overLimit(first: !saidOverLimit)
        }
        said.insert(path)
        return .say
    }

    mutating func scanStarted() { seenThisScan = [] }

    /// After a scan of the whole inbox: what it did not see is gone.
    mutating func scanEnded() {
        guard let seen = seenThisScan else { return }
        said.formIntersection(seen)
        seenThisScan = nil
        if said.count < limit { saidOverLimit = false }
    }
}
