// swift-tools-version: 6.1
// Revisit: a SwiftPM monorepo of small libraries (Modules/) and thin command-line tools (Tools/).
// Layout and dependency direction: Docs/Architecture.md. Each dependency and why: Docs/Dependencies.md.
import PackageDescription

let package = Package(
    name: "Revisit",
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "Losses", targets: ["Losses"]),
        .library(name: "Optimizers", targets: ["Optimizers"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Dataset", targets: ["Dataset"]),
        .library(name: "ERPImport", targets: ["ERPImport"]),
        .executable(name: "revisit-bench", targets: ["RevisitBench"]),
        .executable(name: "importer", targets: ["Importer"]),
        .executable(name: "fuzz-csv", targets: ["FuzzCSV"]),
        .executable(name: "fuzz-xml", targets: ["FuzzXML"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: System libraries (installed by `make deps`; see Docs/Dependencies.md)
        .systemLibrary(
            name: "COpenBLAS", path: "Modules/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CLibCSV", path: "Modules/CLibCSV",
            providers: [.apt(["libcsv-dev"])]),
        .systemLibrary(
            name: "CLibXML2", path: "Modules/CLibXML2", pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]),

        // MARK: Modules
        .target(name: "Formats", path: "Modules/Formats"),
        .target(name: "Tensors", dependencies: ["COpenBLAS", "Formats"], path: "Modules/Tensors"),
        .target(name: "Layers", dependencies: ["Tensors"], path: "Modules/Layers"),
        .target(name: "Losses", dependencies: ["Tensors"], path: "Modules/Losses"),
        .target(name: "Optimizers", dependencies: ["Tensors"], path: "Modules/Optimizers"),
        .target(name: "Models", dependencies: ["Layers", "Tensors"], path: "Modules/Models"),
        .target(name: "Dataset", dependencies: ["Formats"], path: "Modules/Dataset"),
        .target(name: "ERPImport", dependencies: ["Dataset", "Formats", "CLibCSV", "CLibXML2"], path: "Modules/ERPImport"),
        .target(
            name: "Benchmarking", dependencies: ["Tensors", "Layers", "Losses", "Optimizers", "Models", "COpenBLAS"],
            path: "Modules/Benchmarking"),

        // MARK: Tools
        .executableTarget(
            name: "RevisitBench",
            dependencies: ["Benchmarking", "Tensors", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/revisit-bench"),
        .executableTarget(
            name: "Importer",
            dependencies: ["ERPImport", "Dataset", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/importer"),
        // libFuzzer harnesses: real fuzzers only when built with `-sanitize=fuzzer -DFUZZING`
        // (CONTRIBUTING.md); in a normal build they are small programs that say so.
        .executableTarget(name: "FuzzCSV", dependencies: ["ERPImport"], path: "Tools/fuzz-csv"),
        .executableTarget(name: "FuzzXML", dependencies: ["ERPImport"], path: "Tools/fuzz-xml"),

        // MARK: Tests
        .target(name: "AllocationCounter", path: "Tests/Support/AllocationCounter"),
        .target(name: "TestSupport", dependencies: ["Tensors"], path: "Tests/Support/TestSupport"),
        .testTarget(name: "FormatsTests", dependencies: ["Formats"], path: "Tests/FormatsTests"),
        .testTarget(
            name: "TensorsTests", dependencies: ["Tensors", "AllocationCounter", "TestSupport"], path: "Tests/TensorsTests"),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Tensors", "AllocationCounter", "TestSupport"], path: "Tests/LayersTests"),
        .testTarget(name: "LossesTests", dependencies: ["Losses", "Tensors", "TestSupport"], path: "Tests/LossesTests"),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers", "Tensors", "TestSupport"], path: "Tests/OptimizersTests"),
        .testTarget(
            name: "ModelsTests", dependencies: ["Models", "Layers", "Losses", "Optimizers", "Tensors", "AllocationCounter", "TestSupport"],
            path: "Tests/ModelsTests"),
        .testTarget(name: "DatasetTests", dependencies: ["Dataset"], path: "Tests/DatasetTests"),
        .testTarget(name: "ERPImportTests", dependencies: ["ERPImport", "Dataset", "Formats"], path: "Tests/ERPImportTests"),
        .testTarget(name: "ToolsTests", dependencies: ["RevisitBench", "Importer", "Dataset"], path: "Tests/ToolsTests"),
        .testTarget(
            name: "SystemLibrariesTests", dependencies: ["CLibCSV", "CLibXML2", "COpenBLAS"],
            path: "Tests/SystemLibrariesTests"),
    ]
)
