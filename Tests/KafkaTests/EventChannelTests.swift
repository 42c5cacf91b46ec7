import Foundation
import Testing
@testable import Kafka

@Suite("EventChannel")
struct EventChannelTests {
    /// `next(timeout:)` used to start its timer before registering as the waiter: a timer that fired
    /// first (a zero or short timeout on a busy machine) found no waiter, and the receive then waited
    /// for the next element with no timeout at all. A batch collector holding a partial batch at the
    /// end of a backlog waited for traffic that never came.
    @Test("next(timeout:) returns nil on an empty channel however short the timeout", arguments: [Duration.zero, .microseconds(50)])
    func shortTimeoutsExpire(timeout: Duration) async throws {
        let channel = EventChannel<Int>(capacity: 8)
        // Before the fix, one of these 3,000 calls hung in every run tried; the deadline only has to tell a hang from
        // a slow machine.
        for i in 0..<3000 {
            let got = try await withDeadline(.seconds(30), "next(timeout: \(timeout)) #\(i) on an empty channel") {
                try await channel.next(timeout: timeout)
            }
            #expect(got == nil)
        }
    }
}
