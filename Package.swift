// swift-tools-version: 6.1
// Revisit: a SwiftPM monorepo of small libraries (Modules/) and thin command-line tools (Tools/).
// Layout and dependency direction: Docs/Architecture.md. Each dependency and why: Docs/Dependencies.md.
import PackageDescription

/// The importer's per-row loop (CSV and XML readers, validation, the external sort) accesses
/// class-held buffers millions of times per import; Swift's dynamic exclusivity checks on those
/// accesses were 3-4% of a 1M-row import's samples. Release builds of these two modules leave
/// them out; debug builds (every test run) keep them, so an overlapping access still fails a
/// test. Docs/PERFORMANCE.md, "Importer".
let importerHotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "Revisit",
    products: [
        .library(name: "Random", targets: ["Random"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "Losses", targets: ["Losses"]),
        .library(name: "Optimizers", targets: ["Optimizers"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Dataset", targets: ["Dataset"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Workflow", targets: ["Workflow"]),
        .library(name: "Backtest", targets: ["Backtest"]),
        .library(name: "Synth", targets: ["Synth"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "Features", targets: ["Features"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Monitoring", targets: ["Monitoring"]),
        .executable(name: "revisit-bench", targets: ["RevisitBench"]),
        .executable(name: "synth", targets: ["SynthTool"]),
        .executable(name: "trainer", targets: ["TrainerTool"]),
        .executable(name: "scorer", targets: ["ScorerTool"]),
        .library(name: "ERPImport", targets: ["ERPImport"]),
        .executable(name: "importer", targets: ["Importer"]),
        .executable(name: "fuzz-csv", targets: ["FuzzCSV"]),
        .executable(name: "fuzz-xml", targets: ["FuzzXML"]),
        .executable(name: "evaluator", targets: ["EvaluatorTool"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `--config FILE` (Docs/Dependencies.md): TOML through toml++.
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0")
    ],
    targets: [
        // MARK: System libraries (installed by `make deps`; see Docs/Dependencies.md)
        .systemLibrary(
            name: "COpenBLAS", path: "Modules/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CDNNL", path: "Modules/CDNNL",
            providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(
            name: "CLibCSV", path: "Modules/CLibCSV",
            providers: [.apt(["libcsv-dev"])]),
        .systemLibrary(
            name: "CLibXML2", path: "Modules/CLibXML2", pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(
            name: "CNLopt", path: "Modules/CNLopt", pkgConfig: "nlopt",
            providers: [.apt(["libnlopt-dev"])]),
        .systemLibrary(
            name: "CCrypto", path: "Modules/CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CXGBoost", path: "Modules/CXGBoost", pkgConfig: "xgboost",
            providers: [.apt(["libxgboost-dev"])]),

        // Vectorised transcendentals and recurrent-cell gate loops in C (Docs/PERFORMANCE.md):
        // -O3 in every build, so debug test runs exercise the same vectorised code as release.
        // -fno-math-errno: sqrtf need not set errno, so Adam's update vectorises (vsqrtps is
        // correctly rounded like the scalar sqrtss: the same bits, Docs/PERFORMANCE.md).
        .target(
            name: "CVectorMath", path: "Modules/CVectorMath", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        // The worker threads behind BlockParallelism (Modules/Tensors): no allocation per section.
        .target(name: "CBlockParallelism", path: "Modules/CBlockParallelism"),
        // renameat2 (RENAME_EXCHANGE / RENAME_NOREPLACE): the one-step commit of a directory.
        .target(name: "CFileSystem", path: "Modules/CFileSystem"),

        // MARK: Modules
        .target(name: "Formats", dependencies: ["CFileSystem", "CCrypto"], path: "Modules/Formats"),
        // SeededRandom on its own: Metrics, Evaluation and Synth draw from it without tensors.
        .target(name: "Random", path: "Modules/Random"),
        .target(
            name: "Tensors", dependencies: ["Random", "COpenBLAS", "CDNNL", "CBlockParallelism", "Formats"],
            path: "Modules/Tensors"),
        .target(name: "Layers", dependencies: ["Tensors", "CVectorMath"], path: "Modules/Layers"),
        .target(name: "Losses", dependencies: ["Tensors"], path: "Modules/Losses"),
        .target(name: "Optimizers", dependencies: ["Tensors", "CVectorMath"], path: "Modules/Optimizers"),
        .target(name: "Models", dependencies: ["Layers", "Tensors"], path: "Modules/Models"),
        .target(name: "Dataset", dependencies: ["Formats"], path: "Modules/Dataset"),
        // Sorting more rows than fit in memory: sorted runs on disk, then a k-way merge.
        .target(name: "CMemoryHints", path: "Modules/CMemoryHints"),
        .target(
            name: "ExternalSort", dependencies: ["CMemoryHints"], path: "Modules/ExternalSort",
            swiftSettings: importerHotPathSettings),
        // The statistical contenders and calibration: they know numbers, not customers.
        .target(name: "BGNBD", dependencies: ["CNLopt"], path: "Modules/BGNBD"),
        .target(name: "GradientBoosting", dependencies: ["CXGBoost"], path: "Modules/GradientBoosting"),
        .target(name: "Calibration", path: "Modules/Calibration"),
        // Apriori and class association rules (the rules baseline of BRIEF §1's RNN study).
        .target(name: "AssociationRules", path: "Modules/AssociationRules"),
        // Metrics needs Tensors only for SeededRandom (the bootstrap's resampling).
        .target(name: "Metrics", dependencies: ["Random"], path: "Modules/Metrics"),
        .target(
            name: "ERPImport", dependencies: ["Dataset", "ExternalSort", "Formats", "CLibCSV", "CLibXML2"],
            path: "Modules/ERPImport", swiftSettings: importerHotPathSettings),
        .target(
            name: "Training", dependencies: ["Models", "Layers", "Losses", "Optimizers", "Tensors"],
            path: "Modules/Training"),
        .target(
            name: "Workflow",
            dependencies: [
                "Training", "Features", "Dataset", "Metrics", "Evaluation", "Models", "Layers", "Tensors", "Formats",
                "BGNBD",
                "GradientBoosting", "Calibration", "AssociationRules", "COpenBLAS"
            ],
            path: "Modules/Workflow"),
        .target(
            name: "Backtest",
            dependencies: [
                "Workflow", "Training", "Features", "Dataset", "Metrics", "Evaluation", "Models", "Tensors",
                "Calibration"
            ],
            path: "Modules/Backtest"),
        .target(
            name: "CommandLineSupport",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"), "Tensors", "Features", "Formats"
            ],
            path: "Modules/CommandLineSupport"),
        // The typed choices of the trainer's, scorer's and evaluator's flags (models from the
        // contender registry, calibration, loss, …): apart from CommandLineSupport so that the
        // importer and synth do not link the models to print an error.
        .target(
            name: "CommandLineChoices",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"), "Features", "Training",
                "Calibration", "Workflow", "Backtest"
            ],
            path: "Modules/CommandLineChoices"),
        .target(name: "Synth", dependencies: ["Dataset", "Random", "Formats"], path: "Modules/Synth"),
        // Features uses BGNBD for the purchase-model inputs of the time-aware set (BG/NBD refitted at every as-of date).
        .target(name: "Features", dependencies: ["Dataset", "Formats", "Tensors", "BGNBD"], path: "Modules/Features"),
        // Evaluation draws its bootstrap resamples from Random (SeededRandom), not from Tensors.
        .target(
            name: "Evaluation", dependencies: ["Dataset", "Metrics", "Formats", "Random"], path: "Modules/Evaluation"),
        // The nightly job's checks: the audit history and its trend, the drift between two imports.
        .target(
            name: "Monitoring", dependencies: ["Evaluation", "Dataset", "Metrics", "Formats"],
            path: "Modules/Monitoring"),
        .target(
            name: "Benchmarking",
            dependencies: [
                "Tensors", "Layers", "Losses", "Optimizers", "Models", "Training", "Dataset", "Features", "Evaluation",
                "COpenBLAS"
            ],
            path: "Modules/Benchmarking"),

        // MARK: Tools
        .executableTarget(
            name: "RevisitBench",
            dependencies: [
                "Benchmarking", "Evaluation", "Tensors", "Formats",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Tools/revisit-bench"),
        .executableTarget(
            name: "SynthTool",
            dependencies: [
                "Synth", "Dataset", "CommandLineSupport", "Formats",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Tools/synth"),
        .executableTarget(
            name: "TrainerTool",
            dependencies: [
                "CommandLineSupport", "CommandLineChoices", "Workflow", "Training", "Features", "Dataset", "Models",
                "Tensors", "Formats", "Calibration",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Tools/trainer"),
        .executableTarget(
            name: "ScorerTool",
            dependencies: [
                "CommandLineSupport", "CommandLineChoices", "Workflow", "Training", "Features", "Dataset", "Tensors",
                "Formats", "Evaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Tools/scorer"),
        .executableTarget(
            name: "Importer",
            dependencies: [
                "ERPImport", "CommandLineSupport", "Dataset", "Formats",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Tools/importer"),
        // libFuzzer harnesses: real fuzzers only when built with `-sanitize=fuzzer -DFUZZING`
        // (CONTRIBUTING.md); in a normal build they are small programs that say so.
        .executableTarget(name: "FuzzCSV", dependencies: ["ERPImport"], path: "Tools/fuzz-csv"),
        .executableTarget(name: "FuzzXML", dependencies: ["ERPImport"], path: "Tools/fuzz-xml"),
        .executableTarget(
            name: "EvaluatorTool",
            dependencies: [
                "CommandLineSupport", "CommandLineChoices", "Evaluation", "Monitoring", "Backtest", "Workflow",
                "Training", "Calibration", "Features", "Models", "Tensors", "Dataset", "Formats",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Tools/evaluator"),

        // MARK: Tests
        .target(name: "AllocationCounter", path: "Tests/Support/AllocationCounter"),
        .target(
            name: "TestSupport", dependencies: ["Tensors", "Dataset", "Formats"], path: "Tests/Support/TestSupport"),
        .testTarget(name: "FormatsTests", dependencies: ["Formats"], path: "Tests/FormatsTests"),
        .testTarget(name: "ExternalSortTests", dependencies: ["ExternalSort"], path: "Tests/ExternalSortTests"),
        .testTarget(
            name: "TensorsTests", dependencies: ["Tensors", "CBlockParallelism", "AllocationCounter", "TestSupport"],
            path: "Tests/TensorsTests"),
        .testTarget(
            name: "LayersTests", dependencies: ["Layers", "Tensors", "CVectorMath", "AllocationCounter", "TestSupport"],
            path: "Tests/LayersTests"),
        .testTarget(name: "LossesTests", dependencies: ["Losses", "Tensors", "TestSupport"], path: "Tests/LossesTests"),
        .testTarget(
            name: "OptimizersTests", dependencies: ["Optimizers", "Tensors", "TestSupport"],
            path: "Tests/OptimizersTests"),
        .testTarget(
            name: "ModelsTests",
            dependencies: ["Models", "Layers", "Losses", "Optimizers", "Tensors", "AllocationCounter", "TestSupport"],
            path: "Tests/ModelsTests"),
        .testTarget(
            name: "TrainingTests", dependencies: ["Training", "Models", "Layers", "Tensors", "TestSupport"],
            path: "Tests/TrainingTests"),
        .testTarget(
            name: "WorkflowTests",
            dependencies: [
                "Workflow", "Training", "Features", "Dataset", "Evaluation", "Models", "Tensors", "TestSupport"
            ],
            path: "Tests/WorkflowTests"),
        .testTarget(
            name: "BacktestTests",
            dependencies: [
                "Backtest", "Evaluation", "Workflow", "Training", "Features", "Dataset", "ERPImport", "Metrics",
                "Models", "Tensors"
            ],
            path: "Tests/BacktestTests"),
        .testTarget(name: "DatasetTests", dependencies: ["Dataset", "TestSupport"], path: "Tests/DatasetTests"),
        .testTarget(name: "BGNBDTests", dependencies: ["BGNBD"], path: "Tests/BGNBDTests"),
        .testTarget(
            name: "AssociationRulesTests", dependencies: ["AssociationRules"], path: "Tests/AssociationRulesTests"),
        .testTarget(
            name: "GradientBoostingTests", dependencies: ["GradientBoosting"], path: "Tests/GradientBoostingTests"),
        .testTarget(name: "CalibrationTests", dependencies: ["Calibration"], path: "Tests/CalibrationTests"),
        .testTarget(name: "SynthTests", dependencies: ["Synth", "Dataset", "Tensors"], path: "Tests/SynthTests"),
        .testTarget(
            name: "MetricsTests", dependencies: ["Metrics", "Tensors", "TestSupport"], path: "Tests/MetricsTests"),
        .testTarget(
            name: "FeaturesTests", dependencies: ["Features", "Dataset", "Tensors", "TestSupport"],
            path: "Tests/FeaturesTests"),
        .testTarget(
            name: "ERPImportTests", dependencies: ["ERPImport", "Dataset", "Formats"], path: "Tests/ERPImportTests"),
        .testTarget(
            name: "EvaluationTests",
            dependencies: ["Evaluation", "Dataset", "Metrics", "Tensors", "Formats", "TestSupport"],
            path: "Tests/EvaluationTests"),
        .testTarget(
            name: "MonitoringTests",
            dependencies: ["Monitoring", "Evaluation", "Dataset", "Metrics", "Formats", "TestSupport"],
            path: "Tests/MonitoringTests"),
        .testTarget(
            name: "ToolsTests",
            dependencies: [
                "RevisitBench", "SynthTool", "Importer", "TrainerTool", "ScorerTool", "EvaluatorTool",
                "CommandLineSupport", "Dataset", "Evaluation", "Tensors", "Formats", "TestSupport"
            ], path: "Tests/ToolsTests"),
        .testTarget(
            name: "SystemLibrariesTests", dependencies: ["CLibCSV", "CLibXML2", "COpenBLAS"],
            path: "Tests/SystemLibrariesTests")
    ]
)
