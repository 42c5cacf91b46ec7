import Foundation
import Contracts
import Escalation

extension EscalationTrainer {
    public struct Result: Sendable {
        public var weights: EscalationWeights
        public var bestEpoch: Int
        public var holdout: [EscalationDialogue]
    }

    /// Splits off the hold-out (by a hash of the dialogue id), trains, and returns the parameters of
    /// the epoch with the lowest hold-out loss. Dialogues with one turn carry no label and are skipped.
    ///
    /// With `initial` (a trained discrete GRU), the ODE-RNN starts from it with a still field
    /// (A2 = 0, c2 = 0: exactly the GRU), and the GRU itself is the epoch-0 candidate: the ODE-RNN
    /// nests the GRU, so timing is added only where it lowers the hold-out loss.
    public static func train(_ dialogues: [EscalationDialogue], ode: Bool, options o: Options, gaps: EscalationGaps,
                             initial: EscalationWeights? = nil, log: (String) -> Void = { _ in }) -> Result {
        let labelled = dialogues.filter { $0.turns.count > 1 || $0.outcome != nil }
        let isHoldout = { (d: EscalationDialogue) in Int(EscalationRandom.fnv1a(d.id) % 100) < o.holdoutPercent }
        let train = labelled.filter { !isHoldout($0) }, holdout = labelled.filter(isHoldout)

        // Decode the next-2 risk one median gap after the turn; cap elapsed time at the 99th
        // percentile gap, so serving never extrapolates beyond the gaps training saw.
        var gapsSeen: [Double] = []
        for d in train { for i in d.turns.indices.dropFirst() { gapsSeen.append(d.turns[i].timestamp - d.turns[i - 1].timestamp) } }
        gapsSeen.sort()
        let nominal = gapsSeen.isEmpty ? 30 : gapsSeen[gapsSeen.count / 2]
        let longest = gapsSeen.isEmpty ? 3600 : gapsSeen[min(gapsSeen.count - 1, gapsSeen.count * 99 / 100)]

        var w = EscalationWeights(latentDim: o.latentDim, hiddenDim: o.hiddenDim, ode: ode,
                                  maxElapsedSeconds: max(longest.rounded(.up), 2 * nominal.rounded()), nominalGapSeconds: nominal.rounded())
        var rng = EscalationRandom(seed: o.seed)
        initialise(&w, rng: &rng, train: train, horizonSeconds: o.horizonSeconds)
        if let initial {
            precondition(initial.layout.count == w.layout.count, "the initial weights' shape differs")
            let l = w.layout, a1 = w.params[l.A1..<(l.A1 + l.M * l.L)]
            w.params = initial.params
            w.params.replaceSubrange(l.A1..<(l.A1 + l.M * l.L), with: a1)   // the field's input layer: fresh
            for i in l.A2..<(l.A2 + l.L * l.M) { w.params[i] = 0 }
            for i in l.c2..<(l.c2 + l.L) { w.params[i] = 0 }
            w.nominalGapSeconds = initial.nominalGapSeconds
            w.maxElapsedSeconds = initial.maxElapsedSeconds
        }

        let n = w.params.count
        var m = [Float](repeating: 0, count: n), v = m, grad = m
        /// The hold-out next-2-turns loss of the current parameters.
        func holdoutLoss() -> Float {
            var hl: Float = 0, hc: Float = 0
            var scratch = [Float](repeating: 0, count: n)
            for d in holdout {
                let r = lossAndGradient(d, w, horizonSeconds: o.horizonSeconds, horizonWeight: 0, grad: &scratch)
                hl += r.loss; hc += Float(r.count) * d.weight
            }
            return hl / max(hc, 1e-9)
        }
        var best = (loss: initial == nil ? Float.infinity : holdoutLoss(), epoch: 0, params: w.params)
        if initial != nil { log(String(format: "ode epoch 0 (the GRU, field still): hold-out next-2 loss %.4f", best.loss)) }
        var step = 0
        let epochs = initial != nil ? (o.odeEpochs ?? o.epochs) : o.epochs
        for epoch in 1...max(1, epochs) {
            var data = train
            if o.resampleGaps {
                for i in data.indices { data[i].synthesiseTimestamps(gaps, seed: o.seed &+ UInt64(epoch) &* 7919) }
            }
            var order = Array(data.indices)
            rng.shuffle(&order)
            var epochLoss: Float = 0, epochCount: Float = 0
            for start in stride(from: 0, to: order.count, by: o.batch) {
                for i in 0..<n { grad[i] = 0 }
                var loss: Float = 0, count: Float = 0
                for k in order[start..<min(start + o.batch, order.count)] {
                    let r = lossAndGradient(data[k], w, horizonSeconds: o.horizonSeconds, horizonWeight: o.horizonLossWeight, grad: &grad)
                    loss += r.loss; count += Float(r.count) * data[k].weight
                }
                guard count > 0 else { continue }
                epochLoss += loss; epochCount += count
                step += 1
                adamW(&w.params, grad: grad, scale: 1 / count, m: &m, v: &v, step: step, options: o)
            }
            let loss = holdoutLoss()
            if loss < best.loss { best = (loss, epoch, w.params) }
            if epoch == 1 || epoch % 10 == 0 || epoch == epochs {
                log(String(format: "%@ epoch %d: train loss %.4f, hold-out next-2 loss %.4f", ode ? "ode" : "gru",
                           epoch, epochLoss / max(epochCount, 1e-9), loss))
            }
        }
        w.params = best.params
        log("\(ode ? "ode" : "gru"): best hold-out epoch \(best.epoch)")
        return Result(weights: w, bestEpoch: best.epoch, holdout: holdout)
    }

    /// Uniform ±1/√fan-in matrices (the field's output ×0.1, so h starts nearly still), zero biases,
    /// and output biases at the training base rates.
    static func initialise(_ w: inout EscalationWeights, rng: inout EscalationRandom, train: [EscalationDialogue], horizonSeconds: Double) {
        let l = w.layout
        func fill(_ off: Int, _ count: Int, _ a: Float) {
            for i in 0..<count { w.params[off + i] = a * Float(2 * rng.uniform() - 1) }
        }
        let inv = { (fan: Int) in 1 / Float(fan).squareRoot() }
        for (W, U) in [(l.Wz, l.Uz), (l.Wr, l.Ur), (l.Wn, l.Un)] {
            fill(W, l.L * l.D, inv(l.D)); fill(U, l.L * l.L, inv(l.L))
        }
        fill(l.A1, l.M * l.L, inv(l.L)); fill(l.A2, l.L * l.M, 0.1 * inv(l.M))
        fill(l.w2, l.L, inv(l.L)); fill(l.wl, l.L, 0.1 * inv(l.L))
        var pos = 0, cnt = 0, posH = 0, cntH = 0
        for d in train {
            for i in d.turns.indices {
                if let y = d.label(at: i) { cnt += 1; if y { pos += 1 } }
                if let y = d.horizonLabel(at: i, seconds: horizonSeconds) { cntH += 1; if y { posH += 1 } }
            }
        }
        let base = min(max(Float(pos) / Float(max(cnt, 1)), 0.01), 0.99)
        let baseH = min(max(Float(posH) / Float(max(cntH, 1)), 0.01), 0.99)
        w.params[l.b2] = log(base / (1 - base))
        let lambda0 = -log(1 - baseH) / Float(w.tau(horizonSeconds))
        w.params[l.bl] = log(expm1(lambda0))
    }

    /// Forward and backward over one dialogue. Adds the gradient of the summed loss to `grad` and
    /// returns the summed next-2-turns BCE (plus horizonWeight × the within-horizon BCE), both
    /// times the dialogue's weight, and the number of labelled turns.
    static func lossAndGradient(_ d: EscalationDialogue, _ w: EscalationWeights, horizonSeconds: Double, horizonWeight: Float,
                                grad: inout [Float]) -> (loss: Float, count: Int) {
        let l = w.layout, L = l.L, T = d.turns.count
        let tauA = w.tau(w.nominalGapSeconds), tauH = w.tau(horizonSeconds)
        precondition(tauH > tauA, "the horizon must be longer than the nominal gap")
        let stepsA = w.steps(tauA), stepsB = w.steps(tauH - tauA)
        let xs = d.turns.map { EscalationForecaster.features($0.input, text: $0.text) }

        var hPre = [[Float]](), hPost = [[Float]](), caches = [[Float]]()
        var gapTapes = [[Float]](repeating: [], count: T), gapTau = [Float](repeating: 0, count: T), gapSteps = [Int](repeating: 0, count: T)
        var fcTapes = [[Float]](repeating: [], count: T), hA = [[Float]](repeating: [], count: T)
        var dLogit = [Float](repeating: 0, count: T), dLambda = [Float](repeating: 0, count: T), labelled = [Bool](repeating: false, count: T)
        var loss: Float = 0, count = 0
        let dw = d.weight

        grad.withUnsafeMutableBufferPointer { gb in
        w.params.withUnsafeBufferPointer { pb in
            let p = pb.baseAddress!, gp = gb.baseAddress!
            var h = [Float](repeating: 0, count: L)
            for i in 0..<T {
                var z = h + [0]
                if i > 0 && w.ode {
                    let tau = w.tau(d.turns[i].timestamp - d.turns[i - 1].timestamp)
                    if tau > 0 {
                        gapTau[i] = Float(tau); gapSteps[i] = w.steps(tau)
                        EscalationCell.rk4Forward(&z, tau: gapTau[i], steps: gapSteps[i], tape: &gapTapes[i], p, l, ode: true)
                    }
                }
                let pre = Array(z[0..<L])
                var post = [Float](repeating: 0, count: L), cache = [Float](repeating: 0, count: 3 * L)
                xs[i].withUnsafeBufferPointer { xb in pre.withUnsafeBufferPointer { hb in
                    post.withUnsafeMutableBufferPointer { ob in cache.withUnsafeMutableBufferPointer { cb in
                        EscalationCell.gru(ob.baseAddress!, cb.baseAddress!, xb.baseAddress!, hb.baseAddress!, p, l)
                    } }
                } }
                hPre.append(pre); hPost.append(post); caches.append(cache)
                h = post

                guard let y2 = d.label(at: i), let yH = d.horizonLabel(at: i, seconds: horizonSeconds) else { continue }
                labelled[i] = true; count += 1
                z = post + [0]
                EscalationCell.rk4Forward(&z, tau: Float(tauA) / 1, steps: stepsA, tape: &fcTapes[i], p, l, ode: w.ode)
                hA[i] = Array(z[0..<L])
                var s = p[l.b2]
                for j in 0..<L { s += p[l.w2 + j] * hA[i][j] }
                EscalationCell.rk4Forward(&z, tau: Float(tauH - tauA), steps: stepsB, tape: &fcTapes[i], p, l, ode: w.ode)
                let lam = max(z[L], 1e-6)
                let t2: Float = y2 ? 1 : 0
                loss += dw * (EscalationCell.softplus(s) - t2 * s)
                dLogit[i] = dw * (EscalationCell.sigmoid(s) - t2)
                if horizonWeight > 0 {
                    loss += dw * horizonWeight * (yH ? -log(-expm1(-lam)) : lam)
                    dLambda[i] = dw * horizonWeight * (yH ? -1 / expm1(lam) : 1)
                }
            }

            // Backward, last turn first; gCarry = ∂loss/∂hPost[i] from the turns after i.
            var gCarry = [Float](repeating: 0, count: L)
            for i in stride(from: T - 1, through: 0, by: -1) {
                var gh = gCarry
                if labelled[i] {
                    var gz = [Float](repeating: 0, count: L) + [dLambda[i]]
                    let mid = EscalationCell.rk4Backward(&gz, gp: gp, tau: Float(tauH - tauA), steps: stepsB, tape: fcTapes[i],
                                                         tapeEnd: fcTapes[i].count, p, l, ode: w.ode)
                    for j in 0..<L {
                        gz[j] += dLogit[i] * p[l.w2 + j]
                        gp[l.w2 + j] += dLogit[i] * hA[i][j]
                    }
                    gp[l.b2] += dLogit[i]
                    EscalationCell.rk4Backward(&gz, gp: gp, tau: Float(tauA) / 1, steps: stepsA, tape: fcTapes[i], tapeEnd: mid, p, l, ode: w.ode)
                    for j in 0..<L { gh[j] += gz[j] }
                }
                var gPre = [Float](repeating: 0, count: L)
                gPre.withUnsafeMutableBufferPointer { gpb in gh.withUnsafeBufferPointer { ghb in
                    caches[i].withUnsafeBufferPointer { cb in xs[i].withUnsafeBufferPointer { xb in hPre[i].withUnsafeBufferPointer { hb in
                        EscalationCell.gruBackward(gpb.baseAddress!, gp, ghb.baseAddress!, cb.baseAddress!, xb.baseAddress!, hb.baseAddress!, p, l)
                    } } }
                } }
                if gapSteps[i] > 0 {
                    var gz = gPre + [0]
                    EscalationCell.rk4Backward(&gz, gp: gp, tau: gapTau[i], steps: gapSteps[i], tape: gapTapes[i],
                                               tapeEnd: gapTapes[i].count, p, l, ode: true)
                    gCarry = Array(gz[0..<L])
                } else {
                    gCarry = gPre
                }
            }
        }
        }
        return (loss, count)
    }

    /// One AdamW step on grad·scale (β 0.9/0.999, ε 1e-8, decoupled weight decay).
    static func adamW(_ p: inout [Float], grad: [Float], scale: Float, m: inout [Float], v: inout [Float], step: Int, options o: Options) {
        let b1: Float = 0.9, b2: Float = 0.999
        let c1 = 1 - pow(b1, Float(step)), c2 = 1 - pow(b2, Float(step))
        for i in p.indices {
            let g = grad[i] * scale
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            p[i] -= o.learningRate * ((m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8) + o.weightDecay * p[i])
        }
    }
}
