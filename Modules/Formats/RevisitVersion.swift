/// The release every tool, model file and report names (`--version`, the model file's
/// `revisit_version`, `report.json`'s `revisit_version`). Bump it with every release; a file
/// records the build that wrote it so that a reader can say which release to use.
public enum RevisitVersion {
    public static let current = "0.9.0"
}
