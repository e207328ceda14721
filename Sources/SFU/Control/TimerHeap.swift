// The worker's timers in deadline order: a binary min-heap of objects, each knowing its own
// place in it so that a deadline can move (earlier or later) or the object can leave in
// O(log n), with exactly one entry per object.
//
// Why: a worker tick used to visit every transport to ask whether anything was due. With
// hundreds of transports that walk touched as many cold objects 50 times a second (~200 µs
// per tick at 605 transports) although only a dozen had an RTCP report due; the packets that
// arrived meanwhile waited behind it. Now a tick pops only the transports whose deadline has
// passed.

/// An object the heap orders; `timerSlot` is the heap's bookkeeping (-1 when not in a heap).
protocol TimerHeapElement: AnyObject {
    var timerSlot: Int { get set }
}

final class TimerHeap<Element: TimerHeapElement> {
    private struct Entry {
        var due: ContinuousClock.Instant
        let element: Element
    }

    private var entries: [Entry] = []

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    /// The earliest deadline, nil when empty.
    var earliest: ContinuousClock.Instant? { entries.first?.due }

    func contains(_ element: Element) -> Bool {
        let slot = element.timerSlot
        return slot >= 0 && slot < entries.count && entries[slot].element === element
    }

    /// The deadline `element` is scheduled at, nil when it is not in this heap.
    func due(of element: Element) -> ContinuousClock.Instant? {
        contains(element) ? entries[element.timerSlot].due : nil
    }

    /// Inserts `element` at `due`, or moves it there when it is already in.
    func schedule(_ element: Element, at due: ContinuousClock.Instant) {
        if contains(element) {
            let slot = element.timerSlot
            let earlier = due < entries[slot].due
            entries[slot].due = due
            if earlier { siftUp(slot) } else { siftDown(slot) }
        } else {
            entries.append(Entry(due: due, element: element))
            element.timerSlot = entries.count - 1
            siftUp(entries.count - 1)
        }
    }

    /// Moves `element` to `due` only if that is earlier than where it is (or inserts it).
    func scheduleNoLaterThan(_ element: Element, at due: ContinuousClock.Instant) {
        if let current = self.due(of: element), current <= due { return }
        schedule(element, at: due)
    }

    func remove(_ element: Element) {
        guard contains(element) else { return }
        let slot = element.timerSlot
        let last = entries.count - 1
        if slot != last {
            swapAt(slot, last)
        }
        entries.removeLast()
        element.timerSlot = -1
        if slot < entries.count {
            siftDown(slot)
            siftUp(slot)
        }
    }

    /// Removes and returns the element with the earliest deadline if that is at or before `now`.
    func popDue(now: ContinuousClock.Instant) -> Element? {
        guard let first = entries.first, first.due <= now else { return nil }
        remove(first.element)
        return first.element
    }

    private func swapAt(_ i: Int, _ j: Int) {
        entries.swapAt(i, j)
        entries[i].element.timerSlot = i
        entries[j].element.timerSlot = j
    }

    private func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].due < entries[parent].due else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            let right = left + 1
            let smaller = right < entries.count && entries[right].due < entries[left].due ? right : left
            guard entries[smaller].due < entries[parent].due else { return }
            swapAt(parent, smaller)
            parent = smaller
        }
    }
}
