import Hummingbird
import IntakeCore
import IntakeStore

/// `GET /v1/jobs?env=&status=&since=&limit=&before=`, checked: an unknown value is a 400 that
/// names it, never an empty page that looks like an answer.
struct JobListQuery: Sendable {
    var environment: String?
    var status: JobStatus?
    /// Unix milliseconds.
    var since: Int64?
    var before: String?
    var limit = 50
    /// The query as given, kept to build the next page's address.
    private var given: [(String, String)] = []

    static let largestLimit = 500

    init(_ parameters: Parameters, environments: [String]) throws(APIError) {
        if let env = parameters.get("env") {
            guard environments.contains(env) else {
                throw APIError.badRequest("bad_env", "env is one of \(environments.joined(separator: ", ")); not \"\(env)\"")
            }
            environment = env
            given.append(("env", env))
        }
        if let text = parameters.get("status") {
            guard let status = Self.statuses[text.uppercased()] else {
                throw APIError.badRequest("bad_status", "status is one of PENDING, PROCESSING, COMPLETED, FAILED; not \"\(text)\"")
            }
            self.status = status
            given.append(("status", text))
        }
        if let text = parameters.get("since") {
            guard let milliseconds = ISOTime.milliseconds(text) else {
                throw APIError.badRequest("bad_since", "since is an ISO 8601 time such as 2026-12-01T00:00:00Z; not \"\(text)\"")
            }
            since = milliseconds
            given.append(("since", text))
        }
        if let text = parameters.get("limit") {
            guard let limit = Int(text), (1...Self.largestLimit).contains(limit) else {
                throw APIError.badRequest("bad_limit", "limit is a whole number from 1 to \(Self.largestLimit); not \"\(text)\"")
            }
            self.limit = limit
            given.append(("limit", text))
        }
        if let text = parameters.get("before") {
            guard let id = JobID(text) else { throw APIError.badRequest("bad_before", "before is a job id; not \"\(text)\"") }
            before = id.rawValue
        }
    }

    /// The API's names for the database's statuses: PENDING covers a job waiting in the queue.
    static let statuses = Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { (JobView.apiStatus($0), $0) })

    /// The address of the page after the job `last`.
    func next(after last: String) -> String {
        let items = given + [("before", last)]
        return "/v1/jobs?" + items.map { "\($0.0)=\(URLQuery.escaped($0.1))" }.joined(separator: "&")
    }

}
