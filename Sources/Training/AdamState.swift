import Foundation
import Emotion

/// Adam moments for every parameter of a `HeadsNetwork` (decoupled weight decay on the matrices).
struct AdamState {
    var m: HeadsNetwork, v: HeadsNetwork, t = 0
    let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8

    init(_ net: HeadsNetwork) {
        let zero = HeadsNetwork(inputs: net.inputs, hidden: net.hidden,
                                w1: .init(repeating: 0, count: net.w1.count), b1: .init(repeating: 0, count: net.b1.count),
                                w2: .init(repeating: 0, count: net.w2.count), b2: .init(repeating: 0, count: net.b2.count))
        m = zero; v = zero
    }

    mutating func step(_ net: inout HeadsNetwork, _ g: HeadsNetwork, learningRate lr: Float, weightDecay: Float) {
        t += 1
        let c1 = 1 - pow(beta1, Float(t)), c2 = 1 - pow(beta2, Float(t))
        func update(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float], decay: Float) {
            for i in p.indices {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                p[i] -= lr * ((m[i] / c1) / ((v[i] / c2).squareRoot() + eps) + decay * p[i])
            }
        }
        update(&net.w1, g.w1, &m.w1, &v.w1, decay: weightDecay)
        update(&net.b1, g.b1, &m.b1, &v.b1, decay: 0)
        update(&net.w2, g.w2, &m.w2, &v.w2, decay: weightDecay)
        update(&net.b2, g.b2, &m.b2, &v.b2, decay: 0)
    }
}
