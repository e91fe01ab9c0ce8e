import Testing

@testable import IntakeStore

@Suite("Cloud-shaped result views")
struct ResultViewTests {
    @Test(arguments: TestEngine.available) func viewsListDoneJobsOfTheirEnvironmentWithLabelNames(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        try database.insertJob(newJob(jobID(1), environment: "prod", name: "labelled.jpg"))
        try database.insertJob(newJob(jobID(2), environment: "prod", name: "plain.jpg"))
        try database.insertJob(newJob(jobID(3), environment: "prod", name: "broken.jpg"))
        try database.insertJob(newJob(jobID(4), environment: "prod", name: "waiting.jpg"))
        try database.insertJob(newJob(jobID(5), environment: "beta", name: "beta.jpg"))
        try database.complete(doneCompletion(jobID(1), labels: ["meter", "dial"], finishedAt: 1_795_271_121_123))
        try database.complete(doneCompletion(jobID(2), finishedAt: 1_795_271_121_124))
        var failed = doneCompletion(jobID(3), labels: ["meter"])
        failed.status = .failed
        try database.complete(failed)
        try database.complete(doneCompletion(jobID(5), labels: ["cat"], finishedAt: 1_795_271_121_125))

        let prod = try database.query("SELECT * FROM prod_results ORDER BY filename")
        #expect(prod == [
            ["filename": .text("labelled.jpg"), "labels": .text(#"["meter","dial"]"#), "label_count": .integer(2),
             "timestamp": .text("2026-11-21T14:25:21.123Z"), "environment": .text("prod")],
            ["filename": .text("plain.jpg"), "labels": .text("[]"), "label_count": .integer(0),
             "timestamp": .text("2026-11-21T14:25:21.124Z"), "environment": .text("prod")],
        ])
        let beta = try database.query("SELECT * FROM beta_results")
        #expect(beta == [
            ["filename": .text("beta.jpg"), "labels": .text(#"["cat"]"#), "label_count": .integer(1),
             "timestamp": .text("2026-11-21T14:25:21.125Z"), "environment": .text("beta")],
        ])
    }
}
