import Testing
@testable import Escalation

@Suite struct EscalationAlarmTests {
    /// Risk sequences and the turns at which an alert fires, with upper 0.6 and lower 0.4.
    @Test(arguments: [
        ([0.1, 0.2, 0.3], [Int]()),                       // never reaches the upper threshold
        ([0.1, 0.7, 0.8, 0.9], [1]),                      // one episode: one alert
        ([0.1, 0.7, 0.5, 0.7, 0.45, 0.9], [1]),           // dips that stay ≥ lower do not re-arm
        ([0.1, 0.7, 0.3, 0.65], [1, 3]),                  // falls below lower, re-arms, fires again
        ([0.9, 0.9], [0]),                                // already high at the first turn
        ([0.6, 0.4, 0.6, 0.39, 0.6], [0, 4]),             // upper is inclusive, lower is strict
    ] as [([Float], [Int])])
    func hysteresis(risks: [Float], expected: [Int]) {
        let alarm = EscalationAlarm(upper: 0.6, lower: 0.4)
        var armed = true
        var fired: [Int] = []
        for (i, r) in risks.enumerated() where alarm.update(armed: &armed, risk: r) { fired.append(i) }
        #expect(fired == expected)
    }

    @Test func disarmedAfterFiringAndRearmedBelowLower() {
        let alarm = EscalationAlarm(upper: 0.7, lower: 0.3)
        var armed = true
        #expect(alarm.update(armed: &armed, risk: 0.75))
        #expect(!armed)
        #expect(!alarm.update(armed: &armed, risk: 0.2))
        #expect(armed)
    }
}
