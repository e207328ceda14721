// Calls nobody attends any more. A participant attends while they have a realtime connection,
// or had one less than the grace period ago (RealtimeHub.isPresent). Two moments end calls:
// - a dropped user's grace period runs out (`connectionLost`): they leave their calls, and a
//   call in which no other joined participant attends ends for everyone, `disconnected`;
// - the grace period after a start runs out (`endCallsLeftByRestart`): the previous process
//   may have died with calls active (kill -9, a crash, a lost machine), and nobody could be
//   connected to this one before it started, so every participant has had the grace period
//   to reconnect. A call nobody attends then ends, `server_restart`; in a group call that
//   goes on, the joined participants who did not come back leave it.
// A call only ever driven over REST has no realtime connection to lose, so nothing here ends
// it while the server runs; only a restart does, since nothing then tells the server that
// anyone is still there. docs/API.md states these rules for clients.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension CallService {
    /// Whether a joined participant other than `user` is still around.
    private func attended(_ call: CallRecord, besides user: String? = nil) -> Bool {
        call.participants.contains { $0.user != user && $0.status == .joined && hub.isPresent($0.user) }
    }

    /// After `delay`, unless `user` connects again first, runs `connectionLost`.
    func scheduleConnectionLost(_ user: String, after delay: Duration) {
        // Weak: a timer (or its retries during an outage) must not keep a service that is
        // gone alive, nor act for it.
        hub.scheduleGrace(for: user, after: delay) { [weak self] in
            await self?.connectionLost(user)
        }
    }

    /// The grace period ran out with no connection of `user`: they leave every call they had
    /// joined, and a call nobody else attends ends. If the database fails meanwhile this is
    /// tried again every `sweepInterval` (the user counting as present until then), so that a
    /// drop during an outage still takes effect once the database is back.
    func connectionLost(_ user: String) async {
        let calls: [CallRecord]
        do {
            calls = try await store.calls(of: user, statuses: [.ringing, .active])
        } catch is CancellationError {
            return  // the service is stopping: the calls stay as they are
        } catch {
            logger.error("could not list calls of \(user) after their connection dropped (retrying): \(error)")
            scheduleConnectionLost(user, after: configuration.sweepInterval)
            return
        }
        var failed = false
        for call in calls where call.participant(user)?.status == .joined {
            do throws(CallError) {
                if attended(call, besides: user) {
                    // A 1-to-1 call ends here too, as a hang-up by `user`; a group call goes on.
                    _ = try await leave(call, user: user, reason: "disconnected", excluding: nil)
                } else {
                    _ = try await endCall(call, by: nil, reason: "disconnected", excluding: nil)
                }
            } catch {
                guard error.kind == .unavailable else {
                    logger.debug("leaving call \(call.callId) after a dropped connection: \(error)")
                    continue  // ended or left meanwhile
                }
                logger.error("could not take \(user) out of call \(call.callId) after their connection dropped (retrying): \(error)")
                failed = true
            }
        }
        if failed { scheduleConnectionLost(user, after: configuration.sweepInterval) }
    }

    /// Ends the calls that were active before `startedAt` (answered by an earlier process) and
    /// that nobody attends now; in group calls someone still attends, the joined participants
    /// who do not attend leave. Run once the grace period after the start is over. Returns the
    /// calls it ended; throws if some call could not be read or settled (run it again: what is
    /// settled is no longer active, or no longer has absent participants).
    @discardableResult
    public func endCallsLeftByRestart(startedAt: Date) async throws -> [CallRecord] {
        let calls = try await store.active(answeredBefore: startedAt)
        var ended: [CallRecord] = []
        var failure: (any Error)?
        for call in calls {
            do throws(CallError) {
                if !attended(call) {
                    ended.append(try await endCall(call, by: nil, reason: "server_restart", excluding: nil))
                } else if call.isGroupCall {
                    for absent in call.participants where absent.status == .joined && !hub.isPresent(absent.user) {
                        _ = try await leave(call, user: absent.user, reason: "server_restart", excluding: nil)
                    }
                }
            } catch {
                // Ended, or left, by someone meanwhile.
                guard error.kind != .conflict else { continue }
                logger.error("could not settle call \(call.callId) left active by the previous run: \(error)")
                failure = error
            }
        }
        if !ended.isEmpty {
            logger.info("ended \(ended.count) call(s) left active by the previous run that nobody came back to (server_restart)")
        }
        if let failure { throw failure }
        return ended
    }
}
