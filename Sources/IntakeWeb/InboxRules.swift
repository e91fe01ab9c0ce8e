import IntakeConfig
import IntakeCore
import IntakeMeter
import IntakeStore

/// What an upload's destination is checked against before a byte of it is written: the inbox's
/// environments, the name suffixes the daemon leaves alone (`[watch] ignore_suffixes`), and the
/// meters it knows.
struct InboxRules: Sendable {
    let environments: [String]
    let ignoredSuffixes: [String]
    let meters: KnownMeters

    init(environments: [String], ignoredSuffixes: [String], meters: KnownMeters) {
        self.environments = environments
        self.ignoredSuffixes = ignoredSuffixes
        self.meters = meters
    }

    init(_ configuration: IntakeConfiguration, root: StateRoot) {
        self.init(
            environments: configuration.environments.map(\.name), ignoredSuffixes: configuration.watch.ignoreSuffixes,
            meters: .configured(
                profilesFolder: AbsolutePath.resolving(configuration.meters.profilesDir), folderPattern: configuration.meters.folderPattern,
                database: root.database))
    }

    /// For placing an upload whose destination was checked when it was made: its bytes have all
    /// arrived, and a rule changed since (a restart with another configuration, a meter's readings
    /// removed) must not throw them away.
    var alreadyChecked: InboxRules { InboxRules(environments: environments, ignoredSuffixes: [], meters: .any) }

    /// 404 for an environment this intake does not have.
    func checkEnvironment(_ environment: String) throws(APIError) {
        guard environments.contains(environment) else {
            throw APIError.notFound("no environment \"\(environment)\"; this intake has \(environments.joined(separator: ", "))")
        }
    }

    /// 400 for a meter name that is no safe folder name, 404 for a meter intake does not know.
    func checkMeter(_ meter: String) throws(APIError) {
        try UploadTarget.check(meter, what: "meter name")
        guard meters.knows(meter) else {
            throw APIError.notFound(
                "no meter \"\(meter)\": it has no profile, no manual readings, and its name does not match meters.folder_pattern, so its photos would get no meter verdict; check the name, or upload to the environment alone")
        }
    }
}

/// Which meters the inbox knows, by the daemon's own rule for whether an inbox subfolder names a
/// meter (`MeterNaming` in IntakeDaemon): a profile in `meters.profiles_dir`, manual readings in
/// the database, or a whole name that `meters.folder_pattern` matches. A typo in a meter's name
/// would otherwise file its photos in a plain folder with no verdict, and nobody would know.
enum KnownMeters: Sendable {
    /// Every meter: for destinations checked before.
    case any
    case configured(profilesFolder: String, folderPattern: String?, database: String)

    func knows(_ meter: String) -> Bool {
        switch self {
        case .any:
            return true
        case .configured(let profilesFolder, let folderPattern, let database):
            if MeterProfile.find(meter: meter, in: profilesFolder) != nil { return true }
            // Compiled for each question: a Regex cannot be shared between threads, and an upload
            // naming a meter with neither profile nor readings is rare.
            if let folderPattern, let pattern = try? Regex(folderPattern), (try? pattern.wholeMatch(in: meter)) != nil { return true }
            // A database that cannot be read does not make a meter unknown: the upload is taken,
            // and the daemon decides when it claims the photo, as for any other producer.
            guard let readings = try? Database(path: database, readOnly: true) else { return true }
            return (try? readings.hasManualReadings(meter: meter)) ?? true
        }
    }
}
