import Foundation

// The escalation forecaster's math, forward and backward, on raw pointers into the flat parameter
// block (see EscalationWeights for the layout). Sizes are tiny (L = 16, M = 32, D = 45): plain loops.
//
// The ODE state is z = [h (L), Λ (1)]: the latent state and the cumulative hazard. The field is
//     dh/dτ = A2 tanh(A1 h + c1) + c2      (0 for the discrete GRU baseline)
//     dΛ/dτ = softplus(wl·h + bl)
package enum EscalationCell {
    package typealias P = UnsafePointer<Float>
    package typealias MP = UnsafeMutablePointer<Float>

    @inline(__always) package static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
    @inline(__always) package static func softplus(_ x: Float) -> Float { x > 20 ? x : log1p(exp(x)) }

    /// y[rows] (+)= W[rows, cols] x[cols]
    @inline(__always) package static func matvec(_ y: MP, _ W: P, _ x: P, _ rows: Int, _ cols: Int, accumulate: Bool) {
        for i in 0..<rows {
            var s: Float = accumulate ? y[i] : 0
            let row = W + i * cols
            for j in 0..<cols { s += row[j] * x[j] }
            y[i] = s
        }
    }

    /// y[cols] += W[rows, cols]ᵀ g[rows]
    @inline(__always) package static func matvecT(_ y: MP, _ W: P, _ g: P, _ rows: Int, _ cols: Int) {
        for i in 0..<rows {
            let gi = g[i], row = W + i * cols
            for j in 0..<cols { y[j] += gi * row[j] }
        }
    }

    /// G[rows, cols] += g[rows] ⊗ x[cols]
    @inline(__always) package static func outer(_ G: MP, _ g: P, _ x: P, _ rows: Int, _ cols: Int) {
        for i in 0..<rows {
            let gi = g[i], row = G + i * cols
            for j in 0..<cols { row[j] += gi * x[j] }
        }
    }

    // MARK: GRU update at a turn

    /// hOut[L] = (1 − z)⊙n + z⊙h, with z, r, n saved in cache[3L] (z, r, n) for the backward pass.
    package static func gru(_ hOut: MP, _ cache: MP, _ x: P, _ h: P, _ p: P, _ l: EscalationLayout) {
        let L = l.L, D = l.D
        let z = cache, r = cache + L, n = cache + 2 * L
        matvec(z, p + l.Wz, x, L, D, accumulate: false); matvec(z, p + l.Uz, h, L, L, accumulate: true)
        matvec(r, p + l.Wr, x, L, D, accumulate: false); matvec(r, p + l.Ur, h, L, L, accumulate: true)
        for i in 0..<L { z[i] = sigmoid(z[i] + p[l.bz + i]); r[i] = sigmoid(r[i] + p[l.br + i]) }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: L) { rh in
            for i in 0..<L { rh[i] = r[i] * h[i] }
            matvec(n, p + l.Wn, x, L, D, accumulate: false); matvec(n, p + l.Un, rh.baseAddress!, L, L, accumulate: true)
        }
        for i in 0..<L {
            n[i] = tanh(n[i] + p[l.bn + i])
            hOut[i] = (1 - z[i]) * n[i] + z[i] * h[i]
        }
    }

    /// Given gOut = ∂loss/∂hOut, accumulates parameter gradients into gp and writes ∂loss/∂h into gh.
    package static func gruBackward(_ gh: MP, _ gp: MP, _ gOut: P, _ cache: P, _ x: P, _ h: P, _ p: P, _ l: EscalationLayout) {
        let L = l.L, D = l.D
        let z = cache, r = cache + L, n = cache + 2 * L
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 5 * L) { buf in
            let b = buf.baseAddress!
            let gaz = b, gar = b + L, gan = b + 2 * L, grh = b + 3 * L, rh = b + 4 * L
            for i in 0..<L {
                gh[i] = gOut[i] * z[i]
                gaz[i] = gOut[i] * (h[i] - n[i]) * z[i] * (1 - z[i])
                gan[i] = gOut[i] * (1 - z[i]) * (1 - n[i] * n[i])
                rh[i] = r[i] * h[i]
                grh[i] = 0
            }
            outer(gp + l.Wn, gan, x, L, D); outer(gp + l.Un, gan, rh, L, L)
            for i in 0..<L { gp[l.bn + i] += gan[i] }
            matvecT(grh, p + l.Un, gan, L, L)
            for i in 0..<L {
                gh[i] += grh[i] * r[i]
                gar[i] = grh[i] * h[i] * r[i] * (1 - r[i])
            }
            outer(gp + l.Wr, gar, x, L, D); outer(gp + l.Ur, gar, h, L, L)
            outer(gp + l.Wz, gaz, x, L, D); outer(gp + l.Uz, gaz, h, L, L)
            for i in 0..<L { gp[l.br + i] += gar[i]; gp[l.bz + i] += gaz[i] }
            matvecT(gh, p + l.Ur, gar, L, L)
            matvecT(gh, p + l.Uz, gaz, L, L)
        }
    }

    // MARK: Vector field on z = [h, Λ]

    /// dz[L+1] = F(z[L+1]).
    package static func field(_ dz: MP, _ z: P, _ p: P, _ l: EscalationLayout, ode: Bool) {
        let L = l.L, M = l.M
        if ode {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: M) { buf in
                let a = buf.baseAddress!
                matvec(a, p + l.A1, z, M, L, accumulate: false)
                for j in 0..<M { a[j] = tanh(a[j] + p[l.c1 + j]) }
                matvec(dz, p + l.A2, a, L, M, accumulate: false)
                for i in 0..<L { dz[i] += p[l.c2 + i] }
            }
        } else {
            for i in 0..<L { dz[i] = 0 }
        }
        var s = p[l.bl]
        for i in 0..<L { s += p[l.wl + i] * z[i] }
        dz[L] = softplus(s)
    }

    /// Vector-Jacobian product at z: gz[L+1] = (∂F/∂z)ᵀ gdz, and gp += (∂F/∂θ)ᵀ gdz.
    package static func fieldVJP(_ gz: MP, _ gp: MP, _ z: P, _ gdz: P, _ p: P, _ l: EscalationLayout, ode: Bool) {
        let L = l.L, M = l.M
        for i in 0...L { gz[i] = 0 }
        if ode {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * M) { buf in
                let a = buf.baseAddress!, ga = a + M
                matvec(a, p + l.A1, z, M, L, accumulate: false)
                for j in 0..<M { a[j] = tanh(a[j] + p[l.c1 + j]); ga[j] = 0 }
                outer(gp + l.A2, gdz, a, L, M)
                for i in 0..<L { gp[l.c2 + i] += gdz[i] }
                matvecT(ga, p + l.A2, gdz, L, M)
                for j in 0..<M { ga[j] *= 1 - a[j] * a[j]; gp[l.c1 + j] += ga[j] }
                outer(gp + l.A1, ga, z, M, L)
                matvecT(gz, p + l.A1, ga, M, L)
            }
        }
        var s = p[l.bl]
        for i in 0..<L { s += p[l.wl + i] * z[i] }
        let g = gdz[L] * sigmoid(s)
        for i in 0..<L {
            gp[l.wl + i] += g * z[i]
            gz[i] += g * p[l.wl + i]
        }
        gp[l.bl] += g
    }

    // MARK: RK4 without a tape, for inference

    /// One RK4 step of size dt on z[L+1] in place (the same arithmetic as `rk4Forward`), using
    /// scratch[5(L+1)]. Returns false if z became non-finite.
    package static func rk4Step(_ z: MP, dt h: Float, scratch: MP, _ p: P, _ l: EscalationLayout, ode: Bool) -> Bool {
        let n = l.L + 1
        let k1 = scratch, k2 = k1 + n, k3 = k1 + 2 * n, k4 = k1 + 3 * n, u = k1 + 4 * n
        field(k1, z, p, l, ode: ode)
        for i in 0..<n { u[i] = z[i] + h / 2 * k1[i] }
        field(k2, u, p, l, ode: ode)
        for i in 0..<n { u[i] = z[i] + h / 2 * k2[i] }
        field(k3, u, p, l, ode: ode)
        for i in 0..<n { u[i] = z[i] + h * k3[i] }
        field(k4, u, p, l, ode: ode)
        var finite = true
        for i in 0..<n {
            z[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i])
            finite = finite && z[i].isFinite
        }
        return finite
    }

    // MARK: RK4 with a tape, for training

    /// Integrates z[L+1] over scaled time tau in `steps` RK4 steps, appending to `tape` what the
    /// backward pass needs: per step the four stage inputs (z0, u2, u3, u4), each L+1 floats.
    package static func rk4Forward(_ z: inout [Float], tau: Float, steps: Int, tape: inout [Float], _ p: P, _ l: EscalationLayout, ode: Bool) {
        let n = l.L + 1, h = tau / Float(steps)
        var k = [Float](repeating: 0, count: 4 * n), u = [Float](repeating: 0, count: n)
        k.withUnsafeMutableBufferPointer { kb in
            let k1 = kb.baseAddress!, k2 = k1 + n, k3 = k1 + 2 * n, k4 = k1 + 3 * n
            for _ in 0..<steps {
                tape.append(contentsOf: z)
                z.withUnsafeBufferPointer { field(k1, $0.baseAddress!, p, l, ode: ode) }
                for i in 0..<n { u[i] = z[i] + h / 2 * k1[i] }
                tape.append(contentsOf: u)
                u.withUnsafeBufferPointer { field(k2, $0.baseAddress!, p, l, ode: ode) }
                for i in 0..<n { u[i] = z[i] + h / 2 * k2[i] }
                tape.append(contentsOf: u)
                u.withUnsafeBufferPointer { field(k3, $0.baseAddress!, p, l, ode: ode) }
                for i in 0..<n { u[i] = z[i] + h * k3[i] }
                tape.append(contentsOf: u)
                u.withUnsafeBufferPointer { field(k4, $0.baseAddress!, p, l, ode: ode) }
                for i in 0..<n { z[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) }
            }
        }
    }

    /// Backward through `steps` RK4 steps whose tape ends at `tapeEnd` (exclusive); gz (L+1) comes in
    /// as ∂loss/∂z(end) and leaves as ∂loss/∂z(start). Returns where this segment's tape begins.
    @discardableResult
    package static func rk4Backward(_ gz: inout [Float], gp: MP, tau: Float, steps: Int, tape: [Float], tapeEnd: Int,
                            _ p: P, _ l: EscalationLayout, ode: Bool) -> Int {
        let n = l.L + 1, h = tau / Float(steps)
        var gk = [Float](repeating: 0, count: 4 * n), gu = [Float](repeating: 0, count: n)
        var pos = tapeEnd
        tape.withUnsafeBufferPointer { tb in
            gk.withUnsafeMutableBufferPointer { gb in
                let g1 = gb.baseAddress!, g2 = g1 + n, g3 = g1 + 2 * n, g4 = g1 + 3 * n
                for _ in 0..<steps {
                    pos -= 4 * n
                    let z0 = tb.baseAddress! + pos, u2 = z0 + n, u3 = z0 + 2 * n, u4 = z0 + 3 * n
                    // z1 = z0 + h/6 (k1 + 2k2 + 2k3 + k4)
                    for i in 0..<n {
                        g1[i] = h / 6 * gz[i]; g2[i] = h / 3 * gz[i]; g3[i] = h / 3 * gz[i]; g4[i] = h / 6 * gz[i]
                    }
                    // k4 = F(u4), u4 = z0 + h k3
                    gu.withUnsafeMutableBufferPointer { fieldVJP($0.baseAddress!, gp, u4, g4, p, l, ode: ode) }
                    for i in 0..<n { gz[i] += gu[i]; g3[i] += h * gu[i] }
                    // k3 = F(u3), u3 = z0 + h/2 k2
                    gu.withUnsafeMutableBufferPointer { fieldVJP($0.baseAddress!, gp, u3, g3, p, l, ode: ode) }
                    for i in 0..<n { gz[i] += gu[i]; g2[i] += h / 2 * gu[i] }
                    // k2 = F(u2), u2 = z0 + h/2 k1
                    gu.withUnsafeMutableBufferPointer { fieldVJP($0.baseAddress!, gp, u2, g2, p, l, ode: ode) }
                    for i in 0..<n { gz[i] += gu[i]; g1[i] += h / 2 * gu[i] }
                    // k1 = F(z0)
                    gu.withUnsafeMutableBufferPointer { fieldVJP($0.baseAddress!, gp, z0, g1, p, l, ode: ode) }
                    for i in 0..<n { gz[i] += gu[i] }
                }
            }
        }
        return pos
    }
}
