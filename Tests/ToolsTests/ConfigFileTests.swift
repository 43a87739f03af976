import CommandLineSupport
import Foundation
import Testing

/// `--config FILE`: a command's flags from its TOML table, the command line winning.
@Suite("config files")
struct ConfigFileTests {
    static func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "revisit-config-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aTableBecomesFlagsBeforeTheCommandLine() throws {
        let path = try Self.write(
            """
            # the nightly pipeline
            [trainer]
            model = "xgboost"
            training-weeks = 26
            learning-rate = 0.0005
            quiet = true
            resume = false

            [evaluator.backtest]
            models = ["recency", "bgnbd"]   # comma-separated on the command line
            folds = 2
            """)
        let trainer = try ConfigFile.expand(["data", "--out", "m", "--config", path, "--epochs", "3"], tool: "trainer")
        #expect(
            trainer.arguments == [
                "--learning-rate", "0.0005", "--model", "xgboost", "--quiet", "--training-weeks", "26", "data", "--out",
                "m", "--epochs", "3"
            ])
        #expect(trainer.source == "\(path) [trainer]")
        // A subcommand's table goes after the subcommand's name.
        let backtest = try ConfigFile.expand(
            ["backtest", "--config=\(path)", "--folds", "4"], tool: "evaluator", subcommands: ["audit", "backtest"])
        #expect(backtest.arguments == ["backtest", "--folds", "2", "--models", "recency,bgnbd", "--folds", "4"])
        // Without --config nothing changes.
        #expect(try ConfigFile.expand(["x", "--y"], tool: "trainer").arguments == ["x", "--y"])
    }

    @Test func refusalsNameTheFileTheTableAndTheLine() throws {
        let path = try Self.write("[trainer]\nepochs = 3\n")
        #expect { try ConfigFile.expand(["--config", path], tool: "scorer") } throws: {
            "\($0)".contains("no [scorer] table for this command (the file has: trainer)")
        }
        let broken = try Self.write("[trainer]\nepochs = 3\nmodel = \n")
        #expect { try ConfigFile.expand(["--config", broken], tool: "trainer") } throws: {
            "\($0)".hasPrefix("\(broken):3: ")
        }
        let nested = try Self.write("[trainer]\n[trainer.extra]\nx = 1\n")
        #expect { try ConfigFile.expand(["--config", nested], tool: "trainer") } throws: {
            "\($0)".contains("[trainer] extra: a table where a flag's value belongs")
        }
        #expect { try ConfigFile.expand(["--config"], tool: "trainer") } throws: { "\($0)" == "--config needs a file" }
        #expect { try ConfigFile.expand(["--config", "/nonexistent/revisit.toml"], tool: "trainer") } throws: {
            "\($0)".contains("cannot read the config file")
        }
    }

    /// End to end: the tool reads the file, the command line wins, a bad flag in the file says
    /// where it came from.
    @Test func theToolsReadIt() throws {
        let path = try Self.write("[evaluator.trend]\nwindow = 500\n\n[trainer]\nepoch = 3\n")
        let trend = try ToolProcess.run(
            "evaluator", ["trend", "--config", path, "--history", "/nonexistent.csv", "--out", "/tmp/x"])
        #expect(
            trend.status == 1 && trend.stderr.contains("--window must be in 1...365 nights, got 500"), "\(trend.stderr)"
        )
        let overridden = try ToolProcess.run(
            "evaluator",
            ["trend", "--config", path, "--window", "7", "--history", "/nonexistent.csv", "--out", "/tmp/x"])
        #expect(overridden.status != 1, "the command line's --window 7 should win: \(overridden.stderr)")
        let trainer = try ToolProcess.run("trainer", ["data", "--out", "m", "--config", path])
        #expect(
            trainer.status == 1
                && trainer.stderr.hasPrefix(
                    "trainer: Unknown option '--epoch'. Did you mean '--epochs'? (flags from \(path) [trainer] included)"
                ), "\(trainer.stderr)")
    }
}
