import Foundation

/// Trains the escalation forecaster (or its discrete GRU baseline) with hand-derived gradients:
/// backprop through the GRU cell and through every fixed RK4 step of the ODE, AdamW, seeded.
///
/// Its settings are declared here because a model's manifest records them; the training itself
/// is in the `Training` module.
public enum EscalationTrainer {
    public struct Options: Sendable, Codable, Equatable {
        public var seed: UInt64 = 1
        public var epochs = 60
        /// Epochs of the ODE-RNN when it starts from the trained GRU (nil: `epochs`).
        public var odeEpochs: Int?
        /// Dialogues per minibatch.
        public var batch = 16
        public var learningRate: Float = 3e-3
        public var weightDecay: Float = 1e-4
        public var latentDim = 16
        public var hiddenDim = 32
        public var horizonSeconds = 120.0
        /// Weight of the within-horizon loss next to the next-2-turns loss.
        public var horizonLossWeight: Float = 0.5
        /// Share of the training dialogues held out for choosing the epoch (by hold-out loss).
        public var holdoutPercent = 15
        /// Draw fresh synthetic gaps every epoch (timing augmentation).
        public var resampleGaps = true
        public init() {}
    }
}
