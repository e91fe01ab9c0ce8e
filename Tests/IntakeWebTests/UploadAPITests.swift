import Foundation
import Hummingbird
import HummingbirdTesting
import IntakeConfig
import IntakeCore
import IntakePipeline
import IntakeStore
import IntakeTestSupport
@testable import IntakeWeb
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The API's handlers through HummingbirdTesting, on a real state root and a real database.
/// (Unchecked: the temporary folder is made once and only read while a test runs.)
@Suite struct UploadAPITests: @unchecked Sendable {
    let folder = try! TemporaryFolder()
    var root: StateRoot { StateRoot(path: folder.path) }

    /// Meters are named `MTR-<digits>` here, as `meters.folder_pattern` says.
    func app(maxBytes: Int = 1_000_000, folderPattern: String? = #"MTR-\d+"#, profiles: String? = nil) -> some ApplicationProtocol {
        var configuration = IntakeConfiguration.defaults
        configuration.web.maxBytes = maxBytes
        configuration.meters.folderPattern = folderPattern
        if let profiles { configuration.meters.profilesDir = profiles }
        return Application(router: IntakeAPI.router(root: root, configuration: configuration))
    }

    func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    /// Every file below the inbox, hidden upload folder included.
    var inboxFiles: [String] { FileManagerless.files(under: root.inbox) }

    @Test(.enabled(if: Mounts.available, "needs the right to mount a ramfs (root)"))
    func whereTheFilesystemKeepsNoLabelsTheJobIdGoesInASidecar() async throws {
        let folder = try TemporaryFolder()
        let mounted = folder.path + "/ramfs"
        try Mounts.ramfs(at: mounted)
        defer { Mounts.unmount(mounted) }
        var configuration = IntakeConfiguration.defaults
        configuration.web.maxBytes = 1_000_000
        let root = StateRoot(path: mounted)
        let jpeg = Photos.jpeg(width: 64, height: 48, seed: 2)
        try await Application(router: IntakeAPI.router(root: root, configuration: configuration)).test(.router) { client in
            let id = try await client.execute(uri: "/v1/inbox/prod?name=p.jpg", method: .post, body: ByteBuffer(bytes: jpeg)) { response in
                #expect(response.status == .accepted)
                return try #require(try object(response.body)["jobId"] as? String)
            }
            #expect(UploadLabel.read(root.inbox + "/prod/p.jpg") == nil)
            let sidecar = String(decoding: try #require(Fixtures.readFile(root.inbox + "/prod/p.jpg.json")), as: UTF8.self)
            #expect(sidecar.contains(id) && sidecar.contains("\(jpeg.count)"))
            #expect(FileManagerless.files(under: root.inbox).sorted() == ["prod/p.jpg", "prod/p.jpg.json"], "a temporary file was left")
        }
    }

    /// A meter is known by the daemon's rule for a subfolder naming one: a profile, manual
    /// readings, or a name `meters.folder_pattern` matches. Any other is 404, by every way of
    /// uploading, and nothing is written; a typo would otherwise file photos with no verdict.
    @Test func anUnknownMeterIsNotFoundAndAKnownOneIsTaken() async throws {
        let profiles = try TemporaryFolder()
        _ = profiles.write("WATER-1.toml", Array("# a profile; only its presence counts here\n".utf8))
        let database = try Database(path: root.database)
        _ = try database.addManualReadings([ManualReadingRecord(meterID: "GAS-2", readAt: 1_700_000_000_000, value: 12.5)])
        let jpeg = Photos.jpeg(width: 16, height: 16, seed: 31)
        try await app(profiles: profiles.path).test(.router) { client in
            for meter in ["MTR-12", "WATER-1", "GAS-2"] {
                try await client.execute(uri: "/v1/inbox/prod/\(meter)?name=k.jpg", method: .post, body: ByteBuffer(bytes: jpeg)) { response in
                    #expect(response.status == .accepted, "\(meter)")
                }
            }
            try await client.execute(uri: "/v1/inbox/prod/MTR-l2?name=k.jpg", method: .post, body: ByteBuffer(bytes: jpeg)) { response in
                #expect(response.status == .notFound)
                let error = try #require(try object(response.body)["error"] as? [String: Any])
                #expect((error["message"] as? String)?.contains("no meter \"MTR-l2\"") == true)
            }
            let form = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            var body = Array(form.utf8) + jpeg
            body += Array("\r\n--b--\r\n".utf8)
            try await client.execute(
                uri: "/v1/inbox/prod/HOLIDAY", method: .post, headers: [.contentType: "multipart/form-data; boundary=b"], body: ByteBuffer(bytes: body)
            ) { response in
                #expect(response.status == .notFound)
            }
            var headers = Self.tus
            headers[HTTPFields.Element.Name("Upload-Length")!] = String(jpeg.count)
            headers[HTTPFields.Element.Name("Upload-Metadata")!] = Self.metadata([("filename", "t.jpg"), ("env", "prod"), ("meter", "GAS-3")])
            let creation = headers
            try await client.execute(uri: "/v1/uploads", method: .post, headers: creation) { response in
                #expect(response.status == .notFound)
            }
        }
        #expect(inboxFiles.filter { !$0.hasPrefix(".intake-uploads") }.sorted() == ["prod/GAS-2/k.jpg", "prod/MTR-12/k.jpg", "prod/WATER-1/k.jpg"])
    }

    /// A full disk is 507, and the upload leaves no part of itself behind; once there is room
    /// again the same upload goes in.
    @Test(.enabled(if: Mounts.available, "needs the right to mount a tmpfs (root)"))
    func aFullDiskIsInsufficientStorageAndLeavesNothing() async throws {
        let folder = try TemporaryFolder()
        let mounted = folder.path + "/small"
        try Mounts.tmpfs(at: mounted, bytes: 1 << 20)
        defer { Mounts.unmount(mounted) }
        var configuration = IntakeConfiguration.defaults
        configuration.web.maxBytes = 1_000_000
        let root = StateRoot(path: mounted)
        try DurableFile.makeFolders(root.inbox + "/.intake-uploads")
        let filler = mounted + "/filler"
        Mounts.fill(filler)
        let jpeg = Photos.jpeg(width: 128, height: 96, seed: 21)
        try await Application(router: IntakeAPI.router(root: root, configuration: configuration)).test(.router) { client in
            try await client.execute(uri: "/v1/inbox/prod?name=full.jpg", method: .post, body: ByteBuffer(bytes: jpeg)) { response in
                #expect(response.status.code == 507)
                let error = try #require(try object(response.body)["error"] as? [String: Any])
                #expect((error["message"] as? String)?.isEmpty == false)
            }
            #expect(FileManagerless.files(under: root.inbox).isEmpty, "\(FileManagerless.files(under: root.inbox))")
            unlink(filler)
            try await client.execute(uri: "/v1/inbox/prod?name=full.jpg", method: .post, body: ByteBuffer(bytes: jpeg)) { response in
                #expect(response.status == .accepted)
            }
            #expect(Fixtures.readFile(root.inbox + "/prod/full.jpg") == jpeg)
        }
    }

    @Test func anImageIsPutInTheInboxWithTheJobIdItWasAnsweredWith() async throws {
        let jpeg = Photos.jpeg(width: 64, height: 48, seed: 1)
        try await app().test(.router) { client in
            let id = try await client.execute(uri: "/v1/inbox/prod/MTR-7?name=photo%201.jpg", method: .post, body: ByteBuffer(bytes: jpeg)) { response in
                #expect(response.status == .accepted)
                let answer = try object(response.body)
                #expect(answer["status"] as? String == "PENDING")
                #expect(answer["sha256"] as? String == SHA256.hex(of: jpeg))
                #expect(answer["bytes"] as? Int == jpeg.count)
                #expect(answer["name"] as? String == "photo 1.jpg")
                let id = try #require(answer["jobId"] as? String)
                #expect(response.headers[.location] == "/v1/jobs/\(id)")
                return id
            }
            #expect(Fixtures.readFile(root.inbox + "/prod/MTR-7/photo 1.jpg") == jpeg)
            // The id rides on the image itself: no second file.
            let label = try #require(UploadLabel.read(root.inbox + "/prod/MTR-7/photo 1.jpg"))
            #expect(String(decoding: label, as: UTF8.self) == "{\"job\": \"\(id)\", \"bytes\": \(jpeg.count)}")
            #expect(inboxFiles.sorted() == ["prod/MTR-7/photo 1.jpg"], "a temporary file or a sidecar was left")

            // Not claimed yet: pending, even with no database yet.
            try await client.execute(uri: "/v1/jobs/\(id)", method: .get) { response in
                #expect(response.status == .ok)
                let job = try object(response.body)
                #expect(job["status"] as? String == "PENDING")
                #expect(job["jobId"] as? String == id)
            }
        }
    }

    @Test func aJobTheDatabaseKnowsIsAnsweredInTheCloudAPIsShape() async throws {
        let database = try Database(path: root.database)
        let id = JobID.make()
        try database.insertJob(NewJob(id: id.rawValue, environment: "beta", name: "x.jpg", sourcePath: "beta/x.jpg",
                                      spoolPath: "/nowhere", createdAt: 1_700_000_000_000))
        try database.transaction {
            try database.complete(JobCompletion(
                id: id.rawValue, status: .done, attempts: 1, startedAt: 1_700_000_000_100, finishedAt: 1_700_000_000_200,
                finalPath: "/nowhere", bytes: 10,
                labels: [LabelRecord(name: "meter", confidence: 0.93, source: "builtin", box: LabelBox(x: 1, y: 2, w: 3, h: 4))]))
        }
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/jobs/\(id)", method: .get) { response in
                #expect(response.status == .ok)
                let job = try object(response.body)
                #expect(job["status"] as? String == "COMPLETED")
                #expect(job["imageCount"] as? Int == 1)
                #expect(job["environment"] as? String == "beta")
                let images = try #require(job["detections"] as? [[String: Any]])
                let found = try #require(images.first?["detections"] as? [[String: Any]])
                #expect(found.first?["label"] as? String == "meter")
                #expect(found.first?["bbox"] as? [Double] == [1, 2, 3, 4])
                #expect(images.first?["detectionCount"] as? Int == 1)
            }
            try await client.execute(uri: "/v1/jobs/\(JobID.make())", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try #require(try object(response.body)["error"] as? [String: Any])
                #expect(error["code"] as? String == "not_found")
            }
        }
    }

    /// The bodies the refusals are tried with, by name (so that test names stay readable).
    static func body(_ name: String) -> [UInt8] {
        switch name {
        case "psd": Array("8BPS\0\u{1}and more bytes than the sniffer needs to say what this Photoshop file is..".utf8)
        case "empty": []
        default: Photos.jpeg(width: 8, height: 8, seed: 2)
        }
    }

    @Test(arguments: [
        ("/v1/inbox/prod?name=a.jpg", "psd", 415, "not_an_image"),
        ("/v1/inbox/prod?name=a.jpg", "empty", 400, "empty"),
        ("/v1/inbox/staging?name=a.jpg", "jpeg", 404, "not_found"),
        ("/v1/inbox/prod", "jpeg", 400, "name_missing"),
        ("/v1/inbox/prod?name=..", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod?name=.hidden.jpg", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod?name=a%2Fb.jpg", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod?name=line%0Abreak.jpg", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod?name=nul%00.jpg", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod?name=" + String(repeating: "a", count: 197) + ".jpg", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod?name=a.jpg.part", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod?name=a.json", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod/.meter?name=a.jpg", "jpeg", 400, "name_refused"),
        // Combining marks do not hide a leading dot or a .json suffix: the checks are on bytes.
        ("/v1/inbox/prod?name=.%CC%81x.jpg", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod?name=x%D8%80.json", "jpeg", 400, "name_refused"),
        // Stray bytes are refused, not made U+FFFD (which would make %FF.jpg and %FE.jpg one name).
        ("/v1/inbox/prod?name=%FF%FE.jpg", "jpeg", 400, "name_refused"),
        ("/v1/inbox/prod?name=100%25.jpg", "jpeg", 400, "name_refused"),
        // A right-to-left override makes "\u{202E}gpj.exe" read as "exe.jpg".
        ("/v1/inbox/prod?name=%E2%80%AEgpj.exe", "jpeg", 400, "name_refused"),
    ])
    func aBadUploadIsRefusedSayingWhyAndLeavesNothing(uri: String, bodyName: String, status: Int, code: String) async throws {
        let body = Self.body(bodyName)
        try await app().test(.router) { client in
            try await client.execute(uri: uri, method: .post, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status.code == status)
                let error = try #require(try object(response.body)["error"] as? [String: Any])
                #expect(error["code"] as? String == code)
                #expect((error["message"] as? String)?.isEmpty == false)
            }
        }
        #expect(inboxFiles.isEmpty, "\(inboxFiles)")
    }

    @Test func anUploadOverTheLimitIsRefusedWhetherItsLengthIsDeclaredOrNot() async throws {
        let jpeg = Photos.jpeg(width: 256, height: 256, seed: 3)
        try await app(maxBytes: jpeg.count - 1).test(.router) { client in
            try await client.execute(uri: "/v1/inbox/prod?name=big.jpg", method: .post, body: ByteBuffer(bytes: jpeg)) { response in
                #expect(response.status == .contentTooLarge)
            }
            try await client.execute(
                uri: "/v1/inbox/prod?name=big.jpg", method: .post, headers: [.contentLength: "\(Int.max)"], body: ByteBuffer(bytes: jpeg)
            ) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
        #expect(inboxFiles.isEmpty, "\(inboxFiles)")
    }

    @Test func aNameAlreadyWaitingInTheInboxIsAConflictAndIsNotReplaced() async throws {
        let waiting = Photos.jpeg(width: 16, height: 16, seed: 4)
        try DurableFile.makeFolders(root.inbox + "/prod")
        try DurableFile.write(waiting, to: root.inbox + "/prod/same.jpg")
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/inbox/prod?name=same.jpg", method: .post, body: ByteBuffer(bytes: Photos.jpeg(width: 8, height: 8, seed: 5))) {
                response in
                #expect(response.status == .conflict)
            }
        }
        #expect(Fixtures.readFile(root.inbox + "/prod/same.jpg") == waiting)
        #expect(inboxFiles == ["prod/same.jpg"])
    }

    /// Producers may make meter folders, and so links in their place: a link must not carry an
    /// upload into another environment (a beta-only token's into prod) or out of the inbox.
    @Test func aMeterFolderThatIsALinkOrAFileIsRefusedAndNothingGoesThroughIt() async throws {
        let outside = try TemporaryFolder()
        try DurableFile.makeFolders(root.inbox + "/prod")
        try DurableFile.makeFolders(root.inbox + "/beta")
        #expect(symlink("../prod", root.inbox + "/beta/MTR-1") == 0)
        #expect(symlink(outside.path, root.inbox + "/beta/MTR-2") == 0)
        try DurableFile.write([1, 2, 3], to: root.inbox + "/beta/MTR-3")
        let photo = Photos.jpeg(width: 16, height: 16, seed: 9)
        let boundary = MultipartReaderTests.boundary
        let form = MultipartReaderTests.body([(name: "files", filename: "form.jpg", content: photo)])
        try await app().test(.router) { client in
            for (meter, what) in [("MTR-1", "is a symbolic link"), ("MTR-2", "is a symbolic link"), ("MTR-3", "is not a folder")] {
                try await client.execute(uri: "/v1/inbox/beta/\(meter)?name=one.jpg", method: .post, body: ByteBuffer(bytes: photo)) { response in
                    #expect(response.status == .conflict)
                    let error = try #require(try object(response.body)["error"] as? [String: Any])
                    #expect(error["code"] as? String == "folder_refused")
                    #expect((error["message"] as? String)?.contains("inbox/beta/\(meter) \(what)") == true, "\(error)")
                }
                try await client.execute(
                    uri: "/v1/inbox/beta/\(meter)", method: .post, headers: [.contentType: "multipart/form-data; boundary=\(boundary)"],
                    body: ByteBuffer(bytes: form)
                ) { response in
                    #expect(response.status == .conflict)
                }
            }
            // A real folder beside them still takes uploads.
            try await client.execute(uri: "/v1/inbox/beta/MTR-4?name=one.jpg", method: .post, body: ByteBuffer(bytes: photo)) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(FileManagerless.list(root.inbox + "/prod").isEmpty)
        #expect(FileManagerless.list(outside.path).isEmpty)
        #expect(FileManagerless.list(root.inbox + "/.intake-uploads").isEmpty)
        #expect(Fixtures.readFile(root.inbox + "/beta/MTR-4/one.jpg") == photo)
    }

    @Test func jobsArePagedNewestFirstAndFiltered() async throws {
        let database = try Database(path: root.database)
        var ids: [String] = []
        for n in 0..<5 {
            let id = JobID.make(milliseconds: 1_700_000_000_000 + UInt64(n) * 1000)
            ids.append(id.rawValue)
            let environment = n % 2 == 0 ? "prod" : "beta"
            try database.insertJob(NewJob(id: id.rawValue, environment: environment, name: "\(n).jpg", sourcePath: "\(environment)/\(n).jpg",
                                          spoolPath: "/nowhere", createdAt: Int64(1_700_000_000_000 + n * 1000)))
        }
        try database.transaction {
            try database.complete(JobCompletion(id: ids[4], status: .failed, stage: "decode", error: "corrupt", errorKind: .permanent,
                                                attempts: 1, startedAt: 1, finishedAt: 2, finalPath: "/nowhere", bytes: 3))
        }
        func page(_ uri: String) async throws -> (ids: [String], next: String?) {
            try await app().test(.router) { client in
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                    let body = try object(response.body)
                    let jobs = try #require(body["jobs"] as? [[String: Any]])
                    return (jobs.compactMap { $0["jobId"] as? String }, body["next"] as? String)
                }
            }
        }
        let first = try await page("/v1/jobs?env=prod&limit=2")
        #expect(first.ids == [ids[4], ids[2]])
        let next = try #require(first.next)
        let second = try await page(next)
        #expect(second.ids == [ids[0]])
        #expect(second.next == nil)
        #expect(try await page("/v1/jobs?status=FAILED").ids == [ids[4]])
        #expect(try await page("/v1/jobs?status=pending&since=2023-11-14T22:13:21Z").ids == [ids[3], ids[2], ids[1]])
        try await app().test(.router) { client in
            for bad in ["/v1/jobs?status=LOST", "/v1/jobs?limit=0", "/v1/jobs?since=yesterday", "/v1/jobs?before=x", "/v1/jobs?env=staging", "/v1/jobs?env="] {
                try await client.execute(uri: bad, method: .get) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
        }
    }

    @Test func unknownRoutesAnswerInTheSameErrorShape() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try #require(try object(response.body)["error"] as? [String: Any])
                #expect(error["code"] as? String == "not_found")
            }
        }
    }

    @Test func uploadsCutShortByACrashAreSweptAtStartAndFreshOnesKept() throws {
        let folder = root.inbox + "/.intake-uploads"
        try DurableFile.makeFolders(folder)
        let old = JobID.make(milliseconds: JobID.nowMilliseconds() - 2 * 3_600_000)
        let fresh = JobID.make()
        // A resumable upload waits for its client for hours; one past its lifetime goes too.
        let expired = JobID.make(milliseconds: JobID.nowMilliseconds() - (ResumableUploads.lifetimeSeconds + 60) * 1000)
        for name in ["\(old).part", "\(old).json.part", "\(fresh).part", "notes.txt", "\(old).tus", "\(old).tus.part", "\(expired).tus"] {
            try DurableFile.write([1], to: folder + "/" + name)
        }
        #expect(UploadFolder.sweep(folder, olderThanSeconds: 3600) == 3)
        #expect(FileManagerless.list(folder).sorted() == ["\(fresh).part", "notes.txt", "\(old).tus", "\(old).tus.part"].sorted())
    }

    /// Resumable uploads begun and abandoned go while the server runs, not only at its next
    /// start: a new upload sweeps those past their lifetime (a plain upload's file is its own
    /// request's to remove, and stays).
    @Test func abandonedResumableUploadsAreSweptWhileTheServerRuns() async throws {
        let folder = root.inbox + "/.intake-uploads"
        let expired = JobID.make(milliseconds: JobID.nowMilliseconds() - (ResumableUploads.lifetimeSeconds + 60) * 1000)
        let slow = JobID.make(milliseconds: JobID.nowMilliseconds() - 2 * 3_600_000)
        var headers = Self.tus
        headers[HTTPFields.Element.Name("Upload-Length")!] = "100"
        headers[HTTPFields.Element.Name("Upload-Metadata")!] = Self.metadata([("filename", "new.jpg"), ("env", "prod")])
        let creation = headers
        try await app().test(.router) { client in
            try DurableFile.makeFolders(folder)
            for name in ["\(expired).tus", "\(expired).tus.part", "\(slow).part"] { try DurableFile.write([1], to: folder + "/" + name) }
            let id = try await client.execute(uri: "/v1/uploads", method: .post, headers: creation) { response in
                try #require(try object(response.body)["uploadId"] as? String)
            }
            #expect(FileManagerless.list(folder).sorted() == ["\(id).tus", "\(id).tus.part", "\(slow).part"].sorted())
        }
    }

    /// A job of several images is intake serve's own record, kept beside the inbox. Once its
    /// images are gone from the database (retention pruned them) and no image of it can still
    /// be taken under its id, it goes too: it no longer reads as waiting for good, and the
    /// folder does not grow for the life of the server.
    /// `POST /v1/jobs` holds its metadata to a form's limits, and a body past its own limit is a
    /// 413 in the API's shape, not a 500 naming NIO's error.
    @Test(arguments: [
        ("51 fields", "{\"uploads\": [\"x\"], \"env\": \"prod\", \"metadata\": {\(( 0..<51).map { "\"k\($0)\": \"v\"" }.joined(separator: ", "))}}", 400, "too_many_fields"),
        ("a long value", "{\"uploads\": [\"x\"], \"env\": \"prod\", \"metadata\": {\"k\": \"\(String(repeating: "v", count: 5000))\"}}", 400, "field_too_large"),
        ("a long name", "{\"uploads\": [\"x\"], \"env\": \"prod\", \"metadata\": {\"\(String(repeating: "k", count: 5000))\": \"v\"}}", 400, "field_too_large"),
        ("a huge body", "{\"uploads\": [\"x\"], \"env\": \"prod\", \"metadata\": {\"k\": \"\(String(repeating: "v", count: 300_000))\"}}", 413, "too_large"),
        ("huge whitespace", String(repeating: " ", count: 270_000) + "{}", 413, "too_large"),
    ])
    func aJobDescriptionOverItsLimitsIsRefusedSayingWhich(what: String, body: String, status: Int, code: String) async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/v1/jobs", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status.code == status, "\(what)")
                let error = try #require(try object(response.body)["error"] as? [String: Any], "\(what)")
                #expect(error["code"] as? String == code, "\(what): \(error)")
                #expect(!((error["message"] as? String) ?? "").contains("NIO"), "\(what): \(error)")
            }
        }
    }

    @Test func aJobOfSeveralImagesGoesOnceItsImagesAreGoneFromTheDatabase() async throws {
        let database = try Database(path: root.database)
        let dayAndAnHourAgo = Int64(JobID.nowMilliseconds()) - 25 * 3_600_000
        func submission(_ images: [JobID], madeAt: Int64) -> Submission {
            Submission(id: JobID.make(milliseconds: UInt64(madeAt)).rawValue, env: "prod", meter: nil, metadata: nil,
                       jobs: images.map(\.rawValue), names: images.map { "\($0).jpg" }, createdAt: madeAt)
        }
        let kept = JobID.make(milliseconds: UInt64(dayAndAnHourAgo))
        try database.insertJob(NewJob(id: kept.rawValue, environment: "prod", name: "k.jpg", sourcePath: "prod/k.jpg",
                                      spoolPath: "/nowhere", createdAt: dayAndAnHourAgo))
        let pruned = submission([JobID.make(milliseconds: UInt64(dayAndAnHourAgo)), JobID.make(milliseconds: UInt64(dayAndAnHourAgo))], madeAt: dayAndAnHourAgo)
        let prunedToo = submission([JobID.make(milliseconds: UInt64(dayAndAnHourAgo))], madeAt: dayAndAnHourAgo)
        let oneImageLeft = submission([JobID.make(milliseconds: UInt64(dayAndAnHourAgo)), kept], madeAt: dayAndAnHourAgo)
        // Under a day old, its images may still wait in the inbox to be claimed.
        let young = submission([JobID.make()], madeAt: Int64(JobID.nowMilliseconds()))
        let store = Submissions(root: root)
        for made in [pruned, prunedToo, oneImageLeft, young] { try store.record(made) }
        let late = submission([JobID.make(milliseconds: UInt64(dayAndAnHourAgo))], madeAt: dayAndAnHourAgo)
        let halfWritten = "\(JobID.make(milliseconds: UInt64(dayAndAnHourAgo))).json.tmp"
        let halfWrittenToday = "\(JobID.make()).json.tmp"
        for name in [halfWritten, halfWrittenToday, "notes.txt"] { try DurableFile.write([1], to: store.folder + "/" + name) }

        try await app().test(.router) { client in
            // Starting the server swept: what outlived its images, and what a crash left a day ago.
            #expect(FileManagerless.list(store.folder).sorted()
                == ["\(oneImageLeft.id).json", "\(young.id).json", halfWrittenToday, "notes.txt"].sorted())
            try await client.execute(uri: "/v1/jobs/\(oneImageLeft.id)", method: .get) { response in
                #expect(response.status == .ok)
                let view = try object(response.body)
                #expect(view["imageCount"] as? Int == 2)
            }
            // One that outlives its images while the server runs is not found, and goes, when asked for.
            try store.record(late)
            try await client.execute(uri: "/v1/jobs/\(late.id)", method: .get) { response in
                #expect(response.status == .notFound)
            }
            #expect(!FileManagerless.list(store.folder).contains("\(late.id).json"))
        }
    }

    // MARK: Resumable uploads (tus 1.0, core and creation)

    static func metadata(_ fields: [(String, String)]) -> String {
        fields.map { "\($0.0) \(Data($0.1.utf8).base64EncodedString())" }.joined(separator: ",")
    }

    static let tus: HTTPFields = [HTTPFields.Element.Name("Tus-Resumable")!: "1.0.0"]

    static func patch(_ offset: Int, contentType: String = "application/offset+octet-stream") -> HTTPFields {
        var headers = tus
        headers[HTTPFields.Element.Name("Upload-Offset")!] = String(offset)
        headers[.contentType] = contentType
        return headers
    }

    func header(_ response: TestResponse, _ name: String) -> String? { response.headers[HTTPFields.Element.Name(name)!] }

    /// A client creates an upload, sends part of it, is told where to go on after a wrong offset,
    /// sends the rest: the whole file is then in the inbox under the upload's id as job id.
    @Test func aResumableUploadIsAppendedAtItsOffsetAndPlacedWhenWhole() async throws {
        let jpeg = Photos.jpeg(width: 200, height: 150, seed: 6)
        let cut = jpeg.count / 3
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/uploads", method: .options) { response in
                #expect(response.status == .noContent)
                #expect(header(response, "Tus-Version") == "1.0.0")
                #expect(header(response, "Tus-Extension") == "creation")
                #expect(header(response, "Tus-Max-Size") == "1000000")
            }
            var headers = Self.tus
            headers[HTTPFields.Element.Name("Upload-Length")!] = String(jpeg.count)
            headers[HTTPFields.Element.Name("Upload-Metadata")!] = Self.metadata([("filename", "field photo.jpg"), ("env", "beta"), ("meter", "MTR-9")])
            let id = try await client.execute(uri: "/v1/uploads", method: .post, headers: headers) { response in
                #expect(response.status == .created)
                let answer = try object(response.body)
                let id = try #require(answer["uploadId"] as? String)
                #expect(response.headers[.location] == "/v1/uploads/\(id)")
                #expect(answer["uploadUrl"] as? String == "/v1/uploads/\(id)")
                #expect(header(response, "Upload-Offset") == "0")
                return id
            }
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(0), body: ByteBuffer(bytes: jpeg[..<cut])) { response in
                #expect(response.status == .noContent)
                #expect(header(response, "Upload-Offset") == String(cut))
            }
            // Not where the server is: 409, saying where it is; nothing is written.
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(cut / 2), body: ByteBuffer(bytes: jpeg[(cut / 2)...])) { response in
                #expect(response.status == .conflict)
                #expect(header(response, "Upload-Offset") == String(cut))
            }
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(cut, contentType: "image/jpeg"), body: ByteBuffer(bytes: jpeg[cut...])) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            try await client.execute(uri: "/v1/uploads/\(id)", method: .head, headers: Self.tus) { response in
                #expect(response.status == .ok)
                #expect(header(response, "Upload-Offset") == String(cut))
                #expect(header(response, "Upload-Length") == String(jpeg.count))
                #expect(response.headers[.cacheControl] == "no-store")
            }
            #expect(!FileManagerless.list(root.inbox).contains("beta"), "a partial upload reached the inbox")
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(cut), body: ByteBuffer(bytes: jpeg[cut...])) { response in
                #expect(response.status == .noContent)
                #expect(header(response, "Upload-Offset") == String(jpeg.count))
                #expect(response.headers[.location] == "/v1/jobs/\(id)")
            }
            #expect(Fixtures.readFile(root.inbox + "/beta/MTR-9/field photo.jpg") == jpeg)
            let label = String(decoding: try #require(UploadLabel.read(root.inbox + "/beta/MTR-9/field photo.jpg")), as: UTF8.self)
            #expect(label.contains(id) && label.contains("\(jpeg.count)"))
            try await client.execute(uri: "/v1/jobs/\(id)", method: .get) { response in
                #expect(response.status == .ok)
                let status = try object(response.body)["status"] as? String
                #expect(status == "PENDING")
            }
            // Asked again after the last answer was lost: whole, and the last PATCH again changes nothing.
            try await client.execute(uri: "/v1/uploads/\(id)", method: .head, headers: Self.tus) { response in
                #expect(header(response, "Upload-Offset") == String(jpeg.count))
            }
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(jpeg.count), body: ByteBuffer()) { response in
                #expect(response.status == .noContent)
            }
            // A byte past the end of a whole upload is refused, not dropped in silence.
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(jpeg.count), body: ByteBuffer(bytes: [0])) { response in
                #expect(response.status == .badRequest)
                let error = try object(response.body)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "beyond_length")
                #expect(header(response, "Tus-Resumable") == "1.0.0")
            }
            // An offset that is no offset is said to be one, not to be missing.
            for offset in ["-1", "99999999999999999999999"] {
                try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(0).replacing("Upload-Offset", with: offset), body: ByteBuffer(bytes: [0])) {
                    response in
                    let error = try object(response.body)["error"] as? [String: Any]
                    #expect(error?["code"] as? String == "bad_offset", "\(offset)")
                }
            }
            #expect(Fixtures.readFile(root.inbox + "/beta/MTR-9/field photo.jpg") == jpeg)
            #expect(inboxFiles.filter { !$0.hasPrefix(".intake-uploads/") }.sorted() == ["beta/MTR-9/field photo.jpg"])
            #expect(inboxFiles.filter { $0.hasPrefix(".intake-uploads/") } == [".intake-uploads/\(id).tus"], "\(inboxFiles)")
        }
    }

    /// A whole upload that cannot go into the inbox (a file of its name waits there) is not
    /// called finished: a tus client would stop, and the file would be in no inbox. Its last
    /// byte, sent again once the way is clear, places it.
    @Test func aWholeUploadThatCannotBePlacedIsNotCalledFinished() async throws {
        let jpeg = Photos.jpeg(width: 64, height: 48, seed: 17), waiting = Photos.jpeg(width: 8, height: 8, seed: 18)
        try DurableFile.makeFolders(root.inbox + "/prod")
        try DurableFile.write(waiting, to: root.inbox + "/prod/twin.jpg")
        var headers = Self.tus
        headers[HTTPFields.Element.Name("Upload-Length")!] = String(jpeg.count)
        headers[HTTPFields.Element.Name("Upload-Metadata")!] = Self.metadata([("filename", "twin.jpg"), ("env", "prod")])
        let creation = headers
        try await app().test(.router) { client in
            let id = try await client.execute(uri: "/v1/uploads", method: .post, headers: creation) { response in
                try #require(try object(response.body)["uploadId"] as? String)
            }
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(0), body: ByteBuffer(bytes: jpeg)) { response in
                #expect(response.status == .conflict)
            }
            try await client.execute(uri: "/v1/uploads/\(id)", method: .head, headers: Self.tus) { response in
                #expect(header(response, "Upload-Offset") == String(jpeg.count - 1))
            }
            #expect(Fixtures.readFile(root.inbox + "/prod/twin.jpg") == waiting)
            // The daemon takes the waiting file; the client sends what HEAD says is missing.
            unlink(root.inbox + "/prod/twin.jpg")
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(jpeg.count - 1), body: ByteBuffer(bytes: jpeg.suffix(1))) {
                response in
                #expect(response.status == .noContent)
                #expect(header(response, "Upload-Offset") == String(jpeg.count))
            }
        }
        #expect(Fixtures.readFile(root.inbox + "/prod/twin.jpg") == jpeg)
    }

    /// The upload's state is on disk: another server process over the same root goes on with it.
    @Test func aResumableUploadOutlivesTheServerThatBeganIt() async throws {
        let jpeg = Photos.jpeg(width: 64, height: 64, seed: 7)
        var headers = Self.tus
        headers[HTTPFields.Element.Name("Upload-Length")!] = String(jpeg.count)
        headers[HTTPFields.Element.Name("Upload-Metadata")!] = Self.metadata([("name", "later.jpg"), ("env", "prod")])
        let creation = headers
        let id = try await app().test(.router) { client in
            try await client.execute(uri: "/v1/uploads", method: .post, headers: creation) { response in
                try #require(try object(response.body)["uploadId"] as? String)
            }
        }
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(0), body: ByteBuffer(bytes: jpeg[..<100])) { response in
                #expect(response.status == .noContent)
            }
        }
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/uploads/\(id)", method: .head, headers: Self.tus) { response in
                #expect(header(response, "Upload-Offset") == "100")
            }
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(100), body: ByteBuffer(bytes: jpeg[100...])) { response in
                #expect(response.status == .noContent)
            }
        }
        #expect(Fixtures.readFile(root.inbox + "/prod/later.jpg") == jpeg)
    }

    @Test(arguments: [
        ("length", "", "filename a.jpg,env prod", 400, "length_missing"),
        ("length", "-1", "filename a.jpg,env prod", 400, "bad_length"),
        ("length", "99999999999999999999999", "filename a.jpg,env prod", 400, "bad_length"),
        ("length", "0", "filename a.jpg,env prod", 400, "empty"),
        ("length", "2000000", "filename a.jpg,env prod", 413, "too_large"),
        ("environment", "500", "filename a.jpg,env staging", 404, "not_found"),
        ("name", "500", "env prod", 400, "name_missing"),
        ("name", "500", "filename .hidden.jpg,env prod", 400, "name_refused"),
        ("metadata", "500", "filename a.jpg,env !!!", 400, "bad_metadata"),
        ("metadata", "500", "filename b64:/w==,env prod", 400, "bad_metadata"),  // the byte FF: no UTF-8
        ("version", "500", "filename a.jpg,env prod", 412, "tus_version"),
        ("no version", "500", "filename a.jpg,env prod", 412, "tus_version"),
    ])
    func aBadResumableUploadIsRefusedAtItsCreationSayingWhy(what: String, length: String, fields: String, status: Int, code: String) async throws {
        var headers: HTTPFields = [:]
        if what != "no version" { headers[HTTPFields.Element.Name("Tus-Resumable")!] = what == "version" ? "0.2.2" : "1.0.0" }
        if !length.isEmpty { headers[HTTPFields.Element.Name("Upload-Length")!] = length }
        // Plain text in the test's table, base64 on the wire (a value that is not base64 stays as it is).
        headers[HTTPFields.Element.Name("Upload-Metadata")!] = fields.split(separator: ",").map { pair in
            let parts = pair.split(separator: " ")
            if parts[1].hasPrefix("b64:") { return "\(parts[0]) \(parts[1].dropFirst(4))" }  // already base64
            return parts[1] == "!!!" ? String(pair) : "\(parts[0]) \(Data(parts[1].utf8).base64EncodedString())"
        }.joined(separator: ",")
        let creation = headers
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/uploads", method: .post, headers: creation) { response in
                #expect(response.status.code == status, "\(what)")
                let error = try #require(try object(response.body)["error"] as? [String: Any])
                #expect(error["code"] as? String == code)
                // Said where a tus client gives it, not as a query the protocol has no place for.
                if code == "name_missing" { #expect((error["message"] as? String)?.contains("Upload-Metadata") == true, "\(error)") }
                // A refusal is a tus answer too, and names the version.
                #expect(header(response, "Tus-Resumable") == "1.0.0", "\(what)")
            }
        }
        #expect(inboxFiles.isEmpty, "\(inboxFiles)")
    }

    /// What intake cannot take is dropped as soon as its first bytes say so; bytes past the
    /// declared length are refused and not kept.
    @Test func aResumableUploadOfWhatIsNoImageIsDroppedAtItsFirstBytes() async throws {
        try await app().test(.router) { client in
            func create(_ length: Int) async throws -> String {
                var headers = Self.tus
                headers[HTTPFields.Element.Name("Upload-Length")!] = String(length)
                headers[HTTPFields.Element.Name("Upload-Metadata")!] = Self.metadata([("filename", "x.jpg"), ("env", "prod")])
                return try await client.execute(uri: "/v1/uploads", method: .post, headers: headers) { response in
                    try #require(try object(response.body)["uploadId"] as? String)
                }
            }
            let psd = Self.body("psd")
            let id = try await create(psd.count + 100)
            try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(0), body: ByteBuffer(bytes: psd)) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            try await client.execute(uri: "/v1/uploads/\(id)", method: .head, headers: Self.tus) { response in
                #expect(response.status == .notFound)
            }
            let jpeg = Photos.jpeg(width: 32, height: 32, seed: 8)
            let short = try await create(jpeg.count - 10)
            try await client.execute(uri: "/v1/uploads/\(short)", method: .patch, headers: Self.patch(0), body: ByteBuffer(bytes: jpeg)) { response in
                #expect(response.status == .badRequest)
                let error = try object(response.body)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "beyond_length")
            }
            try await client.execute(uri: "/v1/uploads/\(short)", method: .head, headers: Self.tus) { response in
                #expect(header(response, "Upload-Offset") == "0")
            }
        }
        #expect(inboxFiles.filter { !$0.hasPrefix(".intake-uploads/") }.isEmpty, "\(inboxFiles)")
    }

    /// One writer per upload: a second PATCH while the first is still arriving is refused (423),
    /// and the first goes on to its end unharmed.
    @Test func aSecondWriterOfOneUploadIsLockedOutWhileTheFirstWrites() async throws {
        let writer = InboxWriter(root: root, maxBytes: 1_000_000)
        let uploads = ResumableUploads(writer: writer, rules: InboxRules(environments: ["prod"], ignoredSuffixes: [], meters: .any))
        let jpeg = Photos.jpeg(width: 64, height: 64, seed: 23)
        let (id, _) = try uploads.create(length: String(jpeg.count), metadata: Self.metadata([("filename", "one.jpg"), ("env", "prod")]))
        let (body, feed) = AsyncStream<ByteBuffer>.makeStream()
        let half = jpeg.count / 2
        feed.yield(ByteBuffer(bytes: jpeg[..<half]))
        let first = Task { try await uploads.append(id.rawValue, offset: "0", contentType: "application/offset+octet-stream", body: body) }
        // Its first half on disk: the first request holds the upload and waits for more.
        let part = writer.uploadFolder + "/\(id).tus.part"
        let deadline = ContinuousClock.now + .seconds(10)
        while (Fixtures.readFile(part)?.count ?? 0) < half && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        do {
            _ = try await uploads.append(
                id.rawValue, offset: "0", contentType: "application/offset+octet-stream", body: AsyncStream<ByteBuffer> { $0.finish() })
            Issue.record("a second writer was let in")
        } catch {
            #expect(error.status.code == 423)
            #expect(error.code == "upload_busy")
        }
        feed.yield(ByteBuffer(bytes: jpeg[half...]))
        feed.finish()
        let finished = try await first.value
        #expect(finished.offset == jpeg.count)
        #expect(Fixtures.readFile(root.inbox + "/prod/one.jpg") == jpeg)
    }

    /// Uploads made first, with no destination (the old presign step), are held when whole and
    /// become the images of one job by `POST /v1/jobs`, which answers as the cloud API did: one
    /// job id, `imageCount`, and `detections` per `imageIndex` as the daemon records each image.
    @Test func uploadsMadeFirstBecomeOneJobOfSeveralImages() async throws {
        let photos = [Photos.jpeg(width: 40, height: 30, seed: 11), Photos.jpeg(width: 30, height: 40, seed: 12)]
        try await app().test(.router) { client in
            func upload(_ name: String, _ bytes: [UInt8], fields: [(String, String)] = []) async throws -> String {
                var headers = Self.tus
                headers[HTTPFields.Element.Name("Upload-Length")!] = String(bytes.count)
                headers[HTTPFields.Element.Name("Upload-Metadata")!] = Self.metadata([("filename", name)] + fields)
                let created = headers
                let id = try await client.execute(uri: "/v1/uploads", method: .post, headers: created) { response in
                    #expect(response.status == .created)
                    return try #require(try object(response.body)["uploadId"] as? String)
                }
                try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(0), body: ByteBuffer(bytes: bytes)) { response in
                    #expect(response.status == .noContent)
                    let placed = response.headers[.location] != nil
                    #expect(placed == fields.contains { $0.0 == "env" }, "placed: \(placed)")
                }
                return id
            }
            func submit(_ body: String) async throws -> (status: Int, answer: [String: Any]) {
                try await client.execute(uri: "/v1/jobs", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)) {
                    response in (Int(response.status.code), try object(response.body))
                }
            }
            let first = try await upload("a.jpg", photos[0]), second = try await upload("b.jpg", photos[1])
            #expect(inboxFiles.allSatisfy { $0.hasPrefix(".") }, "a held upload reached the inbox: \(inboxFiles)")

            // Refused, saying why, and nothing placed.
            let unfinished = try await client.execute(uri: "/v1/uploads", method: .post, headers: {
                var headers = Self.tus
                headers[HTTPFields.Element.Name("Upload-Length")!] = "500"
                headers[HTTPFields.Element.Name("Upload-Metadata")!] = Self.metadata([("filename", "c.jpg")])
                return headers
            }()) { response in try #require(try object(response.body)["uploadId"] as? String) }
            let ownDestination = try await upload("d.jpg", photos[0], fields: [("env", "beta")])
            for (body, status, code) in [
                ("{\"uploads\": [\"\(first)\", \"\(unfinished)\"], \"env\": \"prod\"}", 409, "upload_incomplete"),
                ("{\"uploads\": [\"\(first)\", \"\(ownDestination)\"], \"env\": \"prod\"}", 409, "upload_placed"),
                ("{\"uploads\": [\"\(first)\", \"\(first)\"], \"env\": \"prod\"}", 400, "duplicate_upload"),
                ("{\"uploads\": [\"\(first)\", \"06h0000000000z\"], \"env\": \"prod\"}", 404, "not_found"),
                ("{\"uploads\": [\"\(first)\"], \"env\": \"staging\"}", 404, "not_found"),
                ("{\"uploads\": [], \"env\": \"prod\"}", 400, "bad_uploads"),
                ("{\"env\": \"prod\"}", 400, "bad_json"),
            ] {
                let (answered, answer) = try await submit(body)
                #expect(answered == status, "\(body): \(answer)")
                #expect((answer["error"] as? [String: Any])?["code"] as? String == code, "\(body): \(answer)")
            }
            #expect(FileManagerless.list(root.inbox + "/prod").isEmpty)
            #expect(FileManagerless.list(root.inbox + "/.intake-submissions").isEmpty, "a refused job left its record")

            let (status, accepted) = try await submit(
                "{\"uploads\": [\"\(first)\", \"\(second)\"], \"env\": \"prod\", \"meter\": \"MTR-3\", \"metadata\": {\"site\": \"north\"}}")
            #expect(status == 202, "\(accepted)")
            let job = try #require(accepted["jobId"] as? String)
            #expect(accepted["imageCount"] as? Int == 2)
            #expect(accepted["images"] as? [String] == [first, second])
            #expect(Fixtures.readFile(root.inbox + "/prod/MTR-3/a.jpg") == photos[0])
            #expect(Fixtures.readFile(root.inbox + "/prod/MTR-3/b.jpg") == photos[1])
            let (again, refusal) = try await submit("{\"uploads\": [\"\(first)\"], \"env\": \"prod\"}")
            #expect(again == 409, "an image was placed twice")
            // Said as it is: placed by the job that took it, not made with a destination of its own.
            #expect(((refusal["error"] as? [String: Any])?["message"] as? String)?.contains("placed already") == true, "\(refusal)")

            func shown() async throws -> [String: Any] {
                try await client.execute(uri: "/v1/jobs/\(job)", method: .get) { response in
                    #expect(response.status == .ok)
                    return try object(response.body)
                }
            }
            var view = try await shown()
            #expect(view["status"] as? String == "PENDING" && view["imageCount"] as? Int == 2, "\(view)")
            #expect((view["metadata"] as? [String: String])?["site"] == "north")
            #expect((view["images"] as? [[String: Any]])?.map { $0["jobId"] as? String } == [first, second])

            // The daemon's records of each image, as it would write them: the first done, the second begun.
            let database = try Database(path: root.database)
            for (index, id) in [first, second].enumerated() {
                try database.insertJob(NewJob(id: id, environment: "prod", name: ["a.jpg", "b.jpg"][index], sourcePath: "prod/MTR-3/x.jpg",
                                              spoolPath: "/nowhere", createdAt: 1_700_000_000_000))
            }
            try database.transaction {
                try database.complete(JobCompletion(
                    id: first, status: .done, attempts: 1, startedAt: 1_700_000_000_100, finishedAt: 1_700_000_000_200, finalPath: "/nowhere", bytes: 10,
                    labels: [LabelRecord(name: "meter", confidence: 0.9, source: "builtin", box: nil)]))
            }
            view = try await shown()
            #expect(view["status"] as? String == "PROCESSING", "\(view)")
            try database.transaction {
                try database.complete(JobCompletion(
                    id: second, status: .failed, attempts: 1, startedAt: 1_700_000_000_100, finishedAt: 1_700_000_000_300, finalPath: "/nowhere",
                    bytes: 10, labels: []))
            }
            view = try await shown()
            #expect(view["status"] as? String == "FAILED", "\(view)")
            let detections = try #require(view["detections"] as? [[String: Any]])
            #expect(detections.map { $0["imageIndex"] as? Int } == [0, 1])
            #expect(((detections[0]["detections"] as? [[String: Any]])?.first?["label"] as? String) == "meter")
            #expect(detections[1]["detectionCount"] as? Int == 0)
        }
    }

    /// Several files in one `multipart/form-data` request (a browser form, or the cloud API's
    /// multi-file upload) are one job of several images; its other fields are the job's metadata.
    @Test func aFormOfSeveralFilesIsOneJobOfSeveralImages() async throws {
        let photos = [Photos.jpeg(width: 48, height: 32, seed: 21), PNGWriter(width: 20, height: 20, colorType: 2).encode(rows: (0..<20).map { y in (0..<60).map { UInt8(($0 * 7 + y * 13) % 256) } })]
        let boundary = MultipartReaderTests.boundary
        let headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(boundary)"]
        try await app().test(.router) { client in
            let body = MultipartReaderTests.body([
                (name: "files", filename: "one.jpg", content: photos[0]), (name: "site", filename: nil, content: Array("north".utf8)),
                (name: "files", filename: "two.png", content: photos[1]),
            ])
            let job = try await client.execute(uri: "/v1/inbox/prod/MTR-4", method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .accepted)
                let answer = try object(response.body)
                #expect(answer["imageCount"] as? Int == 2)
                let images = try #require(answer["images"] as? [[String: Any]])
                #expect(images.map { $0["name"] as? String } == ["one.jpg", "two.png"])
                #expect(images.map { $0["sha256"] as? String } == photos.map { SHA256.hex(of: $0) })
                return try #require(answer["jobId"] as? String)
            }
            #expect(Fixtures.readFile(root.inbox + "/prod/MTR-4/one.jpg") == photos[0])
            #expect(Fixtures.readFile(root.inbox + "/prod/MTR-4/two.png") == photos[1])
            #expect(FileManagerless.list(root.inbox + "/.intake-uploads").isEmpty)
            try await client.execute(uri: "/v1/jobs/\(job)", method: .get) { response in
                let view = try object(response.body)
                #expect(view["status"] as? String == "PENDING" && view["imageCount"] as? Int == 2, "\(view)")
                #expect((view["metadata"] as? [String: String])?["site"] == "north")
            }
        }
    }

    /// A form is one upload of several files: `max_bytes` bounds them together, not each alone,
    /// and a declared length over it is refused before anything is written.
    @Test func aFormWhoseFilesTogetherAreOverTheLimitIsRefusedAndLeavesNothing() async throws {
        let photos = [Photos.jpeg(width: 200, height: 150, seed: 51), Photos.jpeg(width: 200, height: 150, seed: 52)]
        let limit = max(photos[0].count, photos[1].count) * 3 / 2
        #expect(photos[0].count + photos[1].count > limit)
        let headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(MultipartReaderTests.boundary)"]
        try await app(maxBytes: limit).test(.router) { client in
            let both = MultipartReaderTests.body([
                (name: "files", filename: "a.jpg", content: photos[0]), (name: "files", filename: "b.jpg", content: photos[1]),
            ])
            try await client.execute(uri: "/v1/inbox/prod", method: .post, headers: headers, body: ByteBuffer(bytes: both)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(String(buffer: response.body).contains("the form's files together are over the limit of \(limit) bytes"))
            }
            var declared = headers
            declared[.contentLength] = "\(Int.max)"
            try await client.execute(uri: "/v1/inbox/prod", method: .post, headers: declared, body: ByteBuffer(bytes: both)) { response in
                #expect(response.status == .contentTooLarge)
            }
            #expect(inboxFiles.isEmpty, "\(inboxFiles)")
            #expect(FileManagerless.list(root.inbox + "/.intake-uploads").isEmpty)
            // Each alone is within it.
            let one = MultipartReaderTests.body([(name: "files", filename: "a.jpg", content: photos[0])])
            try await client.execute(uri: "/v1/inbox/prod", method: .post, headers: headers, body: ByteBuffer(bytes: one)) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(inboxFiles.filter { !$0.hasPrefix(".intake-submissions/") } == ["prod/a.jpg"], "\(inboxFiles)")
    }

    /// Names are told apart by their bytes, as the file system does: "é" composed and decomposed
    /// are two files, not a duplicate.
    @Test func namesThatDifferOnlyInUnicodeFormAreTwoFiles() async throws {
        let composed = "caf\u{E9}.jpg", decomposed = "cafe\u{301}.jpg"
        let photos = [Photos.jpeg(width: 24, height: 16, seed: 41), Photos.jpeg(width: 24, height: 16, seed: 42)]
        let headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(MultipartReaderTests.boundary)"]
        try await app().test(.router) { client in
            let body = MultipartReaderTests.body([
                (name: "files", filename: composed, content: photos[0]), (name: "files", filename: decomposed, content: photos[1]),
            ])
            try await client.execute(uri: "/v1/inbox/prod", method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(Fixtures.readFile(root.inbox + "/prod/" + composed) == photos[0])
        #expect(Fixtures.readFile(root.inbox + "/prod/" + decomposed) == photos[1])
    }

    /// A job of several images whose one name is taken in the inbox is refused whole: its other
    /// images are not left behind as jobs of their own (a form, or uploads made first). A link
    /// whose target is gone holds its name as a file does (the check used to follow the link, and
    /// the rename of the second image then failed after the first was in).
    @Test(arguments: ["a waiting file", "a dangling link"])
    func aJobOfSeveralImagesWithOneNameTakenLeavesNothingBehind(takenBy: String) async throws {
        let photos = [Photos.jpeg(width: 24, height: 16, seed: 31), Photos.jpeg(width: 24, height: 16, seed: 32)]
        try DurableFile.makeFolders(root.inbox + "/prod")
        if takenBy == "a dangling link" {
            #expect(symlink("/nonexistent/b.jpg", root.inbox + "/prod/b.jpg") == 0)
        } else {
            try DurableFile.write(Photos.jpeg(width: 8, height: 8, seed: 33), to: root.inbox + "/prod/b.jpg")
        }
        let headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(MultipartReaderTests.boundary)"]
        try await app().test(.router) { client in
            let body = MultipartReaderTests.body([
                (name: "files", filename: "a.jpg", content: photos[0]), (name: "files", filename: "b.jpg", content: photos[1]),
            ])
            try await client.execute(uri: "/v1/inbox/prod", method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .conflict)
            }
            #expect(inboxFiles == ["prod/b.jpg"], "\(inboxFiles)")

            // The same two as uploads made first, then a job: refused, and the uploads wait for a retry.
            var ids: [String] = []
            for (name, photo) in zip(["a.jpg", "b.jpg"], photos) {
                var headers = Self.tus
                headers[HTTPFields.Element.Name("Upload-Length")!] = String(photo.count)
                headers[HTTPFields.Element.Name("Upload-Metadata")!] = Self.metadata([("filename", name)])
                let id = try await client.execute(uri: "/v1/uploads", method: .post, headers: headers) { response in
                    try #require(try object(response.body)["uploadId"] as? String)
                }
                try await client.execute(uri: "/v1/uploads/\(id)", method: .patch, headers: Self.patch(0), body: ByteBuffer(bytes: photo)) { response in
                    #expect(response.status == .noContent)
                }
                ids.append(id)
            }
            let job = ByteBuffer(string: "{\"uploads\": [\"\(ids[0])\", \"\(ids[1])\"], \"env\": \"prod\"}")
            let json: HTTPFields = [.contentType: "application/json"]
            try await client.execute(uri: "/v1/jobs", method: .post, headers: json, body: job) { response in
                #expect(response.status == .conflict)
            }
            #expect(inboxFiles.filter { !$0.hasPrefix(".intake-uploads/") } == ["prod/b.jpg"], "\(inboxFiles)")
            unlink(root.inbox + "/prod/b.jpg")
            try await client.execute(uri: "/v1/jobs", method: .post, headers: json, body: job) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(Fixtures.readFile(root.inbox + "/prod/a.jpg") == photos[0])
        #expect(Fixtures.readFile(root.inbox + "/prod/b.jpg") == photos[1])
    }

    /// A writer on the test's root, its upload folder made, as `placeAll` finds it.
    func uploadWriter() throws -> InboxWriter {
        let writer = InboxWriter(root: root, maxBytes: 1_000_000)
        try DurableFile.makeFolders(writer.uploadFolder)
        return writer
    }

    /// `photo` written at `temporary`, held there to be placed as `name`.
    static func held(_ photo: [UInt8], as name: String, at temporary: String) throws -> InboxWriter.HeldImage {
        try DurableFile.write(photo, to: temporary)
        return InboxWriter.HeldImage(temporary: temporary, receipt: receipt(name, photo))
    }

    /// When an image of a job cannot be placed after others were, those others are taken back
    /// out of the inbox to where they waited, and the client is told nothing became a job.
    @Test func anImageThatCannotBePlacedTakesBackThoseBeforeIt() throws {
        let writer = try uploadWriter()
        let photo = Photos.jpeg(width: 24, height: 16, seed: 36)
        let first = try Self.held(photo, as: "a.jpg", at: writer.uploadFolder + "/first.part")
        // The second's bytes are gone (a disk that failed would refuse its rename the same way).
        let second = InboxWriter.HeldImage(temporary: writer.uploadFolder + "/second.part", receipt: Self.receipt("b.jpg", photo))
        do {
            _ = try writer.placeAll([first, second])
            Issue.record("a job with an image that cannot be placed was accepted")
        } catch {
            #expect(error.claimed.isEmpty)
            #expect(error.answer(submission: "S").message == error.error.message)
        }
        #expect(inboxFiles.filter { !$0.hasPrefix(".intake-uploads/") }.isEmpty, "\(inboxFiles)")
        #expect(Fixtures.readFile(first.temporary) == photo, "the image taken back is not where it waited")
        #expect(writer.pendingUpload(first.receipt.job) == nil)
    }

    /// An image the daemon claimed before it could be taken back is a job: it is left to the
    /// daemon, and so is a file of the same name dropped after that claim.
    @Test func anImageClaimedAlreadyIsNotTakenBackNorAnotherOfItsName() throws {
        let writer = try uploadWriter()
        let photo = Photos.jpeg(width: 24, height: 16, seed: 37)
        let image = try Self.held(photo, as: "a.jpg", at: writer.uploadFolder + "/first.part")
        var status = stat()
        #expect(lstat(image.temporary, &status) == 0)
        #expect(try writer.placeAll([image]) == [image.receipt])
        // The daemon's claim: a rename out of the inbox.
        #expect(rename(root.inbox + "/prod/a.jpg", folder.path + "/claimed.jpg") == 0)
        #expect(!writer.withdraw(image, inode: status.st_ino))
        let other = Photos.jpeg(width: 8, height: 8, seed: 38)
        try DurableFile.write(other, to: root.inbox + "/prod/a.jpg")
        #expect(!writer.withdraw(image, inode: status.st_ino))
        #expect(Fixtures.readFile(root.inbox + "/prod/a.jpg") == other)
        #expect(Fixtures.readFile(image.temporary) == nil)

        let failure = InboxWriter.PlacementFailure(error: APIError(.conflict, "name_waiting", "b.jpg is waiting"), claimed: [image.receipt])
        #expect(failure.answer(submission: "S").message.contains("a.jpg) were claimed by intaked before they could be taken back and are processed as job S"))
        #expect(failure.answer(submission: "S").status == .conflict)
    }

    static func receipt(_ name: String, _ bytes: [UInt8]) -> UploadReceipt {
        UploadReceipt(job: JobID.make(), target: try! UploadTarget(environment: "prod", meter: nil, name: name,
                      rules: InboxRules(environments: ["prod"], ignoredSuffixes: [], meters: .any).alreadyChecked),
                      sha256: "", bytes: bytes.count)
    }

    @Test(arguments: [
        ("psd", 415, "not_an_image"),
        ("same names", 400, "duplicate_name"),
        ("no file", 400, "no_files"),
        ("cut short", 400, "bad_multipart"),
        ("empty file", 400, "empty"),
        ("hidden name", 400, "name_refused"),
        ("empty name", 400, "name_missing"),
    ])
    func aBadFormIsRefusedWholeSayingWhyAndLeavesNothing(what: String, status: Int, code: String) async throws {
        let jpeg = Photos.jpeg(width: 16, height: 16, seed: 23)
        let parts: [(name: String, filename: String?, content: [UInt8])] =
            switch what {
            case "psd": [(name: "f", filename: "a.jpg", content: jpeg), (name: "f", filename: "b.jpg", content: Self.body("psd"))]
            case "same names": [(name: "f", filename: "a.jpg", content: jpeg), (name: "f", filename: "a.jpg", content: jpeg)]
            case "no file": [(name: "site", filename: nil, content: Array("x".utf8))]
            case "empty file": [(name: "f", filename: "a.jpg", content: jpeg), (name: "f", filename: "b.jpg", content: [])]
            case "hidden name": [(name: "f", filename: ".a.jpg", content: jpeg)]
            case "empty name": [(name: "f", filename: "", content: jpeg)]
            default: [(name: "f", filename: "a.jpg", content: jpeg)]
            }
        let body = MultipartReaderTests.body(parts, closed: what != "cut short")
        let headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(MultipartReaderTests.boundary)"]
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/inbox/prod", method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status.code == status, "\(what)")
                let error = try #require(try object(response.body)["error"] as? [String: Any])
                #expect(error["code"] as? String == code, "\(what): \(error)")
                // Asked for where a form gives it, not as a query.
                if code == "name_missing" { #expect((error["message"] as? String)?.contains("Content-Disposition") == true, "\(error)") }
            }
        }
        #expect(inboxFiles.isEmpty, "\(what): \(inboxFiles)")
    }

    @Test func healthSaysWhatWasChecked() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .serviceUnavailable, "no database yet")
            }
            _ = try Database(path: root.database)
            try DurableFile.makeFolders(root.inbox)
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let health = try object(response.body)
                #expect(health["database"] as? String == "readable")
                #expect(health["inbox"] as? String == "writable")
            }
        }
    }
}

extension HTTPFields {
    /// These fields with `name` set to `value`.
    func replacing(_ name: String, with value: String) -> HTTPFields {
        var fields = self
        fields[HTTPFields.Element.Name(name)!] = value
        return fields
    }
}
