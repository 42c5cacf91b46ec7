import Escalation
import Redaction
import Synchronization

/// What a tenant may set differently from the model's defaults. Nil fields fall back to the
/// defaults (`tenant.*` settings), then to the model: its manifest's alarm thresholds and neutral
/// threshold, and the writer's `hashTexts`.
public struct TenantPolicy: Sendable, Equatable {
    /// The escalation alarm's thresholds (fire at or above `alertUpper`, re-arm below `alertLower`).
    public var alertUpper: Float?
    public var alertLower: Float?
    /// The neutral gate's threshold: `emotion.is_neutral` and whether the turn is escalation evidence.
    public var neutralThreshold: Float?
    /// The share of the tenant's turns expected to be neutral: the gate's probability is moved from
    /// the base rate it was calibrated at to this one (`EmotionPrediction.shiftingNeutralPrior`)
    /// before the threshold; the escalation forecast reads the model's own probability.
    public var neutralBaseRate: Float?
    /// Store only a SHA-256 of the tenant's texts in the audit.
    public var hashTexts: Bool?
    /// What is redacted from the tenant's texts before they leave the process (nil: the default
    /// policy, every entity as a type tag).
    public var redaction: RedactionPolicy?

    public init(alertUpper: Float? = nil, alertLower: Float? = nil, neutralThreshold: Float? = nil, neutralBaseRate: Float? = nil,
                hashTexts: Bool? = nil, redaction: RedactionPolicy? = nil) {
        self.alertUpper = alertUpper
        self.alertLower = alertLower
        self.neutralThreshold = neutralThreshold
        self.neutralBaseRate = neutralBaseRate
        self.hashTexts = hashTexts
        self.redaction = redaction
    }

    /// This policy's fields, with `fallback`'s where this one has none.
    func over(_ fallback: TenantPolicy) -> TenantPolicy {
        TenantPolicy(alertUpper: alertUpper ?? fallback.alertUpper, alertLower: alertLower ?? fallback.alertLower,
                     neutralThreshold: neutralThreshold ?? fallback.neutralThreshold, neutralBaseRate: neutralBaseRate ?? fallback.neutralBaseRate,
                     hashTexts: hashTexts ?? fallback.hashTexts, redaction: redaction ?? fallback.redaction)
    }

    /// The redactor of this policy (the default one when it has none or, never after the CLI's
    /// validation, an invalid one).
    package func redactor() -> Redactor {
        guard let redaction, let r = try? Redactor(policy: redaction) else { return Redactor.standard }
        return r
    }

    /// The alarm with these thresholds over `model`'s.
    func alarm(over model: EscalationAlarm) -> EscalationAlarm? {
        guard alertUpper != nil || alertLower != nil else { return nil }
        return EscalationAlarm(upper: alertUpper ?? model.upper, lower: alertLower ?? model.lower)
    }
}

/// Per-tenant policies: `defaults` for every tenant (and turns without one), `tenants` over them.
public struct TenantPolicies: Sendable, Equatable {
    public var defaults: TenantPolicy
    public var tenants: [String: TenantPolicy]

    public init(defaults: TenantPolicy = .init(), tenants: [String: TenantPolicy] = [:]) {
        self.defaults = defaults
        self.tenants = tenants
    }

    /// The policy of `tenant`: its own settings over the defaults.
    public func policy(for tenant: String?) -> TenantPolicy {
        guard let tenant, let own = tenants[tenant] else { return defaults }
        return own.over(defaults)
    }

    /// The one privacy rule: `tenant`'s texts are kept only as hashes (in the audit, the live view,
    /// its events stream and its explanations) when the global `--hash-texts` (`always`) is on or
    /// the tenant's own (or default) `hash_texts` is; a tenant can add hashing, never remove it.
    public func hashesTexts(of tenant: String?, always: Bool) -> Bool {
        always || policy(for: tenant).hashTexts == true
    }

    /// Checks that every alarm a tenant would use has lower < upper against the model's alarm, that
    /// thresholds are probabilities, and that a neutral base rate lies strictly between 0 and 1 and
    /// has a calibrated rate to move from (`modelNeutralBaseRate`, the heads').
    /// - Throws: `PipelineError(.invalidConfiguration)` naming the tenant and setting.
    public func validate(modelAlarm: EscalationAlarm, modelNeutralBaseRate: Float? = nil) throws(PipelineError) {
        for (name, own) in [("*", defaults)] + tenants.sorted(by: { $0.key < $1.key }).map({ ($0.key, $0.value) }) {
            let p = name == "*" ? own : own.over(defaults)
            for (key, v) in [("alert_upper", p.alertUpper), ("alert_lower", p.alertLower), ("neutral_threshold", p.neutralThreshold)] {
                if let v, !(0...1).contains(v) {
                    throw PipelineError(.invalidConfiguration, "tenant.\(name).\(key) is \(v); it must be within 0...1")
                }
            }
            if let rate = p.neutralBaseRate {
                guard rate > 0 && rate < 1 else {
                    throw PipelineError(.invalidConfiguration, "tenant.\(name).neutral_base_rate is \(rate); it must lie strictly between 0 and 1")
                }
                guard modelNeutralBaseRate != nil else {
                    throw PipelineError(.invalidConfiguration, "tenant.\(name).neutral_base_rate is set, but the heads record no calibrated base rate "
                                        + "(neutral_base_rate in their manifest) to move from")
                }
            }
            let upper = p.alertUpper ?? modelAlarm.upper, lower = p.alertLower ?? modelAlarm.lower
            guard lower < upper else {
                throw PipelineError(.invalidConfiguration, "tenant.\(name): alert_lower \(lower) must be below alert_upper \(upper)")
            }
        }
    }
}

/// The current ``TenantPolicies``, shared by the analyzer and the processor and replaced whole on
/// reload (SIGHUP); each batch reads one snapshot.
public final class TenantPolicyStore: Sendable {
    private let current: Mutex<TenantPolicies>

    public init(_ policies: TenantPolicies = .init()) {
        current = Mutex(policies)
    }

    public var policies: TenantPolicies {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
