#if canImport(Glibc)
import Glibc
#endif

/// Finds the configuration a command should use when none is named.
public enum ConfigurationFile {
    /// In a checkout, then as installed.
    public static let searchPaths = ["etc/intake.toml", "/etc/intake/intake.toml"]

    /// The configuration at `explicitPath`, or the first of `searchPaths` that exists, or the
    /// defaults. One that exists but cannot be read is an error, not passed over: the defaults
    /// would point the command at another state root without a word.
    public static func load(explicitPath: String?) throws -> IntakeConfiguration {
        if let explicitPath { return try IntakeConfiguration.load(path: explicitPath) }
        for path in searchPaths where access(path, F_OK) == 0 {
            return try IntakeConfiguration.load(path: path)
        }
        return IntakeConfiguration.defaults
    }
}
