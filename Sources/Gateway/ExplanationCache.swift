import Contracts
import Synchronization

/// The words explained for a live dialogue's turn, by (dialogue, turn): a page asked again (or
/// its fragment refreshed) costs no model work. Bounded; the oldest entry goes first.
final class ExplanationCache: Sendable {
    struct Key: Hashable {
        var dialogue: LiveDialogues.Key
        var turnID: String
    }

    struct State {
        var words: [Key: [Explanation.Word]] = [:]
        var order: [Key] = []
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    subscript(key: Key) -> [Explanation.Word]? {
        get { state.withLock { $0.words[key] } }
        set {
            guard let newValue else { return }
            state.withLock { s in
                if s.words.updateValue(newValue, forKey: key) == nil { s.order.append(key) }
                if s.order.count > capacity {
                    s.words[s.order.removeFirst()] = nil
                }
            }
        }
    }
}
