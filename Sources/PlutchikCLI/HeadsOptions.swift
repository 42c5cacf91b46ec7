import ArgumentParser
import Emotion
import Foundation

/// Where the encoder and the heads are found, shared by `train`, `eval` and `score`.
///
/// Heads: `--heads-dir`, else env `PLUTCHIK_HEADS_DIR`, else the first `Models/heads` holding a
/// `manifest.json` found walking up from the current directory, then from the executable's
/// directory (so `.build/release/plutchik` run anywhere inside the repository finds the committed heads).
/// Encoder: `--model-dir`, else env `PLUTCHIK_MODEL_DIR`, else `~/.cache/plutchik/all-MiniLM-L6-v2`.
struct HeadsOptions: ParsableArguments {
    @Option(name: .long, help: "Directory with the heads' manifest.json and weights. Env: PLUTCHIK_HEADS_DIR; default: <repo>/Models/heads.")
    var headsDir: String?

    @Option(name: .long, help: "Directory with the MiniLM model.safetensors and vocab.txt. Env: PLUTCHIK_MODEL_DIR.")
    var modelDir: String?

    var modelDirectory: URL {
        if let modelDir { return URL(fileURLWithPath: modelDir) }
        if let env = Settings.environment["PLUTCHIK_MODEL_DIR"], !env.isEmpty { return URL(fileURLWithPath: env) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik/all-MiniLM-L6-v2")
    }

    /// The embedding cache directory (`~/.cache/plutchik`).
    static var cacheDirectory: URL {
        FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik")
    }

    func headsDirectory() throws -> URL {
        if let headsDir { return URL(fileURLWithPath: headsDir) }
        if let env = Settings.environment["PLUTCHIK_HEADS_DIR"], !env.isEmpty { return URL(fileURLWithPath: env) }
        if let found = locateInRepository("Models/heads", containing: "manifest.json") { return found }
        throw ValidationError("no heads found: pass --heads-dir, set PLUTCHIK_HEADS_DIR, or run inside the repository (Models/heads)")
    }

    func loadHeads() throws -> EmotionHeads {
        try EmotionHeads(directory: try headsDirectory())
    }
}

/// Writes a line to stderr.
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
