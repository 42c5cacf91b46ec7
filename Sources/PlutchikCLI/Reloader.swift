import Foundation
import Kafka
import Logging
import Pipeline
import ServiceLifecycle
import UnixSignals

/// Reloads what `plutchik run` may change without a restart. On SIGHUP: the config file's tenant
/// settings (a file that does not parse or validate is logged, naming the bad key, and the
/// running settings stay), and the model. Every `modelPoll` as well: the model, when the files
/// in its directories changed. A new model is loaded beside the running one, off the processing
/// path, and the processor swaps it in between batches; one that fails to load is logged and the
/// running one stays.
struct Reloader: Service {
    struct TenantSettingsSource {
        let path: String
        let store: TenantPolicyStore
        let validate: @Sendable (TenantPolicies) throws -> Void
    }

    let tenantSettings: TenantSettingsSource?
    let analyzer: ModelAnalyzer
    let modelPoll: Duration?
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                        reloadTenantSettings()
                        await reloadModel(retryFailed: true)
                    }
                }
                if let modelPoll {
                    group.addTask {
                        while true {
                            try? await Task.sleep(for: modelPoll)
                            if Task.isCancelled { return }
                            await reloadModel(retryFailed: false)
                        }
                    }
                }
            }
        }
    }

    func reloadTenantSettings() {
        guard let t = tenantSettings else { return }
        do {
            let policies = try TenantSettings.policies(from: try Settings.parse(t.path))
            try t.validate(policies)
            t.store.policies = policies
            logger.info("tenant settings reloaded", metadata: ["config.path": "\(t.path)", "tenant.count": "\(policies.tenants.count)"])
        } catch {
            logger.error("tenant settings not reloaded; the running ones stay", metadata: ["config.path": "\(t.path)", "error": "\(error)"])
        }
    }

    /// Loads a changed model on a thread of its own (seconds of CPU and I/O) and stages it. A
    /// model that failed to load is tried again on SIGHUP, or by the poll once its files change.
    func reloadModel(retryFailed: Bool) async {
        let analyzer = self.analyzer
        do {
            if let version = try await runBlocking("plutchik.model-reload", { try analyzer.stageIfChanged(retryFailed: retryFailed) }) {
                logger.info("new model loaded; it takes over before the next batch", metadata: [
                    "model.version": "\(version)", "model.running": "\(analyzer.modelVersion)",
                ])
            }
        } catch {
            logger.error("model not reloaded; the running one stays", metadata: ["error": "\(error)"])
        }
    }
}
