public import IntakeStore
public import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// The reports `intake report` prints, each a query over the documented schema.
public struct Reports {
    let database: Database
    /// Now, in Unix milliseconds (a parameter so that tests can fix it).
    let now: Int64
    /// Whose folders the storage table shows: '' for a root's own SQLite file, else the host's
    /// name, as each host sharing a store samples its own.
    let storageHost: String

    public init(database: Database, now: Int64 = Timestamp.nowMilliseconds(), storageHost: String = "") {
        self.database = database
        self.now = now
        self.storageHost = storageHost
    }

    func rows(_ sql: String, _ arguments: [SQLValue] = []) throws(ReportError) -> [[String: SQLValue]] {
        do { return try database.query(sql, arguments) } catch { throw ReportError("query failed: \(error)") }
    }

    func table(_ title: String?, _ columns: [(name: String, key: String, decimals: Int)], _ sql: String,
               _ arguments: [SQLValue] = []) throws(ReportError) -> ResultTable {
        let found = try rows(sql, arguments)
        return ResultTable(
            title: title, columns: columns.map(\.name),
            rows: found.map { row in columns.map { Cell(row[$0.key], decimals: $0.decimals) } })
    }

    /// How many rows meet `condition`, in SQL both engines take (PostgreSQL sums no booleans).
    private func countWhere(_ condition: String) -> String { "sum(CASE WHEN \(condition) THEN 1 ELSE 0 END)" }

    // MARK: summary

    /// Counts by environment and status, throughput, top failure reasons, meter verdicts.
    public func summary() throws(ReportError) -> [ResultTable] {
        let hourAgo = SQLValue.text(Timestamp.string(fromMilliseconds: now - 3_600_000))
        let dayAgo = SQLValue.text(Timestamp.string(fromMilliseconds: now - 86_400_000))
        return [
            try table(
                "Jobs by environment and status",
                [("environment", "environment", 0), ("queued", "queued", 0), ("processing", "processing", 0), ("done", "done", 0),
                 ("failed", "failed", 0), ("total", "total", 0)],
                """
                SELECT environment,
                       \(countWhere("status = 'queued'")) AS queued, \(countWhere("status = 'processing'")) AS processing,
                       \(countWhere("status = 'done'")) AS done, \(countWhere("status = 'failed'")) AS failed, count(*) AS total
                  FROM jobs GROUP BY environment ORDER BY environment
                """),
            try table(
                "Throughput",
                [("period", "period", 0), ("finished", "finished", 0), ("done", "done", 0), ("failed", "failed", 0),
                 ("per_hour", "per_hour", 1)],
                """
                SELECT 'last hour' AS period, count(*) AS finished, \(countWhere("status = 'done'")) AS done,
                       \(countWhere("status = 'failed'")) AS failed,
                       count(*) * 1.0 AS per_hour
                  FROM jobs WHERE finished_at >= ?1
                UNION ALL
                SELECT 'last day', count(*), \(countWhere("status = 'done'")), \(countWhere("status = 'failed'")), count(*) / 24.0
                  FROM jobs WHERE finished_at >= ?2
                """, [hourAgo, dayAgo]),
            try table(
                "Top failure reasons",
                [("stage", "stage", 0), ("reason", "reason", 0), ("jobs", "jobs", 0), ("latest", "latest", 0)],
                """
                SELECT stage, error AS reason, count(*) AS jobs, max(finished_at) AS latest
                  FROM jobs WHERE status = 'failed' GROUP BY stage, error ORDER BY jobs DESC, latest DESC LIMIT 10
                """),
            try table(
                "Meter verdicts",
                [("verdict", "verdict", 0), ("readings", "readings", 0), ("meters", "meters", 0)],
                "SELECT verdict, count(*) AS readings, count(DISTINCT meter_id) AS meters FROM meter_readings GROUP BY verdict ORDER BY readings DESC"),
            try table(
                "Hosts",
                [("host", "host", 0), ("done", "done", 0), ("failed", "failed", 0), ("unfinished", "unfinished", 0),
                 ("last_finished", "last_finished", 0)],
                """
                SELECT coalesce(host, '(unrecorded)') AS host, \(countWhere("status = 'done'")) AS done,
                       \(countWhere("status = 'failed'")) AS failed,
                       \(countWhere("status IN ('queued', 'processing')")) AS unfinished, max(finished_at) AS last_finished
                  FROM jobs GROUP BY coalesce(host, '(unrecorded)') ORDER BY host
                """),
            try storage(freeBytes: nil),
        ]
    }

    // MARK: storage

    /// The bytes under each folder of the state root and the database's, as intaked last sampled
    /// them, with the growth per day over the last week; with `freeBytes` (of the state root's
    /// filesystem), the days until it is full at that growth.
    public func storage(freeBytes: Int64?) throws(ReportError) -> ResultTable {
        let growth: [StorageGrowth]
        do { growth = try database.storageGrowth(host: storageHost, now: now) } catch { throw ReportError("query failed: \(error)") }
        var rows = growth.map { folder -> [Cell] in
            [.text(folder.folder), .integer(folder.bytes), folder.bytesPerDay.map { .real($0, decimals: 0) } ?? .null]
        }
        let total = growth.reduce(Int64(0)) { $0 + $1.bytes }
        let perDay = growth.compactMap(\.bytesPerDay).reduce(0, +)
        rows.append([.text("total"), .integer(total), growth.contains { $0.bytesPerDay != nil } ? .real(perDay, decimals: 0) : .null])
        var columns = ["folder", "bytes", "per_day"]
        if let freeBytes {
            columns.append("days_until_full")
            let days: Cell = perDay > 0 ? .real(Double(freeBytes) / perDay, decimals: 1) : .null
            rows = rows.map { $0 + [$0.first == .text("total") ? days : .null] }
            rows.append([.text("free"), .integer(freeBytes), .null, .null])
        }
        return ResultTable(title: "Storage (sampled by intaked; growth over the last week)", columns: columns, rows: rows)
    }

    // MARK: jobs

    /// Filters for `intake report jobs`.
    public struct JobFilter: Sendable {
        public var environment: String?
        public var status: String?
        /// ISO 8601 UTC lower bound on created_at.
        public var since: String?
        public var limit: Int

        /// Only the jobs this host's intaked claimed.
        public var host: String?

        public init(environment: String? = nil, status: String? = nil, since: String? = nil, limit: Int = 50, host: String? = nil) {
            self.host = host
            self.environment = environment
            self.status = status
            self.since = since
            self.limit = limit
        }
    }

    public func jobs(_ filter: JobFilter) throws(ReportError) -> ResultTable {
        try table(
            nil,
            [("job", "id", 0), ("env", "environment", 0), ("status", "status", 0), ("file", "source_path", 0), ("type", "type", 0),
             ("width", "width", 0), ("height", "height", 0), ("ms", "ms", 1), ("attempts", "attempts", 0), ("stage", "stage", 0),
             ("error", "error", 0), ("created", "created_at", 0), ("finished", "finished_at", 0), ("host", "host", 0)],
            """
            SELECT jobs.id, environment, status, source_path, images.type, images.width, images.height,
                   (SELECT sum(ms) FROM stage_timings t WHERE t.job_id = jobs.id AND t.attempt = jobs.attempts) AS ms,
                   attempts, stage, error, created_at, finished_at, host
              FROM jobs LEFT JOIN images ON images.job_id = jobs.id
             WHERE (?1 IS NULL OR environment = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR created_at >= ?3)
               AND (?5 IS NULL OR host = ?5)
             ORDER BY jobs.id DESC LIMIT ?4
            """,
            [SQLValue(filter.environment), SQLValue(filter.status), SQLValue(filter.since), .integer(Int64(filter.limit)),
             SQLValue(filter.host)])
    }

    public func failed(environment: String? = nil, limit: Int = 100) throws(ReportError) -> ResultTable {
        try table(
            nil,
            [("job", "id", 0), ("env", "environment", 0), ("file", "source_path", 0), ("stage", "stage", 0), ("kind", "error_kind", 0),
             ("reason", "error", 0), ("attempts", "attempts", 0), ("finished", "finished_at", 0), ("kept_at", "final_path", 0)],
            """
            SELECT id, environment, source_path, stage, error_kind, error, attempts, finished_at, final_path
              FROM jobs WHERE status = 'failed' AND (?1 IS NULL OR environment = ?1) ORDER BY id DESC LIMIT ?2
            """, [SQLValue(environment), .integer(Int64(limit))])
    }

    public func meters(meter: String? = nil, verdict: String? = nil, limit: Int = 100) throws(ReportError) -> ResultTable {
        try table(
            nil,
            [("job", "job_id", 0), ("meter", "meter_id", 0), ("captured", "captured_at", 0), ("read", "value", 3),
             ("claimed", "claimed_value", 3), ("manual", "manual_value", 3), ("delta", "delta", 3), ("unit", "unit", 0),
             ("confidence", "confidence", 2), ("verdict", "verdict", 0), ("reason", "reason", 0), ("plausibility", "plausibility", 0)],
            // Photos the classifier took for meters but that named none are listed too (verdict
            // `unnamed`), so that a new camera, or one whose folder is not a meter yet, is noticed.
            """
            SELECT * FROM (
                SELECT job_id, meter_id, captured_at, value, claimed_value, manual_value, delta, unit, confidence, verdict, reason, plausibility
                  FROM meter_readings
                 WHERE (?1 IS NULL OR meter_id = ?1) AND (?2 IS NULL OR verdict = ?2)
                UNION ALL
                SELECT j.id, NULL, j.created_at, NULL, NULL, NULL, NULL, NULL, max(l.confidence), 'unnamed',
                       'a meter photo with no meter named', NULL
                  FROM jobs j JOIN labels l ON l.job_id = j.id AND l.name = 'meter'
                 WHERE ?1 IS NULL AND (?2 IS NULL OR ?2 = 'unnamed') AND j.status = 'done'
                   AND NOT EXISTS (SELECT 1 FROM meter_readings m WHERE m.job_id = j.id)
                 GROUP BY j.id
            ) AS readings ORDER BY captured_at DESC, job_id DESC LIMIT ?3
            """, [SQLValue(meter), SQLValue(verdict), .integer(Int64(limit))])
    }

    public func labels() throws(ReportError) -> ResultTable {
        try table(
            nil,
            [("label", "name", 0), ("source", "source", 0), ("jobs", "jobs", 0), ("mean_confidence", "mean", 2),
             ("min_confidence", "low", 2)],
            """
            SELECT name, source, count(DISTINCT job_id) AS jobs, avg(confidence) AS mean, min(confidence) AS low
              FROM labels GROUP BY name, source ORDER BY jobs DESC, name
            """)
    }

    /// Percentiles of each stage's milliseconds over every attempt recorded.
    public func stages() throws(ReportError) -> ResultTable {
        let found = try rows("SELECT stage, ms FROM stage_timings ORDER BY stage, ms")
        var byStage: [(String, [Double])] = []
        for row in found {
            guard case .text(let stage) = row["stage"], let ms = row["ms"]?.realValue else { continue }
            if byStage.last?.0 == stage { byStage[byStage.count - 1].1.append(ms) } else { byStage.append((stage, [ms])) }
        }
        let pipelineOrder = ["claim", "sniff", "decode", "metadata", "orient", "classify", "meter", "derive", "commit", "recover"]
        byStage.sort { (pipelineOrder.firstIndex(of: $0.0) ?? 99) < (pipelineOrder.firstIndex(of: $1.0) ?? 99) }
        return ResultTable(
            columns: ["stage", "count", "p50_ms", "p95_ms", "p99_ms", "mean_ms"],
            rows: byStage.map { stage, values in
                [.text(stage), .integer(Int64(values.count)), .real(Self.percentile(values, 50), decimals: 2),
                 .real(Self.percentile(values, 95), decimals: 2), .real(Self.percentile(values, 99), decimals: 2),
                 .real(values.reduce(0, +) / Double(values.count), decimals: 2)]
            })
    }

    /// Nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }
}

/// Turns `--since` into the ISO text the database compares: "90m", "24h", "7d" back from now,
/// or a date ("2026-11-20") or time ("2026-11-20T08:00") in UTC.
public enum SinceParser {
    public static func parse(_ text: String, now: Int64) -> String? {
        if let unit = text.last, let amount = Int64(text.dropLast()), amount >= 0 {
            let scale: Int64? = switch unit {
                case "m": 60_000
                case "h": 3_600_000
                case "d": 86_400_000
                default: nil
                }
            if let scale {
                // Further back than 1970 (or than Int64 holds) is everything: from the start.
                let (back, overflow) = amount.multipliedReportingOverflow(by: scale)
                return Timestamp.string(fromMilliseconds: overflow || back > now ? 0 : now - back)
            }
        }
        let padded: String
        switch text.count {
        case 10: padded = text + "T00:00:00.000Z"
        case 16: padded = text + ":00.000Z"
        case 19: padded = text + ".000Z"
        default: padded = text.hasSuffix("Z") ? text : text + "Z"
        }
        return Timestamp.milliseconds(from: padded).map { Timestamp.string(fromMilliseconds: $0) }
    }
}
