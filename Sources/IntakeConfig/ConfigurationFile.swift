#if canImport(Glibc)
import Glibc
#endif

/// Finds the configuration a command should use when none is named.
public enum ConfigurationFile {
    /// In a checkout, then as installed.
    public static let searchPaths = ["etc/intake.toml", "/etc/intake/intake.toml"]

    /// The configuration at `explicitPath`, or the first of `searchPaths` that exists, or the defaults.
    public static func load(explicitPath: String?) throws -> IntakeConfiguration {
        if let explicitPath { return try IntakeConfiguration.load(path: explicitPath) }
        for path in searchPaths where access(path, R_OK) == 0 {
            return try IntakeConfiguration.load(path: path)
        }
        return IntakeConfiguration.defaults
    }
}
