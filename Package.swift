// swift-tools-version: 6.1
import PackageDescription

/// One set of upcoming-feature flags for every Swift target, as hummingbird and swift-log do.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// How the release executables are linked (`make release`), measured on `intake serve`'s resident
/// memory (bench/web.py: 44.7–45.3 MB before, 39.3–39.4 MB after):
/// - with LLVM's lld, which comes with the Swift toolchain, because it packs the relative
///   relocations of a position-independent executable (DT_RELR, glibc 2.36): 24 KB to read at
///   every start instead of 3 MB for 125,000 entries; gold, the default, cannot;
/// - with no dynamic symbols of their own (`link/executables.map`).
/// Only release: the tests link debug builds, and the fuzzing build's sanitizers need their symbols.
let releaseLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "--version-script=\(Context.packageDirectory)/link/executables.map",
        ], .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "intake",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "intaked", targets: ["intaked"]),
        .executable(name: "intake", targets: ["intake"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // HTTP for `intake serve`; its default traits (swift-configuration, full Foundation) are not needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // Hummingbird's own start-up and graceful shutdown, named here for the event follower's part in it.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // `intake submit --url`: the HTTP client Hummingbird's tests already build.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // The HTTP parts Hummingbird's pipeline carries, for the handler that answers 100-continue
        // (already built for Hummingbird: naming it costs nothing).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // The metrics registry of both processes and its Prometheus text (with swift-metrics, which
        // Hummingbird's request metrics report to).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        // C libraries behind walls: one system library target each, found through pkg-config.
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CExif", pkgConfig: "libexif", providers: [.apt(["libexif-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The shared store's client, for several hosts on one PostgreSQL ([store] url).
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // libpng reports errors by longjmp, which Swift cannot survive: this C shim owns the setjmp.
        .target(name: "CPNGReader", dependencies: ["CPNG"], cSettings: [.unsafeFlags(["-O2"])]),
        // giflib has no pkg-config file in Debian: the wall names its header and library itself.
        .systemLibrary(name: "CGIF", providers: [.apt(["libgif-dev"])]),
        .target(name: "CGIFReader", dependencies: ["CGIF"], cSettings: [.unsafeFlags(["-O2"])], linkerSettings: [.linkedLibrary("gif")]),
        // The formats phones, scanners and web tools send, each through its Debian library and
        // a small C reader that owns the library's callbacks, limits and error reporting.
        .systemLibrary(name: "CWebP", pkgConfig: "libwebpdemux", providers: [.apt(["libwebp-dev"])]),
        .target(name: "CWebPReader", dependencies: ["CWebP"], cSettings: [.unsafeFlags(["-O2"])]),
        .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
        .target(name: "CTIFFReader", dependencies: ["CTIFF"], cSettings: [.unsafeFlags(["-O2"])]),
        .systemLibrary(name: "CHEIF", pkgConfig: "libheif", providers: [.apt(["libheif-dev"])]),
        .target(name: "CHEIFReader", dependencies: ["CHEIF"], cSettings: [.unsafeFlags(["-O2"])]),
        // Linux system calls that Glibc's Swift module does not export.
        .target(name: "CLinux"),
        // Hot loops in C: the networks' convolution in AVX and the descriptors' comparison with
        // POPCNT, chosen at run time (the rest is built for baseline x86-64); the classifier's passes
        // over its analysis copy, which the C compiler vectorises.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"])]),
        // SHA-256 from OpenSSL's libcrypto, which uses the CPU's SHA instructions.
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // What every module shares and nothing else owns: the state root's layout, job ids, time
        // formatting, safe names, CSV, errno text.
        .target(name: "IntakeCore", dependencies: ["CLinux"], swiftSettings: swiftSettings),
        .target(name: "IntakeConfig", dependencies: ["IntakeCore"], swiftSettings: swiftSettings),
        .target(
            name: "IntakeCodecs",
            dependencies: [
                "IntakeCore", "CTurboJPEG", "CPNGReader", "CGIFReader", "CWebPReader", "CTIFFReader", "CHEIFReader", "CExif",
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IntakePipeline",
            dependencies: [
                "IntakeCore", "IntakeCodecs", "IntakeConfig", "IntakeClassify", "IntakeMeter", "CLinux", "CCrypto",
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "IntakeStore", dependencies: ["IntakeCore", "CSQLite", "CPostgres"], swiftSettings: swiftSettings),
        // Optimised in debug builds too: its tests align and read hundreds of photos, which
        // unoptimised code does some twenty times slower.
        .target(name: "IntakeMeter", dependencies: ["IntakeCore", "IntakeCodecs", "IntakeConfig", "CKernels"], swiftSettings: swiftSettings + [.unsafeFlags(["-O"])]),
        .target(name: "IntakeClassify", dependencies: ["IntakeCore", "IntakeCodecs", "CLinux", "CKernels"], swiftSettings: swiftSettings),
        .target(
            name: "IntakeDaemon",
            dependencies: [
                "IntakeCore", "IntakePipeline", "IntakeStore", "IntakeConfig", "IntakeCodecs", "IntakeClassify", "IntakeMeter", "CLinux",
                "IntakeRetention",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // `[retention]`: pruning and archiving expired jobs, for intaked and `intake prune`.
        .target(
            name: "IntakeRetention", dependencies: ["IntakeCore", "IntakeStore", "IntakeConfig", "IntakePipeline"],
            swiftSettings: swiftSettings),
        .target(
            name: "IntakeReports", dependencies: ["IntakeCore", "IntakeStore", "IntakeConfig", "IntakePipeline"],
            swiftSettings: swiftSettings),
        // `intake serve`: the upload and job API. It writes only into the inbox and reads the
        // database; intaked does all the processing and keeps no network of its own.
        .target(
            name: "IntakeWeb",
            dependencies: [
                "IntakeCore", "IntakeStore", "IntakeConfig", "IntakeCodecs", "IntakePipeline", "IntakeMeter", "CLinux",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "intake",
            dependencies: [
                "IntakeCore", "IntakePipeline", "IntakeConfig", "IntakeReports", "IntakeStore", "IntakeClassify", "IntakeMeter", "IntakeCodecs",
                "IntakeWeb", "IntakeRetention",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: releaseLinking
        ),
        // Trains the digit model on the corpus: `make train-digits` writes etc/meters/digits.weights.
        .executableTarget(
            name: "intake-train",
            dependencies: [
                "IntakeCore", "IntakeMeter", "IntakeCodecs", "IntakeClassify", "IntakeTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: releaseLinking),
        // What only training needs, kept out of the library the daemon links: the dial renderer.
        .target(name: "IntakeTraining", dependencies: ["IntakeCodecs", "IntakeMeter"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "intaked",
            dependencies: [
                "IntakeDaemon", "IntakeConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: releaseLinking
        ),

        // The fuzz targets: `make fuzz` builds this with libFuzzer and AddressSanitizer; a plain
        // build replays saved inputs (`intake-fuzz image crash-…`).
        .executableTarget(
            name: "intake-fuzz",
            dependencies: ["IntakeClassify", "IntakeCodecs", "IntakeConfig", "IntakeCore", "IntakeDaemon", "IntakePipeline", "IntakeReports"],
            swiftSettings: swiftSettings),

        // Fixture makers shared by the test targets: a PNG writer, an EXIF builder, test images.
        .target(name: "IntakeTestSupport", dependencies: ["IntakeCore", "IntakeCodecs", "IntakeStore"], path: "Tests/IntakeTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "IntakeCoreTests", dependencies: ["IntakeCore"], swiftSettings: swiftSettings),
        .testTarget(name: "IntakeConfigTests", dependencies: ["IntakeConfig", "IntakeTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "IntakeCodecsTests", dependencies: ["IntakeCodecs", "IntakeTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "IntakePipelineTests", dependencies: ["IntakeCore", "IntakePipeline", "IntakeCodecs", "IntakeTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "IntakeMeterTests", dependencies: ["IntakeCore", "IntakeMeter", "IntakeCodecs", "IntakeConfig", "IntakeTestSupport", "IntakeTraining"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IntakeClassifyTests", dependencies: ["IntakeClassify", "IntakeCodecs", "IntakeMeter", "IntakeTraining"], swiftSettings: swiftSettings),
        .testTarget(name: "IntakeStoreTests", dependencies: ["IntakeCore", "IntakeStore", "IntakeTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IntakeRetentionTests", dependencies: ["IntakeCore", "IntakeStore", "IntakeConfig", "IntakeRetention", "IntakeTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "IntakeDaemonTests", dependencies: ["IntakeCore", "IntakeDaemon", "IntakeStore", "IntakePipeline", "IntakeCodecs", "IntakeTestSupport", "IntakeConfig", "IntakeMeter"],
            swiftSettings: swiftSettings),
        // The slow ones: real intaked processes fed, killed and starved of disk, the corpus sweep.
        // `swift test --skip IntakeSystemTests` runs the rest in seconds; `make test` runs all.
        .testTarget(
            name: "IntakeSystemTests", dependencies: ["CLinux", "IntakeCore", "IntakePipeline", "IntakeStore", "IntakeCodecs", "IntakeTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "IntakeWebTests",
            dependencies: [
                "IntakeWeb", "IntakeCore", "IntakeStore", "IntakeConfig", "IntakeTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "IntakeCLITests", dependencies: ["IntakeCore", "IntakePipeline", "IntakeCodecs", "IntakeTestSupport", "IntakeStore", "IntakeReports"], swiftSettings: swiftSettings),
    ]
)
