import Testing

@testable import IntakeClassify

#if canImport(Glibc)
import Glibc
#endif

/// The external classifier against real programs: shell scripts written by each test.
@Suite("External classifier")
struct ExternalClassifierTests {
    let folder: ScriptFolder

    init() throws {
        folder = try ScriptFolder()
    }

    private func classifier(_ script: String, _ body: String, name: String = "test", timeout: Double = 5) -> ExternalClassifier {
        ExternalClassifier(command: [folder.script(script, body)], name: name, timeoutSeconds: timeout)
    }

    private func failure(_ result: Result<[Label], ExternalClassifierError>) -> ExternalClassifierError? {
        if case .failure(let error) = result { return error }
        Issue.record("expected a failure, got \(result)")
        return nil
    }

    @Test func goodAnswerGivesLabelsWithBoxes() throws {
        let good = classifier(
            "good.sh",
            """
            printf '%s\\n' "$@" > "\(folder.path)/arguments"
            cat <<'JSON'
            {"labels": [
              {"name": "cat", "confidence": 0.93, "box": [10, 20.5, 30, 40]},
              {"name": "dog", "confidence": 0, "box": {"x": 1, "y": 2, "width": 3, "height": 4}, "model": "v2"},
              {"name": "sky", "confidence": 1, "box": null}
            ]}
            JSON
            """, name: "pets")
        let labels = try good.classify(originalPath: "/in/a b.jpg", derivativePath: "/out/a_256x256.jpg").get()
        #expect(
            labels == [
                Label(name: "cat", confidence: 0.93, source: "pets", box: LabelBox(x: 10, y: 20.5, width: 30, height: 40)),
                Label(name: "dog", confidence: 0, source: "pets", box: LabelBox(x: 1, y: 2, width: 3, height: 4)),
                Label(name: "sky", confidence: 1, source: "pets", box: nil),
            ])
        #expect(folder.read("arguments") == "/in/a b.jpg\n/out/a_256x256.jpg\n")
    }

    /// Boxes are in pixels of the upright original; one outside it (given in another space) is
    /// taken off its label, which stays, and said. Rounding may put an edge a pixel out.
    @Test func aBoxOutsideTheImageIsDroppedAndSaid() {
        let labels = [
            Label(name: "in", confidence: 0.9, source: "m", box: LabelBox(x: 0, y: 0, width: 640, height: 480)),
            Label(name: "rounded", confidence: 0.9, source: "m", box: LabelBox(x: -0.5, y: 10, width: 641, height: 100)),
            Label(name: "fractions", confidence: 0.8, source: "m", box: LabelBox(x: 0.1, y: 0.2, width: 0.3, height: 0.4)),
            Label(name: "derivative", confidence: 0.7, source: "m", box: LabelBox(x: 600, y: 200, width: 256, height: 256)),
            Label(name: "above", confidence: 0.6, source: "m", box: LabelBox(x: 10, y: -20, width: 5, height: 5)),
            Label(name: "none", confidence: 0.5, source: "m"),
        ]
        let checked = ExternalClassifier.checkingBoxes(labels, width: 640, height: 480)
        #expect(checked.labels.map(\.name) == labels.map(\.name))
        #expect(checked.labels.filter { $0.box != nil }.map(\.name) == ["in", "rounded", "fractions"])
        #expect(checked.problems.count == 2)
        #expect(checked.problems.first == "m's label derivative has a box [600.0, 200.0, 256.0, 256.0] outside the 640×480 image (boxes are in pixels of the upright original); the box is dropped")
    }

    @Test func theProgramIsToldTheUprightSize() throws {
        let sized = classifier("size.sh", #"printf '[{"name": "%sx%s", "confidence": 0.5}]' "$INTAKE_IMAGE_WIDTH" "$INTAKE_IMAGE_HEIGHT""#)
        #expect(try sized.classify(originalPath: "o", derivativePath: "d", uprightSize: (3024, 4032)).get().map(\.name) == ["3024x4032"])
        #expect(try sized.classify(originalPath: "o", derivativePath: "d").get().map(\.name) == ["x"])
    }

    @Test func leadingArgumentsComeFirstAndABareArrayIsAnAnswer() throws {
        let path = folder.script("args.sh", #"printf '[{"name": "%s-%s", "confidence": 0.5}]' "$1" "$2""#)
        let external = ExternalClassifier(command: [path, "--model", "small"], name: "args", timeoutSeconds: 5)
        let labels = try external.classify(originalPath: "o", derivativePath: "d").get()
        #expect(labels.map(\.name) == ["--model-small"])
        #expect(try classifier("empty.sh", "echo '[]'").classify(originalPath: "o", derivativePath: "d").get() == [])
    }

    @Test func standardInputIsEmpty() throws {
        let reader = classifier("stdin.sh", #"read line; printf '[{"name": "stdin-%s", "confidence": 0.5}]' "$line""#, timeout: 2)
        #expect(try reader.classify(originalPath: "o", derivativePath: "d").get().map(\.name) == ["stdin-"])
    }

    @Test func garbageIsNotJSON() throws {
        let garbage = classifier("garbage.sh", "echo 'Traceback (most recent call last): model not loaded'")
        let error = try #require(failure(garbage.classify(originalPath: "o", derivativePath: "d")))
        #expect(error.description == #"classifier "test" answered something that is not JSON: Traceback (most recent call last): model not loaded\n"#)
        let silent = try #require(failure(classifier("silent.sh", "true").classify(originalPath: "o", derivativePath: "d")))
        #expect(silent.description.contains("answered nothing on standard output"))
    }

    @Test func failingExitShowsStatusAndStandardError() throws {
        let failing = classifier("fails.sh", "echo 'loading weights' >&2; echo 'weights.bin: no such file' >&2; exit 3")
        let error = try #require(failure(failing.classify(originalPath: "o", derivativePath: "d")))
        #expect(error.problem == .exited(status: 3, standardError: #"loading weights\nweights.bin: no such file"#))
        #expect(error.description == #"classifier "test" exited with status 3: loading weights\nweights.bin: no such file"#)
    }

    @Test func standardErrorKeepsOnlyItsTail() throws {
        let chatty = classifier("chatty.sh", "i=0; while [ $i -lt 2000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 1")
        let error = try #require(failure(chatty.classify(originalPath: "o", derivativePath: "d")))
        guard case .exited(1, let tail) = error.problem else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(tail.hasSuffix(#"line 1999"#))
        #expect(tail.utf8.count <= ExternalClassifier.standardErrorLimit + 2000)  // newlines written as two characters
        #expect(!tail.contains("line 0\\n"))
    }

    @Test func signalIsReported() throws {
        let crashing = classifier("crash.sh", "echo 'segfault coming' >&2; kill -SEGV $$")
        let error = try #require(failure(crashing.classify(originalPath: "o", derivativePath: "d")))
        #expect(error.problem == .killed(signal: SIGSEGV, standardError: "segfault coming"))
        #expect(error.description.hasPrefix(#"classifier "test" was killed by signal 11"#))
    }

    @Test func hangingClassifierIsKilledWithEverythingItStarted() throws {
        let hanging = classifier(
            "hang.sh",
            """
            echo $$ > "\(folder.path)/pid"
            sleep 30 &
            echo $! > "\(folder.path)/child"
            wait
            """, timeout: 0.5)
        let error = try #require(failure(hanging.classify(originalPath: "o", derivativePath: "d")))
        #expect(error.problem == .timedOut(seconds: 0.5))
        #expect(error.description == #"classifier "test" timed out after 0.5 s"#)
        let pid = try #require(folder.read("pid").flatMap { Int32($0.filter(\.isNumber)) })
        let child = try #require(folder.read("child").flatMap { Int32($0.filter(\.isNumber)) })
        #expect(processHasEnded(pid), "the classifier is still running")
        // The orphaned sleep goes with the group; give the kernel a moment to deliver SIGKILL.
        var waited = 0.0
        while !processHasEnded(child) && waited < 1 {
            usleep(10_000)
            waited += 0.01
        }
        #expect(processHasEnded(child), "what the classifier started is still running")
    }

    /// A classifier that answers and exits, leaving something it started in the background with
    /// its output still open, has answered: its labels count, and what it left goes with its
    /// group. (It was waited for to the deadline and its answer dropped as "timed out".)
    @Test func aClassifierThatAnswersAndLeavesABackgroundProcessHasAnswered() throws {
        let answering = classifier(
            "answer.sh",
            """
            echo '[{"name": "cat", "confidence": 0.9}]'
            sleep 30 &
            echo $! > "\(folder.path)/child"
            exit 0
            """, timeout: 3)
        let labels = try answering.classify(originalPath: "o", derivativePath: "d").get()
        #expect(labels.map(\.name) == ["cat"])
        let child = try #require(folder.read("child").flatMap { Int32($0.filter(\.isNumber)) })
        var waited = 0.0
        while !processHasEnded(child) && waited < 1 {
            usleep(10_000)
            waited += 0.01
        }
        #expect(processHasEnded(child), "what the classifier left running is still running")
    }

    /// Closing standard output is not finishing: the run still ends at the deadline.
    @Test func classifierThatClosesItsOutputAndStaysIsKilled() throws {
        let lingering = classifier("linger.sh", "exec >&- 2>&-; sleep 30", timeout: 0.5)
        // Timed out, not finished: had the run waited for the sleep, it would have ended as exited.
        let error = try #require(failure(lingering.classify(originalPath: "o", derivativePath: "d")))
        #expect(error.problem == .timedOut(seconds: 0.5))
    }

    @Test func confidenceOutsideZeroToOneIsRefused() throws {
        let overconfident = classifier(
            "overconfident.sh", #"echo '[{"name": "cat", "confidence": 0.9}, {"name": "dog", "confidence": 1.7}]'"#)
        let error = try #require(failure(overconfident.classify(originalPath: "o", derivativePath: "d")))
        #expect(error.description == #"classifier "test" label 2 (dog) has confidence 1.7, outside 0–1"#)
    }

    @Test func tooMuchOutputIsRefused() throws {
        let flood = classifier("flood.sh", "while :; do echo '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['; done")
        let error = try #require(failure(flood.classify(originalPath: "o", derivativePath: "d")))
        #expect(error.problem == .answerTooLarge(limit: 1 << 20))
    }

    @Test func missingProgramCannotStart() throws {
        let missing = ExternalClassifier(command: [folder.path + "/nowhere"], name: "ghost", timeoutSeconds: 1)
        let error = try #require(failure(missing.classify(originalPath: "o", derivativePath: "d")))
        #expect(error.description == "classifier \"ghost\" could not start: \(folder.path)/nowhere: No such file or directory")
        let none = try #require(failure(ExternalClassifier(command: []).classify(originalPath: "o", derivativePath: "d")))
        #expect(none.description == #"classifier "external" could not start: no command is configured"#)
    }

    /// A program open for writing cannot be run ("text file busy"); for an instant that is what
    /// any program looks like while another thread's child holds a copy of its descriptor.
    @Test func programBusyForAnInstantIsRunOnceFree() throws {
        let busy = classifier("busy.sh", #"echo '{"labels": [{"name": "ok", "confidence": 1}]}'"#)
        let writer = open(folder.path + "/busy.sh", O_WRONLY | O_APPEND | O_CLOEXEC)
        try #require(writer >= 0)
        // A thread of its own: a queue's worker could wait behind the other tests running at once.
        var closer = pthread_t()
        let started = pthread_create(&closer, nil, { argument in
            usleep(20_000)
            close(Int32(Int(bitPattern: argument) - 1))
            return nil
        }, UnsafeMutableRawPointer(bitPattern: Int(writer) + 1))
        try #require(started == 0)
        defer { pthread_join(closer, nil) }
        let labels = try busy.classify(originalPath: "o", derivativePath: "d").get()
        #expect(labels.map(\.name) == ["ok"])
    }

    @Test func programKeptBusyCannotStartAndSaysWhy() throws {
        let busy = classifier("held.sh", "echo '[]'")
        let writer = open(folder.path + "/held.sh", O_WRONLY | O_APPEND | O_CLOEXEC)
        try #require(writer >= 0)
        defer { close(writer) }
        let error = try #require(failure(busy.classify(originalPath: "o", derivativePath: "d")))
        #expect(error.description == "classifier \"test\" could not start: \(folder.path)/held.sh: Text file busy")
    }

    /// Workers call it from several threads at once; each run keeps its own pipes and answer.
    @Test func concurrentRunsKeepTheirAnswersApart() async throws {
        let echo = classifier("echo.sh", #"sleep 0.1; printf '[{"name": "%s", "confidence": 0.5}]' "$1""#)
        let names = await withTaskGroup(of: (Int, [String]).self) { group in
            for index in 0..<8 {
                group.addTask {
                    let labels = (try? echo.classify(originalPath: "image-\(index)", derivativePath: "d").get()) ?? []
                    return (index, labels.map(\.name))
                }
            }
            var names: [Int: [String]] = [:]
            for await (index, found) in group { names[index] = found }
            return names
        }
        for index in 0..<8 {
            #expect(names[index] == ["image-\(index)"])
        }
    }
}

/// The answer's rules one by one, without a program in between.
@Suite("External classifier answers")
struct ClassifierAnswerTests {
    private func reason(_ json: String) -> String? {
        switch ClassifierAnswer.labels(from: Array(json.utf8), source: "x") {
        case .success(let labels):
            Issue.record("expected a refusal, got \(labels)")
            return nil
        case .failure(let invalid):
            return invalid.reason
        }
    }

    @Test(arguments: [
        ("{\"labels\": 3}", #"answered a JSON object without a "labels" array: {"labels": 3}"#),
        ("{\"tags\": []}", #"answered a JSON object without a "labels" array: {"tags": []}"#),
        ("\"cat\"", #"answered JSON that is neither {"labels": [...]} nor an array: "cat""#),
        ("[3]", #"label 1 is the number 3.0, not an object like {"name": "cat", "confidence": 0.9}"#),
        ("[{\"confidence\": 0.5}]", #"label 1 has no name: "name" must be a string, got nothing"#),
        ("[{\"name\": 7, \"confidence\": 0.5}]", #"label 1 has no name: "name" must be a string, got the number 7.0"#),
        ("[{\"name\": \"\", \"confidence\": 0.5}]", "label 1 has an empty name"),
        ("[{\"name\": \"cat\"}]", #"label 1 (cat) has no confidence: "confidence" must be a number from 0 to 1, got nothing"#),
        (
            "[{\"name\": \"cat\", \"confidence\": \"high\"}]",
            #"label 1 (cat) has no confidence: "confidence" must be a number from 0 to 1, got a string ("high")"#
        ),
        ("[{\"name\": \"cat\", \"confidence\": -0.1}]", "label 1 (cat) has confidence -0.1, outside 0–1"),
        (
            "[{\"name\": \"cat\", \"confidence\": 0.5, \"box\": [1, 2, 3]}]",
            #"label 1 (cat) has a box that is neither [x, y, width, height] nor {"x", "y", "width", "height"}"#
        ),
        (
            "[{\"name\": \"cat\", \"confidence\": 0.5, \"box\": [1, 2, \"3\", 4]}]",
            "label 1 (cat) has a box [x, y, width, height] that is not four numbers"
        ),
        (
            "[{\"name\": \"cat\", \"confidence\": 0.5, \"box\": {\"x\": 1, \"y\": 2, \"w\": 3, \"h\": 4}}]",
            #"label 1 (cat) has a box object without numbers "x", "y", "width" and "height""#
        ),
        ("[{\"name\": \"cat\", \"confidence\": 0.5, \"box\": [1, 2, -3, 4]}]", "label 1 (cat) has a box with a negative size (-3.0 × 4.0)"),
        ("[{\"name\": \"cat\", \"confidence\": 0.5}", "answered something that is not JSON: [{\"name\": \"cat\", \"confidence\": 0.5}"),
        ("", "answered nothing on standard output; expected JSON labels"),
        ("\u{1B}[31mERROR\u{1B}[0m", "answered something that is not JSON: \\u{1B}[31mERROR\\u{1B}[0m"),
    ])
    func refusals(json: String, expected: String) {
        #expect(reason(json) == expected)
    }

    /// Counted in bytes: one letter with 50,000 combining marks is one Character, and passed a
    /// count of characters into logs and the database (on PostgreSQL its row outgrew the index
    /// on label names, and the finished job was never recorded).
    @Test func namesAreAtMostTwoHundredBytesWithoutControlCharacters() throws {
        let longest = String(repeating: "é", count: 100)
        let labels = try ClassifierAnswer.labels(from: Array("[{\"name\": \"\(longest)\", \"confidence\": 0.5}]".utf8), source: "x").get()
        #expect(labels.first?.name == longest)
        #expect(reason("[{\"name\": \"\(longest)e\", \"confidence\": 0.5}]") == "label 1 has a name of 201 bytes; at most 200 are allowed")
        let marked = "a" + String(repeating: "\u{301}", count: 50_000)
        #expect(marked.count == 1)
        #expect(reason("[{\"name\": \"\(marked)\", \"confidence\": 0.5}]") == "label 1 has a name of 100001 bytes; at most 200 are allowed")
        // Escaped in the reason, so that a log line cannot be forged.
        #expect(reason(#"[{"name": "a\u001b[31mRED\nFAKE", "confidence": 0.5}]"#)
            == #"label 1 (a\u{1B}[31mRED\nFAKE) has a control character in its name"#)
        #expect(reason(#"[{"name": "a\u0000b", "confidence": 0.5}]"#)?.contains("control character") == true)
        let many = "[" + Array(repeating: #"{"name": "cat", "confidence": 0.5}"#, count: 257).joined(separator: ",") + "]"
        #expect(reason(many) == "answered 257 labels; at most 256 are allowed")
    }

    @Test func longGarbageIsCutAtEightyBytes() {
        let text = String(repeating: "x", count: 200)
        #expect(reason(text) == "answered something that is not JSON: " + String(repeating: "x", count: 80) + "…")
    }
}
